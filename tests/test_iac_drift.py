"""`auditor scan --iac PATH`: a moto account built like the pointf fixture, then changed by hand, compared with
the Terraform that declares it."""
from __future__ import annotations

from tests.accounts import build_pointf, table
from tests.conftest import ROOT, run_here

FIXTURE = ROOT / "tests" / "fixtures" / "iac" / "pointf" / "terraform" / "compliant"


def drift(document):
    return sorted((f["rule_id"], f["resource"]["name"], f["property"], f["expected"], f["actual"])
                  for f in document["findings"] if f["pack"] == "iac-drift")


def scan(aws, tmp_path):
    return run_here("scan", "--pack", "pointf", "--pack", "baseline", "--env", "production", "--endpoint-url",
                   aws.endpoint, "--iac", str(FIXTURE), "--out", str(tmp_path), "--db", str(tmp_path / "h.db"),
                   "--format", "json", endpoint=aws.endpoint, timeout=300)


def test_account_as_declared_has_no_iac_drift(aws, tmp_path):
    build_pointf(aws, "production")
    assert drift(scan(aws, tmp_path).report()) == []


def test_changes_after_apply_are_reported_against_the_declaration(aws, tmp_path):
    build_pointf(aws, "production")
    aws.rds.modify_db_instance(DBInstanceIdentifier="ecommerce-db", BackupRetentionPeriod=7, ApplyImmediately=True)
    aws.s3.put_bucket_versioning(Bucket="ecommerce-order-documents-123456789012",
                                 VersioningConfiguration={"Status": "Suspended"})
    aws.dynamodb.delete_table(TableName="ecommerce-payments")
    table(aws, "ecommerce-scratch", "id")
    document = scan(aws, tmp_path).report()
    assert drift(document) == [
        ("IAC-DRIFT-001", "ecommerce-db", "backup_retention_days", 30, 7),
        ("IAC-DRIFT-001", "ecommerce-order-documents-123456789012", "versioning.status", "Enabled", "Suspended"),
        ("IAC-DRIFT-002", "ecommerce-payments", "exists", "present", "absent"),
        ("IAC-DRIFT-003", "ecommerce-scratch", None, "declared in IaC", "unmanaged"),
    ]
    retention = next(f for f in document["findings"] if f["rule_id"] == "IAC-DRIFT-001" and f["resource"]["name"] == "ecommerce-db")
    assert retention["source"]["file"] == "main.tf" and retention["source"]["line"] == 8
    assert "declared 30 at main.tf:8" in retention["message"]
    assert next(f for f in document["findings"] if f["rule_id"] == "IAC-DRIFT-003")["severity"] == "info"
