"""Collector parsing on the response shapes AWS documents (botocore Stubber), where moto cannot serve them,
and the rule that a denied or unserved call leaves a property unknown, never false."""
from __future__ import annotations

import json

import boto3
import pytest
from botocore.stub import Stubber

from auditor.engine.evaluate import Inventory, evaluate_rule
from auditor.live.collect import fetch_family
from auditor.rules.conditions import Context, parse_condition
from auditor.rules.pack import Rule
from auditor.services import elasticache
from auditor.services.elasticache import ElastiCacheReplicationGroup
from auditor.services.fetch import AwsCalls
from auditor.services.rds import fetch as rds
from auditor.services.s3 import fetch as s3
from auditor.services.s3.model import S3Bucket


class StubbedCalls(AwsCalls):
    def __init__(self, clients):
        super().__init__(pool=None, account_id="123456789012")
        self.clients = clients

    def client(self, service, region):
        return self.clients[service]


def stubbed(service):
    client = boto3.client(service, region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="y")
    return client, Stubber(client)


def test_cache_parameters_are_read_from_the_group_of_the_first_member():
    client, stub = stubbed("elasticache")
    stub.add_response("describe_cache_clusters", {"CacheClusters": [{
        "CacheClusterId": "sessions-001", "EngineVersion": "7.1",
        "CacheParameterGroup": {"CacheParameterGroupName": "sessions-params"}}]}, {"CacheClusterId": "sessions-001"})
    stub.add_response("describe_cache_parameters", {"Parameters": [
        {"ParameterName": "maxmemory-policy", "ParameterValue": "volatile-lru"},
        {"ParameterName": "reserved-memory-percent", "ParameterValue": "25"},
        {"ParameterName": "notify-keyspace-events"}]}, {"CacheParameterGroupName": "sessions-params"})
    group = ElastiCacheReplicationGroup(id="sessions", name="sessions", region="us-east-1",
                                        member_clusters=["sessions-001"])
    with stub:
        fetch_family(StubbedCalls({"elasticache": client}), elasticache.COLLECTOR.families["parameters"], group)
    assert group.parameters == {"maxmemory-policy": "volatile-lru", "reserved-memory-percent": "25"}
    assert group.engine_version == "7.1" and not group.unknown


def test_access_denied_leaves_the_family_unknown_and_the_check_error():
    client, stub = stubbed("s3")
    stub.add_client_error("get_bucket_encryption", service_error_code="AccessDenied", http_status_code=403)
    bucket = S3Bucket(id="data", name="data", region="us-east-1")
    with stub:
        fetch_family(StubbedCalls({"s3": client}), s3.COLLECTOR.families["encryption"], bucket)
    assert bucket.encryption is None
    assert "access denied" in bucket.unknown["encryption"]
    rule = Rule(id="T-S3-001", title="t", control="encryption", severity="high", spec_ref="s", remediation="r",
                resource={"type": "AWS::S3::Bucket"}, pack="t")
    rule.condition = parse_condition({"key": "encryption.enabled", "equals": True}, set())
    (finding,) = evaluate_rule(rule, Context("production", "production"), Inventory([bucket], ["us-east-1"]))
    assert finding.status == "error" and "AccessDenied" in finding.message


def test_not_configured_is_a_fact_not_an_error():
    client, stub = stubbed("s3")
    stub.add_client_error("get_bucket_encryption", service_error_code="ServerSideEncryptionConfigurationNotFoundError",
                          http_status_code=404)
    bucket = S3Bucket(id="data", name="data", region="us-east-1")
    with stub:
        fetch_family(StubbedCalls({"s3": client}), s3.COLLECTOR.families["encryption"], bucket)
    assert bucket.encryption.enabled is False and not bucket.unknown


def test_rds_instance_without_performance_insights_flag_is_unknown():
    raw = {"DBInstanceIdentifier": "db", "Engine": "postgres", "EngineVersion": "14.9", "MultiAZ": True,
           "StorageEncrypted": True, "DeletionProtection": True, "PubliclyAccessible": False}
    instance = rds.instance_from(raw, "us-east-1", "123456789012")
    assert instance.performance_insights_enabled is None
    assert "performance_insights_enabled" in instance.unknown
    raw["PerformanceInsightsEnabled"] = False
    assert rds.instance_from(raw, "us-east-1", "1").performance_insights_enabled is False


