"""`auditor schedule`: the real APScheduler with a persistent job store, per-target locks across processes,
webhooks, --once, and SIGTERM during an audit."""
from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from auditor.demo.ecommerce import build_drifted
from auditor.demo.mockaws import free_port, scan_environment
from auditor.history.store import HistoryStore
from auditor.runs.locking import exclusive, lock_path
from tests.conftest import run_cli
from tests.test_history import hanging_endpoint

pytestmark = pytest.mark.slow  # the real APScheduler in a subprocess, signals and waits


def write_config(tmp_path: Path, targets: list[dict], **scheduler) -> Path:
    lines = [f"db: {tmp_path / 'history.db'}", f"out: {tmp_path / 'reports'}", "formats: [json, html]",
             "scheduler:"] + [f"  {k}: {json.dumps(v)}" for k, v in {"misfire_grace_seconds": 60, **scheduler}.items()]
    lines.append("targets:")
    for t in targets:
        lines += [f"  - name: {t['name']}", f"    environment: {t.get('env', 'production')}",
                  f"    packs: [{t.get('pack', 'ecommerce-platform')}]", f"    endpoint_url: {t['endpoint']}",
                  "    schedule:", f"      cron: \"{t.get('cron', '0 2 * * *')}\"", "      timezone: Europe/Paris"]
    path = tmp_path / "config.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_once_audits_every_target_and_one_failure_does_not_stop_the_others(aws, tmp_path, webhook):
    url, received = webhook
    build_drifted(aws, "production", ("short-backups",))
    dead = f"http://127.0.0.1:{free_port()}"
    config = write_config(tmp_path, [{"name": "dead", "endpoint": dead}, {"name": "shop", "endpoint": aws.endpoint}],
                          webhook_url=url)
    result = run_cli("--config", str(config), "schedule", "--once", endpoint=aws.endpoint)
    assert result.code == 3, result.stderr
    assert "audit dead failed: endpoint unreachable" in result.stderr
    line = next(line for line in result.stderr.splitlines() if "audit shop: run" in line)
    assert "fail" in line and "score" in line and "report.html" in line
    runs = HistoryStore(tmp_path / "history.db").runs()
    assert {(r["target"], r["status"]) for r in runs} == {("dead", "failed"), ("shop", "partial")}
    (message,) = [json.loads(body) for _, body in received]
    assert message["target"] == "shop" and message["new_failures"] >= 1
    assert any(f["rule_id"] == "ECOM-RDS-007" for f in message["failures"])


def test_target_lock_holds_across_processes(aws, tmp_path):
    config = write_config(tmp_path, [{"name": "shop", "endpoint": aws.endpoint}])
    with exclusive(lock_path(tmp_path / "history.db", "target-shop"), "test holder"):
        held = run_cli("--config", str(config), "schedule", "--once", endpoint=aws.endpoint)
        scan = run_cli("--config", str(config), "scan", "--target", "shop", endpoint=aws.endpoint)
    assert held.code == 3 and "audit shop skipped" in held.stderr and "already running" in held.stderr
    assert scan.code == 3 and "already running" in scan.stderr
    assert HistoryStore(tmp_path / "history.db").runs() == []


def start_scheduler(config: Path, endpoint: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "auditor", "--config", str(config), "schedule"],
                            env=scan_environment(endpoint), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for(predicate, timeout=60.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


def test_scheduler_runs_jobs_persists_them_and_stops_on_sigterm(aws, tmp_path):
    build_drifted(aws, "production", ())
    config = write_config(tmp_path, [{"name": "shop", "endpoint": aws.endpoint, "cron": "*/2 * * * * *"}])
    db = tmp_path / "history.db"
    proc = start_scheduler(config, aws.endpoint)
    try:
        assert wait_for(lambda: db.exists() and len(HistoryStore(db).runs()) >= 2), proc.stderr
        second = start_scheduler(config, aws.endpoint)
        _, second_err = second.communicate(timeout=30)
        assert second.returncode == 3 and "auditor schedule for this history is already running" in second_err
    finally:
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 0, stderr
    assert "stopped" in stderr and "Traceback" not in stderr
    statuses = [r["status"] for r in HistoryStore(db).runs()]
    assert statuses and all(s in ("complete", "partial") for s in statuses)
    jobs = sqlite3.connect(tmp_path / "scheduler.sqlite").execute(
        "SELECT id FROM apscheduler_jobs").fetchall()
    assert jobs == [("audit:shop",)]


def test_sigterm_during_a_stuck_audit_marks_it_failed(aws, tmp_path):
    build_drifted(aws, "production", ())
    first = run_cli("--config", str(write_config(tmp_path, [{"name": "shop", "endpoint": aws.endpoint}])), "scan",
                    endpoint=aws.endpoint)
    assert first.code in (0, 1, 3)
    server, url = hanging_endpoint()
    config = write_config(tmp_path, [{"name": "shop", "endpoint": url, "cron": "*/2 * * * * *"}],
                          stop_timeout_seconds=1)
    db = tmp_path / "history.db"
    proc = start_scheduler(config, url)
    assert wait_for(lambda: len(HistoryStore(db).runs()) == 2)
    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=60)
    server.close()
    assert proc.returncode == 143, stderr
    newest, previous = HistoryStore(db).runs()[:2]
    assert newest["status"] == "failed" and "SIGTERM" in newest["errors"]
    assert previous["status"] in ("complete", "partial") and len(HistoryStore(db).findings(previous["id"])) > 40


def test_bad_schedule_is_bad_input(tmp_path):
    config = tmp_path / "config.yaml"
    config.write_text("targets:\n  - name: x\n    schedule:\n      cron: \"61 2 * * *\"\n")
    result = run_cli("--config", str(config), "schedule", "--once")
    assert result.code == 2 and f"{config}:4:" in result.stderr and "invalid schedule" in result.stderr
    config.write_text("targets:\n  - name: x\n")
    result = run_cli("--config", str(config), "schedule", "--once")
    assert result.code == 2 and "no target has a schedule" in result.stderr


def test_a_lost_or_corrupt_job_store_is_rebuilt_and_auditing_goes_on(aws, tmp_path):
    build_drifted(aws, "production", ())
    config = write_config(tmp_path, [{"name": "shop", "endpoint": aws.endpoint, "cron": "*/2 * * * * *"}])
    db, jobstore = tmp_path / "history.db", tmp_path / "scheduler.sqlite"
    jobstore.write_bytes(b"this is not a SQLite database, nor anything APScheduler wrote" * 100)
    proc = start_scheduler(config, aws.endpoint)
    try:
        assert wait_for(lambda: db.exists() and len(HistoryStore(db).runs()) >= 1), proc.stderr
        assert list(tmp_path.glob("scheduler.sqlite.corrupt-*"))  # moved aside, not destroyed
        jobstore.unlink()  # lost while the scheduler runs
        count = len(HistoryStore(db).runs())
        assert wait_for(lambda: len(HistoryStore(db).runs()) >= count + 2, timeout=60), "auditing stopped"
        assert jobstore.exists()
    finally:
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 0, stderr
    assert "is unusable" in stderr and "rebuilding it from config.yaml" in stderr and "Traceback" not in stderr
