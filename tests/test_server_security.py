"""`auditor serve` against what an attacker and an operator do: login CSRF from another site, guessing the token
at speed, a logout that must outlast a restart, a history on a read-only volume with no signing key to be had.
The app runs under uvicorn in a thread of the test (create_app, as `auditor serve` builds it)."""
from __future__ import annotations

import json
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import pytest

from auditor.demo.mockaws import free_port
from auditor.server.app import create_app
from tests.conftest import run_here
from tests.test_serve import call

TOKEN = "the-right-token"


@contextmanager
def serving(db: Path, **options):
    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(db, TOKEN, **options), host="127.0.0.1", port=port,
                                           log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(100):
        if server.started:
            break
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


def log_in(base: str, token: str = TOKEN, origin: str | None = "same"):
    headers = {"Origin": base if origin == "same" else origin} if origin else {}
    return call(f"{base}/login", {"token": token, "next": "/"}, headers)


def cookie_of(headers) -> str:
    return (headers.get("set-cookie") or "").split(";", 1)[0]


@pytest.fixture
def history(tmp_path, aws):
    aws.s3.create_bucket(Bucket="plain-bucket")
    db = tmp_path / "h.db"
    result = run_here("scan", "--pack", "baseline", "--endpoint-url", aws.endpoint, "--db", str(db), "--out",
                      str(tmp_path / "out"), "--format", "json", endpoint=aws.endpoint)
    assert result.code in (0, 1), result.stderr
    return db


def test_a_login_posted_from_another_site_or_no_page_is_refused(history):
    with serving(history) as base:
        assert log_in(base, origin="https://evil.example")[0] == 403
        assert log_in(base, origin="null")[0] == 403
        assert log_in(base, origin=None)[0] == 403  # neither Origin nor Referer: not a browser form
        referer = call(f"{base}/login", {"token": TOKEN}, {"Referer": f"{base}/login?next=/"})
        assert referer[0] == 303 and cookie_of(referer[1])
        status, headers, _ = log_in(base)
        assert status == 303 and cookie_of(headers).startswith("auditor_session=")


def test_guessing_the_token_at_speed_is_429_with_retry_after(history):
    with serving(history) as base:
        assert [log_in(base, f"guess-{n}")[0] for n in range(5)] == [401] * 5
        status, headers, body = log_in(base, "guess-6")
        assert status == 429 and 0 < int(headers["Retry-After"]) <= 300 and b"try again in" in body
        assert log_in(base)[0] == 429  # the right token waits too: the window is per client, not per guess


def test_a_logout_outlasts_a_restart(history):
    with serving(history) as base:
        cookie = cookie_of(log_in(base)[1])
        other = cookie_of(log_in(base)[1])
        assert call(f"{base}/api/runs", headers={"Cookie": cookie})[0] == 200
        assert call(f"{base}/logout", {}, {"Cookie": cookie, "Origin": base})[0] == 303
        assert call(f"{base}/api/runs", headers={"Cookie": cookie})[0] == 401
    stored = json.loads(history.with_name("h.db.sessions.json").read_text())
    assert len(stored) == 1 and cookie.split("=", 1)[1] not in json.dumps(stored)  # digests, not cookies
    with serving(history) as base:  # a new process of the same server: the logged-out cookie stays out
        assert call(f"{base}/api/runs", headers={"Cookie": cookie})[0] == 401
        assert call(f"{base}/api/runs", headers={"Cookie": other})[0] == 200


def test_a_server_without_a_signing_key_to_be_had_starts_and_says_so_for_bundles(history):
    # The key's folder cannot be made (its parent is a file), as on a read-only volume: the server starts,
    # serves pages and reports, and only the bundle is refused, with the reason.
    blocked = history.with_name("not-a-folder")
    blocked.write_text("")
    with serving(history, signing_key=blocked / "key.pem") as base:
        auth = {"Authorization": f"Bearer {TOKEN}"}
        runs = json.loads(call(f"{base}/api/runs", headers=auth)[2])
        run_id = runs[0]["id"]
        assert call(f"{base}/runs/{run_id}/report.json", headers=auth)[0] == 200
        status, _, body = call(f"{base}/runs/{run_id}/evidence.zip", headers=auth)
        assert status == 503 and "evidence bundles cannot be signed" in json.loads(body)["error"]
        assert str(blocked) in json.loads(body)["error"]
