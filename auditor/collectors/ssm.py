"""SSM parameters: describe_parameters gives names, types and tiers, and never a value."""
from __future__ import annotations

from typing import Iterable

from auditor.collectors.base import AwsCalls, Collector, Family
from auditor.mappings import from_api
from auditor.mappings.tables import SSM
from auditor.resources import Resource, SSMParameter

LISTED = SSM.api_properties


def list_parameters(calls: AwsCalls, region: str) -> Iterable[Resource]:
    client = calls.client("ssm", region)
    for page in client.get_paginator("describe_parameters").paginate():
        for raw in page.get("Parameters", []):
            yield from_api(SSM, raw, region, calls.account_id)


def fetch_tags(calls: AwsCalls, param: SSMParameter) -> None:
    answer = calls.client("ssm", param.region).list_tags_for_resource(ResourceType="Parameter", ResourceId=param.name)
    param.tags = {t["Key"]: t["Value"] for t in answer.get("TagList", [])}


COLLECTOR = Collector(
    service="ssm",
    resource_type=SSMParameter,
    list_operation="DescribeParameters",
    list_resources=list_parameters,
    listed_properties=LISTED,
    families={"tags": Family("tags", "ListTagsForResource", ("tags",), fetch_tags)},
)
