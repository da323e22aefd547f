"""ElastiCache (Redis, Valkey): the replication group model and the field tables that land on it (replication
groups, cache clusters, serverless caches), and the live fetch (one listing; parameter-group values as a family)."""
from __future__ import annotations

from typing import Any, ClassVar, Optional

from pydantic import Field as ModelField

from auditor.services.common import partition_of
from auditor.services.fetch import AwsCalls, Collector, Family, Unreadable, paginated_listing
from auditor.services.fields import Defaulted, Field, TypeMap, Unknown, fill_from_api, from_api
from auditor.services.model import Resource
from auditor.services.network import internet_ingress_groups, internet_ingress_iac
from auditor.services.values import get


class ElastiCacheReplicationGroup(Resource):
    type: ClassVar[str] = "AWS::ElastiCache::ReplicationGroup"
    engine: Optional[str] = None
    engine_version: Optional[str] = None
    node_type: Optional[str] = None
    node_count: Optional[int] = None
    member_clusters: list[str] = ModelField(default_factory=list)
    node_group_count: Optional[int] = None
    cluster_mode: Optional[str] = None
    multi_az: Optional[bool] = None
    automatic_failover: Optional[bool] = None
    at_rest_encryption: Optional[bool] = None
    transit_encryption: Optional[bool] = None
    auth_token_enabled: Optional[bool] = None
    kms_key_id: Optional[str] = None
    snapshot_retention_days: Optional[int] = None
    snapshot_window: Optional[str] = None
    parameter_group: Optional[str] = None
    # Values of the cache parameter group, e.g. maxmemory-policy; unknown where the API is not served.
    parameters: Optional[dict[str, str]] = None
    node_zones: list[str] = ModelField(default_factory=list)
    # Every node in an Availability Zone of its own ("one per AZ").
    nodes_in_distinct_zones: Optional[bool] = None
    security_group_ids: list[str] = ModelField(default_factory=list)
    # Its security groups that admit inbound traffic from anywhere (0.0.0.0/0 or ::/0).
    internet_ingress_groups: list[str] = ModelField(default_factory=list)


def _node_count_api(raw: dict) -> Any:
    members = sum(len(g.get("NodeGroupMembers", [])) for g in raw.get("NodeGroups", []))
    return members or len(raw.get("MemberClusters", []))


def _node_count_iac(clusters: str, shards: str, replicas: str):
    """Nodes: the cluster count of a non-sharded group, else shards x (replicas + 1)."""
    def read(props: dict, ctx: Any) -> Any:
        if get(props, clusters) is not None:
            return get(props, clusters)
        count, each = get(props, shards, default=1), get(props, replicas, default=0)
        if isinstance(count, int) and isinstance(each, int):
            return count * (each + 1)
        return count if not isinstance(count, int) else each
    return read


def _members(raw: dict) -> list[dict]:
    return [m for g in raw.get("NodeGroups", []) for m in g.get("NodeGroupMembers", [])]


def _distinct_zones_api(raw: dict) -> Any:
    zones = [m.get("PreferredAvailabilityZone") for m in _members(raw)]
    if not zones or None in zones:
        return Unknown("DescribeReplicationGroups did not report every node's Availability Zone")
    return len(set(zones)) == len(zones)


def _distinct_zones_iac(zones_key: str, multi_az_key: str, multi_az_value: Any = True):
    """The zones the template asks for, else AWS's choice: a Multi-AZ group's (a cross-az cluster's) nodes
    spread over its subnet group's zones, one without may share a zone."""
    def read(props: dict, ctx: Any) -> Any:
        zones = get(props, zones_key)
        if isinstance(zones, list) and zones:
            return len(set(map(str, zones))) == len(zones)
        if get(props, multi_az_key) == multi_az_value:
            return Defaulted(True, "no preferred zones: AWS spreads a Multi-AZ group's nodes over its subnet group's zones")
        return Defaulted(False, "neither preferred zones nor Multi-AZ: AWS may place the nodes in one zone")
    return read


