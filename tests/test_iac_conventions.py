"""IaC as public modules and sample templates write it (tests/fixtures/iac/realworld/module-conventions and
cfn-conditions): resources that count = 0 removes are not judged, null defaults leave a setting to AWS,
companions joined through locals, one attribute's failure stays its own, module addresses tell two calls
apart, Fn::If judged on both branches, cache clusters and serverless caches modelled, unmodelled types listed."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from auditor.iac.checkov_run import run_checkov
from auditor.iac.load import iac_resources
from auditor.rules.load import load_pack
from auditor.rules.pack import builtin_packs_dir
from auditor.runs.gate import iac_audit
from tests.conftest import run_here

REALWORLD = Path(__file__).parent / "fixtures" / "iac" / "realworld"
MODULES = REALWORLD / "module-conventions" / "root"
CONDITIONS = REALWORLD / "cfn-conditions"


@pytest.fixture(scope="module")
def modules():
    return {r.id: r for r in iac_resources(run_checkov(MODULES, [], with_checks=False), "us-east-1")}


@pytest.fixture(scope="module")
def baseline():
    return [load_pack(builtin_packs_dir() / "baseline.yaml")]


def audit(path: Path, packs, with_checkov: bool = False):
    return iac_audit(path, packs, "production", {}, [], "us-east-1", None, with_checkov, [])


def verdicts(findings) -> dict[tuple[str, str], object]:
    return {(f.rule_id, f.resource.id): f for f in findings if f.pack != "checkov"}


def test_blocks_that_count_or_for_each_removes_are_not_judged(modules):
    names = {r.name for r in modules.values()}
    assert "acme-never" not in names  # count = 0
    assert not any(n.startswith("acme-tenant") for n in names)  # for_each = {}
    assert "acme-reports" not in names  # module call with create = false: count = var.create ? 1 : 0
    assert {"acme-sessions", "acme-orders", "acme-carts"} <= names


def test_a_count_that_cannot_be_evaluated_is_judged_once_and_says_so(modules, baseline):
    (replicas,) = [r for r in modules.values() if r.name == "acme-replica"]
    assert "count = var.replica_count could not be evaluated" in replicas.source.note
    findings = verdicts(audit(MODULES, baseline).findings)
    assert "judged as one instance" in findings[("BASE-S3-005", "acme-replica")].message


def test_a_null_default_leaves_the_setting_to_aws(modules):
    cache = modules["acme-sessions"]
    assert cache.snapshot_retention_days == 0 and "no automatic snapshots" in cache.defaults["snapshot_retention_days"]
    assert cache.multi_az is False and "snapshot_retention_days" not in cache.unknown
    assert cache.at_rest_encryption is True  # a real default, resolved


def test_variables_passed_through_a_submodule_are_followed(modules):
    (db,) = [r for r in modules.values() if r.type == "AWS::RDS::DBInstance"]
    assert db.source.address == "module.orders_db.module.db_instance.aws_db_instance.this"
    assert db.is_read_replica is False and db.replica_source is None  # replicate_source_db = null, two levels up
    assert db.backup_retention_days == 14  # the parent's default, passed down
    assert db.storage_encrypted is True and not db.unknown.get("backup_retention_days")


def test_companions_found_through_locals_and_splats_join_their_bucket(modules):
    orders = modules["acme-orders"]
    assert orders.versioning.status == "Enabled" and "versioning" not in orders.defaults
    assert orders.public_access_block.all_blocked and "public_access_block" not in orders.defaults
    carts = modules["acme-carts"]  # block_public_policy = false through the module call
    assert carts.public_access_block.block_public_policy is False and not carts.public_access_block.all_blocked


def test_a_flagged_companion_that_will_not_exist_is_not_joined(modules):
    """count = var.enabled && var.object_lock_enabled ? 1 : 0 with object_lock_enabled false: checkov expands
    it as if it existed; the bucket has no object lock."""
    assert modules["acme-orders"].object_lock.enabled is False


def test_an_attribute_that_cannot_be_read_leaves_only_itself_unknown(modules, baseline):
    carts = modules["acme-carts"]  # object lock mode given the whole object: not a mode
    assert carts.object_lock is None and "object_lock" in carts.unknown
    assert carts.name == "acme-carts" and carts.versioning.status == "Enabled"
    findings = verdicts(audit(MODULES, baseline).findings)
    assert findings[("BASE-S3-005", "acme-carts")].status == "pass"
    assert findings[("BASE-S3-002", "acme-carts")].status == "fail"


def test_findings_carry_the_module_address(baseline):
    findings = verdicts(audit(MODULES, baseline).findings)
    orders, carts = findings[("BASE-S3-005", "acme-orders")], findings[("BASE-S3-005", "acme-carts")]
    assert orders.source.file == "../modules/bucket/main.tf"
    addresses = {f.source.address for f in (orders, carts)}
    assert addresses == {"module.orders.aws_s3_bucket_versioning.default[0]",
                         "module.carts.aws_s3_bucket_versioning.default[0]"}


def test_two_calls_of_one_module_with_unrendered_names_stay_two(tmp_path, baseline):
    (tmp_path / "modules" / "b").mkdir(parents=True)
    (tmp_path / "modules" / "b" / "main.tf").write_text(
        'variable "name" {\n  type = string\n}\nresource "aws_s3_bucket" "this" {\n  bucket = var.name\n}\n')
    (tmp_path / "root").mkdir()
    (tmp_path / "root" / "main.tf").write_text(
        'module "a" {\n  source = "../modules/b"\n  name = data.aws_ssm_parameter.a.value\n}\n'
        'module "b" {\n  source = "../modules/b"\n  name = data.aws_ssm_parameter.b.value\n}\n')
    findings = [f for f in audit(tmp_path / "root", baseline).findings if f.rule_id == "BASE-S3-005"]
    assert sorted(f.resource.id for f in findings) == ["module.a.aws_s3_bucket.this", "module.b.aws_s3_bucket.this"]
    assert all("data.aws_ssm_parameter" in f.resource.name for f in findings)  # the name is the expression


@pytest.mark.parametrize("path", [MODULES, REALWORLD / "aurora", REALWORLD / "terraform", CONDITIONS])
def test_the_same_verdicts_with_and_without_checkovs_checks(path, baseline):
    without = {(f.rule_id, f.resource.id, f.status) for f in audit(path, baseline, False).findings}
    with_checks = {(f.rule_id, f.resource.id, f.status) for f in audit(path, baseline, True).findings
                   if f.pack != "checkov"}
    assert with_checks == without


def test_fn_if_is_judged_on_both_branches(baseline):
    findings = verdicts(audit(CONDITIONS, baseline).findings)
    versioning = findings[("BASE-S3-005", "acme-data-staging")]  # Enabled / Suspended by IsProduction
    assert versioning.status == "error"
    assert versioning.message == ("depends on CloudFormation conditions: pass when IsProduction is true; "
                                  "fail when IsProduction is false")
    assert "fail when IsPublic is true" in findings[("BASE-S3-002", "acme-data-staging")].message
    assert findings[("BASE-S3-001", "acme-data-staging")].status == "pass"  # KMS, or the SSE-S3 default: both encrypted
    pitr = findings[("BASE-DDB-001", "acme-orders-staging")]  # false, or left out: both off
    assert pitr.status == "fail" and "IsProduction" not in pitr.message


def test_drift_and_resources_see_one_resource_with_the_disagreement_unknown():
    resources = [r for r in iac_resources(run_checkov(CONDITIONS, [], with_checks=False), "us-east-1")
                 if r.name == "acme-data-staging"]
    (bucket,) = resources
    assert bucket.versioning is None and "IsProduction" in bucket.unknown["versioning"]
    assert bucket.encryption is None and "IsProduction" in bucket.unknown["encryption"]  # aws:kms or AES256
    assert "IsPublic" in bucket.unknown["public_access_block"] and bucket.cors is not None


def test_cache_clusters_and_serverless_caches_are_judged(baseline):
    findings = verdicts(audit(CONDITIONS, baseline).findings)
    assert findings[("BASE-CACHE-001", "acme-sessions")].status == "fail"  # a lone cache cluster: no encryption at rest
    assert findings[("BASE-CACHE-003", "acme-sessions")].status == "pass"
    assert findings[("BASE-CACHE-001", "acme-api")].status == "pass"  # serverless: always encrypted
    assert findings[("BASE-CACHE-002", "acme-api")].status == "pass"


def test_a_cache_cluster_inside_a_replication_group_is_judged_with_the_group(tmp_path, baseline):
    (tmp_path / "main.tf").write_text('''
resource "aws_elasticache_replication_group" "this" {
  replication_group_id       = "acme-rg"
  description                = "rg"
  node_type                  = "cache.t4g.small"
  at_rest_encryption_enabled = true
}
resource "aws_elasticache_cluster" "replica" {
  cluster_id           = "acme-rg-003"
  replication_group_id = aws_elasticache_replication_group.this.id
}
resource "aws_elasticache_serverless_cache" "api" {
  engine = "redis"
  name   = "acme-api"
}
''')
    names = {f.resource.id for f in audit(tmp_path, baseline).findings if f.rule_id == "BASE-CACHE-001"}
    assert names == {"acme-rg", "acme-api"}


def test_a_global_table_is_judged_as_the_table_it_is(tmp_path):
    """AWS::DynamoDB::GlobalTable (one replica here, no PITR on it): the table rules judge it."""
    result = run_here("iac", str(CONDITIONS), "--pack", "baseline", "--env", "production", "--format", "json",
                     "--out", str(tmp_path), "--no-checkov")
    assert "Traceback" not in result.stderr and result.stderr == ""
    (report,) = tmp_path.glob("*/report.json")
    document = json.loads(report.read_text())
    assert document["run"]["coverage"]["iac_skipped"] == []
    orders = {f["rule_id"]: f for f in document["findings"] if f["resource"]["name"] == "acme-orders-global"}
    assert orders["BASE-DDB-001"]["status"] == "fail" and orders["BASE-DDB-001"]["source"]["line"] == 71


def test_types_the_packs_judge_but_auditor_does_not_model_are_listed(tmp_path):
    folder = tmp_path / "iac"
    folder.mkdir()
    (folder / "global.yaml").write_text("""AWSTemplateFormatVersion: "2010-09-09"
