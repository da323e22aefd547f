"""The README's walk-throughs, run as written: a first scan of your own against a mock account."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from auditor.demo.mockaws import free_port

README = Path(__file__).resolve().parents[1] / "README.md"


def block(marker: str) -> str:
    """The ```sh block right after ``<!-- marker -->`` in the README."""
    text = README.read_text()
    found = re.search(rf"<!-- {marker} -->\n```sh\n(.*?)\n```", text, re.S)
    assert found, f"README has no <!-- {marker} --> block"
    return found.group(1)


def test_a_first_scan_of_your_own_against_a_mock_account(tmp_path):
    port = str(free_port())
    script = block("first-scan").replace("5000", port).replace(".venv/bin/", str(Path(sys.executable).parent) + "/")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(AWS_CONFIG_FILE=os.devnull, AWS_SHARED_CREDENTIALS_FILE=os.devnull)
    proc = subprocess.run(["bash", "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "auditor exited 1" in proc.stdout, proc.stdout[-3000:]
    assert "BASE-S3-005" in proc.stdout and "my-first-bucket" in proc.stdout
    (report,) = (tmp_path / "first-scan").glob("*/report.html")
    assert "my-first-bucket" in report.read_text()
