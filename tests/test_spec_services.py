"""Services the specs name beyond the storage core (DAX, AWS Backup, CloudFront, ...): each read live (moto where
it serves the call, botocore's Stubber on the shapes AWS documents where it does not) and from Terraform and
CloudFormation through the same mapping table, then judged by the same rules."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from auditor.engine.evaluate import Inventory, evaluate_rule
from auditor.live.collect import _finish, fetch_family
from auditor.rules.conditions import Context
from auditor.rules.load import load_pack
from auditor.rules.pack import builtin_packs_dir
from auditor.services import backup, cloudfront, eks
from auditor.services.backup import BackupPlan, is_weekly
from auditor.services.cloudfront import bucket_of_domain, link_cdn
from auditor.services.efs import EFSFileSystem
from auditor.services.fields import fill_from_api
from auditor.services.rds import fetch as rds
from auditor.services.rds.model import RDSInstance
from auditor.services.rds.table import RDS_INSTANCE
from auditor.services.s3 import fetch as s3
from auditor.services.s3.model import BucketLifecycle, S3Bucket
from tests.accounts import build_officeless, distribution
from tests.conftest import run_here
from tests.test_collectors import StubbedCalls, _packed_rule, stubbed
from tests.test_iac_realworld import verdicts


def scan(aws, tmp_path, *packs: str, env: str = "production") -> dict:
    args = [a for p in packs for a in ("--pack", p)]
    result = run_here("scan", *args, "--env", env, "--region", "us-east-1", "--endpoint-url", aws.endpoint,
                     "--out", str(tmp_path), "--db", str(tmp_path / "h.db"), "--format", "json", endpoint=aws.endpoint)
    assert "Traceback" not in result.stderr, result.stderr
    return result.report()


def gate_files(tmp_path: Path, files: dict[str, str], *packs: str) -> dict:
    folder = tmp_path / "iac"
    folder.mkdir()
    for name, text in files.items():
        (folder / name).write_text(text)
    args = [a for p in packs or ("baseline",) for a in ("--pack", p)]
    result = run_here("iac", str(folder), *args, "--env", "production", "--format", "json",
                     "--out", str(tmp_path / "out"), "--no-checkov")
    assert "Traceback" not in result.stderr and result.stderr == "", result.stderr
    (report,) = (tmp_path / "out").glob("*/report.json")
    return json.loads(report.read_text())


# --- DAX -----------------------------------------------------------------------------------------------------

def _dax(aws, name: str, **extra) -> None:
    aws.dax.create_cluster(ClusterName=name, NodeType="dax.r5.large", ReplicationFactor=3,
                           IamRoleArn=f"arn:aws:iam::123456789012:role/{name}", **extra)


def test_dax_clusters_are_judged_live_for_encryption_at_rest_and_tls(aws, tmp_path):
    _dax(aws, "catalog", SSESpecification={"Enabled": True}, ClusterEndpointEncryptionType="TLS")
    _dax(aws, "legacy")  # AWS defaults: no encryption at rest, a plaintext endpoint
    document = scan(aws, tmp_path, "baseline")
    assert {r: f["status"] for r, f in verdicts(document, "catalog").items()} == \
        {"BASE-DAX-001": "pass", "BASE-DAX-002": "pass"}
    legacy = verdicts(document, "legacy")
    assert legacy["BASE-DAX-001"]["status"] == legacy["BASE-DAX-002"]["status"] == "fail"
    assert legacy["BASE-DAX-002"]["actual"] == "NONE"


def test_dax_clusters_are_judged_in_terraform_and_cloudformation(tmp_path):
    document = gate_files(tmp_path, {
        "dax.tf": '''
resource "aws_dax_cluster" "catalog" {
  cluster_name                     = "catalog"
  iam_role_arn                     = "arn:aws:iam::123456789012:role/dax"
  node_type                        = "dax.r5.large"
  replication_factor               = 3
  cluster_endpoint_encryption_type = "TLS"
  server_side_encryption {
    enabled = true
  }
}

resource "aws_dax_cluster" "legacy" {
  cluster_name       = "legacy"
  iam_role_arn       = "arn:aws:iam::123456789012:role/dax"
  node_type          = "dax.t3.small"
  replication_factor = 1
}
''',
        "dax.yaml": '''AWSTemplateFormatVersion: "2010-09-09"
Resources:
  Sessions:
    Type: AWS::DAX::Cluster
    Properties:
      ClusterName: sessions
      IAMRoleARN: arn:aws:iam::123456789012:role/dax
      NodeType: dax.r5.large
      ReplicationFactor: 3
      SSESpecification: {SSEEnabled: false}
''',
    })
    assert {r: f["status"] for r, f in verdicts(document, "catalog").items()} == \
        {"BASE-DAX-001": "pass", "BASE-DAX-002": "pass"}
    legacy = verdicts(document, "legacy")
    assert legacy["BASE-DAX-001"]["status"] == "fail" and "AWS default" in legacy["BASE-DAX-001"]["message"]
    assert legacy["BASE-DAX-002"]["status"] == "fail"
    sessions = verdicts(document, "sessions")
    assert sessions["BASE-DAX-001"]["status"] == "fail" and sessions["BASE-DAX-001"]["source"]["line"] == 10  # SSESpecification


# --- AWS Backup --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("schedule, weekly", [
    ("cron(0 5 ? * SUN *)", True), ("cron(0 5 ? * 1 *)", True), ("rate(7 days)", True),
    ("cron(0 5 * * ? *)", False), ("cron(0 5 ? * MON-FRI *)", False), ("cron(0 5 1 * ? *)", False),
    ("rate(1 day)", False), ("var.schedule", None)])
def test_a_backup_schedule_is_weekly_when_it_runs_on_one_day_of_the_week(schedule, weekly):
    assert is_weekly(schedule) is weekly


def _plan_answer(days):
    return {"BackupPlan": {"BackupPlanName": "ecommerce-weekly-production", "Rules": [
        {"RuleName": "daily", "TargetBackupVaultName": "Default", "ScheduleExpression": "cron(0 3 * * ? *)",
         "Lifecycle": {"DeleteAfterDays": 365}},
        {"RuleName": "weekly-full", "TargetBackupVaultName": "Default", "ScheduleExpression": "cron(0 5 ? * SUN *)",
         "Lifecycle": {"DeleteAfterDays": days}}]}, "BackupPlanId": "p-1"}


TABLE_ARN = "arn:aws:dynamodb:us-east-1:123456789012:table/{}-production"


@pytest.mark.parametrize("days, resources, retention_verdict, selection_verdict", [
    (90, [TABLE_ARN.format(t) for t in ("Products", "UserPreferences", "ProductCatalog")]
     + ["arn:aws:dynamodb:us-east-1:123456789012:table/Sessions-*"], "pass", "pass"),
    (90, ["arn:aws:dynamodb:*:*:table/*"], "pass", "pass"),
    (90, [TABLE_ARN.format("Products")], "pass", "fail"),  # one of the four tables is not the weekly backup
    (90, [TABLE_ARN.format("Scratch")], "pass", "fail"),  # some DynamoDB table is not these tables
    (30, ["arn:aws:s3:::ecommerce-product-images-production"], "fail", "fail")])
def test_backup_plan_rules_and_selections_on_the_answers_aws_documents(days, resources, retention_verdict,
                                                                      selection_verdict):
    """moto serves GetBackupPlan but answers HTTP 500 to ListBackupSelections: the selection is judged here."""
    client, stub = stubbed("backup")
    stub.add_response("get_backup_plan", _plan_answer(days), {"BackupPlanId": "p-1"})
    stub.add_response("list_backup_selections", {"BackupSelectionsList": [{"SelectionId": "s-1", "BackupPlanId": "p-1"}]},
                      {"BackupPlanId": "p-1"})
    stub.add_response("get_backup_selection", {"BackupSelection": {
        "SelectionName": "tables", "IamRoleArn": "arn:aws:iam::123456789012:role/backup", "Resources": resources},
        "BackupPlanId": "p-1", "SelectionId": "s-1"}, {"BackupPlanId": "p-1", "SelectionId": "s-1"})
    plan = BackupPlan(id="p-1", name="ecommerce-weekly-production", region="us-east-1")
    calls = StubbedCalls({"backup": client})
    with stub:
        for family in ("rules", "selections"):
            fetch_family(calls, backup.COLLECTOR.families[family], plan)
    _finish(backup.COLLECTOR, plan)
    assert plan.weekly_retention_days == days and [r.weekly for r in plan.rules] == [False, True]
    ctx = Context("production", "production", params={**load_pack(builtin_packs_dir() / "ecommerce-platform.yaml")
                  .parameter_values(None), "backup_plan": "ecommerce-weekly-{env}"})
    for rule_id, verdict in (("ECOM-DDB-016", retention_verdict), ("ECOM-DDB-017", selection_verdict)):
        (finding,) = evaluate_rule(_packed_rule("ecommerce-platform", rule_id), ctx, Inventory([plan], ["us-east-1"]))
        assert finding.status == verdict, finding


def test_a_plan_whose_selections_moto_cannot_list_is_an_error_not_a_pass(aws, tmp_path):
    aws.backup.create_backup_plan(BackupPlan={"BackupPlanName": "ecommerce-weekly-production", "Rules": [{
        "RuleName": "weekly", "TargetBackupVaultName": "Default", "ScheduleExpression": "cron(0 5 ? * SUN *)",
        "Lifecycle": {"DeleteAfterDays": 90}}]})
    document = scan(aws, tmp_path, "ecommerce-platform")
    plan = verdicts(document, "ecommerce-weekly-production")
    assert plan["ECOM-DDB-016"]["status"] == "pass"  # GetBackupPlan, served by moto
    assert plan["ECOM-DDB-017"]["status"] == "error"


def test_backup_plans_and_selections_in_terraform(tmp_path):
    document = gate_files(tmp_path, {"backup.tf": '''
resource "aws_dynamodb_table" "orders" {
  name     = "Orders"
  hash_key = "id"
  attribute {
    name = "id"
    type = "S"
  }
}

resource "aws_dynamodb_table" "products" {
  name     = "Products-production"
  hash_key = "productId"
  attribute {
    name = "productId"
    type = "S"
  }
}

resource "aws_backup_plan" "weekly" {
  name = "ecommerce-weekly-production"
  rule {
    rule_name         = "weekly"
    target_vault_name = "Default"
    schedule          = "cron(0 5 ? * SUN *)"
    lifecycle {
      delete_after = 35
    }
  }
}

resource "aws_backup_selection" "tables" {
  name         = "tables"
  plan_id      = aws_backup_plan.weekly.id
  iam_role_arn = "arn:aws:iam::123456789012:role/backup"
  resources    = [aws_dynamodb_table.orders.arn, aws_dynamodb_table.products.arn,
                  "arn:aws:dynamodb:*:*:table/UserPreferences-*", "arn:aws:dynamodb:*:*:table/ProductCatalog-*",
                  "arn:aws:dynamodb:*:*:table/Sessions-*"]
}
'''}, "ecommerce-platform")
    plan = verdicts(document, "ecommerce-weekly-production")
    assert plan["ECOM-DDB-016"]["status"] == "fail" and plan["ECOM-DDB-016"]["actual"] == 35
    assert plan["ECOM-DDB-017"]["status"] == "pass"  # the four tables, by reference and by wildcard


# --- CloudFront --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("domain, bucket", [
    ("images.s3.amazonaws.com", "images"), ("images.s3.eu-west-1.amazonaws.com", "images"),
    ("my.dotted.bucket.s3-eu-west-1.amazonaws.com", "my.dotted.bucket"),
    ("images.s3-website-us-east-1.amazonaws.com", None), ("shop.example.com", None)])
def test_an_s3_origin_domain_names_its_bucket(domain, bucket):
    assert bucket_of_domain(domain) == bucket


def test_buckets_served_by_cloudfront_are_judged_on_their_behaviors_ttl_live(aws, tmp_path):
    """moto keeps a behavior's DefaultTTL and viewer policy (not the origin's OAI: see the Stubber test)."""
    for name in ("ecommerce-product-images-production", "ecommerce-static-assets-production"):
        aws.s3.create_bucket(Bucket=name)
    distribution(aws, "shop", {"assets": "ecommerce-static-assets-production",
                               "images": "ecommerce-product-images-production"}, viewer="allow-all")
    document = scan(aws, tmp_path, "ecommerce-platform", "baseline")
    images = verdicts(document, "ecommerce-product-images-production")["ECOM-S3-014"]
    assert images["status"] == "pass", images  # 86400 s, the spec's 24 hours
    assets = verdicts(document, "ecommerce-static-assets-production")["ECOM-S3-015"]
    assert assets["status"] == "fail" and "default_ttl" in assets["message"]  # 86400 s, not 7 days
    (dist,) = {f["resource"]["name"] for f in document["findings"] if f["rule_id"] == "BASE-CF-001"}
    assert verdicts(document, dist)["BASE-CF-001"]["status"] == "fail"  # allow-all lets viewers use HTTP


def _summary(origin_config: dict, behavior: dict) -> dict:
    return {"Id": "E1DIST", "ARN": "arn:aws:cloudfront::123456789012:distribution/E1DIST", "Status": "Deployed",
            "DomainName": "d1.cloudfront.net", "Enabled": True, "Aliases": {"Quantity": 0},
            "LastModifiedTime": "2026-01-01T00:00:00Z", "Comment": "", "PriceClass": "PriceClass_All",
            "CacheBehaviors": {"Quantity": 0}, "CustomErrorResponses": {"Quantity": 0}, "HttpVersion": "http2",
            "IsIPV6Enabled": True, "Staging": False, "WebACLId": "", "ViewerCertificate": {"CloudFrontDefaultCertificate": True},
            "Restrictions": {"GeoRestriction": {"RestrictionType": "none", "Quantity": 0}},
            "Origins": {"Quantity": 1, "Items": [{"Id": "site", "DomainName": "co2-analysis-prod-static-website.s3.amazonaws.com",
                                                  **origin_config}]},
            "DefaultCacheBehavior": {"TargetOriginId": "site", "ViewerProtocolPolicy": "https-only", **behavior}}


@pytest.mark.parametrize("origin_config, verdict", [
    ({"S3OriginConfig": {"OriginAccessIdentity": "origin-access-identity/cloudfront/E2EXAMPLE"}}, "pass"),
    ({"S3OriginConfig": {"OriginAccessIdentity": ""}, "OriginAccessControlId": "E3OAC"}, "fail"),  # OAC, not the OAI
    ({"S3OriginConfig": {"OriginAccessIdentity": ""}}, "fail")])  # no origin access at all
def test_the_website_bucket_is_read_through_the_oai_on_the_answer_aws_documents(origin_config, verdict):
    client, stub = stubbed("cloudfront")
    stub.add_response("list_distributions", {"DistributionList": {
        "Marker": "", "MaxItems": 100, "IsTruncated": False, "Quantity": 1,
        "Items": [_summary(origin_config, {"CachePolicyId": "5c0ffee0-0000-4000-8000-000000000001"})]}})
    stub.add_response("get_cache_policy", {"CachePolicy": {"Id": "5c0ffee0-0000-4000-8000-000000000001",
                                                           "LastModifiedTime": "2026-01-01T00:00:00Z",
                                                           "CachePolicyConfig": {"Name": "site", "DefaultTTL": 3600,
                                                                                 "MinTTL": 0}}},
                      {"Id": "5c0ffee0-0000-4000-8000-000000000001"})
    calls = StubbedCalls({"cloudfront": client})
    website = S3Bucket(id="co2-analysis-prod-static-website", name="co2-analysis-prod-static-website", region="us-east-1")
    with stub:
        distributions = list(cloudfront.list_distributions(calls, "us-east-1"))
    link_cdn([*distributions, website])
    assert website.cdn.behaviors[0].default_ttl == 3600  # from its cache policy (GetCachePolicy)
    ctx = Context("production", "prod", params={"website_bucket": "co2-analysis-{env}-static-website",
                                                 "geojson_bucket": "co2-analysis-{env}-geojson-data"})
    (finding,) = evaluate_rule(_packed_rule("co2-storagestack", "CO2-S3-009"), ctx, Inventory([website], ["us-east-1"]))
    assert finding.status == verdict, finding


def test_distributions_that_cannot_be_listed_leave_the_buckets_cdn_unknown():
    bucket = S3Bucket(id="b", name="b", region="us-east-1")
    link_cdn([bucket], "cloudfront:ListDistributions: access denied")
    assert bucket.cdn is None and "access denied" in bucket.unknown["cdn"]


# --- EKS and the EFS mount targets ---------------------------------------------------------------------------

CLUSTER_SG = "sg-0eks0cluster000001"


def _eks_answers(addon_version: str):
    client, stub = stubbed("eks")
    stub.add_response("list_clusters", {"clusters": ["officeless-production"]})
    stub.add_response("describe_cluster", {"cluster": {
        "name": "officeless-production", "arn": "arn:aws:eks:us-east-1:123456789012:cluster/officeless-production",
        "version": "1.31", "resourcesVpcConfig": {"subnetIds": ["subnet-0a"], "clusterSecurityGroupId": CLUSTER_SG}}},
        {"name": "officeless-production"})
    stub.add_response("list_addons", {"addons": ["aws-ebs-csi-driver"]}, {"clusterName": "officeless-production"})
    stub.add_response("describe_addon", {"addon": {"addonName": "aws-ebs-csi-driver", "clusterName": "officeless-production",
                                                   "addonVersion": addon_version}},
                      {"clusterName": "officeless-production", "addonName": "aws-ebs-csi-driver"})
    return client, stub


@pytest.mark.parametrize("addon_version, mount_groups, addon_verdict, group_verdict", [
    ("v1.42.0-eksbuild.1", [[CLUSTER_SG], [CLUSTER_SG, "sg-extra"]], "pass", "pass"),
    ("v1.35.0-eksbuild.1", [[CLUSTER_SG], ["sg-0other"]], "fail", "fail")])
def test_the_ebs_csi_add_on_and_the_mount_targets_security_group(addon_version, mount_groups, addon_verdict,
                                                                 group_verdict):
    """moto serves no EKS add-ons (404) and no cluster security group: judged on the answers AWS documents."""
    client, stub = _eks_answers(addon_version)
    calls = StubbedCalls({"eks": client})
    with stub:
        (cluster,) = list(eks.list_clusters(calls, "us-east-1"))
        fetch_family(calls, eks.COLLECTOR.families["addons"], cluster)
    assert cluster.cluster_security_group_id == CLUSTER_SG and cluster.addons == {"aws-ebs-csi-driver": addon_version}
    fs = EFSFileSystem(id="fs-1", name="eks_production", region="us-east-1", mount_target_security_groups=mount_groups)
    eks.link_cluster_security_groups([cluster, fs])
    ctx = Context("production", "production", params={"eks_cluster": "*", "efs_name": "eks_production"})
    for rule_id, resource, verdict in (("OFL-EKS-001", cluster, addon_verdict), ("OFL-EFS-007", fs, group_verdict)):
        (finding,) = evaluate_rule(_packed_rule("officeless", rule_id), ctx, Inventory([resource], ["us-east-1"]))
        assert finding.status == verdict, finding


def test_mount_target_security_groups_are_read_live_and_unknown_without_the_cluster_group(aws, tmp_path):
    build_officeless(aws, "production")
    document = scan(aws, tmp_path, "officeless")
    fs = verdicts(document, "eks_production")
    assert fs["OFL-EFS-006"]["status"] == "pass"  # two access points, both 700 (DescribeAccessPoints)
    assert fs["OFL-EFS-007"]["status"] == "error" and "clusterSecurityGroupId" in fs["OFL-EFS-007"]["message"]
    assert verdicts(document, "officeless-production")["OFL-EKS-001"]["status"] == "error"  # ListAddons: 404


# --- S3 Intelligent-Tiering -----------------------------------------------------------------------------------

@pytest.mark.parametrize("status, verdict", [("Enabled", "pass"), ("Disabled", "fail")])
def test_an_intelligent_tiering_configuration_counts_on_the_answer_aws_documents(status, verdict):
    """moto accepts the configuration but lists none: a bucket with no lifecycle, judged by its configuration."""
    client, stub = stubbed("s3")
    stub.add_response("list_bucket_intelligent_tiering_configurations", {"IsTruncated": False,
                      "IntelligentTieringConfigurationList": [{"Id": "archive", "Status": status,
                                                               "Tierings": [{"Days": 90, "AccessTier": "ARCHIVE_ACCESS"}]}]},
                      {"Bucket": "serverless-app-backups-production"})
    bucket = S3Bucket(id="serverless-app-backups-production", name="serverless-app-backups-production",
                      region="us-east-1", lifecycle=BucketLifecycle())
    with stub:
        fetch_family(StubbedCalls({"s3": client}), s3.COLLECTOR.families["intelligent_tiering_configurations"], bucket)
    _finish(s3.COLLECTOR, bucket)
    ctx = Context("production", "production", params={"shared_bucket": "serverless-app-shared-{env}",
                                                       "backups_bucket": "serverless-app-backups-{env}",
                                                       "intelligent_tiering_buckets": ["{shared_bucket}",
                                                                                       "{backups_bucket}"]})
    (finding,) = evaluate_rule(_packed_rule("serverless-app", "SRV-S3-004"), ctx, Inventory([bucket], ["us-east-1"]))
    assert finding.status == verdict, finding


# --- RDS automated backups replicated to another region ----------------------------------------------------

@pytest.mark.parametrize("replications, verdict", [
    ([{"DBInstanceAutomatedBackupsArn": "arn:aws:rds:us-west-2:123456789012:auto-backup:ab-1"}], "pass"), ([], "fail")])
def test_cross_region_backup_replication_on_the_answer_aws_documents(replications, verdict):
    """moto cannot start a replication (HTML 500): DescribeDBInstances as AWS documents it."""
    raw = {"DBInstanceIdentifier": "product-db-production", "Engine": "postgres", "MultiAZ": True,
           "StorageEncrypted": True, "DeletionProtection": True, "PubliclyAccessible": False,
           "PerformanceInsightsEnabled": True, "DBInstanceAutomatedBackupsReplications": replications}
    instance = rds.instance_from(raw, "us-east-1", "123456789012")
    assert instance.backup_replication_regions == (["us-west-2"] if replications else [])
    ctx = Context("production", "production", params={"rds_instance": "product-db-{env}"})
    (finding,) = evaluate_rule(_packed_rule("ecommerce-platform", "ECOM-RDS-024"), ctx,
                               Inventory([instance], ["us-east-1"]))
    assert finding.status == verdict, finding


# --- RDS max_connections and the connection alarm ------------------------------------------------------------

@pytest.mark.parametrize("instance_class, value, most", [
    ("db.r6g.2xlarge", "LEAST({DBInstanceClassMemory/9531392},5000)", 5000),  # the cap
    ("db.r6g.large", "LEAST({DBInstanceClassMemory/9531392},5000)", 1802),  # 16 GiB / 9531392
    ("db.r6g.large", "900", 900), ("db.r6g.large", None, 1802)])  # a number; unset: the engine default
def test_max_connections_from_the_parameter_group_on_the_answer_aws_documents(instance_class, value, most):
    """moto lists only the parameters a group sets; AWS lists every one, the engine defaults' formulas included."""
    client, stub = stubbed("rds")
    parameters = [{"ParameterName": "max_connections", "ParameterValue": value, "Source": "engine-default"}] if value else []
    stub.add_response("describe_db_parameters", {"Parameters": [{"ParameterName": "work_mem", "ParameterValue": "4096"},
                                                                *parameters]},
                      {"DBParameterGroupName": "custom-postgres14-production"})
    db = RDSInstance(id="product-db-production", name="product-db-production", region="us-east-1", engine="postgres",
                     engine_version="14.9", instance_class=instance_class, parameter_groups=["custom-postgres14-production"])
    with stub:
        fetch_family(StubbedCalls({"rds": client}), rds.COLLECTOR.families["max_connections"], db)
    assert db.max_connections == most and not db.unknown
    assert db.force_ssl is False  # the same call: rds.force_ssl unlisted here, PostgreSQL 14's default (0)


