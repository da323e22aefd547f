"""A run still being made reads ``running`` (history, API, fleet page), never "failed, no reason recorded"; one
whose process died reads failed, saying so. The run is recorded with HistoryStore.begin_run, as audit does."""
from __future__ import annotations

import json
import subprocess
import sys

from auditor.engine.findings import RunInfo, utc_now
from auditor.history.store import HistoryStore
from auditor.reporting.rollup import fleet_view
from tests.conftest import run_here
from tests.test_server_security import TOKEN, call, serving


def begun(db, run_id: str, target: str, pid: int | None = None) -> None:
    store = HistoryStore(db)
    try:
        store.begin_run(RunInfo(id=run_id, target=target, environment="production", regions=["us-east-1"],
                                packs=["baseline"], started_at=utc_now()))
        if pid is not None:  # recorded by a process that has ended since
            with store._write():
                store.db.execute("UPDATE runs SET pid = ? WHERE id = ?", [pid, run_id])
    finally:
        store.close()


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_a_run_in_progress_reads_running_and_a_dead_ones_failed_with_the_reason(tmp_path):
    db = tmp_path / "h.db"
    begun(db, "20261204T010000Z-aaaaaa", "shop")  # this process records it, and lives
    begun(db, "20261204T000000Z-bbbbbb", "legacy", pid=dead_pid())
    listed = run_here("history", "--db", str(db), "--json")
    assert listed.code == 0, listed.stderr
    rows = {r["id"]: r for r in json.loads(listed.stdout)}
    assert rows["20261204T010000Z-aaaaaa"]["status"] == "running"
    assert rows["20261204T000000Z-bbbbbb"]["status"] == "failed"
    report = run_here("report", "20261204T010000Z-aaaaaa", "--db", str(db), "--out", str(tmp_path / "r"))
    assert report.code == 3 and "is still running" in report.stderr
    store = HistoryStore(db, read_only=True)
    try:
        dead = store.run("20261204T000000Z-bbbbbb")
        assert dead.status == "failed" and "ended before the run finished" in dead.errors[0]
        fleet = {t["name"]: t for t in fleet_view(store)["targets"]}
    finally:
        store.close()
    assert fleet["shop"]["latest"]["status"] == "running" and fleet["shop"]["latest"]["score"] is None
    assert "ended before the run finished" in fleet["legacy"]["latest"]["errors"][0]


def test_the_server_says_running_in_the_api_and_on_the_fleet_page(tmp_path):
    db = tmp_path / "h.db"
    begun(db, "20261204T010000Z-aaaaaa", "shop")
    auth = {"Authorization": f"Bearer {TOKEN}"}
    with serving(db) as base:
        status, _, body = call(f"{base}/api/runs/20261204T010000Z-aaaaaa", headers=auth)
        assert status == 200 and json.loads(body)["run"]["status"] == "running", body[:300]
        status, _, body = call(f"{base}/", headers={**auth, "Accept": "text/html"})
        assert status == 200 and b'latest-status">running<' in body
        status, _, body = call(f"{base}/runs/20261204T010000Z-aaaaaa/evidence.zip", headers=auth)
        assert status == 409 and b"still running" in body
