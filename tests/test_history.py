"""History: two scans of a changed account give the right change values; diff, report, retention; an
interrupted scan leaves its run failed and the rest of the history intact."""
from __future__ import annotations

import json
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time

import pytest

from auditor.demo.ecommerce import build_account, DRIFTS
from auditor.demo.mockaws import scan_environment
from auditor.history.migrations import SCHEMA_VERSION
from auditor.history.store import HistoryStore
from tests.conftest import findings_by, run_here


def scan(aws, tmp_path, *extra):
    return run_here("scan", "--pack", "ecommerce-platform", "--env", "production", "--endpoint-url", aws.endpoint,
                   "--out", str(tmp_path / "reports"), "--db", str(tmp_path / "h.db"), *extra, endpoint=aws.endpoint)


@pytest.fixture
def two_runs(aws, tmp_path):
    build_account(aws, "production")
    DRIFTS["short-backups"].apply(aws, "production")
    first = scan(aws, tmp_path).report()
    aws.rds.modify_db_instance(DBInstanceIdentifier="product-db-production", BackupRetentionPeriod=35,
                               ApplyImmediately=True)  # fixed
    DRIFTS["versioning-suspended"].apply(aws, "production")  # regressed
    aws.dynamodb.update_table(TableName="Sessions-production", DeletionProtectionEnabled=False)
    aws.dynamodb.delete_table(TableName="Sessions-production")  # a required table vanishes: new failure
    second = scan(aws, tmp_path).report()
    return first, second


def test_change_values_across_two_scans(two_runs):
    first, second = two_runs
    assert all(f["change"] == "new" for f in first["findings"])
    assert second["history"]["previous_run"] == first["run"]["id"]
    (fixed,) = findings_by(second, rule_id="ECOM-RDS-007")
    assert (fixed["status"], fixed["change"]) == ("pass", "resolved")
    (regressed,) = findings_by(second, rule_id="ECOM-S3-002", resource="ecommerce-order-documents-production")
    assert (regressed["status"], regressed["change"]) == ("fail", "regressed")
    (missing,) = findings_by(second, rule_id="ECOM-DDB-001", resource="Sessions-production")
    assert (missing["status"], missing["change"]) == ("fail", "regressed")
    (unchanged,) = findings_by(second, rule_id="ECOM-S3-004")
    assert unchanged["change"] == "unchanged"
    assert unchanged["first_seen"] == findings_by(first, rule_id="ECOM-S3-004")[0]["first_seen"]
    assert second["summary"]["by_change"]["regressed"] >= 2


def test_history_diff_and_report_commands(two_runs, tmp_path):
    first, second = two_runs
    db = str(tmp_path / "h.db")
    listed = json.loads(run_here("history", "--db", db, "--json").stdout)
    assert [r["id"] for r in listed] == [second["run"]["id"], first["run"]["id"]]
    diff = run_here("diff", first["run"]["id"], second["run"]["id"], "--db", db)
    assert diff.code == 0
    assert "versioning.status: Enabled -> Suspended" in diff.stdout
    assert "backup_retention_days: 7 -> 35" in diff.stdout
    data = json.loads(run_here("diff", first["run"]["id"], second["run"]["id"], "--db", db, "--json").stdout)
    assert {f["rule_id"] for f in data["fixed"]} >= {"ECOM-RDS-007"}
    assert {f["rule_id"] for f in data["regressed"]} >= {"ECOM-S3-002"}
    assert {"type": "AWS::DynamoDB::Table", "region": "us-east-1", "id": "Sessions-production"} in data["resources_removed"]
    out = tmp_path / "again"
    rendered = run_here("report", first["run"]["id"], "--format", "json", "--out", str(out), "--db", db)
    again = rendered.report()
    strip = lambda doc: sorted((f["rule_id"], f["resource"]["id"], f["status"], f["change"], f["first_seen"])
                               for f in doc["findings"])
    assert strip(again) == strip(first)
    assert run_here("report", "nope", "--db", db).code == 2
    assert run_here("diff", "nope", first["run"]["id"], "--db", db).code == 2


