"""`auditor demo`: no account, no credentials; prints the findings and the report paths."""
from __future__ import annotations

from tests.conftest import run_cli


def test_demo_prints_drift_and_writes_a_valid_report(tmp_path):
    env = {"AWS_ACCESS_KEY_ID": None, "AWS_SECRET_ACCESS_KEY": None, "AWS_PROFILE": "does-not-exist"}
    result = run_cli("demo", "--out", str(tmp_path), env=env, timeout=300)
    assert result.code == 0, result.stderr
    assert "Failures and errors" in result.stdout and "By control" in result.stdout
    document = result.report()
    failed = {(f["rule_id"], f["resource"]["name"]) for f in document["findings"] if f["status"] == "fail"}
    assert ("ECOM-S3-002", "ecommerce-order-documents-production") in failed
    assert ("ECOM-RDS-007", "product-db-production") in failed
    assert ("ECOM-CACHE-001", "api-cache-production") in failed
    assert document["run"]["target"] == "demo" and document["run"]["packs"] == ["ecommerce-platform", "baseline"]
    assert "testing" not in (tmp_path / document["run"]["id"] / "report.json").read_text()  # no credentials leak
