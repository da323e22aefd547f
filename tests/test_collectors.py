"""Collector parsing on the response shapes AWS documents (botocore Stubber), where moto cannot serve them,
and the rule that a denied or unserved call leaves a property unknown, never false."""
from __future__ import annotations

import boto3
import pytest
from botocore.stub import Stubber

from auditor.collect import fetch_family
from auditor.collectors import elasticache, rds, s3
from auditor.collectors.base import AwsCalls
from auditor.evaluate import Inventory, evaluate_rule
from auditor.resources import ElastiCacheReplicationGroup, S3Bucket
from auditor.rules.conditions import Context
from auditor.rules.conditions import parse_condition
from auditor.rules.pack import Rule


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
    from auditor.collectors.cloudwatch import alarm_from

    raw = {"AlarmName": "cpu", "Namespace": "AWS/RDS", "MetricName": "CPUUtilization", "Period": period,
           "EvaluationPeriods": evaluations, "Threshold": 80, "ComparisonOperator": "GreaterThanThreshold"}
    if datapoints:
        raw["DatapointsToAlarm"] = datapoints
    assert alarm_from(raw).breach_seconds == breach
