"""The mapping tables: for each resource type, where the AWS API, Terraform and CloudFormation keep each property.

One entry per property (see fields.Field). The few values no path gives are small functions of the answer
(``props``) and of the IaC context (``ctx``: references resolved to names, the resources pointing at this one).
An ``Unknown(reason)`` returned by one of them leaves the property unknown with that reason.
"""
from __future__ import annotations

import re
from typing import Any, Optional

from auditor.iac.values import Declared, as_bool, as_int, get, is_unresolved, key_manager_of, one
from auditor.mappings.fields import Defaulted, Field, TypeMap, Unknown, iac_value, read_path
from auditor.resources import (BackupPlan, BackupRule, CdnBehavior, CloudFrontDistribution, DAXCluster,
                               DynamoDBTable, EBSVolume, EfsAccessPoint, EFSFileSystem, EKSCluster,
                               ElastiCacheReplicationGroup, KeySchema, OpenSearchDomain, RDSCluster, RDSInstance,
                               Resource, SecondaryIndex, SSMParameter, TablePitr, TableSse, TableStream, TableTtl)


def _major(resource: Resource) -> None:
    version = getattr(resource, "engine_version", None)
    resource.engine_major_version = version.split(".")[0] if isinstance(version, str) and version else None


# --- OpenSearch -------------------------------------------------------------------------------------------

def _zone_count_api(raw: dict) -> Any:
    return read_path(raw, "ClusterConfig.ZoneAwarenessConfig.AvailabilityZoneCount") \
        if read_path(raw, "ClusterConfig.ZoneAwarenessEnabled") else 1


def _zone_count_iac(enabled: str, count: str):
    def read(props: dict, ctx: Any) -> Any:
        return iac_value(props, count) if as_bool(iac_value(props, enabled)) else 1
    return read


def _legacy_version(current: str, legacy: str):
    """aws_elasticsearch_domain / AWS::Elasticsearch::Domain give the bare version; the API says Elasticsearch_X."""
    def read(props: dict, ctx: Any) -> Any:
        version = get(props, current)
        if version is None and get(props, legacy) is not None:
            return f"Elasticsearch_{get(props, legacy)}"
        return version
    return read


_CFN_CLUSTER = "ClusterConfig|ElasticsearchClusterConfig"

OPENSEARCH = TypeMap(
    model=OpenSearchDomain, api_operation="DescribeDomains", api_id="DomainName", api_name="DomainName", api_arn="ARN",
    tf_types=("aws_opensearch_domain", "aws_elasticsearch_domain"), tf_name="domain_name",
    cfn_types=("AWS::OpenSearchService::Domain", "AWS::Elasticsearch::Domain"), cfn_name="DomainName",
    fields=(
        Field("engine_version", api="EngineVersion", tf=_legacy_version("engine_version", "elasticsearch_version"),
              cfn=_legacy_version("EngineVersion", "ElasticsearchVersion")),
        Field("instance_type", api="ClusterConfig.InstanceType", tf="cluster_config.instance_type",
              cfn=f"{_CFN_CLUSTER}.InstanceType"),
        Field("instance_count", "int", api="ClusterConfig.InstanceCount", tf="cluster_config.instance_count",
              cfn=f"{_CFN_CLUSTER}.InstanceCount", default=1, note="one data node"),
        Field("dedicated_master_enabled", "bool", api="ClusterConfig.DedicatedMasterEnabled",
              tf="cluster_config.dedicated_master_enabled", cfn=f"{_CFN_CLUSTER}.DedicatedMasterEnabled",
              default=False, note="no dedicated masters", api_absent="default"),
        Field("dedicated_master_type", api="ClusterConfig.DedicatedMasterType", tf="cluster_config.dedicated_master_type",
              cfn=f"{_CFN_CLUSTER}.DedicatedMasterType"),
        Field("dedicated_master_count", "int", api="ClusterConfig.DedicatedMasterCount",
              tf="cluster_config.dedicated_master_count", cfn=f"{_CFN_CLUSTER}.DedicatedMasterCount"),
        Field("zone_awareness_enabled", "bool", api="ClusterConfig.ZoneAwarenessEnabled",
              tf="cluster_config.zone_awareness_enabled", cfn=f"{_CFN_CLUSTER}.ZoneAwarenessEnabled",
              default=False, note="zone awareness off", api_absent="default"),
        Field("availability_zone_count", "int", api=_zone_count_api,
              tf=_zone_count_iac("cluster_config.zone_awareness_enabled",
                                 "cluster_config.zone_awareness_config.availability_zone_count"),
              cfn=_zone_count_iac(f"{_CFN_CLUSTER}.ZoneAwarenessEnabled",
                                  f"{_CFN_CLUSTER}.ZoneAwarenessConfig.AvailabilityZoneCount"),
              default=lambda r: 2 if r.zone_awareness_enabled else 1,
              note=lambda r: "two AZs with zone awareness" if r.zone_awareness_enabled else ""),
        Field("warm_enabled", "bool", api="ClusterConfig.WarmEnabled", tf="cluster_config.warm_enabled",
              cfn=f"{_CFN_CLUSTER}.WarmEnabled", default=False, note="UltraWarm off", api_absent="default"),
        Field("warm_type", api="ClusterConfig.WarmType", tf="cluster_config.warm_type", cfn=f"{_CFN_CLUSTER}.WarmType"),
        Field("warm_count", "int", api="ClusterConfig.WarmCount", tf="cluster_config.warm_count",
              cfn=f"{_CFN_CLUSTER}.WarmCount"),
        Field("ebs_enabled", "bool", api="EBSOptions.EBSEnabled", tf="ebs_options.ebs_enabled", cfn="EBSOptions.EBSEnabled"),
        Field("volume_type", api="EBSOptions.VolumeType", tf="ebs_options.volume_type", cfn="EBSOptions.VolumeType"),
        Field("volume_size_gb", "int", api="EBSOptions.VolumeSize", tf="ebs_options.volume_size", cfn="EBSOptions.VolumeSize"),
        Field("encryption_at_rest", "bool", api="EncryptionAtRestOptions.Enabled", tf="encrypt_at_rest.enabled",
              cfn="EncryptionAtRestOptions.Enabled", default=False, note="no encryption at rest unless enabled",
              api_absent="default"),
        Field("kms_key_id", "ref", api="EncryptionAtRestOptions.KmsKeyId", tf="encrypt_at_rest.kms_key_id",
              cfn="EncryptionAtRestOptions.KmsKeyId"),
        Field("node_to_node_encryption", "bool", api="NodeToNodeEncryptionOptions.Enabled",
              tf="node_to_node_encryption.enabled", cfn="NodeToNodeEncryptionOptions.Enabled", default=False,
              note="node-to-node encryption off", api_absent="default"),
        Field("enforce_https", "bool", api="DomainEndpointOptions.EnforceHTTPS", tf="domain_endpoint_options.enforce_https",
              cfn="DomainEndpointOptions.EnforceHTTPS", default=False, note="HTTPS not enforced", api_absent="default"),
        Field("tls_security_policy", api="DomainEndpointOptions.TLSSecurityPolicy",
              tf="domain_endpoint_options.tls_security_policy", cfn="DomainEndpointOptions.TLSSecurityPolicy"),
    ),
)


# --- EFS ----------------------------------------------------------------------------------------------------

def _efs_name(raw: dict) -> Any:
    tags = {t.get("Key"): t.get("Value") for t in raw.get("Tags") or []}
    return raw.get("Name") or tags.get("Name") or raw.get("FileSystemId")


def _efs_backup_tf(props: dict, ctx: Any) -> Any:
    policy = ctx.pointing("aws_efs_backup_policy", "file_system_id")
    return str(get(policy[0], "backup_policy", "status")) if policy else "DISABLED"


def _access_points(rows: Any, ident: str, path: str, permissions: str) -> list[EfsAccessPoint]:
    return [EfsAccessPoint(id=str(iac_value(r, ident)), path=iac_value(r, path),
                           permissions=None if iac_value(r, permissions) is None else str(iac_value(r, permissions)))
            for r in rows or [] if isinstance(r, dict)]