def test_an_unknown_instance_class_leaves_max_connections_and_the_alarm_share_unknown():
    from auditor.services.links import _connection_alarm_share

    db = RDSInstance(id="db", name="db", region="us-east-1", engine="postgres", instance_class="db.x9.mega")
    fill_from_api(RDS_INSTANCE, "DescribeDBParameters", {"engine": "postgres", "instance_class": "db.x9.mega",
                                                         "value": None}, db)
    _connection_alarm_share(db)
    assert db.max_connections is None and "db.x9.mega" in db.unknown["connection_alarm_share"]


def test_iac_drift_leaves_out_what_each_side_names_differently():
    """A distribution is known live by the id AWS gives it, and an IaC mount target names the cluster's group
    symbolically: neither is reported as drift or as missing."""
    from auditor.engine.drift import iac_drift
    from auditor.services.cloudfront import CloudFrontDistribution
    from auditor.services.model import SourceLocation

    declared_fs = EFSFileSystem(id="eks_production", name="eks_production", region="us-east-1", encrypted=True,
                                mount_target_security_groups=[["eks-cluster-sg:officeless-production"]],
                                source=SourceLocation(file="main.tf", line=3))
    live_fs = EFSFileSystem(id="fs-1", name="eks_production", region="us-east-1", encrypted=True,
                            mount_target_security_groups=[["sg-0eks"]])
    dist = CloudFrontDistribution(id="aws_cloudfront_distribution.shop", name="aws_cloudfront_distribution.shop",
                                  region="us-east-1", enabled=True, source=SourceLocation(file="main.tf", line=9))
    assert iac_drift([declared_fs, dist], [live_fs], [], "infra/") == []
    live_fs.encrypted = False
    (drift,) = iac_drift([declared_fs, dist], [live_fs], [], "infra/")
    assert drift.rule_id == "IAC-DRIFT-001" and drift.property == "encrypted"