@pytest.mark.parametrize("policy, tls_only, public", [
    ('{"Statement": [{"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "*",'
     ' "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]}', True, False),
    ('{"Statement": {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "s3:GetObject", "Resource": "*"}}',
     False, True),
    ('{"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "*",'
     ' "Condition": {"StringEquals": {"aws:SourceVpce": "vpce-1"}}}]}', False, False),
])
def test_bucket_policy_reading(policy, tls_only, public):
    parsed = s3.parse_policy(policy)
    assert parsed.exists and parsed.denies_insecure_transport is tls_only and parsed.allows_public_principal is public


def test_lifecycle_summary_takes_enabled_rules_only():
    summary = s3.parse_lifecycle([
        {"ID": "a", "Status": "Enabled", "Filter": {"Prefix": "logs/"},
         "Transitions": [{"Days": 30, "StorageClass": "STANDARD_IA"}, {"Days": 90, "StorageClass": "GLACIER"}],
         "Expiration": {"Days": 365}},
        {"ID": "b", "Status": "Disabled", "Transitions": [{"Days": 1, "StorageClass": "GLACIER"}]},
    ])
    assert summary.transition_days == {"STANDARD_IA": 30, "GLACIER": 90}
    assert summary.expiration_days == 365 and summary.rules[0].prefix == "logs/"


@pytest.mark.parametrize("period, evaluations, datapoints, breach", [
    (300, 1, None, 300), (60, 5, None, 300), (60, 5, 3, 180), (60, 1, None, 60), (None, 1, None, None)])
def test_an_alarm_says_how_long_the_metric_must_breach(period, evaluations, datapoints, breach):
    from auditor.services.cloudwatch import alarm_from

    raw = {"AlarmName": "cpu", "Namespace": "AWS/RDS", "MetricName": "CPUUtilization", "Period": period,
           "EvaluationPeriods": evaluations, "Threshold": 80, "ComparisonOperator": "GreaterThanThreshold"}
    if datapoints:
        raw["DatapointsToAlarm"] = datapoints
    assert alarm_from(raw).breach_seconds == breach


def _packed_rule(pack_id: str, rule_id: str) -> Rule:
    from auditor.rules.load import PackFileSet

    (pack,) = PackFileSet().load([pack_id])
    return next(r for r in pack.rules if r.id == rule_id)


KEY_ARN = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"


@pytest.mark.parametrize("manager, verdict", [("AWS", "pass"), ("CUSTOMER", "fail")])
def test_aws_managed_key_rules_tell_aws_managed_from_customer_keys(manager, verdict):
    """DescribeKey's KeyManager (the shape AWS documents; moto says CUSTOMER for its AWS managed keys)."""
    from auditor.services import ebs as ec2, efs
    from auditor.services.ebs import EBSVolume
    from auditor.services.efs import EFSFileSystem

    kms, stub = stubbed("kms")
    for _ in range(2):
        stub.add_response("describe_key", {"KeyMetadata": {"KeyId": KEY_ARN.rsplit("/", 1)[1], "Arn": KEY_ARN,
                                                           "KeyManager": manager}}, {"KeyId": KEY_ARN})
    volume = EBSVolume(id="vol-1", name="pvc-data-0", region="us-east-1", encrypted=True, kms_key_id=KEY_ARN,
                       tags={"ebs.csi.aws.com/cluster": "true"})
    fs = EFSFileSystem(id="fs-1", name="eks_production", region="us-east-1", encrypted=True, kms_key_id=KEY_ARN)
    with stub:
        fetch_family(StubbedCalls({"kms": kms}), ec2.COLLECTOR.families["kms_key_manager"], volume)
        calls = StubbedCalls({"kms": kms})  # a fresh run: DescribeKey again (once per key and run)
        fetch_family(calls, efs.COLLECTOR.families["kms_key_manager"], fs)
        fetch_family(calls, efs.COLLECTOR.families["kms_key_manager"], fs)  # memoized: no third call
    assert volume.kms_key_manager == fs.kms_key_manager == manager
    ctx = Context("production", "production", params={"efs_name": "eks_production"})
    for rule_id, resource in (("OFL-EBS-004", volume), ("OFL-EFS-005", fs)):
        (finding,) = evaluate_rule(_packed_rule("officeless", rule_id), ctx, Inventory([resource], ["us-east-1"]))
        assert finding.status == verdict, finding


