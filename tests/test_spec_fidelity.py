"""Rules held to their spec sentence, on plain data (no I/O): an account built exactly to the spec passes, and
each rule still fails what the sentence forbids. Issue: rules that demanded what the specs do not say."""
from __future__ import annotations

import pytest

from auditor.engine.evaluate import Inventory, evaluate_rule, evaluate_rules
from auditor.engine.plan import blocked_rules, contexts_for
from auditor.rules.conditions import Context
from auditor.rules.load import load_pack
from auditor.rules.pack import builtin_packs_dir
from auditor.services.dynamodb import DynamoDBTable, TableSse
from auditor.services.efs import EFSFileSystem, EfsAccessPoint
from auditor.services.eks import EKSCluster
from auditor.services.rds.model import RDSInstance
from auditor.services.s3.model import (
    BucketLifecycle, BucketPolicy, LifecycleRule, LifecycleTransition, PublicAccessBlock, S3Bucket,
)


def pack(pack_id: str):
    return load_pack(builtin_packs_dir() / f"{pack_id}.yaml")


def rule(pack_id: str, rule_id: str):
    return next(r for r in pack(pack_id).rules if r.id == rule_id)


def judged(pack_id: str, rule_id: str, resource, params: dict, env: str = "production") -> list:
    ctx = Context(env, env, account_id="123456789012", params={**pack(pack_id).parameter_values(None), **params})
    findings = evaluate_rule(rule(pack_id, rule_id), ctx, Inventory([resource], ["us-east-1"]))
    # Names whose parameters these tests leave unset are errors of their own (tested apart): not read here.
    return [(f.resource.id, f.status) for f in findings if not f.resource.id.startswith("(not evaluated")]


ECOM = {"rds_instance": "product-db-{env}", "static_assets_bucket": "ecommerce-static-assets-{env}",
        "product_catalog_table": "product-catalog-{env}"}


@pytest.mark.parametrize("source, verdict", [
    ("rds-managed", "pass"),  # ManageMasterUserPassword
    ("secrets-manager", "pass"),  # the spec's own Terraform: password = data.aws_secretsmanager_secret_version...
    ("literal", "fail"),
])
def test_ecom_rds_022_accepts_either_way_of_keeping_the_password_in_secrets_manager(source, verdict):
    db = RDSInstance(id="product-db-production", name="product-db-production", region="us-east-1",
                     master_password_source=source)
    assert judged("ecommerce-platform", "ECOM-RDS-022", db, ECOM) == [("product-db-production", verdict)]


def test_ecom_rds_022_is_error_where_the_source_cannot_be_told():
    db = RDSInstance(id="product-db-production", name="product-db-production", region="us-east-1")
    db.mark_unknown("master_password_source", "the master password is not managed by RDS, and the RDS API ...")
    assert judged("ecommerce-platform", "ECOM-RDS-022", db, ECOM) == [("product-db-production", "error")]


def test_ecom_rds_022_reads_the_password_source_from_the_api_and_the_iac():
    from auditor.services.rds.table import _password_source_api, _password_source_iac
    from auditor.services.fields import Unknown

    assert _password_source_api({"MasterUserSecret": {"SecretArn": "arn:aws:secretsmanager:..."}}) == "rds-managed"
    tagged = {"TagList": [{"Key": "password-secret", "Value": "arn:aws:secretsmanager:us-east-1:1:secret:db-AbC"}]}
    assert _password_source_api(tagged) == "secrets-manager"
    assert isinstance(_password_source_api({}), Unknown)
    tf = _password_source_iac("manage_master_user_password", "password", "replicate_source_db")
    assert tf({"password": ["data.aws_secretsmanager_secret_version.db_password.secret_string"]}, None) == "secrets-manager"
    assert tf({"manage_master_user_password": [True]}, None) == "rds-managed"
    assert tf({"password": ["hunter2hunter2"]}, None) == "literal"
    assert isinstance(tf({"password": ["var.db_password"]}, None), Unknown)
    cfn = _password_source_iac("ManageMasterUserPassword", "MasterUserPassword", "SourceDBInstanceIdentifier")
    assert cfn({"MasterUserPassword": {"Fn::Sub": "{{resolve:secretsmanager:${DBCredential}}}"}}, None) == "secrets-manager"
    assert isinstance(cfn({"MasterUserPassword": {"Ref": "DBPassword"}}, None), Unknown)