def _shards_iac(clusters: str, shards: str):
    return lambda props, ctx: 1 if get(props, clusters) is not None else get(props, shards, default=1)


def _cache_parameters_tf(props: dict, ctx: Any) -> Any:
    declared = ctx.named("aws_elasticache_parameter_group", get(props, "parameter_group_name"))
    if not declared:
        return Unknown("the parameter group is not declared in this IaC, so its values are unknown")
    return {str(get(p, "name")): str(get(p, "value")) for p in ctx.blocks(declared[0], "parameter")}


def _cache_parameters_cfn(props: dict, ctx: Any) -> Any:
    declared = ctx.named("AWS::ElastiCache::ParameterGroup", props.get("CacheParameterGroupName"))
    if not declared:
        return Unknown("the parameter group is not declared in this template, so its values are unknown")
    return {str(k): str(v) for k, v in (declared[0].get("Properties") or {}).items() if not str(k).startswith("__")}


def _replication_group_arn(raw: dict, group: Resource) -> None:
    """Older answers (and some endpoints) carry no ARN: it is built as AWS documents it, so tag-selected
    rules, waivers and Security Hub still name the group."""
    if not group.arn and group.account_id:
        group.arn = (f"arn:{partition_of(group.region)}:elasticache:{group.region}:{group.account_id}:"
                     f"replicationgroup:{group.id}")


ELASTICACHE = TypeMap(
    model=ElastiCacheReplicationGroup, api_operation="DescribeReplicationGroups", api_id="ReplicationGroupId",
    api_name="ReplicationGroupId", api_arn="ARN", finish_api=_replication_group_arn,
    tf_types=("aws_elasticache_replication_group",), tf_name="replication_group_id",
    cfn_types=("AWS::ElastiCache::ReplicationGroup",), cfn_name="ReplicationGroupId",
    fields=(
        Field("engine", api="Engine", tf="engine", cfn="Engine", default="redis", note="redis unless engine says otherwise"),
        Field("engine_version", tf="engine_version", cfn="EngineVersion"),  # live: from the member cluster
        Field("node_type", api="CacheNodeType", tf="node_type", cfn="CacheNodeType"),
        Field("node_count", "int", api=_node_count_api,
              tf=_node_count_iac("num_cache_clusters", "num_node_groups", "replicas_per_node_group"),
              cfn=_node_count_iac("NumCacheClusters", "NumNodeGroups", "ReplicasPerNodeGroup")),
        Field("member_clusters", "strings", api="MemberClusters"),
        Field("node_group_count", "int", api=lambda raw: len(raw.get("NodeGroups", [])),
              tf=_shards_iac("num_cache_clusters", "num_node_groups"), cfn=_shards_iac("NumCacheClusters", "NumNodeGroups")),
        Field("cluster_mode", api="ClusterMode"),
        Field("multi_az", "bool", api=lambda raw: raw.get("MultiAZ") == "enabled", tf="multi_az_enabled",
              cfn="MultiAZEnabled", default=False, note="Multi-AZ off"),
        Field("automatic_failover", "bool", api=lambda raw: raw.get("AutomaticFailover") in ("enabled", "enabling"),
              tf="automatic_failover_enabled", cfn="AutomaticFailoverEnabled", default=False, note="automatic failover off"),
        Field("at_rest_encryption", "bool", api="AtRestEncryptionEnabled", tf="at_rest_encryption_enabled",
              cfn="AtRestEncryptionEnabled", default=False, note="no encryption at rest unless enabled"),
        Field("transit_encryption", "bool", api="TransitEncryptionEnabled", tf="transit_encryption_enabled",
              cfn="TransitEncryptionEnabled", default=False, note="no encryption in transit unless enabled"),
        Field("auth_token_enabled", "bool", api="AuthTokenEnabled"),
        Field("kms_key_id", "ref", api="KmsKeyId", tf="kms_key_id", cfn="KmsKeyId"),
        Field("snapshot_retention_days", "int", api="SnapshotRetentionLimit", tf="snapshot_retention_limit",
              cfn="SnapshotRetentionLimit", default=0, note="no automatic snapshots"),
        Field("snapshot_window", api="SnapshotWindow", tf="snapshot_window", cfn="SnapshotWindow"),
        Field("parameter_group", "ref", tf="parameter_group_name", cfn="CacheParameterGroupName"),
        Field("parameters", "raw", tf=_cache_parameters_tf, cfn=_cache_parameters_cfn),
        Field("node_zones", "strings", api=lambda raw: [m.get("PreferredAvailabilityZone") for m in _members(raw)],
              tf="preferred_cache_cluster_azs", cfn="PreferredCacheClusterAZs"),
        Field("nodes_in_distinct_zones", "raw", api=_distinct_zones_api,
              tf=_distinct_zones_iac("preferred_cache_cluster_azs", "multi_az_enabled"),
              cfn=_distinct_zones_iac("PreferredCacheClusterAZs", "MultiAZEnabled")),
        Field("security_group_ids", "strings", tf="security_group_ids", cfn="SecurityGroupIds"),
        Field("internet_ingress_groups", "raw", api_call="DescribeSecurityGroups", api=lambda raw: raw["open"],
              tf=internet_ingress_iac("tf", "security_group_ids"),
              cfn=internet_ingress_iac("cfn", "SecurityGroupIds")),
    ),
)