def test_dynamodb_key_manager_from_the_table_and_its_key():
    from auditor.services import dynamodb
    from auditor.services.dynamodb import DynamoDBTable

    client, stub = stubbed("dynamodb")
    kms, kms_stub = stubbed("kms")
    stub.add_response("describe_table", {"Table": {"TableName": "cache", "SSEDescription": {
        "Status": "ENABLED", "SSEType": "KMS", "KMSMasterKeyArn": KEY_ARN}}}, {"TableName": "cache"})
    kms_stub.add_response("describe_key", {"KeyMetadata": {"KeyId": "k", "KeyManager": "AWS"}}, {"KeyId": KEY_ARN})
    table = DynamoDBTable(id="cache", name="cache", region="us-east-1")
    calls = StubbedCalls({"dynamodb": client, "kms": kms})
    with stub, kms_stub:
        fetch_family(calls, dynamodb.COLLECTOR.families["kms_key_manager"], table)
        fetch_family(calls, dynamodb.COLLECTOR.families["description"], table)  # the same DescribeTable answer
    assert table.kms_key_manager == "AWS" and table.sse.type == "KMS" and not table.unknown
    owned = DynamoDBTable(id="plain", name="plain", region="us-east-1")
    client2, stub2 = stubbed("dynamodb")
    stub2.add_response("describe_table", {"Table": {"TableName": "plain"}}, {"TableName": "plain"})
    with stub2:
        fetch_family(StubbedCalls({"dynamodb": client2}), dynamodb.COLLECTOR.families["kms_key_manager"], owned)
    assert owned.kms_key_manager == "AWS_OWNED"


def test_an_encrypted_file_system_without_its_key_is_unknown_not_aws_managed():
    from auditor.services import efs
    from auditor.services.efs import EFSFileSystem

    fs = EFSFileSystem(id="fs-1", name="eks_production", region="us-east-1", encrypted=True)
    fetch_family(StubbedCalls({}), efs.COLLECTOR.families["kms_key_manager"], fs)
    assert fs.kms_key_manager is None and "no KmsKeyId" in fs.unknown["kms_key_manager"]


OAI_ARN = "arn:aws:iam::cloudfront:user/CloudFront Origin Access Identity E2EXAMPLE"


@pytest.mark.parametrize("principal, condition, to_cdn, to_others", [
    ({"AWS": OAI_ARN}, None, True, False),  # origin access identity
    ({"CanonicalUser": "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be"}, None, True, False),
    ({"Service": "cloudfront.amazonaws.com"},  # origin access control, for one distribution
     {"StringEquals": {"AWS:SourceArn": "arn:aws:cloudfront::123456789012:distribution/E1"}}, True, False),
    ({"Service": "cloudfront.amazonaws.com"}, None, False, True),  # any distribution of any account
    ({"AWS": "arn:aws:iam::123456789012:role/reader"}, None, False, True),  # direct access
    ("*", None, False, True),
])
def test_object_reads_by_the_cdn_and_by_anyone_else(principal, condition, to_cdn, to_others):
    statement = {"Effect": "Allow", "Principal": principal, "Action": ["s3:GetObject"], "Resource": "arn:aws:s3:::b/*"}
    if condition:
        statement["Condition"] = condition
    policy = s3.parse_policy(json.dumps({"Statement": [statement]}))
    assert (policy.grants_reads_to_cdn, policy.grants_reads_to_others) == (to_cdn, to_others)
