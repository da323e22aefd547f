"""`auditor serve` over real HTTP: token auth, API filters, downloads, traversal attempts, and a person in
headless chromium logging in, opening a run, filtering findings and downloading the evidence bundle."""
from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

import jsonschema
import pytest

from auditor.demo.mockaws import free_port
from tests.conftest import SCHEMA, run_cli

TOKEN = "test-token-0123456789"
CHROMIUM = Path("/usr/bin/chromium")


@pytest.fixture(scope="module")
def history(tmp_path_factory):
    out = tmp_path_factory.mktemp("served")
    env = {"AWS_ACCESS_KEY_ID": None, "AWS_SECRET_ACCESS_KEY": None}
    assert run_cli("demo", "--out", str(out), env=env, timeout=300).code == 0
    return out / "demo.db"


def start(db: Path, token: str | None, *extra: str):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "AUDITOR_TOKEN"}
    if token:
        env["AUDITOR_TOKEN"] = token
    proc = subprocess.Popen([sys.executable, "-m", "auditor", "serve", "--db", str(db), "--port", str(port), *extra],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            urllib.request.urlopen(f"{base}/healthz", timeout=1).read()
            return proc, base
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise AssertionError(proc.communicate()[1])


@pytest.fixture(scope="module")
def server(history):
    proc, base = start(history, TOKEN)
    yield base
    proc.terminate()
    proc.communicate(timeout=10)


def get(url: str, token: str | None = TOKEN, method: str = "GET", cookie: str | None = None):
    request = urllib.request.Request(url, method=method)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    if cookie:
        request.add_header("Cookie", cookie)
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, dict(answer.headers), answer.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def runs(base):
    return json.loads(get(f"{base}/api/runs")[2])


def test_auth(server):
    assert get(f"{server}/healthz", token=None)[0] == 200
    for path in ("/", "/api/runs", f"/runs/{runs(server)[0]['id']}/report.json"):
        assert get(server + path, token=None)[0] == 401
        assert get(server + path, token="wrong")[0] == 401
        assert get(server + path)[0] == 200
    assert get(f"{server}/login?token=wrong", token=None)[0] == 401
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor())
    with opener.open(f"{server}/login?token={TOKEN}", timeout=10) as answer:
        assert answer.status == 200 and b"Targets" in answer.read()
    cookies = [c for c in opener.handlers if isinstance(c, urllib.request.HTTPCookieProcessor)][0].cookiejar
    (session,) = list(cookies)
    assert TOKEN not in session.value
    assert get(f"{server}/api/runs", token=None, cookie=f"auditor_session={session.value}")[0] == 200


def test_api_and_filters(server):
    listed = runs(server)
    assert len(listed) == 2 and listed[0]["started_at"] >= listed[1]["started_at"]
    assert len(json.loads(get(f"{server}/api/runs?target=demo&limit=1")[2])) == 1
    assert json.loads(get(f"{server}/api/runs?target=nobody")[2]) == []
    run_id = listed[0]["id"]
    detail = json.loads(get(f"{server}/api/runs/{run_id}")[2])
    assert detail["run"]["id"] == run_id and detail["summary"]["by_status"]["fail"] > 0
    failing = json.loads(get(f"{server}/api/runs/{run_id}/findings?status=fail&control=pitr")[2])
    assert failing and all(f["status"] == "fail" and f["control"] == "pitr" for f in failing)
    several = json.loads(get(f"{server}/api/runs/{run_id}/findings?status=fail&status=error")[2])
    assert {f["status"] for f in several} == {"fail", "error"}
    high = json.loads(get(f"{server}/api/runs/{run_id}/findings?severity=high&pack=baseline")[2])
    assert high and all(f["severity"] == "high" and f["pack"] == "baseline" for f in high)


def test_downloads(server):
    run_id = runs(server)[0]["id"]
    status, headers, body = get(f"{server}/runs/{run_id}/report.json")
    assert status == 200 and headers["content-type"] == "application/json"
    jsonschema.validate(json.loads(body), SCHEMA)
    for fmt, kind in (("html", "text/html"), ("csv", "text/csv"), ("sarif", "application/sarif+json"),
                      ("junit", "application/xml")):
        status, headers, body = get(f"{server}/runs/{run_id}/report.{fmt}")
        assert status == 200 and headers["content-type"].startswith(kind) and body
    status, headers, body = get(f"{server}/runs/{run_id}/evidence.zip")
    assert status == 200 and headers["content-type"] == "application/zip"
    check_bundle(body, run_id)
    status, _, body = get(f"{server}/diff?a={runs(server)[1]['id']}&b={run_id}")
    assert status == 200 and b"versioning.status" in body