_NO_AT_REST = Defaulted(False, "a cache cluster outside a replication group cannot be encrypted at rest")


_SERVERLESS_NODES = Unknown("a serverless cache has no nodes: AWS scales it")


# aws_elasticache_cluster / AWS::ElastiCache::CacheCluster outside a replication group (Memcached, or a single
# Redis node): the replication-group rules judge it, since it serves the same role, with what it cannot have
# (encryption at rest, automatic failover) read as the AWS default.
CACHE_CLUSTER = TypeMap(
    model=ElastiCacheReplicationGroup,
    tf_types=("aws_elasticache_cluster",), tf_name="cluster_id", tf_member_of="replication_group_id",
    cfn_types=("AWS::ElastiCache::CacheCluster",), cfn_name="ClusterName",
    fields=(
        Field("engine", tf="engine", cfn="Engine"),
        Field("engine_version", tf="engine_version", cfn="EngineVersion"),
        Field("node_type", tf="node_type", cfn="CacheNodeType"),
        Field("node_count", "int", tf="num_cache_nodes", cfn="NumCacheNodes"),
        Field("node_group_count", "int", tf=lambda p, ctx: 1, cfn=lambda p, ctx: 1),
        Field("multi_az", "bool", tf=lambda p, ctx: Defaulted(get(p, "az_mode") == "cross-az", "single-AZ unless az_mode = cross-az"),
              cfn=lambda p, ctx: Defaulted(get(p, "AZMode") == "cross-az", "single-AZ unless AZMode = cross-az")),
        Field("automatic_failover", "bool", tf=lambda p, ctx: Defaulted(False, "a cache cluster has no automatic failover"),
              cfn=lambda p, ctx: Defaulted(False, "a cache cluster has no automatic failover")),
        Field("at_rest_encryption", "bool", tf=lambda p, ctx: _NO_AT_REST, cfn=lambda p, ctx: _NO_AT_REST),
        Field("transit_encryption", "bool", tf="transit_encryption_enabled", cfn="TransitEncryptionEnabled", default=False,
              note="no encryption in transit unless enabled"),
        Field("snapshot_retention_days", "int", tf="snapshot_retention_limit", cfn="SnapshotRetentionLimit", default=0,
              note="no automatic snapshots"),
        Field("snapshot_window", tf="snapshot_window", cfn="SnapshotWindow"),
        Field("parameter_group", "ref", tf="parameter_group_name", cfn="CacheParameterGroupName"),
        Field("parameters", "raw", tf=_cache_parameters_tf, cfn=_cache_parameters_cfn),
        Field("nodes_in_distinct_zones", "raw",
              tf=_distinct_zones_iac("preferred_availability_zones", "az_mode", "cross-az"),
              cfn=_distinct_zones_iac("PreferredAvailabilityZones", "AZMode", "cross-az")),
        Field("security_group_ids", "strings", tf="security_group_ids", cfn="VpcSecurityGroupIds"),
        Field("internet_ingress_groups", "raw", tf=internet_ingress_iac("tf", "security_group_ids"),
              cfn=internet_ingress_iac("cfn", "VpcSecurityGroupIds")),
    ),
)


