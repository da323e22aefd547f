"""DynamoDB as the specs describe it beyond keys. Spec 002's capacity and disaster recovery: ECOM-DDB-018, development tables provisioned with
auto-scaling (§4.1.1), read from Terraform and CloudFormation as the AWS provider's and CloudFormation's own
examples write it (the live read is judged in tests/test_scan_ecommerce.py against moto, which serves Application
Auto Scaling); ECOM-DDB-019, critical tables as global tables (§4.3), live on the DescribeTable answer AWS
documents (moto keeps no replica) and in Terraform. Index key types (specs 000 and 001) from the table's
attribute definitions."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from auditor.engine.evaluate import Inventory, evaluate_rule
from auditor.rules.conditions import Context
from auditor.services import dynamodb
from tests.conftest import run_here
from tests.test_collectors import _packed_rule
from tests.test_iac_realworld import verdicts

TABLE_TF = '''
variable "environment" { default = "development" }
resource "aws_dynamodb_table" "products" {
  name           = "Products-${var.environment}"
  billing_mode   = "PROVISIONED"
  read_capacity  = 5
  write_capacity = 5
  hash_key       = "productId"
  attribute {
    name = "productId"
    type = "S"
  }
}
'''


def scaling_tf(unit: str, policy: bool = True) -> str:
    """The provider documentation's example for aws_appautoscaling_policy (DynamoDB target tracking)."""
    short = unit[:4].lower()
    text = f'''
resource "aws_appautoscaling_target" "{short}" {{
  max_capacity       = 100
  min_capacity       = 5
  resource_id        = "table/${{aws_dynamodb_table.products.name}}"
  scalable_dimension = "dynamodb:table:{unit}"
  service_namespace  = "dynamodb"
}}
'''
    if policy:
        text += f'''
resource "aws_appautoscaling_policy" "{short}" {{
  name               = "DynamoDB{unit}Utilization:${{aws_appautoscaling_target.{short}.resource_id}}"
  policy_type        = "TargetTrackingScaling"
  resource_id        = aws_appautoscaling_target.{short}.resource_id
  scalable_dimension = aws_appautoscaling_target.{short}.scalable_dimension
  service_namespace  = aws_appautoscaling_target.{short}.service_namespace
  target_tracking_scaling_policy_configuration {{
    predefined_metric_specification {{
      predefined_metric_type = "DynamoDB{unit[:-5]}Utilization"
    }}
    target_value = 70
  }}
}}
'''
    return text


def gate(tmp_path: Path, files: dict[str, str], env: str = "development") -> dict:
    folder = tmp_path / "iac"
    folder.mkdir()
    for name, text in files.items():
        (folder / name).write_text(text)
    result = run_here("iac", str(folder), "--pack", "ecommerce-platform", "--env", env, "--format", "json",
                      "--out", str(tmp_path / "out"), "--no-checkov")
    assert "Traceback" not in result.stderr, result.stderr
    (report,) = (tmp_path / "out").glob("*/report.json")
    return json.loads(report.read_text())


@pytest.mark.parametrize("scaling, verdict", [
    (scaling_tf("ReadCapacityUnits") + scaling_tf("WriteCapacityUnits"), "pass"),
    (scaling_tf("ReadCapacityUnits"), "fail"),  # writes stay at 5
    (scaling_tf("ReadCapacityUnits") + scaling_tf("WriteCapacityUnits", policy=False), "fail"),  # a target alone
    ("", "fail")])
def test_auto_scaling_in_terraform(tmp_path, scaling, verdict):
    document = gate(tmp_path, {"main.tf": TABLE_TF + scaling})
    assert verdicts(document, "Products-development")["ECOM-DDB-018"]["status"] == verdict


CFN = '''
AWSTemplateFormatVersion: "2010-09-09"
Resources:
  Products:
    Type: AWS::DynamoDB::Table
    Properties:
      TableName: Products-development
      BillingMode: PROVISIONED
      ProvisionedThroughput: {ReadCapacityUnits: 5, WriteCapacityUnits: 5}
      AttributeDefinitions: [{AttributeName: productId, AttributeType: S}]
      KeySchema: [{AttributeName: productId, KeyType: HASH}]
  ReadTarget:
    Type: AWS::ApplicationAutoScaling::ScalableTarget
    Properties:
      MaxCapacity: 100
      MinCapacity: 5
      ResourceId: !Sub table/${Products}
      ScalableDimension: dynamodb:table:ReadCapacityUnits
      ServiceNamespace: dynamodb
  ReadPolicy:
    Type: AWS::ApplicationAutoScaling::ScalingPolicy
    Properties:
      PolicyName: read-utilization
      PolicyType: TargetTrackingScaling
      ScalingTargetId: !Ref ReadTarget
      TargetTrackingScalingPolicyConfiguration:
        TargetValue: 70
        PredefinedMetricSpecification: {PredefinedMetricType: DynamoDBReadCapacityUtilization}
  WriteTarget:
    Type: AWS::ApplicationAutoScaling::ScalableTarget
    Properties:
      MaxCapacity: 100
      MinCapacity: 5
      ResourceId: !Join [/, [table, !Ref Products]]
      ScalableDimension: dynamodb:table:WriteCapacityUnits
      ServiceNamespace: dynamodb
%s
'''

