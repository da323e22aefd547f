"""SSM parameters: names and types only, never a value."""
from __future__ import annotations

from auditor.mappings.fields import Field, TypeMap
from auditor.mappings.tables.common import partition_of
from auditor.resources import Resource, SSMParameter


def _ssm_arn(raw: dict, param: Resource) -> None:
    param.arn = param.arn or f"arn:{partition_of(param.region)}:ssm:{param.region}:{param.account_id}:parameter/{param.name.lstrip('/')}"


SSM = TypeMap(
    model=SSMParameter, api_operation="DescribeParameters", api_id="Name", api_name="Name", api_arn="ARN",
    finish_api=_ssm_arn,
    tf_types=("aws_ssm_parameter",), tf_name="name", cfn_types=("AWS::SSM::Parameter",), cfn_name="Name",
    fields=(  # names and types only: a parameter's value is never read
        Field("parameter_type", api="Type", tf="type", cfn="Type"),
        Field("tier", api="Tier", tf="tier", cfn="Tier", default="Standard", note="Standard tier"),
        Field("data_type", api="DataType", tf="data_type", cfn="DataType", default="text"),
        Field("kms_key_id", "ref", api="KeyId", tf="key_id"),
        Field("description", api="Description", tf="description", cfn="Description"),
    ),
)