def _iac_access_points(rtype: str, attribute: str, ident: str, path: str, permissions: str):
    """The access points the IaC declares on this file system; none declared is not "none": the EFS CSI driver
    makes them at run time, per PersistentVolumeClaim."""
    def read(props: dict, ctx: Any) -> Any:
        found = ctx.pointing(rtype, attribute)
        if not found:
            return Unknown("no access point is declared in the IaC (the EFS CSI driver makes them at run time)")
        return [EfsAccessPoint(id=name, path=iac_value(attrs, path),
                               permissions=None if iac_value(attrs, permissions) is None else str(iac_value(attrs, permissions)))
                for name, attrs in found]
    return read


EFS = TypeMap(
    model=EFSFileSystem, api_operation="DescribeFileSystems", api_id="FileSystemId", api_name=_efs_name,
    api_arn="FileSystemArn", api_tags="Tags",
    tf_types=("aws_efs_file_system",), tf_name=lambda a: get(a, "tags", "Name") or get(a, "creation_token"),
    cfn_types=("AWS::EFS::FileSystem",), cfn_tags="FileSystemTags",
    cfn_name=lambda p: {t.get("Key"): t.get("Value") for t in p.get("FileSystemTags") or [] if isinstance(t, dict)}.get("Name"),
    fields=(
        Field("encrypted", "bool", api="Encrypted", tf="encrypted", cfn="Encrypted", default=False,
              note="unencrypted unless encrypted"),
        Field("kms_key_id", "ref", api="KmsKeyId", tf="kms_key_id", cfn="KmsKeyId"),
        Field("kms_key_manager", "key_manager", tf="kms_key_id", cfn="KmsKeyId", default="aws/elasticfilesystem",
              when="encrypted"),
        Field("performance_mode", api="PerformanceMode", tf="performance_mode", cfn="PerformanceMode",
              default="generalPurpose", note="generalPurpose"),
        Field("throughput_mode", api="ThroughputMode", tf="throughput_mode", cfn="ThroughputMode", default="bursting",
              note="bursting"),
        Field("mount_target_count", "int", api="NumberOfMountTargets",
              tf=lambda p, ctx: len(ctx.pointing("aws_efs_mount_target", "file_system_id")),
              cfn=lambda p, ctx: len(ctx.pointing("AWS::EFS::MountTarget", "FileSystemId"))),
        Field("backup_policy", tf=_efs_backup_tf, cfn=lambda p, ctx: get(p, "BackupPolicy", "Status") or "DISABLED"),
        Field("access_points", "raw", api_call="DescribeAccessPoints",
              api=lambda raw: _access_points(raw.get("AccessPoints"), "AccessPointId", "RootDirectory.Path",
                                             "RootDirectory.CreationInfo.Permissions"),
              tf=_iac_access_points("aws_efs_access_point", "file_system_id", "", "root_directory.path",
                                    "root_directory.creation_info.permissions"),
              cfn=_iac_access_points("AWS::EFS::AccessPoint", "FileSystemId", "", "RootDirectory.Path",
                                     "RootDirectory.CreationInfo.Permissions")),
        Field("mount_target_security_groups", "raw", api_call="DescribeMountTargetSecurityGroups",
              api=lambda raw: [list(groups) for groups in raw.get("PerMountTarget", [])],
              tf=lambda p, ctx: [_groups(ctx, attrs.get("security_groups")) for _, attrs in
                                 ctx.pointing("aws_efs_mount_target", "file_system_id")],
              cfn=lambda p, ctx: [_groups(ctx, attrs.get("SecurityGroups")) for _, attrs in
                                  ctx.pointing("AWS::EFS::MountTarget", "FileSystemId")]),
    ),
    finish_tf=lambda props, fs, ctx, d: _count_access_points(fs, d),
    finish_cfn=lambda props, fs, ctx, d: _count_access_points(fs, d),
)


def _groups(ctx: Any, value: Any) -> list[str]:
    """An IaC mount target's security groups; the security group EKS makes for a cluster of the IaC (a reference
    to its ``cluster_security_group_id``) is named ``eks-cluster-sg:CLUSTER``, as the cluster's own field is."""
    out = []
    for group in _flat(value):
        text = str(group)
        if ctx.type_of(group) in ("aws_eks_cluster", "AWS::EKS::Cluster") and \
                ("cluster_security_group_id" in text or "ClusterSecurityGroupId" in text):
            out.append(f"eks-cluster-sg:{ctx.resolve(group)}")
        else:
            out.append(str(ctx.resolve(group)))
    return out


def _count_access_points(fs: Resource, declared: Declared) -> None:
    assert isinstance(fs, EFSFileSystem)
    if "access_points" in declared.unknown:
        declared.unknown["access_point_count"] = declared.unknown["access_points"]
    else:
        fs.access_point_count = len(fs.access_points)


# --- EBS ----------------------------------------------------------------------------------------------------

def _region_default_tf(props: dict, ctx: Any) -> Any:
    declared = ctx.of_type("aws_ebs_encryption_by_default")
    if not declared:
        return Unknown("the region's EBS encryption default is not declared in this IaC")
    return bool(as_bool(get(declared[0], "enabled", default=True)))


def _gp3(value: int):
    return lambda r: value if r.volume_type == "gp3" else None


def _ebs_arn(raw: dict, volume: Resource) -> None:
    volume.arn = f"arn:aws:ec2:{volume.region}:{volume.account_id}:volume/{volume.id}"


def _named_by_tag(props: dict, volume: Resource, ctx: Any, declared: Declared) -> None:
    """An IaC volume's id is its address (it has no name of its own); its name is its Name tag where it has one."""
    volume.name = volume.tags.get("Name") or volume.id


EBS = TypeMap(
    model=EBSVolume, api_operation="DescribeVolumes", api_id="VolumeId",
    api_name=lambda raw: {t["Key"]: t["Value"] for t in raw.get("Tags", [])}.get("Name") or raw["VolumeId"],
    api_tags="Tags", finish_api=_ebs_arn,
    tf_types=("aws_ebs_volume",), cfn_types=("AWS::EC2::Volume",), finish_tf=_named_by_tag, finish_cfn=_named_by_tag,
    fields=(
        Field("volume_type", api="VolumeType", tf="type", cfn="VolumeType", default="gp2", note="gp2 unless type says otherwise"),
        Field("size_gb", "int", api="Size", tf="size", cfn="Size"),
        Field("iops", "int", api="Iops", tf="iops", cfn="Iops", default=_gp3(3000),
              note=lambda r: "3000 IOPS on gp3" if r.volume_type == "gp3" else ""),
        Field("throughput_mbps", "int", api="Throughput", tf="throughput", cfn="Throughput", default=_gp3(125),
              note=lambda r: "125 MB/s on gp3" if r.volume_type == "gp3" else ""),
        Field("region_encryption_by_default", "raw", tf=_region_default_tf,
              cfn=lambda p, ctx: Unknown("the region's EBS encryption default is not part of a template")),
        Field("encrypted", "bool", api="Encrypted", tf="encrypted", cfn="Encrypted",
              default=lambda r: bool(r.region_encryption_by_default),
              note="unencrypted unless encrypted (or the region encrypts by default)"),
        Field("kms_key_id", "ref", api="KmsKeyId", tf="kms_key_id", cfn="KmsKeyId"),
        Field("kms_key_manager", "key_manager", tf="kms_key_id", cfn="KmsKeyId", default="aws/ebs", when="encrypted"),
        Field("state", api="State"),
        Field("attached", "bool", api=lambda raw: bool(raw.get("Attachments"))),
        Field("availability_zone", api="AvailabilityZone", tf="availability_zone", cfn="AvailabilityZone"),
    ),
)


# --- SSM ----------------------------------------------------------------------------------------------------

def _ssm_arn(raw: dict, param: Resource) -> None:
    param.arn = param.arn or f"arn:aws:ssm:{param.region}:{param.account_id}:parameter/{param.name.lstrip('/')}"


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


