"""IaC written as public modules and AWS's sample templates are: expressions checkov leaves unresolved, null
capacities, parameters without defaults, conditions, two stacks sharing a logical id, inline and conditional
bucket policies. Each gets the right verdict, and nothing crashes."""
from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import run_here

REALWORLD = Path(__file__).parent / "fixtures" / "iac" / "realworld"


def gate(path: Path, tmp_path: Path) -> tuple[int, str, dict]:
    result = run_here("iac", str(path), "--pack", "baseline", "--env", "production", "--format", "json",
                     "--out", str(tmp_path), "--no-checkov")
    assert "Traceback" not in result.stderr and result.stderr == "", result.stderr
    (report,) = Path(tmp_path).glob("*/report.json")
    return result.code, result.stdout, json.loads(report.read_text())


def verdicts(document: dict, resource: str) -> dict[str, dict]:
    return {f["rule_id"]: f for f in document["findings"] if f["resource"]["name"] == resource}


def test_terraform_expressions_checkov_leaves_unresolved_are_unknown(tmp_path):
    code, stdout, document = gate(REALWORLD / "terraform", tmp_path)
    logs = verdicts(document, "acme-logs")
    for rule in ("BASE-S3-003", "BASE-S3-004"):  # the policy is concat([...], var.extra_statements)
        assert logs[rule]["status"] == "error" and "concat(" in logs[rule]["message"]
    db = verdicts(document, "db1")
    assert db["BASE-RDS-001"]["status"] == "error" and "try(" in db["BASE-RDS-001"]["message"]
    assert db["BASE-RDS-003"]["status"] == "fail"  # replicate_source_db = null: not a replica, its backups count
    assert "orders" in {f["resource"]["name"] for f in document["findings"]}  # GSI capacity var.rcu / null
    assert code == 1 and stdout.rstrip().splitlines()[-1].startswith("gate: FAILED")  # acme-site is public


def test_public_means_who_not_how(tmp_path):
    _, _, document = gate(REALWORLD / "terraform", tmp_path)
    assert verdicts(document, "acme-site")["BASE-S3-004"]["status"] == "fail"  # inline policy, TLS-only condition
    assert verdicts(document, "acme-internal")["BASE-S3-004"]["status"] == "pass"  # aws:SourceVpce restricts who


def test_cloudformation_parameters_conditions_and_two_stacks(tmp_path):
    _, _, document = gate(REALWORLD / "cloudformation", tmp_path)
    files = {(f["resource"]["name"], f["source"]["file"]) for f in document["findings"]}
    assert {("bucket-a", "stack-a.yaml"), ("bucket-b", "stack-b.yaml")} <= files  # same logical id, two stacks
    bucket = verdicts(document, "bucket-a")
    # KMSMasterKeyID: !If [Kms, alias/aws/s3, AWS::NoValue]: encrypted with KMS under either branch
    assert bucket["BASE-S3-001"]["status"] == "pass"
    table = verdicts(document, "orders")  # AttributeName: !Ref KeyName, a parameter with no default
    assert table["BASE-DDB-001"]["status"] == "fail"


def test_module_companions_join_their_bucket_and_paths_lead_to_the_file(tmp_path):
    _, _, document = gate(REALWORLD / "module-root", tmp_path)
    versioning = verdicts(document, "acme-mod-logs")["BASE-S3-005"]
    assert versioning["status"] == "pass"  # aws_s3_bucket_versioning.this (count) in the module, joined
    assert versioning["source"]["file"] == "../modules/bucket/main.tf"  # relative to the IaC root, and it exists
    assert (REALWORLD / "module-root" / versioning["source"]["file"]).exists()


def test_no_input_under_tests_makes_the_gate_print_a_traceback(tmp_path):
    """Every fixture under tests/ at once (templates, plans, modules, and the YAML and JSON that are neither),
    with checkov's checks: a verdict and a decision, never a traceback."""
    result = run_here("iac", str(Path(__file__).parent / "fixtures"), "--pack", "baseline", "--env", "production",
                     "--format", "json", "--out", str(tmp_path))
    assert "Traceback" not in result.stderr and "unexpected error" not in result.stderr, result.stderr
    assert result.code == 1 and result.stdout.rstrip().splitlines()[-1].startswith("gate: FAILED")
    (report,) = Path(tmp_path).glob("*/report.json")
    packs = {f["pack"] for f in json.loads(report.read_text())["findings"]}
    assert packs == {"baseline", "checkov"}


def test_who_manages_the_key_is_read_from_the_iac(tmp_path):
    """No key: the service's AWS managed key; a key this IaC declares: customer managed; a variable: unknown."""
    from auditor.iac.checkov_run import run_checkov
    from auditor.iac.load import iac_resources

    (tmp_path / "main.tf").write_text('''
variable "key" {
  type = string
}
resource "aws_kms_key" "ebs" {}
resource "aws_ebs_volume" "aws_managed" {
  availability_zone = "us-east-1a"
  size              = 10
  encrypted         = true
}
resource "aws_ebs_volume" "customer" {
  availability_zone = "us-east-1a"
  size              = 10
  encrypted         = true
  kms_key_id        = aws_kms_key.ebs.arn
}
resource "aws_ebs_volume" "alias" {
  availability_zone = "us-east-1a"
  size              = 10
  encrypted         = true
  kms_key_id        = "alias/aws/ebs"
}
resource "aws_ebs_volume" "variable" {
  availability_zone = "us-east-1a"
  size              = 10
  encrypted         = true
  kms_key_id        = var.key
}
resource "aws_dynamodb_table" "cache" {
  name     = "cache"
  hash_key = "k"
  attribute {
    name = "k"
    type = "S"
  }
  server_side_encryption {
    enabled = true
  }
}
''')
    found = {r.id: r for r in iac_resources(run_checkov(tmp_path, [], with_checks=False), "us-east-1")}
    managers = {name: found[f"aws_ebs_volume.{name}"].kms_key_manager for name in ("aws_managed", "customer", "alias")}
    assert managers == {"aws_managed": "AWS", "customer": "CUSTOMER", "alias": "AWS"}
    assert "aws/ebs" in found["aws_ebs_volume.aws_managed"].defaults["kms_key_manager"]
    assert "var.key" in found["aws_ebs_volume.variable"].unknown["kms_key_manager"]
    assert found["cache"].kms_key_manager == "AWS"
