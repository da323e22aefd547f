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
import urllib.parse
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


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def call(url: str, data: dict | None = None, headers: dict | None = None):
    """One request as a browser would make it, redirects not followed: (status, headers, body)."""
    body = urllib.parse.urlencode(data).encode() if data is not None else None
    request = urllib.request.Request(url, data=body, headers=headers or {}, method="POST" if data is not None else "GET")
    try:
        with urllib.request.build_opener(NoRedirect).open(request, timeout=30) as answer:
            return answer.status, answer.headers, answer.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


def log_in(base: str, token: str = TOKEN, headers: dict | None = None) -> tuple[int, str, str]:
    """POST the login form: (status, the session cookie's value, its Set-Cookie line)."""
    status, headers_back, _ = call(f"{base}/login", {"token": token, "next": "/"}, {"Origin": base, **(headers or {})})
    line = headers_back.get("set-cookie") or ""
    return status, line.split(";", 1)[0].split("=", 1)[-1] if line else "", line


def test_auth(server):
    assert get(f"{server}/healthz", token=None)[0] == 200
    for path in ("/", "/api/runs", f"/runs/{runs(server)[0]['id']}/report.json"):
        assert get(server + path, token=None)[0] == 401
        assert get(server + path, token="wrong")[0] == 401
        assert get(server + path)[0] == 200
    # A browser without a session is sent to the form, and back to where it was going afterwards.
    status, headers, _ = call(f"{server}/targets/demo?x=1", headers={"Accept": "text/html"})
    assert status == 303 and headers["location"] == "/login?next=%2Ftargets%2Fdemo%3Fx%3D1"
    status, _, body = call(f"{server}/login")
    assert status == 200 and b'<form method="post" action="/login"' in body and b'type="password"' in body
    # The token travels in the POST body; a wrong one is the form again, with no cookie.
    status, cookie, _ = log_in(server, "wrong")
    assert status == 401 and cookie == ""
    status, cookie, line = log_in(server)
    assert status == 303 and cookie and TOKEN not in line
    attributes = {a.strip().split("=")[0].lower() for a in line.split(";")[1:]}
    assert {"httponly", "max-age", "path", "samesite"} <= attributes and "secure" not in attributes
    assert "samesite=strict" in line.lower() and "max-age=28800" in line.lower()
    assert get(f"{server}/api/runs", token=None, cookie=f"auditor_session={cookie}")[0] == 200
    # Each login has its own nonce; behind a TLS proxy the cookie is Secure.
    assert log_in(server)[1] != cookie
    assert "secure" in log_in(server, headers={"X-Forwarded-Proto": "https"})[2].lower().split("; ")
    # A cookie altered by one character, or one signed for another token, is refused.
    at = cookie.rindex(".") + 1  # the first character of the signature (a last one may only hold padding bits)
    forged = cookie[:at] + ("A" if cookie[at] != "A" else "B") + cookie[at + 1:]
    assert get(f"{server}/api/runs", token=None, cookie=f"auditor_session={forged}")[0] == 401
    from auditor.server.sessions import Sessions

    other = Sessions("another-token").issue()
    assert get(f"{server}/api/runs", token=None, cookie=f"auditor_session={other}")[0] == 401
    # /logout ends that session (its cookie no longer opens anything), and only that one.
    _, second, _ = log_in(server)
    status, headers, _ = call(f"{server}/logout", {}, {"Cookie": f"auditor_session={cookie}"})
    assert status == 303 and headers["location"] == "/login" and "auditor_session=" in headers["set-cookie"]
    assert get(f"{server}/api/runs", token=None, cookie=f"auditor_session={cookie}")[0] == 401
    assert get(f"{server}/api/runs", token=None, cookie=f"auditor_session={second}")[0] == 200
    # After login, only paths on this server: no open redirect.
    for evil in ("//evil.example/x", "https://evil.example/", "/\\evil.example"):
        status, headers, _ = call(f"{server}/login", {"token": TOKEN, "next": evil}, {"Origin": server})
        assert status == 303 and headers["location"] == "/", evil


def test_sessions_expire():
    from auditor.server.sessions import Sessions

    sessions = Sessions(TOKEN, hours=1 / 3600)
    cookie = sessions.issue()
    assert sessions.nonce_of(cookie)
    time.sleep(2.2)
    assert sessions.nonce_of(cookie) is None


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
    assert len(json.loads(get(f"{server}/api/runs/{run_id}/findings?status=fail,error")[2])) == len(several)
    high = json.loads(get(f"{server}/api/runs/{run_id}/findings?severity=high&pack=baseline")[2])
    assert high and all(f["severity"] == "high" and f["pack"] == "baseline" for f in high)


