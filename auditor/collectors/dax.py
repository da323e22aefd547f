"""DAX clusters: one paginated DescribeClusters per region carries what the rules read; tags by ListTags."""
from __future__ import annotations

from functools import partial

from auditor.collectors.base import AwsCalls, Collector, Family, paginated_listing
from auditor.mappings import from_api
from auditor.mappings.tables import DAX
from auditor.resources import DAXCluster


def fetch_tags(calls: AwsCalls, cluster: DAXCluster) -> None:
    answer = calls.client("dax", cluster.region).list_tags(ResourceName=cluster.arn)
    cluster.tags = {t["Key"]: t["Value"] for t in answer.get("Tags", [])}


COLLECTOR = Collector(
    service="dax",
    resource_type=DAXCluster,
    list_operation="DescribeClusters",
    list_resources=paginated_listing("dax", "describe_clusters", "Clusters", partial(from_api, DAX)),
    listed_properties=DAX.api_properties,
    families={"tags": Family("tags", "ListTags", ("tags",), fetch_tags)},
)