@pytest.mark.parametrize("policies, verdict", [(["redirect-to-https", "https-only"], "pass"),
                                               (["redirect-to-https", "allow-all"], "fail")])
def test_distributions_send_every_viewer_to_https(policies, verdict):
    from auditor.services.s3.model import CdnBehavior
    from auditor.services.cloudfront import CloudFrontDistribution

    dist = CloudFrontDistribution(id="E1", name="E1", region="us-east-1", enabled=True, behaviors=[
        CdnBehavior(distribution="E1", path_pattern=p, viewer_protocol_policy=v) for p, v in zip(("*", "/api/*"), policies)])
    (finding,) = evaluate_rule(_packed_rule("baseline", "BASE-CF-001"), Context("production", "production"),
                               Inventory([dist], ["us-east-1"]))
    assert finding.status == verdict, finding


# --- S3 replication time -------------------------------------------------------------------------------------

def test_a_replicating_bucket_needs_a_replication_latency_alarm(aws, tmp_path):
    """GetBucketReplication (moto serves it): a bucket that replicates fails ECOM-S3-018 without a
    ReplicationLatency alarm at 900 s or less, passes with one; a bucket that does not replicate passes."""
    names = {"images": "ecommerce-product-images-production", "logs": "ecommerce-application-logs-production",
             "docs": "ecommerce-order-documents-production"}
    for name in names.values():
        aws.s3.create_bucket(Bucket=name)
        aws.s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    for key in ("images", "logs"):
        aws.s3.put_bucket_replication(Bucket=names[key], ReplicationConfiguration={
            "Role": "arn:aws:iam::123456789012:role/replication", "Rules": [{
                "ID": "dr", "Status": "Enabled", "Priority": 1, "Filter": {}, "DeleteMarkerReplication": {"Status": "Disabled"},
                "Destination": {"Bucket": "arn:aws:s3:::ecommerce-dr"}}]})
    aws.cloudwatch.put_metric_alarm(
        AlarmName="images-replication", Namespace="AWS/S3", MetricName="ReplicationLatency", Statistic="Maximum",
        Dimensions=[{"Name": "SourceBucket", "Value": names["images"]}, {"Name": "DestinationBucket", "Value": "ecommerce-dr"},
                    {"Name": "RuleId", "Value": "dr"}], Period=300, EvaluationPeriods=1, Threshold=900,
        ComparisonOperator="GreaterThanThreshold")
    document = scan(aws, tmp_path, "ecommerce-platform")
    verdict = {key: verdicts(document, name)["ECOM-S3-018"]["status"] for key, name in names.items()}
    assert verdict == {"images": "pass", "logs": "fail", "docs": "pass"}