def test_api_pages_and_refuses_what_it_does_not_understand(server):
    run_id = runs(server)[0]["id"]
    base = f"{server}/api/runs/{run_id}/findings"
    status, headers, body = get(f"{base}?status=fail&limit=5")
    total = int(headers["x-total-count"])
    assert status == 200 and len(json.loads(body)) == 5 and total > 5
    pages = [json.loads(get(f"{base}?status=fail&limit=5&offset={o}")[2]) for o in range(0, total, 5)]
    keys = [(f["rule_id"], f["resource"]["id"]) for page in pages for f in page]
    assert len(keys) == total == len(set(keys))
    for query, word in (("status=failed", "status"), ("severity=urgent", "severity"), ("control=crypto", "control"),
                        ("resource=x", "resource"), ("limit=0", "limit"), ("limit=many", "limit"),
                        ("offset=-1", "offset")):
        status, _, body = get(f"{base}?{query}")
        assert status == 400 and word in json.loads(body)["error"], query
    assert get(f"{server}/api/runs?colour=red")[0] == 400
    status, headers, _ = get(f"{server}/api/runs?limit=1")
    assert status == 200 and int(headers["x-total-count"]) == 2
    # Search covers the rule id, the title, the resource name and ARN, and the message.
    everything = json.loads(get(base)[2])
    for text, field in (("ECOM-S3", lambda f: f["rule_id"]), ("versioned", lambda f: f["title"]),
                        ("arn:aws:s3:::", lambda f: f["resource"]["arn"] or ""), ("expected", lambda f: f["message"])):
        found = json.loads(get(f"{base}?q={urllib.parse.quote(text)}")[2])
        by_field = [f for f in everything if text.lower() in field(f).lower()]
        assert by_field and len(found) < len(everything), text
        assert all(f in found for f in by_field), text
    # A browser gets an HTML error page; the API answers JSON.
    status, headers, body = call(f"{server}/runs/nope/report.html",
                                 headers={"Accept": "text/html", "Authorization": f"Bearer {TOKEN}"})
    assert status == 404 and headers["content-type"].startswith("text/html") and b'id="error-status"' in body
    status, headers, _ = call(f"{server}/api/runs/nope", headers={"Accept": "text/html", "Authorization": f"Bearer {TOKEN}"})
    assert status == 404 and headers["content-type"] == "application/json"


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
    reports = {"report.json", "report.html", "report.csv", "report.sarif", "report.junit.xml"}
    assert reports | {"run.json", "waivers.json", "resources.json", "diff.json"} <= set(manifest["files"])
    assert {p["id"] for p in manifest["packs"]} == {"ecommerce-platform", "baseline"}
    for pack in manifest["packs"]:  # a pack's digest is the SHA-256 of the file the bundle ships
        (name,) = pack["files"]
        assert hashlib.sha256(bundle.read(name)).hexdigest() == pack["sha256"] == manifest["files"][name]
    for name, digest in manifest["files"].items():
        assert hashlib.sha256(bundle.read(name)).hexdigest() == digest, name
    # Every member is in the signed manifest, the public key and SHA256SUMS included, but the manifest and its
    # signature, which cannot list themselves.
    assert set(bundle.namelist()) == set(manifest["files"]) | {"manifest.json", "manifest.sig"}
    assert {"signing-key.pub", "SHA256SUMS"} <= set(manifest["files"])
    resources = json.loads(bundle.read("resources.json"))
    assert any(r["type"] == "AWS::S3::Bucket" and "versioning" in r["config"] for r in resources)
    diff = json.loads(bundle.read("diff.json"))
    assert diff["run_b"]["id"] == run_id and "configuration_changes" in diff
    waivers = json.loads(bundle.read("waivers.json"))
    assert {"active", "expired", "stale", "applied"} <= set(waivers)


