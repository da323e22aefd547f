"""The collectors on answers shaped as the AWS API reference documents them (tests/fixtures/aws, fed through
botocore's Stubber, which checks each against the service model): one tag, two tags and none; a map of tags;
fields AWS leaves out of an answer and defaults."""
from __future__ import annotations

import json
from pathlib import Path

import boto3
from botocore.stub import Stubber

from auditor.engine.evaluate import Inventory, evaluate_rule
from auditor.rules.conditions import Context, parse_condition
from auditor.rules.pack import Rule
from auditor.services import cloudwatch, ebs as ec2, efs, eks, elasticache
from auditor.services.fetch import AwsCalls
from auditor.services.rds import fetch as rds

ANSWERS = Path(__file__).parent / "fixtures" / "aws"
ACCOUNT = "123456789012"


def answer(name: str) -> dict:
    return json.loads((ANSWERS / name).read_text())


class StubbedCalls(AwsCalls):
    def __init__(self, clients):
        super().__init__(pool=None, account_id=ACCOUNT)
        self.clients = clients

    def client(self, service, region):
        return self.clients[service]


def listed(collector, service: str, responses: list[tuple[str, dict, dict]], region: str = "us-east-1") -> list:
    client = boto3.client(service, region_name=region, aws_access_key_id="x", aws_secret_access_key="y")
    stub = Stubber(client)
    for operation, body, params in responses:
        stub.add_response(operation, body, params)
    with stub:
        resources = list(collector.list_resources(StubbedCalls({service: client}), region))
        stub.assert_no_pending_responses()
    return resources


def by_id(resources) -> dict:
    return {r.id: r for r in resources}


def test_volumes_with_one_two_and_no_tags_keep_their_tags():
    volumes = by_id(listed(ec2.COLLECTOR, "ec2", [("describe_volumes", answer("ec2-describe-volumes.json"), {})]))
    assert volumes["vol-0a1b2c3d4e5f60001"].tags == {"kubernetes.io/created-for/pvc/name": "data-mimir-0"}
    assert volumes["vol-0a1b2c3d4e5f60002"].tags == {"Name": "scratch", "environment": "production"}
    assert volumes["vol-0a1b2c3d4e5f60003"].tags == {}
    assert volumes["vol-0a1b2c3d4e5f60002"].name == "scratch"


def test_a_volume_with_one_tag_is_judged_by_a_tag_selected_rule():
    body = answer("ec2-describe-volumes.json")
    body["Volumes"][0]["Tags"] = [{"Key": "ebs.csi.aws.com/cluster", "Value": "true"}]
    body["Volumes"][0]["Encrypted"] = False
    volumes = listed(ec2.COLLECTOR, "ec2", [("describe_volumes", body, {})])
    rule = Rule(id="T-EBS-001", title="CSI volumes encrypted", control="encryption", severity="high", spec_ref="s",
                remediation="r", resource={"type": "AWS::EC2::Volume", "tags": {"ebs.csi.aws.com/cluster": "true"}},
                pack="t")
    rule.condition = parse_condition({"key": "encrypted", "equals": True}, set())
    findings = evaluate_rule(rule, Context("production", "production"), Inventory(volumes, ["us-east-1"]))
    assert [(f.resource.id, f.status) for f in findings] == [("vol-0a1b2c3d4e5f60001", "fail")]


def test_rds_instances_and_clusters_with_one_two_and_no_tags():
    instances = by_id(listed(rds.COLLECTOR, "rds", [("describe_db_instances", answer("rds-describe-db-instances.json"), {})]))
    assert instances["orders-prod"].tags == {"environment": "production"}
    assert instances["orders-staging"].tags == {"environment": "staging", "team": "orders"}
    assert instances["scratch"].tags == {}
    client = boto3.client("rds", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="y")
    stub = Stubber(client)
    stub.add_response("describe_db_clusters", answer("rds-describe-db-clusters.json"), {})
    with stub:
        (cluster,) = rds.list_clusters(StubbedCalls({"rds": client}), "us-east-1")
    assert cluster.tags == {"environment": "production"}


def test_a_file_system_with_one_tag_and_no_throughput_mode():
    (fs,) = listed(efs.COLLECTOR, "efs", [("describe_file_systems", answer("efs-describe-file-systems.json"), {})])
    assert fs.tags == {"Name": "eks_production"} and fs.name == "eks_production"
    assert fs.throughput_mode == "bursting" and "bursting" in fs.defaults["throughput_mode"]
    assert "throughput_mode" not in fs.unknown


def test_eks_cluster_tags_are_read_from_describe_cluster():
    (cluster,) = listed(eks.COLLECTOR, "eks", [
        ("list_clusters", {"clusters": ["officeless-production"]}, {}),
        ("describe_cluster", answer("eks-describe-cluster.json"), {"name": "officeless-production"})])
    assert cluster.tags == {"environment": "production"}
    assert cluster.cluster_security_group_id == "sg-0c1d2e3f"


def test_a_replication_group_without_an_arn_gets_the_one_aws_documents():
    (group,) = listed(elasticache.COLLECTOR, "elasticache",
                      [("describe_replication_groups", answer("elasticache-describe-replication-groups.json"), {})])
    assert group.arn == f"arn:aws:elasticache:us-east-1:{ACCOUNT}:replicationgroup:sessions"
    assert group.node_count == 2 and group.multi_az is True
    (china,) = listed(elasticache.COLLECTOR, "elasticache",
                      [("describe_replication_groups", answer("elasticache-describe-replication-groups.json"), {})],
                      region="cn-north-1")
    assert china.arn.startswith("arn:aws-cn:elasticache:cn-north-1:")


def test_the_tags_of_a_replication_group_without_an_arn_are_read_by_the_built_one():
    (group,) = listed(elasticache.COLLECTOR, "elasticache",
                      [("describe_replication_groups", answer("elasticache-describe-replication-groups.json"), {})])
    client = boto3.client("elasticache", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="y")
    stub = Stubber(client)
    stub.add_response("list_tags_for_resource", {"TagList": [{"Key": "environment", "Value": "production"}]},
                      {"ResourceName": group.arn})
    with stub:
        elasticache.fetch_tags(StubbedCalls({"elasticache": client}), group)
    assert group.tags == {"environment": "production"}


def test_an_alarm_without_treat_missing_data_takes_the_default_and_says_so():
    (alarm,) = listed(cloudwatch.COLLECTOR, "cloudwatch",
                      [("describe_alarms", answer("cloudwatch-describe-alarms.json"), {"AlarmTypes": ["MetricAlarm"]})])
    assert alarm.alarm.treat_missing_data == "missing"
    assert "TreatMissingData missing" in alarm.defaults["alarm.treat_missing_data"]
    rule = Rule(id="T-CW-001", title="t", control="alarm", severity="low", spec_ref="s", remediation="r",
                resource={"type": "AWS::CloudWatch::Alarm"}, pack="t")
    rule.condition = parse_condition({"key": "alarm.treat_missing_data", "equals": "breaching"}, set())
    (finding,) = evaluate_rule(rule, Context("production", "production"), Inventory([alarm], ["us-east-1"]))
    assert finding.status == "fail" and "AWS default: TreatMissingData missing" in finding.message