def test_replication_declared_in_terraform_needs_its_alarm(tmp_path):
    document = gate_files(tmp_path, {"replication.tf": '''
resource "aws_s3_bucket" "images" {
  bucket = "ecommerce-product-images-production"
}

resource "aws_s3_bucket" "logs" {
  bucket = "ecommerce-application-logs-production"
}

resource "aws_s3_bucket_replication_configuration" "images" {
  bucket = aws_s3_bucket.images.id
  role   = "arn:aws:iam::123456789012:role/replication"
  rule {
    id     = "dr"
    status = "Enabled"
    destination {
      bucket = "arn:aws:s3:::ecommerce-dr"
    }
  }
}
'''}, "ecommerce-platform")
    images = verdicts(document, "ecommerce-product-images-production")["ECOM-S3-018"]
    assert images["status"] == "fail" and images["source"]["file"] == "replication.tf"
    logs = verdicts(document, "ecommerce-application-logs-production")["ECOM-S3-018"]
    assert logs["status"] == "pass"


def test_a_distribution_whose_ttls_are_unreadable_leaves_unknown_only_the_buckets_it_serves():
    from auditor.services.s3.model import CdnBehavior
    from auditor.services.cloudfront import CloudFrontDistribution

    unreadable = CloudFrontDistribution(id="E1", name="E1", region="us-east-1", enabled=True, origin_buckets=["a"],
                                        behaviors=[CdnBehavior(distribution="E1", bucket="a", cache_policy_id="p1")])
    unreadable.mark_unknown("behaviors", "access denied to cloudfront:GetCachePolicy (AccessDenied)")
    readable = CloudFrontDistribution(id="E2", name="E2", region="us-east-1", enabled=True, origin_buckets=["b"],
                                      behaviors=[CdnBehavior(distribution="E2", bucket="b", default_ttl=86400)])
    a, b = (S3Bucket(id=n, name=n, region="us-east-1") for n in "ab")
    link_cdn([unreadable, readable, a, b])
    assert a.cdn is None and "AccessDenied" in a.unknown["cdn"]
    assert b.cdn.served and b.cdn.behaviors[0].default_ttl == 86400 and "cdn" not in b.unknown