# aws_elasticache_serverless_cache / AWS::ElastiCache::ServerlessCache: always encrypted at rest and in transit,
# replicated across Availability Zones by AWS; snapshots as configured.
SERVERLESS_CACHE = TypeMap(
    model=ElastiCacheReplicationGroup,
    tf_types=("aws_elasticache_serverless_cache",), tf_name="name",
    cfn_types=("AWS::ElastiCache::ServerlessCache",), cfn_name="ServerlessCacheName",
    fields=(
        Field("engine", tf="engine", cfn="Engine"),
        Field("engine_version", tf="major_engine_version", cfn="MajorEngineVersion"),
        Field("node_type", "raw", tf=lambda p, ctx: _SERVERLESS_NODES, cfn=lambda p, ctx: _SERVERLESS_NODES),
        Field("node_count", "raw", tf=lambda p, ctx: _SERVERLESS_NODES, cfn=lambda p, ctx: _SERVERLESS_NODES),
        Field("multi_az", "bool", tf=lambda p, ctx: Defaulted(True, "a serverless cache is replicated across AZs"),
              cfn=lambda p, ctx: Defaulted(True, "a serverless cache is replicated across AZs")),
        Field("automatic_failover", "bool", tf=lambda p, ctx: Defaulted(True, "a serverless cache fails over by itself"),
              cfn=lambda p, ctx: Defaulted(True, "a serverless cache fails over by itself")),
        Field("at_rest_encryption", "bool", tf=lambda p, ctx: Defaulted(True, "a serverless cache is always encrypted at rest"),
              cfn=lambda p, ctx: Defaulted(True, "a serverless cache is always encrypted at rest")),
        Field("transit_encryption", "bool", tf=lambda p, ctx: Defaulted(True, "a serverless cache only accepts TLS"),
              cfn=lambda p, ctx: Defaulted(True, "a serverless cache only accepts TLS")),
        Field("nodes_in_distinct_zones", "raw", tf=lambda p, ctx: _SERVERLESS_NODES, cfn=lambda p, ctx: _SERVERLESS_NODES),
        Field("kms_key_id", "ref", tf="kms_key_id", cfn="KmsKeyId"),
        Field("snapshot_retention_days", "int", tf="snapshot_retention_limit", cfn="SnapshotRetentionLimit", default=0,
              note="no automatic snapshots"),
        Field("snapshot_window", tf="daily_snapshot_time", cfn="DailySnapshotTime"),
    ),
)


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
    group.security_group_ids = [g["SecurityGroupId"] for g in member.get("SecurityGroups", [])]


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


def fetch_security_groups(calls: AwsCalls, group: ElastiCacheReplicationGroup) -> None:
    """The security groups are the member clusters' (DescribeCacheClusters), judged by DescribeSecurityGroups."""
    if not group.security_group_ids:
        fetch_cluster(calls, group)
    if not group.security_group_ids:
        raise Unreadable("the replication group's cluster reports no VPC security group")
    open_groups = internet_ingress_groups(calls, group.region, group.security_group_ids)
    fill_from_api(ELASTICACHE, "DescribeSecurityGroups", {"open": open_groups}, group)


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
            Family("cluster", "DescribeCacheClusters", ("engine_version", "parameter_group", "security_group_ids"),
                   fetch_cluster),
            Family("security_groups", "ec2:DescribeSecurityGroups", ELASTICACHE.read_by("DescribeSecurityGroups"),
                   fetch_security_groups),
            Family("parameters", "DescribeCacheParameters", ("parameters",), fetch_parameters),
            Family("tags", "ListTagsForResource", ("tags",), fetch_tags),
        )
    },
)