Resources:
  Orders:
    Type: AWS::RDS::GlobalCluster
    Properties:
      GlobalClusterIdentifier: acme-orders
      Engine: aurora-postgresql
      StorageEncrypted: false
""")
    result = run_here("iac", str(folder), "--pack", "baseline", "--env", "production", "--format", "json",
                     "--out", str(tmp_path / "out"), "--no-checkov")
    assert "Traceback" not in result.stderr and result.stderr == ""
    assert "note: 1 resource(s) of a type auditor does not model were not judged: Orders (AWS::RDS::GlobalCluster)" \
        in result.stdout
    (report,) = (tmp_path / "out").glob("*/report.json")
    coverage = json.loads(report.read_text())["run"]["coverage"]
    assert coverage["iac_skipped"] == [{
        "address": "Orders", "type": "AWS::RDS::GlobalCluster", "file": "global.yaml", "line": 3,
        "reason": "AWS::RDS::GlobalCluster is not modelled: the rules on AWS::RDS::DBCluster do not judge it"}]


def test_checkovs_own_warnings_are_counted_not_printed(tmp_path, monkeypatch, capfd):
    """What checkov logs (to its loggers or the root logger, as its parser does with logging.warning) or prints
    while it runs stays off the user's stderr, and the run counts it."""
    import logging
    import sys

    from checkov.terraform.runner import Runner

    original = Runner.check_tf_definition

    def noisy(self, *args, **kwargs):
        logging.warning("Unable to load module - source: ../gone, version: None, error: ...")
        logging.getLogger("checkov.terraform").error("Traceback (most recent call last): ...")
        print("Traceback (most recent call last):\n  File ...\nKeyError: 'x'", file=sys.stderr)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Runner, "check_tf_definition", noisy)
    (tmp_path / "main.tf").write_text('resource "aws_s3_bucket" "b" {\n  bucket = "acme-b"\n}\n')
    out = run_checkov(tmp_path, [], with_checks=True)
    captured = capfd.readouterr()
    assert out.messages == 5  # two log records, three printed lines
    assert "Traceback" not in captured.err and "Unable to load module" not in captured.err
    assert [r.name for r in iac_resources(out, "us-east-1")] == ["acme-b"]


