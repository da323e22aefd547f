"""ElastiCache replication groups (Redis, Valkey): one listing; parameter-group values as a family."""
from __future__ import annotations

from auditor.collectors.base import (
    AwsCalls,
    Collector,
    Family,
    Unreadable,
    paginated_listing,
)
from auditor.mappings import from_api
from auditor.mappings.tables import ELASTICACHE
from auditor.resources import ElastiCacheReplicationGroup

LISTED = ELASTICACHE.api_properties


def group_from(raw: dict, region: str, account_id: str) -> ElastiCacheReplicationGroup:
    group = from_api(ELASTICACHE, raw, region, account_id)
    assert isinstance(group, ElastiCacheReplicationGroup)
    return group


def fetch_cluster(calls: AwsCalls, group: ElastiCacheReplicationGroup) -> None:
    if not group.member_clusters:
        raise Unreadable("the replication group lists no member cluster")
    client = calls.client("elasticache", group.region)
    member = client.describe_cache_clusters(CacheClusterId=group.member_clusters[0])["CacheClusters"][0]
    group.engine_version = member.get("EngineVersion")
    group.parameter_group = (member.get("CacheParameterGroup") or {}).get("CacheParameterGroupName")


def fetch_parameters(calls: AwsCalls, group: ElastiCacheReplicationGroup) -> None:
    if group.parameter_group is None:
        fetch_cluster(calls, group)
    if group.parameter_group is None:
        raise Unreadable("the replication group's cluster reports no cache parameter group")
    client = calls.client("elasticache", group.region)
    values: dict[str, str] = {}
    for page in client.get_paginator("describe_cache_parameters").paginate(CacheParameterGroupName=group.parameter_group):
        for p in page.get("Parameters", []):
            if "ParameterValue" in p:
                values[p["ParameterName"]] = p["ParameterValue"]
    group.parameters = values


def fetch_tags(calls: AwsCalls, group: ElastiCacheReplicationGroup) -> None:
    answer = calls.client("elasticache", group.region).list_tags_for_resource(ResourceName=group.arn)
    group.tags = {t["Key"]: t["Value"] for t in answer.get("TagList", [])}


COLLECTOR = Collector(
    service="elasticache",
    resource_type=ElastiCacheReplicationGroup,
    list_operation="DescribeReplicationGroups",
    list_resources=paginated_listing("elasticache", "describe_replication_groups", "ReplicationGroups", group_from),
    listed_properties=LISTED,
    families={
        f.name: f
        for f in (
            Family("cluster", "DescribeCacheClusters", ("engine_version", "parameter_group"), fetch_cluster),
            Family("parameters", "DescribeCacheParameters", ("parameters",), fetch_parameters),
            Family("tags", "ListTagsForResource", ("tags",), fetch_tags),
        )
    },
)
