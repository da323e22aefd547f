"""ElastiCache replication groups and their parameter groups."""
from __future__ import annotations

from typing import Any

from auditor.iac.values import get
from auditor.mappings.fields import Defaulted, Field, TypeMap, Unknown
from auditor.mappings.tables.common import partition_of
from auditor.resources import ElastiCacheReplicationGroup, Resource


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
        Field("kms_key_id", "ref", tf="kms_key_id", cfn="KmsKeyId"),
        Field("snapshot_retention_days", "int", tf="snapshot_retention_limit", cfn="SnapshotRetentionLimit", default=0,
              note="no automatic snapshots"),
        Field("snapshot_window", tf="daily_snapshot_time", cfn="DailySnapshotTime"),
    ),
)
