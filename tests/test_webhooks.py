"""The scheduler's webhook against receivers that misbehave: whatever they do is one logged, counted failure,
bounded by webhook_timeout_seconds for the whole delivery, and never stops `schedule --once` or the targets
after the one whose webhook failed."""
from __future__ import annotations

import logging
import socket
import sqlite3
import threading
import time
from types import SimpleNamespace

import pytest

from auditor.demo.ecommerce import build_drifted
from auditor.demo.mockaws import free_port
from auditor.fleet import notify
from tests.conftest import TEST_CONFIG, run_here

TIMEOUT = 2.0


class Receiver:
    """A TCP server on loopback answering every connection with ``answer(connection)``."""

    def __init__(self, answer):
        self.answer = answer
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/hook"
        self.stopped = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while not self.stopped.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._one, args=(conn,), daemon=True).start()

    def _one(self, conn):
        try:
            conn.settimeout(5)
            conn.recv(65536)
            self.answer(conn, self.stopped)
        except OSError:
            pass
        finally:
            conn.close()

    def close(self):
        self.stopped.set()
        self.sock.close()


def garbage_status(conn, stopped):
    conn.sendall(b"GARBAGE\r\n\r\n")


def huge_header(conn, stopped):
    conn.sendall(b"HTTP/1.1 200 OK\r\nX-Big: " + b"a" * 70_000 + b"\r\n\r\n")


def drip(conn, stopped):
    for byte in b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 1000:
        if stopped.is_set():
            return
        conn.sendall(bytes([byte]))
        time.sleep(0.5)


def plain_ok(conn, stopped):
    conn.sendall(b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n")


def settings(url: str) -> SimpleNamespace:
    return SimpleNamespace(scheduler=SimpleNamespace(webhook_url=url, webhook_format="json", webhook_secret_env=None,
                                                     webhook_timeout_seconds=TIMEOUT),
                           server=SimpleNamespace(base_url="https://auditor.example.com"))


OUTCOME = SimpleNamespace(run=SimpleNamespace(target="shop", id="20261204T000000Z-abcdef", status="complete"),
                          document={"summary": {"score": 90.0}})
FAILURE = SimpleNamespace(rule_id="BASE-S3-001", title="t", severity="high", control="encryption", change="new",
                          resource=SimpleNamespace(name="bucket", arn=None), message="m")


@pytest.mark.parametrize("answer, says", [
    (garbage_status, "BadStatusLine"),
    (huge_header, "LineTooLong"),
    (drip, f"no complete answer within {TIMEOUT:g} s"),
])
def test_a_misbehaving_receiver_is_one_logged_counted_failure_within_the_timeout(answer, says, caplog):
    receiver = Receiver(answer)
    before = dict(notify.DELIVERIES)
    started = time.monotonic()
    try:
        with caplog.at_level(logging.WARNING, logger="auditor.scheduler"):
            assert notify.notify(settings(receiver.url), OUTCOME, [FAILURE]) is False
    finally:
        receiver.close()
    assert time.monotonic() - started < TIMEOUT + 1.5
    assert notify.DELIVERIES["failed"] == before["failed"] + 1
    assert any(says in r.getMessage() and "/hook" not in r.getMessage() for r in caplog.records), caplog.text


def test_tls_to_a_plain_receiver_and_a_closed_port_are_failures_too(caplog):
    receiver = Receiver(plain_ok)
    closed = f"http://127.0.0.1:{free_port()}/hook"
    try:
        with caplog.at_level(logging.WARNING, logger="auditor.scheduler"):
            assert notify.notify(settings(receiver.url.replace("http://", "https://")), OUTCOME, [FAILURE]) is False
            assert notify.notify(settings(closed), OUTCOME, [FAILURE]) is False
            assert notify.notify(settings(receiver.url), OUTCOME, [FAILURE]) is True
    finally:
        receiver.close()
    messages = [r.getMessage() for r in caplog.records]
    assert any("SSL" in m for m in messages) and any("refused" in m.lower() for m in messages), messages


def test_schedule_once_audits_every_target_when_a_webhook_fails(aws, tmp_path):
    build_drifted(aws, "production", ("short-backups",))
    receiver = Receiver(garbage_status)
    config = tmp_path / "config.yaml"
    targets = "".join(f"""  - name: {name}
    packs: [ecommerce-platform]
    endpoint_url: {aws.endpoint}
    schedule: {{cron: "0 2 * * *"}}
""" for name in ("shop-a", "shop-b"))
    config.write_text(TEST_CONFIG.read_text() + f"""
db: {tmp_path / 'h.db'}
out: {tmp_path / 'reports'}
scheduler:
  webhook_url: {receiver.url}
  webhook_timeout_seconds: {TIMEOUT}
targets:
{targets}""")
    try:
        result = run_here("--config", str(config), "schedule", "--once", endpoint=aws.endpoint)
    finally:
        receiver.close()
    assert result.code in (1, 3), result.stderr  # the drift fails the gate; the webhook does not decide it
    with sqlite3.connect(tmp_path / "h.db") as db:
        audited = {row[0] for row in db.execute("SELECT target FROM runs WHERE status != 'failed'")}
    assert audited == {"shop-a", "shop-b"}