def check_bundle(data: bytes, run_id: str) -> None:
    bundle = zipfile.ZipFile(io.BytesIO(data))
    manifest = json.loads(bundle.read("manifest.json"))
    assert manifest["run_id"] == run_id
    assert {"report.json", "report.html", "run.json"} <= set(manifest["files"])
    assert {p["id"] for p in manifest["packs"]} == {"ecommerce-platform", "baseline"}
    assert "packs/ecommerce-platform/ecommerce-platform.yaml" in manifest["files"]
    for name, digest in manifest["files"].items():
        assert hashlib.sha256(bundle.read(name)).hexdigest() == digest, name


@pytest.mark.parametrize("path", [
    "/runs/..%2F..%2Fetc%2Fpasswd/report.json", "/runs/%2e%2e/report.json", "/runs/nope/report.json",
    "/runs/nope/evidence.zip", "/api/runs/nope", "/api/runs/nope/findings", "/runs/x/report.exe",
    "/runs/../../etc/passwd", "/static/../../etc/passwd", "/diff?a=../x&b=y", "/targets/nobody",
])
def test_unknown_ids_and_traversal_are_404(server, path):
    status, _, body = get(server + path)
    assert status == 404, (path, body[:200])
    assert b"root:" not in body


def test_read_only(server):
    assert get(f"{server}/api/runs", method="POST")[0] == 405
    assert get(f"{server}/runs/x/report.json", method="DELETE")[0] in (404, 405)


def test_without_token_it_makes_one_and_prints_a_login_url(history):
    proc, base = start(history, None)
    try:
        line = proc.stdout.readline().strip()
        assert "/login?token=" in line
        token = line.rsplit("token=", 1)[1]
        assert get(f"{base}/api/runs", token=token)[0] == 200
        assert get(f"{base}/api/runs", token=TOKEN)[0] == 401
    finally:
        proc.terminate()
        proc.communicate(timeout=10)


def test_a_person_in_chromium(server, tmp_path):
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail("CI must have Debian's chromium: .ci/run installs it")
        pytest.skip("Debian chromium is not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run"])
        page = browser.new_page(accept_downloads=True)
        problems: list[str] = []
        page.on("pageerror", lambda e: problems.append(str(e)))
        assert page.goto(f"{server}/").status == 401
        page.goto(f"{server}/login?token={TOKEN}")
        assert page.locator("#targets").is_visible()
        page.click("text=demo")
        assert page.locator("#runs tbody tr").count() == 2
        latest = page.locator("#runs tbody tr").first
        latest.locator("a").first.click()
        page.wait_for_selector("#rows tr.finding")
        page.select_option("#f-status", "fail")
        statuses = page.locator("#rows tr.finding td:first-child").all_text_contents()
        assert statuses and set(statuses) == {"fail"}
        page.go_back()
        with page.expect_download() as download:
            latest.locator("a.evidence").click()
        path = tmp_path / "evidence.zip"
        download.value.save_as(path)
        run_id = latest.locator("a").first.text_content()
        check_bundle(path.read_bytes(), run_id)
        assert problems == []
        browser.close()


def test_spec_coverage_pages_with_the_latest_runs_verdicts(history):
    from tests.test_spec_coverage import SPECS

    proc, base = start(history, TOKEN, "--specs", str(SPECS))
    try:
        assert get(f"{base}/spec", token=None)[0] == 401
        status, _, body = get(f"{base}/spec")
        assert status == 200 and b'href="/spec/ecommerce-platform"' in body
        status, headers, body = get(f"{base}/spec/ecommerce-platform?target=demo")
        page = body.decode()
        assert status == 200 and "Content-Security-Policy" in page and headers["x-frame-options"] == "DENY"
        assert "\u00a73.1.1 Production Environment" in page and "ECOM-RDS-007" in page
        assert "Verdicts from run" in page and 'class="fail">fail<' in page and ">0 gaps<" in page
        assert get(f"{base}/spec/no-such-pack")[0] == 404 and get(f"{base}/spec/baseline")[0] == 404
        assert b"/spec/ecommerce-platform?target=demo" in get(f"{base}/targets/demo")[2]
    finally:
        proc.terminate()
        proc.communicate(timeout=10)
