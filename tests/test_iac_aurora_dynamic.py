"""Aurora, as AWS runs it and as IaC writes it: a cluster holds storage encryption, backups and deletion
protection, and its instances are judged by the cluster's values (live, Terraform, CloudFormation). Also
Terraform ``dynamic`` blocks and functions checkov leaves unevaluated, and the legacy Elasticsearch domain."""
from __future__ import annotations


from auditor.iac.checkov_run import run_checkov
from auditor.iac.load import iac_resources
from tests.conftest import run_here
from tests.test_iac_realworld import REALWORLD, gate, verdicts


def test_aurora_instances_take_their_clusters_values_in_terraform(tmp_path):
    code, _, document = gate(REALWORLD / "aurora", tmp_path)
    for member in ("orders-0", "orders-1"):  # count = 2; nothing about encryption on the instances themselves
        found = verdicts(document, member)
        assert {found[r]["status"] for r in ("BASE-RDS-001", "BASE-RDS-003", "BASE-RDS-004")} == {"pass"}
        assert found["BASE-RDS-001"]["source"]["line"] == 18  # the cluster's block, where encryption is declared
    cluster = verdicts(document, "orders")
    assert {cluster[r]["status"] for r in ("BASE-RDS-005", "BASE-RDS-006", "BASE-RDS-007", "BASE-RDS-008")} == {"pass"}
    reports = verdicts(document, "reports")  # defaults: unencrypted, one day of backups, one instance
    assert {r: reports[r]["status"] for r in ("BASE-RDS-005", "BASE-RDS-006", "BASE-RDS-008")} == \
        {"BASE-RDS-005": "fail", "BASE-RDS-006": "fail", "BASE-RDS-008": "fail"}
    assert verdicts(document, "reports-1")["BASE-RDS-001"]["status"] == "fail"
    elsewhere = verdicts(document, "elsewhere-1")["BASE-RDS-001"]  # cluster_identifier = var.external_cluster
    assert elsewhere["status"] == "error" and "var.external_cluster" in elsewhere["message"]
    assert code == 1


def test_aurora_and_legacy_elasticsearch_in_cloudformation(tmp_path):
    _, _, document = gate(REALWORLD / "cfn-aurora", tmp_path)
    for member in ("orders-writer", "orders-reader"):
        found = verdicts(document, member)
        assert found["BASE-RDS-001"]["status"] == found["BASE-RDS-004"]["status"] == "pass"
    assert verdicts(document, "orders")["BASE-RDS-008"]["status"] == "pass"  # a writer and a reader
    search = verdicts(document, "legacy-search")  # AWS::Elasticsearch::Domain, judged like its OpenSearch twin
    assert search["BASE-OS-001"]["status"] == "pass" and search["BASE-OS-002"]["status"] == "fail"


def test_dynamic_blocks_are_expanded_or_unknown_never_the_default(tmp_path):
    _, _, document = gate(REALWORLD / "aurora", tmp_path)
    sessions = verdicts(document, "sessions")["BASE-DDB-001"]  # for_each = var.pitr, which has no value
    assert sessions["status"] == "error" and "var.pitr" in sessions["message"]
    assert verdicts(document, "carts")["BASE-DDB-001"]["status"] == "pass"  # for_each = cond ? [1] : [], expanded
    resources = {r.name: r for r in iac_resources(run_checkov(REALWORLD / "aurora", [], with_checks=False), "eu-west-1")}
    rules = resources["acme-aurora-logs"].lifecycle.rules  # one dynamic "rule" -> two lifecycle rules
    assert [(r.id, r.expiration_days) for r in rules] == [("logs", 30), ("tmp", 7)]
    assert "engine_version" in resources["legacy"].unknown  # format("%s.4", var.name), left unevaluated
    assert not any(name == "acme-exports" for name in resources)  # format("%s-exports", var.name) is no name


def test_a_dynamic_block_for_each_given_by_a_var_file_is_read(tmp_path):
    var_file = tmp_path / "prod.tfvars"
    var_file.write_text('pitr = [1]\nexternal_cluster = "orders"\nname = "acme"\n')
    resources = {r.name: r for r in iac_resources(run_checkov(REALWORLD / "aurora", [var_file], with_checks=False),
                                                  "eu-west-1")}
    assert "pitr" not in resources["sessions"].unknown and resources["sessions"].pitr.status == "ENABLED"
    assert resources["elsewhere-1"].storage_encrypted is True  # now joins the declared cluster "orders"