def test_a_baseline_made_with_checkov_matches_a_run_without(tmp_path):
    """The model is the same in both modes, so the finding keys are too: a baseline from a run with checkov's
    checks leaves a run without them no new failure of ours."""
    first = run_here("iac", str(MODULES), "--pack", "baseline", "--env", "production", "--format", "json",
                    "--out", str(tmp_path / "a"))
    (report,) = (tmp_path / "a").glob("*/report.json")
    assert first.code == 1
    second = run_here("iac", str(MODULES), "--pack", "baseline", "--env", "production", "--format", "json",
                     "--out", str(tmp_path / "b"), "--no-checkov", "--baseline", str(report))
    assert second.code == 0 and second.stderr == "", second.stdout[-400:]
    (again,) = (tmp_path / "b").glob("*/report.json")
    ours = [f for f in json.loads(again.read_text())["findings"] if f["status"] == "fail"]
    assert ours and all(f["change"] == "unchanged" for f in ours)


def test_a_local_module_outside_the_folder_that_cannot_be_parsed_stops_the_gate(tmp_path):
    """checkov skipped it without a word and the gate passed on what was left; now it is exit 2, one line."""
    (tmp_path / "root").mkdir()
    (tmp_path / "modules" / "bucket").mkdir(parents=True)
    (tmp_path / "root" / "main.tf").write_text('module "logs" {\n  source = "../modules/bucket"\n}\n')
    (tmp_path / "modules" / "bucket" / "main.tf").write_text('resource "aws_s3_bucket" "this" {\n  bucket =\n}\n')
    result = run_here("iac", str(tmp_path / "root"), "--pack", "baseline", "--env", "production", "--no-checkov")
    assert result.code == 2 and result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert "modules/bucket/main.tf:2: invalid HCL" in result.stderr