def test_ofl_eks_001_judges_the_cluster_the_spec_describes_only():
    assert rule("officeless", "OFL-EKS-001").id in blocked_rules([pack("officeless")], {})  # required: no guess
    other = EKSCluster(id="ci-runners", name="ci-runners", region="us-east-1", addons={})
    ours = EKSCluster(id="officeless-production", name="officeless-production", region="us-east-1",
                      addons={"aws-ebs-csi-driver": "v1.42.0-eksbuild.1"})
    params = {"eks_cluster": "officeless-production"}
    assert judged("officeless", "OFL-EKS-001", other, params) == [("officeless-production", "fail")]  # missing
    assert judged("officeless", "OFL-EKS-001", ours, params) == [("officeless-production", "pass")]


@pytest.mark.parametrize("points, verdict", [
    ([], "pass"),  # before the first PersistentVolumeClaim
    ([EfsAccessPoint(id="fsap-1", path="/pv-1", permissions="700")], "pass"),
    ([EfsAccessPoint(id="fsap-1", path="/pv-1", permissions="700"),
      EfsAccessPoint(id="fsap-2", path="/pv-2", permissions="755")], "fail"),
])
def test_ofl_efs_006_no_access_point_yet_passes_another_permission_fails(points, verdict):
    fs = EFSFileSystem(id="fs-1", name="eks_production", region="us-east-1", access_points=points,
                       access_point_count=len(points))
    assert judged("officeless", "OFL-EFS-006", fs, {"eks_cluster": "x"}) == [("fs-1", verdict)]


def test_ecom_ddb_013_wants_kms_on_the_product_catalog_only():
    owned = TableSse(enabled=True, type="AWS_OWNED")
    sessions = DynamoDBTable(id="sessions-production", name="sessions-production", region="us-east-1", sse=owned)
    catalog = DynamoDBTable(id="product-catalog-production", name="product-catalog-production", region="us-east-1",
                            sse=owned)
    names = {**ECOM, "sessions_table": "sessions-{env}"}
    assert judged("ecommerce-platform", "ECOM-DDB-013", sessions, names) == []  # not selected any more
    assert judged("ecommerce-platform", "ECOM-DDB-013", catalog, names) == [("product-catalog-production", "fail")]
    catalog.sse = TableSse(enabled=True, type="KMS")
    assert judged("ecommerce-platform", "ECOM-DDB-013", catalog, names) == [("product-catalog-production", "pass")]


def lifecycle(*rules: LifecycleRule) -> BucketLifecycle:
    return BucketLifecycle(rules=list(rules))


@pytest.mark.parametrize("rules, verdict", [
    ((), "pass"),
    ((LifecycleRule(id="abort", abort_incomplete_multipart_days=7),), "pass"),  # housekeeping
    ((LifecycleRule(id="old", status="Disabled", expiration_days=30),), "pass"),
    ((LifecycleRule(id="ia", transitions=[LifecycleTransition(days=30, storage_class="STANDARD_IA")]),), "fail"),
    ((LifecycleRule(id="expire", expiration_days=365),), "fail"),
    ((LifecycleRule(id="versions", noncurrent_expiration_days=30),), "fail"),
])
def test_ecom_s3_013_judges_transitions_and_expirations_only(rules, verdict):
    bucket = S3Bucket(id="ecommerce-static-assets-production", name="ecommerce-static-assets-production",
                      region="us-east-1", lifecycle=lifecycle(*rules))
    assert judged("ecommerce-platform", "ECOM-S3-013", bucket, ECOM) == [(bucket.id, verdict)]


def test_a_rule_naming_two_buckets_judges_the_one_whose_parameter_is_set():
    """co2: website_bucket is required and unset, geojson_bucket has its default. The public GeoJSON bucket is
    judged (and fails); the unset name is one error of its own; before, neither bucket was judged."""
    co2 = pack("co2-storagestack")
    blocked = blocked_rules([co2], {})
    assert "CO2-S3-007" not in blocked
    geojson = S3Bucket(id="co2-analysis-dev-geojson-data", name="co2-analysis-dev-geojson-data", region="us-east-1",
                       policy=BucketPolicy(exists=True, allows_public_principal=True),
                       public_access_block=PublicAccessBlock())
    findings = [f for f in evaluate_rules(co2.rules, "development", contexts_for([co2], "development", "1", {}),
                                          Inventory([geojson], ["us-east-1"]), blocked) if f.rule_id == "CO2-S3-007"]
    by_id = {f.resource.id: f for f in findings}
    assert by_id["co2-analysis-dev-geojson-data"].status == "fail"
    unset = by_id["(not evaluated: {website_bucket})"]
    assert unset.status == "error" and "parameters.co2-storagestack.website_bucket" in unset.message
    # A rule naming only the unset bucket is still blocked as a whole.
    assert "CO2-S3-008" in blocked


