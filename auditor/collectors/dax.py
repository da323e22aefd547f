"""DAX clusters: one paginated DescribeClusters per region carries what the rules read; tags by ListTags."""
from __future__ import annotations

from typing import Iterable

from auditor.collectors.base import AwsCalls, Collector, Family
from auditor.mappings import from_api
from auditor.mappings.tables import DAX
from auditor.resources import DAXCluster, Resource


def list_clusters(calls: AwsCalls, region: str) -> Iterable[Resource]:
    client = calls.client("dax", region)
    for page in client.get_paginator("describe_clusters").paginate():
        for raw in page.get("Clusters", []):
            yield from_api(DAX, raw, region, calls.account_id)


def fetch_tags(calls: AwsCalls, cluster: DAXCluster) -> None:
    answer = calls.client("dax", cluster.region).list_tags(ResourceName=cluster.arn)
    cluster.tags = {t["Key"]: t["Value"] for t in answer.get("Tags", [])}


COLLECTOR = Collector(
    service="dax",
    resource_type=DAXCluster,
    list_operation="DescribeClusters",
    list_resources=list_clusters,
    listed_properties=DAX.api_properties,
    families={"tags": Family("tags", "ListTags", ("tags",), fetch_tags)},
)