def test_live_aurora_members_are_judged_by_their_cluster(aws, tmp_path):
    aws.rds.create_db_cluster(DBClusterIdentifier="orders", Engine="aurora-postgresql", EngineVersion="15.4",
                              MasterUsername="app", MasterUserPassword="not-a-real-secret", StorageEncrypted=True,
                              BackupRetentionPeriod=14, DeletionProtection=True)
    for name, zone in (("orders-1", "a"), ("orders-2", "b")):  # a writer and a reader in two zones: Multi-AZ
        aws.rds.create_db_instance(DBInstanceIdentifier=name, DBClusterIdentifier="orders", Engine="aurora-postgresql",
                                   DBInstanceClass="db.r6g.large", AvailabilityZone=aws.region + zone)
    result = run_here("scan", "--pack", "baseline", "--env", "production", "--endpoint-url", aws.endpoint,
                     "--out", str(tmp_path), "--db", str(tmp_path / "h.db"), "--format", "json", endpoint=aws.endpoint)
    document = result.report()
    member = {f["rule_id"]: f for f in document["findings"] if f["resource"]["name"] == "orders-1"}
    # DescribeDBInstances says DeletionProtection false and MultiAZ false for an Aurora instance: the cluster's
    # values are the ones AWS applies.
    assert member["BASE-RDS-004"]["status"] == "pass", member["BASE-RDS-004"]
    cluster = {f["rule_id"]: f["status"] for f in document["findings"] if f["resource"]["type"] == "AWS::RDS::DBCluster"}
    assert cluster == {"BASE-RDS-005": "pass", "BASE-RDS-006": "pass", "BASE-RDS-007": "pass", "BASE-RDS-008": "pass"}
    # DescribeDBInstances and one DescribeDBClusters, shared by the members' deferral and the cluster rules.
    assert document["run"]["api_calls_by_service"]["rds"] == 2, document["run"]["api_calls_by_service"]


def test_checkov_checks_take_their_control_from_checkov_metadata_and_count_apart(tmp_path):
    from auditor.runs.gate import _categories, checkov_findings

    out = run_checkov(REALWORLD / "terraform", [], with_checks=True)
    found = {f.rule_id: f for f in checkov_findings(out, "eu-west-1")}
    assert _categories("CKV_AWS_133") == ["BACKUP_AND_RECOVERY"] and found["CKV_AWS_133"].control == "backup"
    # No words of ours in "Ensure DB instance gets all minor upgrades automatically": checkov files it under
    # ENCRYPTION, and so does the report.
    assert found["CKV_AWS_226"].control == "encryption"
    # Offline, checkov has no severities (they come from its platform): medium, stated as such.
    assert {f.severity for f in found.values()} == {"medium"}
    result = run_here("iac", str(REALWORLD / "terraform"), "--pack", "baseline", "--env", "production",
                     "--format", "json", "--out", str(tmp_path))
    last = result.stdout.rstrip().splitlines()[-1]
    assert last.startswith("gate: FAILED") and "spec packs" in last and "checkov" in last


def test_aurora_module_instances_join_the_cluster_of_their_own_module(tmp_path):
    _, _, document = gate(REALWORLD / "module-root", tmp_path)
    members = [f for f in document["findings"] if f["rule_id"] == "BASE-RDS-001"]
    assert {f["resource"]["name"] for f in members} == {"orders-${each.key}", "billing-${each.key}"}
    for finding in members:  # aws_rds_cluster.this[0].id, written in the module, is that module's cluster
        assert finding["status"] == "pass" and finding["source"]["file"] == "../modules/aurora/main.tf"
    for cluster in ("orders", "billing"):  # instances by a for_each checkov left unevaluated: how many is unknown
        multi_az = verdicts(document, cluster)["BASE-RDS-008"]
        assert multi_az["status"] == "error" and "for_each" in multi_az["message"]
