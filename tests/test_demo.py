"""`auditor demo`: no account, no credentials; two audits with a change between, history and drift over time."""
from __future__ import annotations

from tests.conftest import findings_by, run_cli


def test_demo_shows_drift_against_spec_and_over_time(tmp_path):
    env = {"AWS_ACCESS_KEY_ID": None, "AWS_SECRET_ACCESS_KEY": None, "AWS_PROFILE": "does-not-exist"}
    result = run_cli("demo", "--out", str(tmp_path), env=env, timeout=300)
    assert result.code == 0, result.stderr
    # The mock's own logs stay quiet (no web-server traceback for the calls moto lacks); one line names them.
    assert "Traceback" not in result.stdout + result.stderr and "Error on request" not in result.stdout + result.stderr
    gaps = [line for line in result.stdout.splitlines() if line.startswith("the mock cannot answer")]
    assert len(gaps) == 1 and "ECOM-DDB-017: ListBackupSelections is not in moto" in gaps[0], result.stdout[-3000:]
    assert "Failures and errors" in result.stdout and "By control" in result.stdout
    # regressed: the backups bucket's block (ECOM-S3-010) and the account-level block on four buckets (ECOM-S3-019)
    assert "since the previous run: 0 new failures, 5 regressed, 1 resolved" in result.stdout
    document = result.report()
    assert document["run"]["target"] == "demo" and document["run"]["packs"] == ["ecommerce-platform", "baseline"]
    assert document["history"]["previous_run"] is not None
    assert len(document["history"]["trend"]) == 2
    failed = {(f["rule_id"], f["resource"]["name"]) for f in document["findings"] if f["status"] == "fail"}
    assert ("ECOM-RDS-007", "product-db-production") in failed
    assert ("ECOM-CACHE-001", "api-cache-production") in failed
    (fixed,) = findings_by(document, rule_id="ECOM-S3-002", resource="ecommerce-order-documents-production")
    assert (fixed["status"], fixed["change"]) == ("pass", "resolved")
    (regressed,) = findings_by(document, rule_id="ECOM-S3-010", resource="ecommerce-database-backups-production")
    assert (regressed["status"], regressed["change"]) == ("fail", "regressed")
    (still,) = findings_by(document, rule_id="ECOM-RDS-007")
    assert still["change"] == "unchanged" and still["first_seen"] < document["run"]["started_at"]
    assert "testing" not in (tmp_path / document["run"]["id"] / "report.json").read_text()  # no credentials leak
    history = run_cli("history", "--db", str(tmp_path / "demo.db"))
    assert history.code == 0 and history.stdout.count("demo ") >= 2