# --- ElastiCache --------------------------------------------------------------------------------------------

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


ELASTICACHE = TypeMap(
    model=ElastiCacheReplicationGroup, api_operation="DescribeReplicationGroups", api_id="ReplicationGroupId",
    api_name="ReplicationGroupId", api_arn="ARN",
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


# --- RDS ------------------------------------------------------------------------------------------------------

_RDS_KEY = dict(default=lambda r: "alias/aws/rds" if r.storage_encrypted else None,
                note=lambda r: "the AWS managed key aws/rds" if r.storage_encrypted else "")


def _pi_retention(days: int):
    return lambda r: days if r.performance_insights_enabled else None


def _replicas(rtype: str, attribute: str):
    return lambda props, ctx: [name for name, _ in ctx.pointing(rtype, attribute)]


_SUBNET_KEYS = {
    "tf": {"group_type": "aws_db_subnet_group", "group": "db_subnet_group_name", "subnets": "subnet_ids",
           "assoc_type": "aws_route_table_association", "assoc_subnet": "subnet_id", "assoc_table": "route_table_id",
           "table_type": "aws_route_table", "inline": "route", "route_type": "aws_route", "route_table": "route_table_id",
           "cidr": "cidr_block|destination_cidr_block", "cidr6": "ipv6_cidr_block|destination_ipv6_cidr_block",
           "gateway": "gateway_id", "igw_type": "aws_internet_gateway"},
    "cfn": {"group_type": "AWS::RDS::DBSubnetGroup", "group": "DBSubnetGroupName", "subnets": "SubnetIds",
            "assoc_type": "AWS::EC2::SubnetRouteTableAssociation", "assoc_subnet": "SubnetId",
            "assoc_table": "RouteTableId", "table_type": "AWS::EC2::RouteTable", "inline": "",
            "route_type": "AWS::EC2::Route", "route_table": "RouteTableId", "cidr": "DestinationCidrBlock",
            "cidr6": "DestinationIpv6CidrBlock", "gateway": "GatewayId", "igw_type": "AWS::EC2::InternetGateway"},
}


def is_internet_route(cidr: Any, cidr6: Any, gateway: Any, gateway_type: Any = None, igw_type: str = "") -> bool:
    """A default route (0.0.0.0/0 or ::/0) to an internet gateway: what makes a subnet public."""
    to_igw = (isinstance(gateway, str) and gateway.startswith("igw-")) or (igw_type and gateway_type == igw_type)
    return bool(to_igw) and (cidr == "0.0.0.0/0" or cidr6 == "::/0")


def _private_subnets_iac(source: str):
    """Is every subnet of the instance's DB subnet group private? Read through the IaC's subnet group, route
    table associations and routes; unknown where one of them is not declared in it."""
    k = _SUBNET_KEYS[source]

    def read(props: dict, ctx: Any) -> Any:
        group_ref = iac_value(props, k["group"])
        if group_ref is None:
            return Defaulted(False, "no DB subnet group: the default VPC's subnets, which route to an internet gateway")
        groups = ctx.named(k["group_type"], group_ref)
        if not groups:
            return Unknown(f"the DB subnet group {str(ctx.resolve(group_ref))[:80]} is not declared in this IaC")
        for subnet in _flat(iac_value(groups[0], k["subnets"])):
            associations = ctx.pointing_at(subnet, k["assoc_type"], k["assoc_subnet"])
            if not associations:
                return Unknown(f"subnet {str(ctx.resolve(subnet))[:80]} has no route table association in this IaC "
                               "(it uses its VPC's main route table)")
            table_ref = iac_value(associations[0], k["assoc_table"])
            tables = ctx.named(k["table_type"], table_ref)
            routes = [r for t in tables for r in (ctx.blocks(t, k["inline"]) if k["inline"] else [])]
            routes += ctx.pointing_at(table_ref, k["route_type"], k["route_table"])
            for route in routes:
                gateway = iac_value(route, k["gateway"])
                if is_internet_route(iac_value(route, k["cidr"]), iac_value(route, k["cidr6"]), gateway,
                                     ctx.type_of(gateway), k["igw_type"]):
                    return False
        return True
    return read


# The engines' default max_connections (RDS parameter group defaults): formulas of the class memory, in bytes.
DEFAULT_MAX_CONNECTIONS = {"postgres": "LEAST({DBInstanceClassMemory/9531392},5000)",
                           "mysql": "{DBInstanceClassMemory/12582880}", "mariadb": "{DBInstanceClassMemory/12582880}"}
_PER_SIZE = {"micro": 0.5, "small": 1, "medium": 2, "large": 4, "xlarge": 8}  # t classes, GiB per size
_PER_LARGE = {"m": 8, "r": 16, "x": 64, "z": 16}  # GiB of a .large in the general, memory and high-memory families


def class_memory_gib(instance_class: Any) -> Optional[float]:
    """The memory of a DB instance class (db.r6g.2xlarge: 64 GiB), from its family and size; None if unknown."""
    match = re.fullmatch(r"db\.([a-z])(\d+)[a-z]*\.(\d*)(micro|small|medium|large|xlarge)", str(instance_class or ""))
    if not match:
        return None
    family, _, times, size = match.groups()
    if family == "t":
        return None if times else _PER_SIZE[size] * 2
    if family not in _PER_LARGE or size in ("micro", "small", "medium"):
        return None
    units = 1 if size == "large" else 2 * (int(times) if times else 1)
    return _PER_LARGE[family] * units


def max_connections_of(engine: Any, instance_class: Any, value: Any) -> Any:
    """max_connections as a number: the parameter's value, or its formula (the engine's default when the group
    leaves it unset) worked out on the class memory. AWS's DBInstanceClassMemory is the class memory less what
    RDS itself uses, so a formula's result here is the most it can be. Unknown where neither is known."""
    if value is not None and as_int(value) is not None:
        return as_int(value)
    formula = value if isinstance(value, str) and "DBInstanceClassMemory" in value else DEFAULT_MAX_CONNECTIONS.get(str(engine))
    if formula is None:
        return Unknown(f"max_connections {str(value)[:80]} is not a number, and {engine} has no known default")
    memory = class_memory_gib(instance_class)
    if memory is None:
        return Unknown(f"the memory of instance class {instance_class} is not known")
    divided = re.search(r"\{DBInstanceClassMemory/(\d+)\}", formula)
    if not divided:
        return Unknown(f"max_connections formula {formula[:80]} is not understood")
    result = memory * 1024 ** 3 / int(divided.group(1))
    least = re.fullmatch(r"LEAST\(\{[^}]*\},\s*(\d+)\)", formula.replace(" ", ""))
    return int(min(result, int(least.group(1))) if least else result)


def _max_connections_iac(group_type: str, group: str, parameter: str, name: str, value: str):
    def read(props: dict, ctx: Any) -> Any:
        engine, instance_class = iac_value(props, "engine|Engine"), iac_value(props, "instance_class|DBInstanceClass")
        groups = ctx.named(group_type, iac_value(props, group)) if iac_value(props, group) is not None else []
        if iac_value(props, group) is not None and not groups:
            return Unknown(f"the parameter group {str(ctx.resolve(iac_value(props, group)))[:80]} is not declared in this IaC")
        params = groups[0] if groups else {}
        if parameter == "Parameters":  # CloudFormation: a map of name to value
            found = (params.get("Parameters") or {}).get("max_connections")
        else:
            found = next((iac_value(b, value) for b in ctx.blocks(params, parameter) if iac_value(b, name) == "max_connections"), None)
        return max_connections_of(engine, instance_class, found)
    return read


def _rds_api(raw: dict, resource: Resource) -> None:
    _rds_iac(raw, resource)
    if "PerformanceInsightsEnabled" not in raw:
        resource.mark_unknown("performance_insights_retention_days",
                              "DescribeDBInstances did not report PerformanceInsightsEnabled")


def _rds_iac(props: dict, resource: Resource, ctx: Any = None, declared: Any = None) -> None:
    assert isinstance(resource, RDSInstance)
    _major(resource)
    resource.read_replica_count = len(resource.read_replica_ids)
    resource.is_read_replica = bool(resource.replica_source)


RDS_INSTANCE = TypeMap(
    model=RDSInstance, api_operation="DescribeDBInstances", api_id="DBInstanceIdentifier",
    api_name="DBInstanceIdentifier", api_arn="DBInstanceArn", api_tags="TagList",
    tf_types=("aws_db_instance",), tf_name="identifier",
    cfn_types=("AWS::RDS::DBInstance",), cfn_name="DBInstanceIdentifier",
    fields=(
        Field("engine", api="Engine", tf="engine", cfn="Engine"),
        Field("engine_version", api="EngineVersion", tf="engine_version", cfn="EngineVersion"),
        Field("instance_class", api="DBInstanceClass", tf="instance_class", cfn="DBInstanceClass"),
        Field("storage_type", api="StorageType", tf="storage_type", cfn="StorageType", default="gp2",
              note="gp2 unless storage_type says otherwise"),
        Field("allocated_storage_gb", "int", api="AllocatedStorage", tf="allocated_storage", cfn="AllocatedStorage"),
        Field("availability_zone", api="AvailabilityZone", tf="availability_zone", cfn="AvailabilityZone"),
        Field("multi_az", "bool", api="MultiAZ", tf="multi_az", cfn="MultiAZ", default=False,
              note="single-AZ unless multi_az", api_absent="unknown"),
        Field("backup_retention_days", "int", api="BackupRetentionPeriod", tf="backup_retention_period",
              cfn="BackupRetentionPeriod", default=1, note="1 day of automated backups"),
        Field("storage_encrypted", "bool", api="StorageEncrypted", tf="storage_encrypted", cfn="StorageEncrypted",
              default=False, note="unencrypted unless storage_encrypted", api_absent="unknown"),
        Field("kms_key_id", "ref", api="KmsKeyId", tf="kms_key_id", cfn="KmsKeyId", **_RDS_KEY),
        Field("performance_insights_enabled", "bool", api="PerformanceInsightsEnabled", tf="performance_insights_enabled",
              cfn="EnablePerformanceInsights", default=False, note="Performance Insights off unless enabled",
              api_absent="unknown"),
        Field("performance_insights_retention_days", "int", api="PerformanceInsightsRetentionPeriod",
              tf="performance_insights_retention_period", cfn="PerformanceInsightsRetentionPeriod",
              default=_pi_retention(7)),
        Field("deletion_protection", "bool", api="DeletionProtection", tf="deletion_protection", cfn="DeletionProtection",
              default=False, note="deletion protection off unless configured", api_absent="unknown"),
        Field("publicly_accessible", "bool", api="PubliclyAccessible", tf="publicly_accessible", cfn="PubliclyAccessible",
              default=False, note="not publicly accessible unless configured", api_absent="unknown"),
        Field("iam_auth_enabled", "bool", api="IAMDatabaseAuthenticationEnabled", tf="iam_database_authentication_enabled",
              cfn="EnableIAMDatabaseAuthentication", default=False, note="IAM authentication off unless enabled"),
        Field("db_name", api="DBName", tf="db_name|name", cfn="DBName", note="no database created unless db_name"),
        Field("master_password_managed", "bool", api=lambda raw: bool(raw.get("MasterUserSecret")),
              tf="manage_master_user_password", cfn="ManageMasterUserPassword", default=False,
              note="the password is yours to keep unless manage_master_user_password"),
        Field("parameter_groups", "strings", api=lambda raw: [g["DBParameterGroupName"] for g in raw.get("DBParameterGroups", [])],
              tf=lambda p, ctx: [g] if (g := ctx.resolve(get(p, "parameter_group_name"))) else [],
              cfn=lambda p, ctx: [g] if (g := ctx.resolve(p.get("DBParameterGroupName"))) else []),
        Field("cloudwatch_logs_exports", "strings", api="EnabledCloudwatchLogsExports",
              tf=lambda p, ctx: _flat(p.get("enabled_cloudwatch_logs_exports")), cfn="EnableCloudwatchLogsExports"),
        Field("replica_source", "ref", api="ReadReplicaSourceDBInstanceIdentifier", tf="replicate_source_db",
              cfn="SourceDBInstanceIdentifier"),
        Field("read_replica_ids", "strings", api="ReadReplicaDBInstanceIdentifiers",
              tf=_replicas("aws_db_instance", "replicate_source_db"),
              cfn=_replicas("AWS::RDS::DBInstance", "SourceDBInstanceIdentifier")),
        Field("cluster_id", api="DBClusterIdentifier"),
        Field("max_connections", "raw", api_call="DescribeDBParameters",
              api=lambda raw: max_connections_of(raw["engine"], raw["instance_class"], raw["value"]),
              tf=_max_connections_iac("aws_db_parameter_group", "parameter_group_name", "parameter", "name", "value"),
              cfn=_max_connections_iac("AWS::RDS::DBParameterGroup", "DBParameterGroupName", "Parameters", "", "")),
        Field("subnet_ids", "strings",
              api=lambda raw: [s["SubnetIdentifier"] for s in (raw.get("DBSubnetGroup") or {}).get("Subnets", [])]),
        Field("vpc_id", api="DBSubnetGroup.VpcId"),
        Field("in_private_subnets", "raw", api_call="DescribeRouteTables", api=lambda raw: raw.get("private"),
              tf=_private_subnets_iac("tf"), cfn=_private_subnets_iac("cfn")),
        Field("backup_replication_regions", "strings",
              api=lambda raw: sorted({r["DBInstanceAutomatedBackupsArn"].split(":")[3]
                                      for r in raw.get("DBInstanceAutomatedBackupsReplications", [])}),
              # Terraform runs the replication with the destination region's provider: its alias names the region.
              tf=lambda p, ctx: sorted({str(get(attrs, "provider") or "the destination provider's region")
                                        for _, attrs in ctx.pointing("aws_db_instance_automated_backups_replication",
                                                                     "source_db_instance_arn")}),
              cfn=lambda p, ctx: [p["AutomaticBackupReplicationRegion"]] if p.get("AutomaticBackupReplicationRegion")
              else []),
    ),
    finish_api=_rds_api, finish_tf=_rds_iac, finish_cfn=_rds_iac,
)


def _flat(value: Any) -> list:
    while isinstance(value, list) and len(value) == 1 and isinstance(value[0], list):
        value = value[0]
    return value if isinstance(value, list) else [] if value is None else [value]


def _cluster_api(raw: dict, resource: Resource) -> None:
    assert isinstance(resource, RDSCluster)
    _major(resource)
    resource.member_count = len(resource.member_ids)


def instance_count(props: dict) -> Optional[int]:
    """How many resources a Terraform block makes (checkov expands the count and for_each it can evaluate into
    blocks of their own): one, or None when a ``count`` or ``for_each`` is left unevaluated."""
    if "count" in props or "for_each" in props:
        count = get(props, "count")
        if isinstance(count, int) and not isinstance(count, bool):
            return count
        for_each = one(props.get("for_each"))
        return len(for_each) if isinstance(for_each, (dict, list)) and not is_unresolved(for_each) else None
    return 1


def multi_az_from_members(engine: Optional[str], members: Optional[int]) -> tuple[Optional[bool], Optional[str]]:
    """Multi-AZ of a cluster the IaC declares, which has no such setting: a Multi-AZ DB cluster (engine mysql or
    postgres) always is; Aurora is when a reader can take over, two instances or more (AWS spreads them over
    AZs). Returns the value and, for Aurora, the note that says how it was inferred (None when unknown)."""
    if engine in ("mysql", "postgres"):
        return True, None
    if members is None:
        return None, None
    return members >= 2, f"Multi-AZ with two instances or more; {members} declared in the IaC"


def _cluster_members(rtype: str, attribute: str):
    """An IaC cluster's members are the instances that name it; Multi-AZ follows from how many there are."""
    def finish(props: dict, cluster: Resource, ctx: Any, declared: Declared) -> None:
        assert isinstance(cluster, RDSCluster)
        _major(cluster)
        members = ctx.pointing(rtype, attribute)
        cluster.member_ids = [name for name, _ in members]
        counts = [instance_count(attrs) for _, attrs in members]
        cluster.member_count = sum(counts) if None not in counts else None  # type: ignore[arg-type]
        cluster.multi_az, note = multi_az_from_members(cluster.engine, cluster.member_count)
        if note:
            declared.default("multi_az", note)
        elif cluster.multi_az is None:
            unknown = next(name for (name, _), n in zip(members, counts) if n is None)
            for prop in ("member_count", "multi_az"):
                declared.unresolved(prop, f"the count or for_each of {unknown}")
    return finish


RDS_CLUSTER = TypeMap(
    model=RDSCluster, api_operation="DescribeDBClusters", api_id="DBClusterIdentifier", api_name="DBClusterIdentifier",
    api_arn="DBClusterArn", api_tags="TagList",
    tf_types=("aws_rds_cluster",), tf_name="cluster_identifier",
    cfn_types=("AWS::RDS::DBCluster",), cfn_name="DBClusterIdentifier",
    fields=(
        Field("engine", api="Engine", tf="engine", cfn="Engine", default="aurora", note="aurora unless engine says otherwise"),
        Field("engine_version", api="EngineVersion", tf="engine_version", cfn="EngineVersion"),
        Field("engine_mode", api="EngineMode", tf="engine_mode", cfn="EngineMode", default="provisioned", note="provisioned"),
        Field("storage_encrypted", "bool", api="StorageEncrypted", tf="storage_encrypted", cfn="StorageEncrypted",
              default=lambda r: r.engine_mode == "serverless",
              note="encrypted only in serverless engine mode unless storage_encrypted", api_absent="unknown"),
        Field("kms_key_id", "ref", api="KmsKeyId", tf="kms_key_id", cfn="KmsKeyId", **_RDS_KEY),
        Field("backup_retention_days", "int", api="BackupRetentionPeriod", tf="backup_retention_period",
              cfn="BackupRetentionPeriod", default=1, note="1 day of automated backups", api_absent="unknown"),
        Field("deletion_protection", "bool", api="DeletionProtection", tf="deletion_protection", cfn="DeletionProtection",
              default=False, note="deletion protection off unless configured", api_absent="unknown"),
        Field("iam_auth_enabled", "bool", api="IAMDatabaseAuthenticationEnabled", tf="iam_database_authentication_enabled",
              cfn="EnableIAMDatabaseAuthentication", default=False, note="IAM authentication off unless enabled"),
        Field("multi_az", "bool", api="MultiAZ", api_absent="unknown"),  # IaC: inferred from the members (finish_*)
        Field("member_ids", "strings", api=lambda raw: [m["DBInstanceIdentifier"] for m in raw.get("DBClusterMembers", [])]),
        Field("cloudwatch_logs_exports", "strings", api="EnabledCloudwatchLogsExports",
              tf=lambda p, ctx: _flat(p.get("enabled_cloudwatch_logs_exports")), cfn="EnableCloudwatchLogsExports"),
        Field("database_name", api="DatabaseName", tf="database_name", cfn="DatabaseName"),
        Field("parameter_group", "ref", api="DBClusterParameterGroup", tf="db_cluster_parameter_group_name",
              cfn="DBClusterParameterGroupName"),
    ),
    finish_api=_cluster_api, finish_tf=_cluster_members("aws_rds_cluster_instance", "cluster_identifier"),
    finish_cfn=_cluster_members("AWS::RDS::DBInstance", "DBClusterIdentifier"),
)


# --- DAX ------------------------------------------------------------------------------------------------------

DAX = TypeMap(
    model=DAXCluster, api_operation="DescribeClusters", api_id="ClusterName", api_name="ClusterName",
    api_arn="ClusterArn", tf_types=("aws_dax_cluster",), tf_name="cluster_name",
    cfn_types=("AWS::DAX::Cluster",), cfn_name="ClusterName",
    fields=(
        Field("node_type", api="NodeType", tf="node_type", cfn="NodeType"),
        Field("node_count", "int", api="TotalNodes", tf="replication_factor", cfn="ReplicationFactor"),
        Field("sse_enabled", "bool", api=lambda raw: read_path(raw, "SSEDescription.Status") in ("ENABLED", "ENABLING"),
              tf="server_side_encryption.enabled", cfn="SSESpecification.SSEEnabled", default=False,
              note="no encryption at rest unless enabled"),
        Field("endpoint_encryption", api="ClusterEndpointEncryptionType", tf="cluster_endpoint_encryption_type",
              cfn="ClusterEndpointEncryptionType", default="NONE", note="a plaintext endpoint unless TLS",
              api_absent="default"),
        Field("status", api="Status"),
    ),
)


# --- AWS Backup -----------------------------------------------------------------------------------------------

def is_weekly(schedule: Any) -> Optional[bool]:
    """Does a Backup schedule run once a week? ``cron(0 5 ? * SUN *)`` (one day of the week, any month) or
    ``rate(7 days)``; None when it is not a schedule expression at all."""
    if not isinstance(schedule, str):
        return None
    text = schedule.strip()
    rate = re.fullmatch(r"rate\(\s*(\d+)\s+days?\s*\)", text)
    if rate:
        return int(rate.group(1)) == 7
    cron = re.fullmatch(r"cron\((.+)\)", text)
    if not cron or len(cron.group(1).split()) != 6:
        return None
    _, _, day_of_month, month, day_of_week, _ = cron.group(1).split()
    return day_of_month in ("?", "*") and month == "*" and day_of_week not in ("?", "*") and \
        not any(c in day_of_week for c in ",-/")


def _backup_rules(raw: Any, name: str, schedule: str, retention: str) -> list[BackupRule]:
    out = []
    for rule in raw if isinstance(raw, list) else [raw] if isinstance(raw, dict) else []:
        days = iac_value(rule, retention)
        out.append(BackupRule(name=str(iac_value(rule, name)), schedule=iac_value(rule, schedule),
                              weekly=is_weekly(iac_value(rule, schedule)),
                              delete_after_days=as_int(days) if days is not None else None))
    return out


def summarize_backup_plan(plan: Resource) -> None:
    """The properties the rules read, from the plan's rules and selections (live and in IaC alike)."""
    assert isinstance(plan, BackupPlan)
    if "rules" not in plan.unknown:
        weekly = [r for r in plan.rules if r.weekly]
        # Kept forever (no DeleteAfterDays) is longer than any retention the spec asks for.
        plan.weekly_retention_days = max((r.delete_after_days if r.delete_after_days is not None else 36500
                                          for r in weekly), default=0)
    if "selected_resources" not in plan.unknown:
        plan.selects_dynamodb = any(r == "*" or r.startswith("arn:aws:dynamodb:") for r in plan.selected_resources)


def _selected(rtype: str, plan_attribute: str, resources: str):
    """The resources an IaC plan's selections name; a reference to a table of the IaC is that table's ARN."""
    def read(props: dict, ctx: Any) -> Any:
        out = []
        for _, selection in ctx.pointing(rtype, plan_attribute):
            for value in _flat(iac_value(selection, resources)) if isinstance(iac_value(selection, resources), list) \
                    else [iac_value(selection, resources)] if iac_value(selection, resources) is not None else []:
                kind = ctx.type_of(value)
                if kind in ("aws_dynamodb_table", "AWS::DynamoDB::Table"):
                    out.append(f"arn:aws:dynamodb:*:*:table/{ctx.resolve(value)}")
                elif isinstance(value, str) and not is_unresolved(value):
                    out.append(value)
                else:
                    return Unknown(f"a backup selection names a resource not resolvable statically: {str(value)[:120]}")
        return out
    return read


BACKUP_PLAN = TypeMap(
    model=BackupPlan, api_operation="ListBackupPlans", api_id="BackupPlanId", api_name="BackupPlanName",
    api_arn="BackupPlanArn", tf_types=("aws_backup_plan",), tf_name="name",
    cfn_types=("AWS::Backup::BackupPlan",), cfn_name=lambda p: get(p, "BackupPlan", "BackupPlanName"),
    fields=(
        Field("rules", "raw", api_call="GetBackupPlan",
              api=lambda raw: _backup_rules(read_path(raw, "BackupPlan.Rules") or [], "RuleName", "ScheduleExpression",
                                            "Lifecycle.DeleteAfterDays"),
              tf=lambda p, ctx: _backup_rules(ctx.blocks(p, "rule"), "rule_name", "schedule", "lifecycle.delete_after"),
              cfn=lambda p, ctx: _backup_rules(iac_value(p, "BackupPlan.BackupPlanRule") or [], "RuleName",
                                               "ScheduleExpression", "Lifecycle.DeleteAfterDays")),
        # A selection by tags alone (ListOfTags, no Resources) takes every tagged resource of every type: "*".
        Field("selected_resources", "raw", api_call="ListBackupSelections",
              api=lambda raw: list(raw.get("Resources") or (["*"] if raw.get("ListOfTags") else [])),
              tf=_selected("aws_backup_selection", "plan_id", "resources"),
              cfn=_selected("AWS::Backup::BackupSelection", "BackupPlanId", "BackupSelection.Resources")),
    ),
    finish_tf=lambda props, plan, ctx, d: summarize_backup_plan(plan),
    finish_cfn=lambda props, plan, ctx, d: summarize_backup_plan(plan),
)


# --- CloudFront -----------------------------------------------------------------------------------------------

# AWS managed cache policies (their ids are the same in every account) and their default TTL, in seconds.
MANAGED_CACHE_POLICIES = {
    "658327ea-f89d-4fab-a63d-7e88639e58f6": 86400,  # Managed-CachingOptimized
    "b2884449-e4de-46a7-ac36-70bc7f1ddd6d": 86400,  # Managed-CachingOptimizedForUncompressedObjects
    "4135ea2d-6df8-44a3-9df3-4b5a84be39ad": 0,  # Managed-CachingDisabled
    "08627262-05a9-4f76-9ded-b50ca2e3a84f": 86400,  # Managed-Elemental-MediaPackage
}
_S3_DOMAIN = re.compile(r"^(?P<bucket>[a-z0-9][a-z0-9.-]*?)\.s3(?:[.-](?:[a-z0-9-]+))?\.amazonaws\.com(?:\.cn)?$")
LEGACY_DEFAULT_TTL = 86400  # a behavior without a cache policy caches a day unless DefaultTTL says otherwise


def bucket_of_domain(domain: Any) -> Optional[str]:
    """The bucket an S3 origin domain names (``images.s3.amazonaws.com``, ``images.s3.eu-west-1.amazonaws.com``);
    None for other origins (a website endpoint or a custom origin)."""
    match = _S3_DOMAIN.match(domain) if isinstance(domain, str) else None
    return match.group("bucket") if match and ".s3-website" not in domain else None


def cdn_behaviors(distribution: str, origins: list[dict], default: Any, ordered: list[dict], keys: dict[str, str],
                  ctx: Any = None, policy_ttl: Any = None) -> list[CdnBehavior]:
    """Each cache behavior with the origin it routes to; ``keys`` names the fields in the source's spelling.
    ``policy_ttl(policy)`` gives the TTL of a cache policy the source itself holds (IaC); live, a policy not
    managed by AWS is read afterwards (GetCachePolicy)."""
    by_id: dict[str, dict] = {}
    for origin in origins:
        domain = iac_value(origin, keys["domain"])
        bucket = bucket_of_domain(domain)
        if bucket is None and ctx is not None and ctx.type_of(domain) in ("aws_s3_bucket", "AWS::S3::Bucket"):
            bucket = ctx.resolve(domain)
        oac, oai = iac_value(origin, keys["oac"]), iac_value(origin, keys["oai"])
        access = "OAC" if oac else "OAI" if oai else "none" if bucket else None
        by_id[str(iac_value(origin, keys["id"]))] = {"bucket": bucket, "access": access}
    out = []
    for raw, pattern in [(default, "*")] + [(b, None) for b in ordered]:
        if not isinstance(raw, dict):
            continue
        target = str(iac_value(raw, keys["target"]))
        policy, ttl = iac_value(raw, keys["policy"]), iac_value(raw, keys["ttl"])
        if policy:
            ttl = MANAGED_CACHE_POLICIES.get(policy) if isinstance(policy, str) else None
            if ttl is None and policy_ttl is not None:
                ttl = policy_ttl(policy)
        elif ttl is None and policy_ttl is not None:
            ttl = LEGACY_DEFAULT_TTL  # IaC: the AWS default of a behavior without a cache policy
        origin = by_id.get(target, {})
        out.append(CdnBehavior(
            distribution=distribution, path_pattern=str(pattern or iac_value(raw, keys["path"])), origin_id=target,
            bucket=origin.get("bucket"), origin_access=origin.get("access"),
            cache_policy_id=str(ctx.resolve(policy) if ctx is not None else policy) if policy else None,
            default_ttl=as_int(ttl), viewer_protocol_policy=iac_value(raw, keys["viewer"])))
    return out


_API_KEYS = {"domain": "DomainName", "id": "Id", "oac": "OriginAccessControlId", "oai": "S3OriginConfig.OriginAccessIdentity",
             "target": "TargetOriginId", "policy": "CachePolicyId", "ttl": "DefaultTTL", "path": "PathPattern",
             "viewer": "ViewerProtocolPolicy"}
_TF_KEYS = {"domain": "domain_name", "id": "origin_id", "oac": "origin_access_control_id",
            "oai": "s3_origin_config.origin_access_identity", "target": "target_origin_id", "policy": "cache_policy_id",
            "ttl": "default_ttl", "path": "path_pattern", "viewer": "viewer_protocol_policy"}


def _api_behaviors(raw: dict) -> list[CdnBehavior]:
    return cdn_behaviors(raw.get("Id", ""), (raw.get("Origins") or {}).get("Items") or [], raw.get("DefaultCacheBehavior"),
                         (raw.get("CacheBehaviors") or {}).get("Items") or [], _API_KEYS)


def _policy_ttl(ctx: Any, policy_type: str, ttl_path: str):
    """The DefaultTTL of a cache policy the same IaC declares; Unknown for one it does not (a data source)."""
    def ttl(policy: Any) -> Any:
        declared = ctx.named(policy_type, policy)
        value = iac_value(declared[0], ttl_path) if declared else None
        if as_int(value) is None:
            raise _UnknownTtl(f"the TTL of cache policy {str(policy)[:80]} is not in this IaC")
        return value
    return ttl


class _UnknownTtl(Exception):
    pass


def _iac_behaviors(origins: str, default: str, ordered: str, keys: dict[str, str], policy_type: str, ttl_path: str,
                   config: str = ""):
    def read(props: dict, ctx: Any) -> Any:
        root = iac_value(props, config) or {} if config else props
        many = (lambda key: ctx.blocks(root, key)) if not config else (lambda key: root.get(key) or [])
        try:
            return cdn_behaviors(ctx.label, many(origins), get(root, default) if not config else root.get(default),
                                 many(ordered), keys, ctx, _policy_ttl(ctx, policy_type, ttl_path))
        except _UnknownTtl as exc:
            return Unknown(str(exc))
    return read


def _origin_buckets(raw: Any, dist: Resource) -> None:
    assert isinstance(dist, CloudFrontDistribution)
    dist.origin_buckets = sorted({b.bucket for b in dist.behaviors if b.bucket})


CLOUDFRONT = TypeMap(
    model=CloudFrontDistribution, api_operation="ListDistributions", api_id="Id", api_name="Id", api_arn="ARN",
    tf_types=("aws_cloudfront_distribution",), cfn_types=("AWS::CloudFront::Distribution",),
    fields=(
        Field("enabled", "bool", api="Enabled", tf="enabled", cfn="DistributionConfig.Enabled"),
        Field("behaviors", "raw", api=_api_behaviors,
              tf=_iac_behaviors("origin", "default_cache_behavior", "ordered_cache_behavior", _TF_KEYS,
                                "aws_cloudfront_cache_policy", "default_ttl"),
              cfn=_iac_behaviors("Origins", "DefaultCacheBehavior", "CacheBehaviors", _API_KEYS,
                                 "AWS::CloudFront::CachePolicy", "CachePolicyConfig.DefaultTTL", config="DistributionConfig")),
    ),
    finish_api=_origin_buckets,
    finish_tf=lambda props, dist, ctx, d: _origin_buckets(None, dist),
    finish_cfn=lambda props, dist, ctx, d: _origin_buckets(None, dist),
)


# --- EKS --------------------------------------------------------------------------------------------------------

def _iac_addons(rtype: str, cluster: str, name: str, version: str):
    def read(props: dict, ctx: Any) -> Any:
        addons = {}
        for _, attrs in ctx.pointing(rtype, cluster):
            if iac_value(attrs, version) is None:
                return Unknown(f"add-on {iac_value(attrs, name)} takes the version AWS picks for the cluster "
                               "(no version in the IaC)")
            addons[str(iac_value(attrs, name))] = str(iac_value(attrs, version))
        return addons
    return read


EKS = TypeMap(
    model=EKSCluster, api_operation="DescribeCluster", api_id="name", api_name="name", api_arn="arn",
    tf_types=("aws_eks_cluster",), tf_name="name", cfn_types=("AWS::EKS::Cluster",), cfn_name="Name",
    fields=(
        Field("version", api="version", tf="version", cfn="Version"),
        # Made by EKS, so an IaC names it by its cluster (and a mount target's reference to it alike: _groups).
        Field("cluster_security_group_id", api="resourcesVpcConfig.clusterSecurityGroupId", api_absent="unknown",
              tf=lambda p, ctx: f"eks-cluster-sg:{ctx.label}", cfn=lambda p, ctx: f"eks-cluster-sg:{ctx.label}"),
        Field("addons", "raw", api_call="ListAddons", api=lambda raw: dict(raw),
              tf=_iac_addons("aws_eks_addon", "cluster_name", "addon_name", "addon_version"),
              cfn=_iac_addons("AWS::EKS::Addon", "ClusterName", "AddonName", "AddonVersion")),
    ),
)


# --- DynamoDB -------------------------------------------------------------------------------------------------

def _key_names(schema: Any) -> tuple[Any, Any]:
    rows = [k for k in schema or [] if isinstance(k, dict)]
    return (next((k.get("AttributeName") for k in rows if k.get("KeyType") == "HASH"), None),
            next((k.get("AttributeName") for k in rows if k.get("KeyType") == "RANGE"), None))


def _types_api(raw: dict) -> dict[str, str]:
    return {str(a.get("AttributeName")): str(a.get("AttributeType")) for a in raw.get("AttributeDefinitions") or []
            if isinstance(a, dict) and isinstance(a.get("AttributeName"), str)}


def _key_schema(hash_key: Any, range_key: Any, types: dict[str, str]) -> Any:
    for key in (hash_key, range_key):
        if key is not None and (not isinstance(key, str) or is_unresolved(key)):
            # An attribute name from a parameter with no default is not known statically: unknown, never a crash.
            return Unknown(f"not resolvable statically: {str(key)[:120]}")
    return KeySchema(partition_key=hash_key, partition_key_type=types.get(hash_key) if hash_key else None,
                     sort_key=range_key, sort_key_type=types.get(range_key) if range_key else None)


def _index_api(raw: dict, hash_default: Any = None) -> SecondaryIndex:
    hash_key, range_key = _key_names(raw.get("KeySchema"))
    throughput = raw.get("ProvisionedThroughput") or {}
    return SecondaryIndex(name=str(raw.get("IndexName")), partition_key=hash_key or hash_default, sort_key=range_key,
                          projection_type=(raw.get("Projection") or {}).get("ProjectionType"),
                          read_capacity=as_int(throughput.get("ReadCapacityUnits")) or None,
                          write_capacity=as_int(throughput.get("WriteCapacityUnits")) or None)


def _index_tf(raw: dict, hash_key: Any = None) -> SecondaryIndex:
    rcu, wcu = get(raw, "read_capacity"), get(raw, "write_capacity")
    if (rcu is not None and as_int(rcu) is None) or (wcu is not None and as_int(wcu) is None):
        raise _Unresolved(f"the capacity of index {get(raw, 'name')} is not resolvable statically: {rcu or wcu}")
    return SecondaryIndex(name=str(get(raw, "name")), partition_key=hash_key or get(raw, "hash_key"),
                          sort_key=get(raw, "range_key"), projection_type=get(raw, "projection_type"),
                          read_capacity=as_int(rcu), write_capacity=as_int(wcu))


class _Unresolved(Exception):
    pass


def _indexes_tf(key: str, lsi: bool = False):
    def read(props: dict, ctx: Any) -> Any:
        try:
            return [_index_tf(i, get(props, "hash_key") if lsi else None) for i in ctx.blocks(props, key)]
        except _Unresolved as exc:
            return Unknown(str(exc))
    return read


def _sse_api(raw: dict) -> TableSse:
    sse = raw.get("SSEDescription") or {}
    if sse.get("Status") in ("ENABLED", "ENABLING", "UPDATING"):
        return TableSse(enabled=True, type=sse.get("SSEType", "KMS"), kms_key_arn=sse.get("KMSMasterKeyArn"))
    return TableSse(enabled=True, type="AWS_OWNED")  # no SSEDescription: encrypted with an AWS owned key


def _sse_iac(block: str, enabled: str, key: str):
    def read(props: dict, ctx: Any) -> Any:
        sse = iac_value(props, block)
        on = as_bool(iac_value(sse, enabled)) if isinstance(sse, dict) else None
        if on:
            return TableSse(enabled=True, type="KMS", kms_key_arn=ctx.resolve(iac_value(sse, key)))
        return TableSse(enabled=True, type="AWS_OWNED")
    return read


_TABLE_DEFAULTS = {  # property -> (its Terraform attribute, its CloudFormation property, what AWS does without it)
    "stream": ("stream_enabled", "StreamSpecification", "no stream unless configured"),
    "ttl": ("ttl", "TimeToLiveSpecification", "TTL is off unless configured"),
    "pitr": ("point_in_time_recovery", "PointInTimeRecoverySpecification",
             "point-in-time recovery is off unless configured"),
}


def _dynamodb_finish(block: str, enabled: str, key: str):
    """The KMS key's manager and the AWS defaults a table leaves to AWS (encryption, stream, TTL, PITR)."""
    def finish(props: dict, table: Resource, ctx: Any, declared: Declared) -> None:
        assert isinstance(table, DynamoDBTable)
        if "gsis" in declared.unknown:
            declared.unknown["gsi_names"] = declared.unknown["gsis"]
        else:
            table.gsi_names = [g.name for g in table.gsis or []]
        table.gsis = table.gsis or []
        for prop, (tf, cfn, note) in _TABLE_DEFAULTS.items():
            if iac_value(props, tf if block.islower() else cfn) is None and prop not in declared.unknown:
                declared.default(prop, note)
        sse = iac_value(props, block)
        if table.sse is not None and table.sse.type == "KMS":
            raw_key = iac_value(sse, key)
            table.kms_key_manager = key_manager_of(declared, "kms_key_manager", raw_key, True, "aws/dynamodb",
                                                   ctx.declares_key(raw_key))
        else:
            table.kms_key_manager = "AWS_OWNED"
            if not sse:
                declared.default("sse", f"encrypted with an AWS owned key unless {block} enables KMS")
    return finish


def _pitr(enabled: Any, period: Any) -> Any:
    on = as_bool(enabled) if enabled is not None else False
    if enabled is not None and on is None:
        return Unknown(f"not resolvable statically: {str(enabled)[:120]}")
    if on and period is not None and as_int(period) is None:
        return Unknown(f"not resolvable statically: {str(period)[:120]}")
    return TablePitr(status="ENABLED" if on else "DISABLED", recovery_period_days=(as_int(period) or 35) if on else None)


def _pitr_api(raw: dict) -> TablePitr:
    # An answer without its ContinuousBackupsDescription is malformed (KeyError: the family's error), not "off".
    pitr = raw["ContinuousBackupsDescription"].get("PointInTimeRecoveryDescription") or {}
    status = pitr.get("PointInTimeRecoveryStatus", "DISABLED")
    # Enabled with no RecoveryPeriodInDays: AWS's documented default, 35 days (the only period before it was settable).
    return TablePitr(status=status, recovery_period_days=pitr.get("RecoveryPeriodInDays") or (35 if status == "ENABLED" else None))


def _ttl(enabled: Any, attribute: Any, declared_block: bool) -> Any:
    if not declared_block:
        return TableTtl()
    on = as_bool(enabled) if enabled is not None else True
    if on is None:
        return Unknown(f"not resolvable statically: {str(enabled)[:120]}")
    return TableTtl(status="ENABLED" if on else "DISABLED", attribute=attribute)


def _provisioned(billing: str, capacity: str):
    """A provisioned table's capacity; an on-demand table has none."""
    return lambda p, ctx: iac_value(p, capacity) if str(iac_value(p, billing) or "PROVISIONED") == "PROVISIONED" else None


def _provisioned_api(unit: str):
    return lambda raw: (raw.get("ProvisionedThroughput") or {}).get(unit) \
        if ((raw.get("BillingModeSummary") or {}).get("BillingMode") or "PROVISIONED") == "PROVISIONED" else None


DYNAMODB = TypeMap(
    model=DynamoDBTable, api_operation="ListTables", api_id="TableName", api_name="TableName", api_arn="TableArn",
    tf_types=("aws_dynamodb_table",), tf_name="name", cfn_types=("AWS::DynamoDB::Table",), cfn_name="TableName",
    fields=(
        Field("status", api="TableStatus", api_call="DescribeTable"),
        Field("attribute_types", "raw", api=_types_api, api_call="DescribeTable",
              tf=lambda p, ctx: {str(get(a, "name")): str(get(a, "type")) for a in ctx.blocks(p, "attribute")},
              cfn=lambda p, ctx: _types_api(p)),
        Field("key_schema", "raw", api_call="DescribeTable",
              api=lambda raw: _key_schema(*_key_names(raw.get("KeySchema")), _types_api(raw)),
              tf=lambda p, ctx: _key_schema(get(p, "hash_key"), get(p, "range_key"),
                                            {str(get(a, "name")): str(get(a, "type")) for a in ctx.blocks(p, "attribute")}),
              cfn=lambda p, ctx: _key_schema(*_key_names(p.get("KeySchema")), _types_api(p))),
        Field("billing_mode", api=lambda raw: (raw.get("BillingModeSummary") or {}).get("BillingMode") or "PROVISIONED",
              api_call="DescribeTable", tf="billing_mode", cfn="BillingMode", default="PROVISIONED",
              note="PROVISIONED unless billing_mode says otherwise"),
        Field("read_capacity", "int", api=_provisioned_api("ReadCapacityUnits"), api_call="DescribeTable",
              tf=_provisioned("billing_mode", "read_capacity"),
              cfn=_provisioned("BillingMode", "ProvisionedThroughput.ReadCapacityUnits")),
        Field("write_capacity", "int", api=_provisioned_api("WriteCapacityUnits"), api_call="DescribeTable",
              tf=_provisioned("billing_mode", "write_capacity"),
              cfn=_provisioned("BillingMode", "ProvisionedThroughput.WriteCapacityUnits")),
        Field("gsis", "raw", api=lambda raw: [_index_api(i) for i in raw.get("GlobalSecondaryIndexes") or []],
              api_call="DescribeTable", tf=_indexes_tf("global_secondary_index"),
              cfn=lambda p, ctx: [_index_api(i) for i in p.get("GlobalSecondaryIndexes") or [] if isinstance(i, dict)]),
        Field("gsi_names", "raw", api=lambda raw: [str(i.get("IndexName")) for i in raw.get("GlobalSecondaryIndexes") or []],
              api_call="DescribeTable"),
        Field("lsis", "raw", api=lambda raw: [_index_api(i) for i in raw.get("LocalSecondaryIndexes") or []],
              api_call="DescribeTable", tf=_indexes_tf("local_secondary_index", lsi=True),
              cfn=lambda p, ctx: [_index_api(i, _key_names(p.get("KeySchema"))[0]) for i in
                                  p.get("LocalSecondaryIndexes") or [] if isinstance(i, dict)]),
        Field("sse", "raw", api=_sse_api, api_call="DescribeTable",
              tf=_sse_iac("server_side_encryption", "enabled", "kms_key_arn"),
              cfn=_sse_iac("SSESpecification", "SSEEnabled", "KMSMasterKeyId")),
        Field("stream", "raw", api_call="DescribeTable",
              api=lambda raw: TableStream(enabled=bool((raw.get("StreamSpecification") or {}).get("StreamEnabled")),
                                          view_type=(raw.get("StreamSpecification") or {}).get("StreamViewType")),
              tf=lambda p, ctx: TableStream(enabled=bool(as_bool(get(p, "stream_enabled"))),
                                            view_type=get(p, "stream_view_type")) if get(p, "stream_enabled") is None
              or as_bool(get(p, "stream_enabled")) is not None
              else Unknown(f"not resolvable statically: {str(get(p, 'stream_enabled'))[:120]}"),
              cfn=lambda p, ctx: TableStream(enabled=bool(iac_value(p, "StreamSpecification.StreamViewType")),
                                             view_type=iac_value(p, "StreamSpecification.StreamViewType"))),
        Field("deletion_protection", "bool", api="DeletionProtectionEnabled", api_call="DescribeTable",
              api_absent="default", tf="deletion_protection_enabled", cfn="DeletionProtectionEnabled", default=False,
              note="deletion protection is off unless configured"),
        Field("table_class", api="TableClassSummary.TableClass", api_call="DescribeTable", api_absent="default",
              tf="table_class", cfn="TableClass", default="STANDARD"),
        Field("pitr", "raw", api=_pitr_api, api_call="DescribeContinuousBackups",
              tf=lambda p, ctx: _pitr(get(p, "point_in_time_recovery", "enabled"),
                                      get(p, "point_in_time_recovery", "recovery_period_in_days")),
              cfn=lambda p, ctx: _pitr(iac_value(p, "PointInTimeRecoverySpecification.PointInTimeRecoveryEnabled"),
                                       iac_value(p, "PointInTimeRecoverySpecification.RecoveryPeriodInDays"))),
        Field("ttl", "raw", api_call="DescribeTimeToLive",
              api=lambda raw: TableTtl(status=(raw.get("TimeToLiveDescription") or {}).get("TimeToLiveStatus", "DISABLED"),
                                       attribute=(raw.get("TimeToLiveDescription") or {}).get("AttributeName")),
              tf=lambda p, ctx: _ttl(get(p, "ttl", "enabled"), get(p, "ttl", "attribute_name"), bool(get(p, "ttl"))),
              cfn=lambda p, ctx: _ttl(iac_value(p, "TimeToLiveSpecification.Enabled"),
                                      iac_value(p, "TimeToLiveSpecification.AttributeName"),
                                      bool(p.get("TimeToLiveSpecification")))),
    ),
    finish_tf=_dynamodb_finish("server_side_encryption", "enabled", "kms_key_arn"),
    finish_cfn=_dynamodb_finish("SSESpecification", "SSEEnabled", "KMSMasterKeyId"),
)


TABLES: tuple[TypeMap, ...] = (DYNAMODB, EKS, OPENSEARCH, EFS, EBS, SSM, ELASTICACHE, RDS_INSTANCE, RDS_CLUSTER, DAX, BACKUP_PLAN,
                               CLOUDFRONT)
