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


def test_what_the_live_side_cannot_read_is_drift_error_never_missing_or_silent(aws, tmp_path):
    """ListTables denied: the declared tables are "cannot be compared", not "missing from the account";
    GetBucketVersioning denied: the bucket's versioning is an error with the reason, not silently skipped."""
    from tests.faultproxy import FaultProxy

    build_pointf(aws, "production")
    aws.s3.put_bucket_versioning(Bucket="ecommerce-order-documents-123456789012",
                                 VersioningConfiguration={"Status": "Suspended"})
    with FaultProxy(aws.endpoint, deny=lambda service, op: op in ("ListTables", "GetBucketVersioning")) as proxy:
        result = run_here("scan", "--pack", "pointf", "--pack", "baseline", "--env", "production", "--endpoint-url",
                          proxy.url, "--iac", str(FIXTURE), "--out", str(tmp_path), "--db", str(tmp_path / "h.db"),
                          "--format", "json", endpoint=proxy.url, timeout=300)
    document = result.report()
    drift_findings = [f for f in document["findings"] if f["pack"] == "iac-drift"]
    tables = [f for f in drift_findings if f["resource"]["type"] == "AWS::DynamoDB::Table"]
    assert tables and all(f["status"] == "error" and f["actual"] is None for f in tables), tables
    assert all("could not be listed" in f["message"] and "AccessDenied" in f["message"] for f in tables)
    assert not any(f["actual"] == "absent" for f in drift_findings)  # nothing reads as "missing"
    versioning = [f for f in drift_findings if f["property"] == "versioning"]
    assert {f["resource"]["name"] for f in versioning} >= {"ecommerce-order-documents-123456789012"}
    assert all(f["status"] == "error" and "could not be read live" in f["message"] for f in versioning)
    assert result.code == 3 or any(f["status"] == "fail" for f in document["findings"])  # never reads as compliant