WRITE_POLICY = '''  WritePolicy:
    Type: AWS::ApplicationAutoScaling::ScalingPolicy
    Properties:
      PolicyName: write-utilization
      PolicyType: TargetTrackingScaling
      ScalingTargetId: !Ref WriteTarget
      TargetTrackingScalingPolicyConfiguration:
        TargetValue: 70
        PredefinedMetricSpecification: {PredefinedMetricType: DynamoDBWriteCapacityUtilization}
'''


@pytest.mark.parametrize("write_policy, verdict", [(WRITE_POLICY, "pass"), ("", "fail")])
def test_auto_scaling_in_cloudformation(tmp_path, write_policy, verdict):
    document = gate(tmp_path, {"table.yaml": CFN % write_policy})
    assert verdicts(document, "Products-development")["ECOM-DDB-018"]["status"] == verdict


@pytest.mark.parametrize("replicas, verdict", [
    ([{"RegionName": "us-west-2", "ReplicaStatus": "ACTIVE"}], "pass"),
    ([{"RegionName": "us-east-1", "ReplicaStatus": "ACTIVE"}], "fail"),  # only the table's own region
    ([], "fail")])
def test_critical_tables_are_global_tables_on_the_answer_aws_documents(replicas, verdict):
    raw = {"TableName": "ProductCatalog-production", "TableStatus": "ACTIVE",
           "TableArn": "arn:aws:dynamodb:us-east-1:123456789012:table/ProductCatalog-production",
           "KeySchema": [{"AttributeName": "catalogId", "KeyType": "HASH"}], "Replicas": replicas}
    table = dynamodb.DynamoDBTable(id="ProductCatalog-production", name="ProductCatalog-production",
                                   region="us-east-1")
    dynamodb.apply_description(table, raw)
    ctx = Context("production", "production", params={"critical_tables": ["ProductCatalog-{env}"]})
    (finding,) = evaluate_rule(_packed_rule("ecommerce-platform", "ECOM-DDB-019"), ctx,
                               Inventory([table], ["us-east-1"]))
    assert finding.status == verdict, finding


@pytest.mark.parametrize("replica, verdict", [('''
  replica {
    region_name = "us-west-2"
  }''', "pass"), ("", "fail")])
def test_critical_tables_are_global_tables_in_terraform(tmp_path, replica, verdict):
    document = gate(tmp_path, {"main.tf": f'''
resource "aws_dynamodb_table" "catalog" {{
  name             = "ProductCatalog-production"
  billing_mode     = "PAY_PER_REQUEST"
  hash_key         = "catalogId"
  stream_enabled   = true
  stream_view_type = "NEW_AND_OLD_IMAGES"
  attribute {{
    name = "catalogId"
    type = "S"
  }}{replica}
}}
'''}, env="production")
    assert verdicts(document, "ProductCatalog-production")["ECOM-DDB-019"]["status"] == verdict


def test_unnamed_critical_tables_are_an_error_that_says_which_parameter_to_set(tmp_path):
    folder = tmp_path / "iac"
    folder.mkdir()
    (folder / "main.tf").write_text(TABLE_TF)
    (tmp_path / "config.yaml").write_text("parameters: {}\n")
    result = run_here("iac", str(folder), "--pack", "ecommerce-platform", "--env", "production", "--format", "json",
                      "--config", str(tmp_path / "config.yaml"), "--out", str(tmp_path / "out"), "--no-checkov")
    assert result.code != 0 and "Traceback" not in result.stderr  # never reads as compliant
    (report,) = (tmp_path / "out").glob("*/report.json")
    (finding,) = [f for f in json.loads(report.read_text())["findings"] if f["rule_id"] == "ECOM-DDB-019"]
    assert finding["status"] == "error" and "critical_tables" in finding["message"], finding


