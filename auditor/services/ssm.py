"""SSM parameters, names and types only, never a value: the model, the field table, and the live fetch
(DescribeParameters gives names, types and tiers)."""
from __future__ import annotations

from functools import partial
from typing import ClassVar, Optional

from auditor.services.common import partition_of
from auditor.services.fetch import AwsCalls, Collector, Family, paginated_listing
from auditor.services.fields import Field, TypeMap, from_api
from auditor.services.model import Resource


class SSMParameter(Resource):
    """Names and types only: the value of a parameter is never read."""

    type: ClassVar[str] = "AWS::SSM::Parameter"
    parameter_type: Optional[str] = None  # String, StringList, SecureString
    tier: Optional[str] = None
    data_type: Optional[str] = None
    kms_key_id: Optional[str] = None
    description: Optional[str] = None


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


LISTED = SSM.api_properties


def fetch_tags(calls: AwsCalls, param: SSMParameter) -> None:
    answer = calls.client("ssm", param.region).list_tags_for_resource(ResourceType="Parameter", ResourceId=param.name)
    param.tags = {t["Key"]: t["Value"] for t in answer.get("TagList", [])}


COLLECTOR = Collector(
    service="ssm",
    resource_type=SSMParameter,
    list_operation="DescribeParameters",
    list_resources=paginated_listing("ssm", "describe_parameters", "Parameters", partial(from_api, SSM)),
    listed_properties=LISTED,
    families={"tags": Family("tags", "ListTagsForResource", ("tags",), fetch_tags)},
)
