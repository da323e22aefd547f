"""SSM parameters: describe_parameters gives names, types and tiers, and never a value."""
from __future__ import annotations

from functools import partial

from auditor.collectors.base import AwsCalls, Collector, Family, paginated_listing
from auditor.mappings import from_api
from auditor.mappings.tables import SSM
from auditor.resources import SSMParameter

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