GLOBAL_CFN = '''
AWSTemplateFormatVersion: "2010-09-09"
Resources:
  Catalog:
    Type: AWS::DynamoDB::GlobalTable
    Properties:
      TableName: ProductCatalog-production
      BillingMode: PAY_PER_REQUEST
      AttributeDefinitions: [{AttributeName: catalogId, AttributeType: S}, {AttributeName: productId, AttributeType: S}]
      KeySchema: [{AttributeName: catalogId, KeyType: HASH}, {AttributeName: productId, KeyType: RANGE}]
      StreamSpecification: {StreamViewType: NEW_AND_OLD_IMAGES}
      SSESpecification: {SSEEnabled: true, SSEType: KMS}
      Replicas:
        - Region: us-east-1
          PointInTimeRecoverySpecification: {PointInTimeRecoveryEnabled: true}
          SSESpecification: {KMSMasterKeyId: !Ref CatalogKey}
          Tags: [{Key: Environment, Value: production}]
%s
  CatalogKey:
    Type: AWS::KMS::Key
    Properties: {KeyPolicy: {Version: "2012-10-17", Statement: []}}
'''


@pytest.mark.parametrize("second, replicated, pitr", [
    ("        - {Region: us-west-2, PointInTimeRecoverySpecification: {PointInTimeRecoveryEnabled: true}}", "pass", "pass"),
    ("        - {Region: us-west-2}", "pass", "fail"),  # one replica without point-in-time recovery
    ("", "fail", "pass")])  # only its own region: not replicated
def test_a_cloudformation_global_table_is_read_as_its_table(tmp_path, second, replicated, pitr):
    """AWS::DynamoDB::GlobalTable keeps PITR, keys and tags per replica: the table holds what every replica does."""
    document = gate(tmp_path, {"catalog.yaml": GLOBAL_CFN % second}, env="production")
    found = verdicts(document, "ProductCatalog-production")
    assert found["ECOM-DDB-019"]["status"] == replicated
    assert found["ECOM-DDB-010"]["status"] == pitr
    assert found["ECOM-DDB-005"]["status"] == "pass"  # keys read from the same properties as a table's
    assert found["ECOM-DDB-013"]["status"] == "pass"  # the first replica's customer managed key
    from auditor.iac.checkov_run import run_checkov
    from auditor.iac.load import iac_resources

    (table,) = [r for r in iac_resources(run_checkov(tmp_path / "iac", [], with_checks=False), "us-east-1")
                if r.type == "AWS::DynamoDB::Table"]
    assert table.tags == {"Environment": "production"}  # the first replica's, for tag selectors and waivers


@pytest.mark.parametrize("cached_at_type, verdict", [("S", "pass"), ("N", "fail")])
def test_an_index_key_takes_its_type_from_the_tables_attributes(tmp_path, cached_at_type, verdict):
    """Spec 001: cached-at-index keyed by cached_at (String); the index block names the key, the table's
    attribute block types it."""
    folder = tmp_path / "iac"
    folder.mkdir()
    (folder / "main.tf").write_text(f'''
resource "aws_dynamodb_table" "cache" {{
  name         = "co2-analysis-prod-cache"
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = "cache_key"
  attribute {{
    name = "cache_key"
    type = "S"
  }}
  attribute {{
    name = "cached_at"
    type = "{cached_at_type}"
  }}
  global_secondary_index {{
    name            = "cached-at-index"
    hash_key        = "cached_at"
    projection_type = "ALL"
  }}
}}
''')
    result = run_here("iac", str(folder), "--pack", "co2-storagestack", "--env", "production", "--format", "json",
                      "--out", str(tmp_path / "out"), "--no-checkov")
    assert "Traceback" not in result.stderr
    (report,) = (tmp_path / "out").glob("*/report.json")
    assert verdicts(json.loads(report.read_text()), "co2-analysis-prod-cache")["CO2-DDB-004"]["status"] == verdict


def test_a_critical_table_named_but_missing_fails_rather_than_vanishing(tmp_path):
    """critical_tables names ProductCatalog-{env} (tests/fixtures/config.yaml); an IaC without it fails the rule
    as missing, never leaves it unjudged."""
    document = gate(tmp_path, {"main.tf": TABLE_TF}, env="production")
    (finding,) = [f for f in document["findings"] if f["rule_id"] == "ECOM-DDB-019"]
    assert finding["status"] == "fail" and "ProductCatalog-production" in finding["message"], finding