# --- API responses cached by their Cache-Control headers (ECOM-CDN-001) ---------------------------------------

TF_API_CDN = '''
resource "aws_cloudfront_cache_policy" "api" {
  name        = "api-origin-headers"
  min_ttl     = %s
  default_ttl = 0
  max_ttl     = 86400
  parameters_in_cache_key_and_forwarded_to_origin {
    cookies_config { cookie_behavior = "none" }
    headers_config { header_behavior = "none" }
    query_strings_config { query_string_behavior = "all" }
  }
}
resource "aws_cloudfront_distribution" "shop" {
  enabled = true
  origin {
    origin_id   = "api"
    domain_name = "api.shop.example.com"
    custom_origin_config {
      http_port              = 80
      https_port             = 443
      origin_protocol_policy = "https-only"
      origin_ssl_protocols   = ["TLSv1.2"]
    }
  }
  default_cache_behavior {
    target_origin_id       = "api"
    viewer_protocol_policy = "redirect-to-https"
    allowed_methods        = ["GET", "HEAD"]
    cached_methods         = ["GET", "HEAD"]
    cache_policy_id        = "658327ea-f89d-4fab-a63d-7e88639e58f6"
  }
  ordered_cache_behavior {
    path_pattern           = "/api/*"
    target_origin_id       = "api"
    viewer_protocol_policy = "https-only"
    allowed_methods        = ["GET", "HEAD"]
    cached_methods         = ["GET", "HEAD"]
    cache_policy_id        = %s
  }
  restrictions {
    geo_restriction { restriction_type = "none" }
  }
  viewer_certificate { cloudfront_default_certificate = true }
}
'''


