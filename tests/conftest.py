"""Shared fixtures: a moto server on loopback for the session, wiped before each test; the CLI as a subprocess."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import jsonschema
import pytest
import yaml

from auditor.demo.mockaws import MockAccount, moto_server, reset, scan_environment

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = json.loads((ROOT / "auditor" / "schemas" / "report.v1.json").read_text())
# The packs' required parameters, set to the names the mock accounts use (see the file's comment).
TEST_CONFIG = Path(__file__).resolve().parent / "fixtures" / "config.yaml"
TEST_PARAMETERS = yaml.safe_load(TEST_CONFIG.read_text())["parameters"]


def config_with_parameters(path: Path, text: str = "") -> Path:
    """A config.yaml holding ``text`` plus the test parameters (``text`` must not set ``parameters:``)."""
    path.write_text(text + ("\n" if text and not text.endswith("\n") else "") + yaml.safe_dump({"parameters": TEST_PARAMETERS}))
    return path


# Jenkins' xunit plugin schema for JUnit reports (junit-10.xsd, MIT), as pytest's own tests use it: taken from
# pytest's sdist on PyPI, pinned by its SHA-256, kept in .cache/ (not committed, not reference material copied in).
JUNIT_XSD_SOURCE = ("pytest==8.3.4", "pytest-8.3.4/testing/example_scripts/junit-10.xsd")
JUNIT_XSD_SHA256 = "a1a816f58d1bf95ebabf371994df0b9246dee66ea9572fbec4f9296f1b2c0ff6"


@pytest.fixture(scope="session")
def junit_10_xsd() -> Path:
    import hashlib
    import tarfile

    target = ROOT / ".cache" / "junit-10.xsd"
    if not target.exists():
        target.parent.mkdir(exist_ok=True)
        with tempfile.TemporaryDirectory() as folder:
            subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--no-binary", ":all:",
                            "--dest", folder, JUNIT_XSD_SOURCE[0]], check=True, capture_output=True)
            (sdist,) = Path(folder).glob("pytest-*.tar.gz")
            with tarfile.open(sdist) as archive:
                data = archive.extractfile(JUNIT_XSD_SOURCE[1]).read()
            partial = target.with_suffix(f".{os.getpid()}.part")  # two workers may fetch it at once: rename atomically
            partial.write_bytes(data)
            os.replace(partial, target)
    assert hashlib.sha256(target.read_bytes()).hexdigest() == JUNIT_XSD_SHA256, f"{target} is not junit-10.xsd"
    return target


@pytest.fixture(scope="session")
def moto_endpoint():
    with moto_server() as endpoint:
        yield endpoint


@pytest.fixture
def aws(moto_endpoint) -> MockAccount:
    """An empty mock account."""
    reset(moto_endpoint)
    return MockAccount(moto_endpoint)


@dataclass
class CliResult:
    code: int
    stdout: str
    stderr: str

    def report(self) -> dict:
        """The report.json whose path the scan printed, validated against the published schema."""
        paths = [line.split("report: ", 1)[1].strip() for line in self.stdout.splitlines() if line.startswith("report: ")]
        json_paths = [p for p in paths if p.endswith("report.json")]
        assert json_paths, f"no report path printed:\n{self.stdout}\n{self.stderr}"
        document = json.loads(Path(json_paths[0]).read_text())
        jsonschema.validate(document, SCHEMA)
        return document


def run_cli(*args: str, endpoint: str | None = None, cwd: Path | None = None, env: dict | None = None,
            timeout: int = 120, in_process: bool = False) -> CliResult:
    """Run ``auditor ARGS`` as the user would, with dummy credentials and no real AWS config.

    ``in_process``: call the CLI's ``main`` in this process (its stdout, stderr and exit code caught, the
    environment and working directory swapped in and back), for tests about what a command writes and decides,
    where the process boundary does not matter: no interpreter start and no checkov import per call. Exit codes,
    signals, crashes and anything run in parallel keep the subprocess."""
    environment = scan_environment(endpoint or "")
    for key, value in (env or {}).items():
        if value is None:
            environment.pop(key, None)
        else:
            environment[key] = value
    # A fresh working directory per call: the default auditor.db and reports/ never land in the repo. It holds
    # the test config (the packs' required parameters) unless the test gives its own.
    workdir = cwd or Path(tempfile.mkdtemp(prefix="auditor-cli-"))
    if "--config" not in args and not (workdir / "config.yaml").exists():
        (workdir / "config.yaml").write_text(TEST_CONFIG.read_text())
    if in_process:
        return _run_in_process(list(args), environment, workdir)
    proc = subprocess.run([sys.executable, "-m", "auditor", *args], capture_output=True, text=True, cwd=workdir,
                          env=environment, timeout=timeout)
    return CliResult(proc.returncode, proc.stdout, proc.stderr)


def _run_in_process(args: list[str], environment: dict[str, str], workdir: Path) -> CliResult:
    import contextlib
    import io
    import logging

    from auditor import cli
    from auditor.reporting import console

    saved_env, saved_cwd, saved_handlers = dict(os.environ), os.getcwd(), logging.root.handlers[:]
    out, err = io.StringIO(), io.StringIO()
    try:
        os.environ.clear()
        os.environ.update(environment)
        os.chdir(workdir)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                cli.main(args)
                code = 0
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    finally:
        os.environ.clear()
        os.environ.update(saved_env)
        os.chdir(saved_cwd)
        logging.root.handlers[:] = saved_handlers
        cli.SETTINGS["debug"] = False
        console.OUTPUT.quiet = console.OUTPUT.verbose = False
    return CliResult(code, out.getvalue(), err.getvalue())


def findings_by(document: dict, **where) -> list[dict]:
    out = []
    for f in document["findings"]:
        if all((f["resource"]["name"] if k == "resource" else f[k]) == v for k, v in where.items()):
            out.append(f)
    return out


class _Hook(BaseHTTPRequestHandler):
    received: list = []

    def do_POST(self):  # noqa: N802
        body = self.rfile.read(int(self.headers["Content-Length"]))
        _Hook.received.append((dict(self.headers), body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *_):
        pass


@pytest.fixture
def webhook():
    """A webhook receiver on loopback: its URL, and (headers, body) of each POST it got."""
    server = HTTPServer(("127.0.0.1", 0), _Hook)
    _Hook.received = []
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook", _Hook.received
    server.shutdown()


def run_here(*args: str, **kwargs) -> CliResult:
    """``run_cli`` in this process (see its ``in_process``)."""
    return run_cli(*args, in_process=True, **kwargs)