def test_retention_keeps_the_last_runs(aws, tmp_path):
    config = tmp_path / "config.yaml"
    config.write_text("keep_runs: 2\n")
    build_account(aws, "production")
    ids = []
    for _ in range(3):
        ids.append(run_here("--config", str(config), "scan", "--pack", "baseline", "--endpoint-url", aws.endpoint,
                           "--db", str(tmp_path / "r.db"), "--out", str(tmp_path), endpoint=aws.endpoint).report()["run"]["id"])
    store = HistoryStore(tmp_path / "r.db")
    assert [r["id"] for r in store.runs()] == ids[:0:-1]
    assert store.findings(ids[1]) and store.findings(ids[2])


def hanging_endpoint():
    """A TCP server that accepts and never answers: a scan against it is stuck mid-run."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    held = []
    threading.Thread(target=lambda: [held.append(server.accept()) for _ in range(8)], daemon=True).start()
    return server, f"http://127.0.0.1:{server.getsockname()[1]}"


@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGKILL])
def test_interrupted_scan_leaves_run_failed_and_history_intact(two_runs, tmp_path, how):
    db = tmp_path / "h.db"
    before = HistoryStore(db).runs()
    server, url = hanging_endpoint()
    proc = subprocess.Popen([sys.executable, "-m", "auditor", "scan", "--pack", "baseline", "--endpoint-url", url,
                             "--db", str(db), "--out", str(tmp_path)], env=scan_environment(url),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 30
    while time.time() < deadline and len(HistoryStore(db).runs()) == len(before):
        time.sleep(0.1)
    proc.send_signal(how)
    _, stderr = proc.communicate(timeout=30)
    server.close()
    assert "Traceback" not in stderr
    runs = HistoryStore(db).runs()
    assert len(runs) == len(before) + 1
    assert runs[0]["status"] == "failed"
    if how == signal.SIGTERM:
        assert "SIGTERM" in runs[0]["errors"]
        assert proc.returncode != 0
    assert [(r["id"], r["status"], r["score"]) for r in runs[1:]] == [(r["id"], r["status"], r["score"]) for r in before]
    assert len(HistoryStore(db).findings(before[0]["id"])) > 40


def test_schema_version_and_foreign_files(tmp_path):
    store = HistoryStore(tmp_path / "v.db")
    assert store.db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert store.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    other = tmp_path / "other.db"
    sqlite3.connect(other).execute("CREATE TABLE t (x)").connection.commit()
    result = run_here("history", "--db", str(other))
    assert result.code == 2 and "not an auditor history" in result.stderr
    text = tmp_path / "text.db"
    text.write_text("hello")
    assert run_here("history", "--db", str(text)).code == 2


def test_a_deleted_resource_is_gone_never_a_pass(aws, tmp_path):
    """A bucket that failed and was then deleted: the next report lists it under "gone" (resolved by
    deletion), not among the findings as a pass with actual "absent", and it counts in no pass or score."""
    aws.s3.create_bucket(Bucket="scratch-exports")  # baseline: no versioning, no TLS-only policy
    run = lambda: run_here("scan", "--pack", "baseline", "--env", "production", "--endpoint-url", aws.endpoint,
                          "--out", str(tmp_path / "reports"), "--db", str(tmp_path / "h.db"), endpoint=aws.endpoint)
    first = run().report()
    failed = {f["rule_id"] for f in findings_by(first, resource="scratch-exports") if f["status"] == "fail"}
    assert "BASE-S3-005" in failed
    aws.s3.delete_bucket(Bucket="scratch-exports")
    result = run()
    second = result.report()
    assert findings_by(second, resource="scratch-exports") == []
    gone = {(g["rule_id"], g["resource"]["name"]) for g in second["gone"]}
    assert gone == {(rule, "scratch-exports") for rule in failed}
    assert all(g["status"] == "gone" and g["change"] == "resolved" for g in second["gone"])
    assert second["summary"]["by_status"]["pass"] == sum(1 for f in second["findings"] if f["status"] == "pass")
    assert second["summary"]["by_change"]["resolved"] == len(failed)
    assert f"{len(failed)} resolved" in result.stdout