def test_a_count_decided_by_a_function_of_a_variable_is_evaluated(tmp_path, baseline):
    """terraform-aws-modules/rds (db_instance) picks its block by engine: count = var.create && false ==
    local.is_mssql ? 1 : 0, is_mssql = element(split("-", var.engine), 0) == "sqlserver". checkov expands the
    SQL Server block for a postgres engine and drops the other; the one AWS would create is judged."""
    (tmp_path / "modules" / "db").mkdir(parents=True)
    (tmp_path / "modules" / "db" / "main.tf").write_text('''
variable "engine" {}
variable "create" {
  default = true
}
locals {
  is_mssql = element(split("-", var.engine), 0) == "sqlserver"
}
resource "aws_db_instance" "this" {
  count             = var.create && false == local.is_mssql ? 1 : 0
  identifier        = "orders-db"
  engine            = var.engine
  storage_encrypted = true
}
resource "aws_db_instance" "this_mssql" {
  count             = var.create && local.is_mssql ? 1 : 0
  identifier        = "orders-db"
  engine            = var.engine
  storage_encrypted = false
}
''')
    (tmp_path / "root").mkdir()
    (tmp_path / "root" / "main.tf").write_text('module "db" {\n  source = "../modules/db"\n  engine = "postgres"\n}\n')
    (encryption,) = [f for f in audit(tmp_path / "root", baseline).findings if f.rule_id == "BASE-RDS-001"]
    assert encryption.source.address == "module.db.aws_db_instance.this" and encryption.status == "pass"