def test_a_password_set_by_hand_on_a_live_instance_is_error_not_fail(aws):
    """moto, as a live scan sees it: RDS-managed passes; a password typed in by hand cannot be traced to Secrets
    Manager from the RDS API, so ECOM-RDS-022 says so (error) instead of failing a spec-compliant setup."""
    import boto3

    from auditor.services.rds import fetch as rds
    from auditor.services.fetch import AwsCalls

    common = dict(Engine="postgres", DBInstanceClass="db.t3.micro", AllocatedStorage=20, MasterUsername="dbadmin")
    aws.rds.create_db_instance(DBInstanceIdentifier="product-db-production", ManageMasterUserPassword=True, **common)
    aws.rds.create_db_instance(DBInstanceIdentifier="product-db-staging", MasterUserPassword="not-a-real-one-1",
                               **common)

    class Calls(AwsCalls):
        def client(self, service, region):
            return boto3.client(service, region_name=region, endpoint_url=aws.endpoint, aws_access_key_id="x",
                                aws_secret_access_key="y")

    found = {r.id: r for r in rds.COLLECTOR.list_resources(Calls(pool=None, account_id="123456789012"), "us-east-1")}
    assert judged("ecommerce-platform", "ECOM-RDS-022", found["product-db-production"], ECOM) == \
        [("product-db-production", "pass")]
    assert judged("ecommerce-platform", "ECOM-RDS-022", found["product-db-staging"], ECOM, env="staging") == \
        [("product-db-staging", "error")]
    assert "does not show whether it comes from Secrets Manager" in found["product-db-staging"].unknown[
        "master_password_source"]


def test_baseline_yields_where_the_spec_sets_a_property_for_other_environments_only():
    """Spec 002 turns point-in-time recovery on in production only (ECOM-DDB-010): a staging table without it is
    as the spec wants, so BASE-DDB-001 is superseded there, not a failure."""
    from auditor.services.dynamodb import TablePitr

    packs = [pack("ecommerce-platform"), pack("baseline")]
    table = DynamoDBTable(id="product-catalog-staging", name="product-catalog-staging", region="us-east-1",
                          pitr=TablePitr(status="DISABLED"), deletion_protection=True)
    rules = [r for p in packs for r in p.rules]
    contexts = contexts_for(packs, "staging", "123456789012", {"ecommerce-platform": ECOM})
    findings = evaluate_rules(rules, "staging", contexts, Inventory([table], ["us-east-1"]), blocked_rules(packs, {}))
    (pitr,) = [f for f in findings if f.rule_id == "BASE-DDB-001"]
    assert pitr.status == "superseded" and pitr.superseded_by == "ECOM-DDB-010"
    assert "for production only" in pitr.message
    # A table no spec rule names keeps the baseline's verdict.
    stray = DynamoDBTable(id="scratch", name="scratch", region="us-east-1", pitr=TablePitr(status="DISABLED"))
    findings = evaluate_rules(rules, "staging", contexts, Inventory([stray], ["us-east-1"]), blocked_rules(packs, {}))
    assert [f.status for f in findings if f.rule_id == "BASE-DDB-001"] == ["fail"]


def test_choices_the_spec_leaves_open_are_parameters_with_the_specs_reading_as_default():
    from auditor.services.s3.model import BucketEncryption, ObjectLock

    names = {**ECOM, "order_documents_bucket": "ecommerce-order-documents-{env}",
             "database_backups_bucket": "ecommerce-database-backups-{env}", "product_images_bucket": "images-{env}"}
    sse_s3 = BucketEncryption(enabled=True, algorithm="AES256")
    images = S3Bucket(id="images-production", name="images-production", region="us-east-1", encryption=sse_s3)
    backups = S3Bucket(id="ecommerce-database-backups-production", name="ecommerce-database-backups-production",
                       region="us-east-1", encryption=sse_s3)
    # By default order documents and database backups are the sensitive buckets (SSE-KMS)...
    assert judged("ecommerce-platform", "ECOM-S3-009", backups, names) == [(backups.id, "fail")]
    assert judged("ecommerce-platform", "ECOM-S3-009", images, names) == []
    # ...and a team that deems its product images sensitive says so.
    assert judged("ecommerce-platform", "ECOM-S3-009", images, {**names, "sensitive_buckets": ["images-{env}"]}) == \
        [(images.id, "fail")]
    governed = S3Bucket(id="ecommerce-order-documents-production", name="ecommerce-order-documents-production",
                        region="us-east-1", object_lock=ObjectLock(enabled=True, mode="GOVERNANCE", retention_days=7))
    assert judged("ecommerce-platform", "ECOM-S3-011", governed, names) == [(governed.id, "fail")]  # §6.2: compliance
    assert judged("ecommerce-platform", "ECOM-S3-011", governed,
                  {**names, "object_lock_modes": ["COMPLIANCE", "GOVERNANCE"]}) == [(governed.id, "pass")]