@pytest.mark.parametrize("min_ttl, policy, verdict", [
    ("0", "aws_cloudfront_cache_policy.api.id", "pass"),
    ("60", "aws_cloudfront_cache_policy.api.id", "fail"),  # caches what the API marks no-cache for a minute
    ("0", '"83da9c7e-98b4-4e11-a168-04f0df8e2c65"', "pass"),  # managed UseOriginCacheControlHeaders
    ("0", '"658327ea-f89d-4fab-a63d-7e88639e58f6"', "fail"),  # managed CachingOptimized: MinTTL 1
    ("0", '"4135ea2d-6df8-44a3-9df3-4b5a84be39ad"', "fail"),  # managed CachingDisabled: caches nothing
    ("0", "data.aws_cloudfront_cache_policy.custom.id", "error")])  # a policy this IaC does not hold
def test_api_behaviors_honour_cache_control_in_terraform(tmp_path, min_ttl, policy, verdict):
    """The default behavior (CachingOptimized, static content) is not an API path and is not judged."""
    document = gate_files(tmp_path, {"cdn.tf": TF_API_CDN % (min_ttl, policy)}, "ecommerce-platform", "baseline")
    (finding,) = [f for f in document["findings"] if f["rule_id"] == "ECOM-CDN-001"]
    assert finding["status"] == verdict, finding
    # the baseline's HTTPS rule reads other fields of the same behaviors: not superseded by the TTL rule
    (https,) = [f for f in document["findings"] if f["rule_id"] == "BASE-CF-001"]
    assert https["status"] == "pass"