def test_verify_accepts_the_bundle_and_rejects_one_changed_byte(server, history, tmp_path):
    run_id = runs(server)[0]["id"]
    data = get(f"{server}/runs/{run_id}/evidence.zip")[2]
    bundle = tmp_path / "evidence.zip"
    bundle.write_bytes(data)
    public = history.with_name(history.name + ".signing-key.pem.pub")
    assert public.exists() and (history.with_name(history.name + ".signing-key.pem").stat().st_mode & 0o777) == 0o600
    result = run_cli("verify", str(bundle), "--public-key", str(public))
    assert result.code == 0 and f"verified: run {run_id}" in result.stdout, result.stderr
    # One byte changed inside a shipped file (the archive rewritten so that the zip itself stays valid) ...
    with zipfile.ZipFile(io.BytesIO(data)) as original, zipfile.ZipFile(tmp_path / "edited.zip", "w") as edited:
        for info in original.infolist():
            content = original.read(info)
            if info.filename == "report.json":
                at = content.index(b'"fail"')
                content = content[:at + 1] + b"p" + content[at + 2:]
            edited.writestr(info, content)
    result = run_cli("verify", str(tmp_path / "edited.zip"))
    assert result.code == 1 and "report.json: SHA-256" in result.stderr
    # ... one byte changed in the raw archive, anywhere in a member's data ...
    raw = bytearray(data)
    raw[len(raw) // 3] ^= 0x01
    (tmp_path / "flipped.zip").write_bytes(bytes(raw))
    assert run_cli("verify", str(tmp_path / "flipped.zip")).code == 1
    # ... re-signed by another key beside the signed manifest (which lists the server's key): refused; re-sealed
    # whole by another key: consistent in itself, refused against the server's public key.
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from auditor.reporting.evidence import UNLISTED, public_pem, seal

    other = Ed25519PrivateKey.generate()
    with zipfile.ZipFile(io.BytesIO(data)) as original, zipfile.ZipFile(tmp_path / "resigned.zip", "w") as edited:
        import base64

        manifest = original.read("manifest.json")
        for info in original.infolist():
            content = original.read(info)
            if info.filename == "manifest.sig":
                content = base64.b64encode(other.sign(manifest))
            elif info.filename == "signing-key.pub":
                content = public_pem(other.public_key())
            edited.writestr(info, content)
        listed = json.loads(manifest)
        files = {n: original.read(n) for n in listed["files"] if n not in ("signing-key.pub", "SHA256SUMS")}
        (tmp_path / "resealed.zip").write_bytes(seal(files, other, {k: v for k, v in listed.items()
                                                                    if k not in ("files", "signature")}))
    assert UNLISTED == ("manifest.json", "manifest.sig")
    result = run_cli("verify", str(tmp_path / "resigned.zip"))
    assert result.code == 1 and "signing-key.pub: SHA-256" in result.stderr
    assert run_cli("verify", str(tmp_path / "resealed.zip")).code == 0  # consistent in itself ...
    result = run_cli("verify", str(tmp_path / "resealed.zip"), "--public-key", str(public))
    assert result.code == 1 and "signature does not match" in result.stderr  # ... but not signed by the server
    missing = run_cli("verify", str(tmp_path / "nothing.zip"))
    assert missing.code == 2 and "no such evidence bundle" in missing.stderr and "Traceback" not in missing.stderr


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
        assert f"{base}/login with the token " in line
        token = line.rsplit(" ", 1)[1]
        assert get(f"{base}/api/runs", token=token)[0] == 200
        assert get(f"{base}/api/runs", token=TOKEN)[0] == 401
    finally:
        proc.terminate()
        proc.communicate(timeout=10)


@pytest.mark.slow  # Debian's chromium through Playwright
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
        page.goto(f"{server}/")
        assert page.url.startswith(f"{server}/login")
        page.fill("#token", TOKEN)
        page.click("#login button")
        assert page.locator("#targets").is_visible()
        page.click("text=demo")
        assert page.locator("#runs tbody tr").count() == 2
        latest = page.locator("#runs tbody tr").first
        latest.locator("a").first.click()
        page.wait_for_selector("#rows tr.finding")
        page.click("#f-status summary")
        page.check('#f-status input[value="fail"]')
        page.keyboard.press("Escape")
        statuses = page.locator("#rows tr.finding td:first-child").all_text_contents()
        assert statuses and set(statuses) == {"fail"}
        page.go_back()
        with page.expect_download() as download:
            latest.locator("a.evidence").click()
        path = tmp_path / "evidence.zip"
        download.value.save_as(path)
        run_id = latest.locator("a").first.text_content()
        check_bundle(path.read_bytes(), run_id)
        # The spec page is part of the site (its navigation, logout), and this server has no spec files: it says
        # it cannot judge gaps, never "0 gaps".
        page.click("header.top nav >> text=Spec coverage")
        page.click('a[href="/spec/ecommerce-platform"]')
        assert page.locator("header.top nav").is_visible() and page.locator("#logout").is_visible()
        assert page.locator(".spec-missing").is_visible() and "gaps cannot be judged" in page.locator(".spec-missing").text_content()
        assert "0 gaps" not in page.locator("main").text_content()
        page.click("#logout")
        assert "/login" in page.url
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