def alarm_on(resource, metric: str, operator: str, period: int, periods: int, threshold: float, namespace: str):
    from auditor.services.model import Alarm

    resource.alarms = [Alarm(name=f"{resource.name}-{metric}", namespace=namespace, metric_name=metric,
                             metric_names=[metric], comparison_operator=operator, threshold=threshold, period=period,
                             evaluation_periods=periods, breach_seconds=period * periods)]
    return resource


@pytest.mark.parametrize("operator, period, periods, verdict", [
    ("GreaterThanThreshold", 300, 3, "pass"),  # 15 minutes of errors before it fires
    ("GreaterThanThreshold", 60, 1, "fail"),  # one minute: a blip, not a sustained rate
    ("LessThanThreshold", 300, 3, "fail"),  # fires when errors stop
])
def test_ecom_s3_017_error_alarms_are_high_and_sustained(operator, period, periods, verdict):
    from auditor.services.model import Alarm

    bucket = S3Bucket(id="images-production", name="images-production", region="us-east-1")
    alarm_on(bucket, "4xxErrors", operator, period, periods, 10, "AWS/S3")
    good_5xx = Alarm(name="5xx", namespace="AWS/S3", metric_name="5xxErrors", metric_names=["5xxErrors"],
                     comparison_operator="GreaterThanThreshold", threshold=0, period=300, evaluation_periods=1,
                     breach_seconds=300)
    bucket.alarms.append(good_5xx)
    assert judged("ecommerce-platform", "ECOM-S3-017", bucket, {**ECOM, "product_images_bucket": "images-{env}"}) \
        == [("images-production", verdict)]


def test_ecom_s3_018_replication_alarm_fires_on_delay_above_15_minutes():
    bucket = S3Bucket(id="images-production", name="images-production", region="us-east-1", replication=True)
    names = {**ECOM, "product_images_bucket": "images-{env}"}
    alarm_on(bucket, "ReplicationLatency", "GreaterThanThreshold", 60, 15, 900, "AWS/S3")
    assert judged("ecommerce-platform", "ECOM-S3-018", bucket, names) == [("images-production", "pass")]
    alarm_on(bucket, "ReplicationLatency", "LessThanThreshold", 60, 15, 900, "AWS/S3")
    assert judged("ecommerce-platform", "ECOM-S3-018", bucket, names) == [("images-production", "fail")]


@pytest.mark.parametrize("period, periods, verdict", [(300, 1, "pass"), (60, 1, "fail")])
def test_ecom_cache_012_eviction_alarm_is_sustained(period, periods, verdict):
    from auditor.services.elasticache import ElastiCacheReplicationGroup

    group = ElastiCacheReplicationGroup(id="session-cache-production", name="session-cache-production",
                                        region="us-east-1")
    alarm_on(group, "Evictions", "GreaterThanThreshold", period, periods, 0, "AWS/ElastiCache")
    params = {**ECOM, "session_cache": "session-cache-{env}"}
    assert judged("ecommerce-platform", "ECOM-CACHE-012", group, params) == [("session-cache-production", verdict)]


def test_ecom_rds_018_a_low_connection_alarm_does_not_count_as_catching_the_crowd():
    from auditor.services.links import _connection_alarm_share
    from auditor.services.model import Alarm

    def alarm(operator: str, threshold: float) -> Alarm:
        return Alarm(name=f"conn-{operator}", namespace="AWS/RDS", metric_name="DatabaseConnections",
                     metric_names=["DatabaseConnections"], comparison_operator=operator, threshold=threshold)

    db = RDSInstance(id="product-db-production", name="product-db-production", region="us-east-1",
                     max_connections=1000, alarms=[alarm("LessThanThreshold", 10), alarm("GreaterThanThreshold", 950)])
    _connection_alarm_share(db)
    assert db.connection_alarm_share == 95.0  # before: 1.0, from the low alarm, and the rule passed
    assert judged("ecommerce-platform", "ECOM-RDS-018", db, ECOM) == [("product-db-production", "fail")]
    db.alarms = [alarm("GreaterThanOrEqualToThreshold", 800)]
    _connection_alarm_share(db)
    assert judged("ecommerce-platform", "ECOM-RDS-018", db, ECOM) == [("product-db-production", "pass")]