@pytest.mark.parametrize("config, verdict", [
    ({"MinTTL": 0, "DefaultTTL": 0, "MaxTTL": 3600}, "pass"), ({"MinTTL": 30, "DefaultTTL": 60, "MaxTTL": 3600}, "fail")])
def test_api_behaviors_take_their_bounds_from_get_cache_policy(config, verdict):
    """A cache policy of the account (not a managed one) is read with GetCachePolicy, as AWS documents it."""
    client, stub = stubbed("cloudfront")
    behavior = {"TargetOriginId": "api", "ViewerProtocolPolicy": "https-only", "CachePolicyId": "custom-api"}
    summary = _summary({"S3OriginConfig": {"OriginAccessIdentity": ""}}, behavior)
    summary["CacheBehaviors"] = {"Quantity": 1, "Items": [{"PathPattern": "/api/*", **behavior}]}
    stub.add_response("list_distributions", {"DistributionList": {"Marker": "", "MaxItems": 100, "IsTruncated": False,
                                                                   "Quantity": 1, "Items": [summary]}})
    stub.add_response("get_cache_policy", {"CachePolicy": {"Id": "custom-api", "LastModifiedTime": "2026-01-01T00:00:00Z",
                                                           "CachePolicyConfig": {"Name": "api", **config}}},
                      {"Id": "custom-api"})
    with stub:
        (dist,) = cloudfront.list_distributions(StubbedCalls({"cloudfront": client}), "us-east-1")
    ctx = Context("production", "production", params={"api_path_patterns": ["/api/*"]})
    (finding,) = evaluate_rule(_packed_rule("ecommerce-platform", "ECOM-CDN-001"), ctx, Inventory([dist], ["us-east-1"]))
    assert finding.status == verdict, finding


