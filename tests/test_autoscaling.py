"""ECOM-DDB-018, development tables provisioned with auto-scaling (spec 002 §4.1.1), read from Terraform and
CloudFormation as the AWS provider's and CloudFormation's own examples write it (the live read is judged in
tests/test_scan_ecommerce.py against moto, which serves Application Auto Scaling)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import run_here
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


def gate(tmp_path: Path, files: dict[str, str]) -> dict:
    folder = tmp_path / "iac"
    folder.mkdir()
    for name, text in files.items():
        (folder / name).write_text(text)
    result = run_here("iac", str(folder), "--pack", "ecommerce-platform", "--env", "development", "--format", "json",
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