def test_ecom_rds_026_reads_rds_force_ssl_and_the_engines_default(tmp_path):
    """rds.force_ssl from the instance's parameter group, in Terraform as the provider writes it; unset, the
    engine's default decides and the finding says so (PostgreSQL 14: off, 15 and later: on)."""
    from auditor.runs.gate import iac_audit
    from auditor.services.rds.table import force_ssl_of

    assert force_ssl_of("postgres", "14.9", "1", noted=False) is True
    assert force_ssl_of("postgres", "16.2", None, noted=False) is True
    assert force_ssl_of("postgres", "14.9", None, noted=False) is False
    assert force_ssl_of("mysql", "8.0", None) is None
    (tmp_path / "main.tf").write_text("""
resource "aws_db_parameter_group" "tls" {
  name   = "tls-only"
  family = "postgres14"
  parameter {
    name  = "rds.force_ssl"
    value = "1"
  }
}
resource "aws_db_instance" "with_group" {
  identifier           = "product-db-production"
  engine               = "postgres"
  engine_version       = "14.9"
  instance_class       = "db.r6g.2xlarge"
  parameter_group_name = aws_db_parameter_group.tls.name
}
resource "aws_db_instance" "default_14" {
  identifier     = "product-db-staging"
  engine         = "postgres"
  engine_version = "14.9"
  instance_class = "db.r6g.xlarge"
}
""")
    ecom = pack("ecommerce-platform")
    rule_026 = [r for r in ecom.rules if r.id == "ECOM-RDS-026"]
    for env, name, status, says in (("production", "product-db-production", "pass", ""),
                                     ("staging", "product-db-staging", "fail", "rds.force_ssl is 0 by default on PostgreSQL 14")):
        result = iac_audit(tmp_path, [ecom.model_copy(update={"rules": rule_026})], env, {}, [], "us-east-1", None,
                           False, [])
        (finding,) = [f for f in result.findings if f.resource.name == name]
        assert finding.status == status and says in finding.message, finding.message


def test_co2_cdk_auto_delete_is_read_from_the_bucket_tag_cdk_synth_writes(tmp_path):
    """CDK's autoDeleteObjects leaves a tag on the bucket, in `cdk synth` output as in the live account: dev and
    staging buckets must carry it (CO2-S3-010), production ones must not (CO2-S3-011)."""
    from auditor.runs.gate import iac_audit

    params = {"co2-storagestack": {"website_bucket": "co2-analysis-{env}-static-website"}}
    co2 = pack("co2-storagestack")
    rules = [r for r in co2.rules if r.id in ("CO2-S3-010", "CO2-S3-011")]
    for env, spelled in (("development", "dev"), ("production", "prod")):
        folder = tmp_path / env
        folder.mkdir()
        (folder / "StorageStack.template.json").write_text(f"""{{
 "Resources": {{
  "WebsiteBucket": {{"Type": "AWS::S3::Bucket", "Properties": {{
    "BucketName": "co2-analysis-{spelled}-static-website",
    "Tags": [{{"Key": "aws-cdk:auto-delete-objects", "Value": "true"}}]}},
   "UpdateReplacePolicy": "Delete", "DeletionPolicy": "Delete"}}
 }}
}}""")
        result = iac_audit(folder, [co2.model_copy(update={"rules": rules})], env, params, [], "us-east-1", None,
                           False, [])
        verdicts = {(f.rule_id, f.resource.name): f.status for f in result.findings if f.resource.name.endswith("website")}
        expected = {("CO2-S3-010", f"co2-analysis-{spelled}-static-website"): "pass"} if env == "development" else \
            {("CO2-S3-011", f"co2-analysis-{spelled}-static-website"): "fail"}
        assert verdicts == expected


@pytest.mark.parametrize("tiered, judged_buckets", [
    (None, {"app-shared": "fail", "app-backups": "fail"}),  # the spec's reading: shared and backups
    (["{backups_bucket}"], {"app-backups": "fail"}),  # shared objects are written INTELLIGENT_TIERING by the app
    ([], {})])  # every bucket tiered by storage class: no bucket setting to judge, and no bucket is judged
def test_which_buckets_intelligent_tiering_judges_is_a_parameter(tiered, judged_buckets):
    names = {"shared_bucket": "app-shared", "backups_bucket": "app-backups", "user_data_bucket": "app-users",
             "task_data_bucket": "app-tasks", "cache_group": "c",
             **({"intelligent_tiering_buckets": tiered} if tiered is not None else {})}
    found = {}
    for name in ("app-shared", "app-backups", "app-users"):
        bucket = S3Bucket(id=name, name=name, region="us-east-1", intelligent_tiering=False)
        found.update(dict(judged("serverless-app", "SRV-S3-004", bucket, names)))
    assert found == judged_buckets