# --- audit logs kept 7 years (ECOM-LOG-001) -------------------------------------------------------------------

def test_audit_log_retention_is_read_live(aws, tmp_path):
    """moto keeps retentionInDays; a group without it never expires its events, which keeps them 7 years too."""
    aws.logs.create_log_group(logGroupName="/ecommerce/production/audit")
    aws.logs.create_log_group(logGroupName="/ecommerce/production/app")  # not an audit group: not judged
    aws.logs.put_retention_policy(logGroupName="/ecommerce/production/app", retentionInDays=7)
    document = scan(aws, tmp_path, "ecommerce-platform")
    assert verdicts(document, "/ecommerce/production/audit")["ECOM-LOG-001"]["status"] == "pass"
    assert "ECOM-LOG-001" not in verdicts(document, "/ecommerce/production/app")
    aws.logs.put_retention_policy(logGroupName="/ecommerce/production/audit", retentionInDays=1827)
    finding = verdicts(scan(aws, tmp_path, "ecommerce-platform"), "/ecommerce/production/audit")["ECOM-LOG-001"]
    assert finding["status"] == "fail" and finding["actual"] == 1827


@pytest.mark.parametrize("retention, verdict", [("2557", "pass"), ("0", "pass"), ("3653", "pass"), ("365", "fail"),
                                                ("var.audit_days", "error")])
def test_audit_log_retention_in_terraform(tmp_path, retention, verdict):
    """retention_in_days = 0 is Terraform's "never expire"; a variable without a value is not known."""
    document = gate_files(tmp_path, {"logs.tf": f'''
variable "audit_days" {{ type = number }}
resource "aws_cloudwatch_log_group" "audit" {{
  name              = "/ecommerce/production/audit"
  retention_in_days = {retention}
}}
'''}, "ecommerce-platform")
    assert verdicts(document, "/ecommerce/production/audit")["ECOM-LOG-001"]["status"] == verdict


def test_log_group_tags_are_read_for_tag_selectors(aws, tmp_path, monkeypatch):
    """A waiver or a rule may select log groups by tag: ListTagsForResource on the group's ARN (moto serves it)."""
    from auditor.aws import AwsSettings, ClientPool
    from auditor.demo.mockaws import FAKE_CREDENTIALS
    from auditor.live.collect import fetch_family as fetch
    from auditor.services import logs
    from auditor.services.fetch import AwsCalls

    for key, value in FAKE_CREDENTIALS.items():
        monkeypatch.setenv(key, value)
    aws.logs.create_log_group(logGroupName="/ecommerce/production/audit", tags={"Team": "security"})
    calls = AwsCalls(ClientPool(AwsSettings(regions=["us-east-1"], endpoint_url=aws.endpoint)), "123456789012")
    (group,) = list(logs.COLLECTOR.list_resources(calls, "us-east-1"))
    fetch(calls, logs.COLLECTOR.families["tags"], group)
    assert group.tags == {"Team": "security"} and group.retention_days == logs.NEVER_EXPIRES
