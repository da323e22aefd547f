"""RDS DB instances and clusters: one paginated describe call each per region returns every property we read.

An Aurora instance reports its own DeletionProtection and MultiAZ as false, though its cluster holds them: a
cluster member takes the CLUSTER_LEVEL properties from its cluster (``defer_to_clusters``), in the live scan as
in the IaC gate, so it is judged as AWS protects it.
"""
from __future__ import annotations

from typing import Iterable, Optional

from auditor.services.fetch import AwsCalls, Collector, Family, Unreadable, paginated_listing
from auditor.services.fields import fill_from_api, from_api
from auditor.services.model import Resource, SourceLocation
from auditor.services.rds.model import RDSCluster, RDSInstance
from auditor.services.network import internet_ingress_groups, public_subnets
from auditor.services.rds.table import RDS_CLUSTER, RDS_INSTANCE

# What a cluster member's instance takes from its cluster (AWS applies these at cluster level for Aurora).
CLUSTER_LEVEL = ("storage_encrypted", "kms_key_id", "backup_retention_days", "deletion_protection", "multi_az",
                 "iam_auth_enabled", "cloudwatch_logs_exports", "engine_version", "engine_major_version")

# CLUSTER_LEVEL properties are listed too, but for a cluster member they come from the "cluster" family.
LISTED = (
    "tags", "instance_class", "storage_type", "allocated_storage_gb", "performance_insights_enabled",
    "performance_insights_retention_days", "publicly_accessible", "parameter_groups", "read_replica_ids",
    "read_replica_count", "replica_source", "is_read_replica", "cluster_id", "engine", "db_name",
    "master_password_managed", "master_password_source", "availability_zone", "subnet_ids", "vpc_id",
    "security_group_ids", "backup_replication_regions",
)


def fetch_cluster_level(calls: AwsCalls, instance: Resource) -> None:
    """A member's CLUSTER_LEVEL values, from its cluster (one DescribeDBClusters per region, shared with the
    cluster rules); a standalone instance keeps what DescribeDBInstances said."""
    assert isinstance(instance, RDSInstance)
    if instance.cluster_id:
        clusters = [cluster_from(raw, instance.region, calls.account_id)
                    for raw in _cluster_answers(calls, instance.region) if raw.get("DBClusterIdentifier") == instance.cluster_id]
        defer_to_clusters([instance], clusters)


def list_clusters(calls: AwsCalls, region: str) -> Iterable[Resource]:
    return [cluster_from(raw, region, calls.account_id) for raw in _cluster_answers(calls, region)]


def _cluster_answers(calls: AwsCalls, region: str) -> list[dict]:
    """DescribeDBClusters once per region, whether the cluster rules or the members' deferral ask first."""
    def fetch() -> list[dict]:
        paginator = calls.client("rds", region).get_paginator("describe_db_clusters")
        return [raw for page in paginator.paginate() for raw in page.get("DBClusters", [])]

    return calls.once(f"rds:DescribeDBClusters:{region}", fetch)


def cluster_from(raw: dict, region: str, account_id: Optional[str]) -> RDSCluster:
    cluster = from_api(RDS_CLUSTER, raw, region, account_id)
    assert isinstance(cluster, RDSCluster)
    return cluster


def defer_to_clusters(resources: list[Resource], clusters: list[RDSCluster],
                      missing: str = "DescribeDBClusters did not return") -> None:
    """Give each cluster member its cluster's CLUSTER_LEVEL values (and, in IaC, the cluster's line for them).

    A member whose cluster is not among ``clusters`` keeps those properties unknown, with the reason: its
    instance-level defaults (unencrypted, unprotected) are not what AWS applies to it."""
    by_name = {(c.region, c.name): c for c in clusters}
    for instance in resources:
        if not isinstance(instance, RDSInstance) or not instance.cluster_id:
            continue
        cluster = by_name.get((instance.region, instance.cluster_id))
        for prop in CLUSTER_LEVEL:
            instance.defaults.pop(prop, None)
            instance.unknown.pop(prop, None)
            if cluster is None:
                instance.mark_unknown(prop, f"{prop} is set on the instance's cluster, {instance.cluster_id}, "
                                            f"which {missing}")
                continue
            value = getattr(cluster, prop)
            setattr(instance, prop, list(value) if isinstance(value, list) else value)
            if prop in cluster.unknown:
                instance.mark_unknown(prop, cluster.unknown[prop])
            if prop in cluster.defaults:
                instance.defaults[prop] = cluster.defaults[prop]
            if cluster.source:
                instance.locations[prop] = cluster.locations.get(prop) or SourceLocation(
                    file=cluster.source.file, line=cluster.source.line)


def link_replicas(resources: list[Resource]) -> None:
    """Tell each instance with read replicas whether they run in distinct Availability Zones, none in its own,
    from the replicas' own records (live: DescribeDBInstances; IaC: their blocks). A Multi-AZ primary declared
    in IaC has no zone of its own (AWS picks it, and refuses one given): its replicas are compared with each
    other, and the report says so. Unknown where a zone is not known."""
    by_name = {(r.region, r.name): r for r in resources if isinstance(r, RDSInstance)}
    for primary in by_name.values():
        if not primary.read_replica_ids:
            continue
        replicas = [by_name.get((primary.region, name.rsplit(":", 1)[-1])) for name in primary.read_replica_ids]
        zones = [r.availability_zone if r else None for r in replicas]
        chosen_by_aws = primary.availability_zone is None and primary.multi_az and primary.source is not None
        missing = next((n for n, z in zip(primary.read_replica_ids, zones) if z is None), None) or \
            (primary.name if primary.availability_zone is None and not chosen_by_aws else None)
        if missing:
            primary.mark_unknown("replicas_cross_az", f"the Availability Zone of {missing} is not known")
            continue
        if chosen_by_aws:
            primary.defaults["replicas_cross_az"] = ("AWS default: AWS picks a Multi-AZ primary's zone, so the "
                                                     "replicas' zones are compared with each other")
        primary.replicas_cross_az = len(set(zones)) == len(zones) and primary.availability_zone not in zones


def fetch_subnet_routes(calls: AwsCalls, instance: Resource) -> None:
    """Private subnets: none of the instance's subnets routes 0.0.0.0/0 to an internet gateway, by its route
    table (an explicit association, else its VPC's main table). DescribeRouteTables once per region."""
    assert isinstance(instance, RDSInstance)
    if not instance.subnet_ids:
        raise Unreadable("DescribeDBInstances reports no DB subnet group for the instance")
    public = public_subnets(calls, instance.region, instance.vpc_id, instance.subnet_ids)
    fill_from_api(RDS_INSTANCE, "DescribeRouteTables", {"private": not public}, instance)


def fetch_security_groups(calls: AwsCalls, instance: Resource) -> None:
    """Which of the instance's VPC security groups admit the whole internet (DescribeSecurityGroups per region)."""
    assert isinstance(instance, RDSInstance)
    if not instance.security_group_ids:
        raise Unreadable("DescribeDBInstances reports no VPC security group for the instance")
    open_groups = internet_ingress_groups(calls, instance.region, instance.security_group_ids)
    fill_from_api(RDS_INSTANCE, "DescribeSecurityGroups", {"open": open_groups}, instance)


def fetch_max_connections(calls: AwsCalls, instance: Resource) -> None:
    """The parameter group's max_connections (DescribeDBParameters lists every parameter, engine defaults with
    their formula included; one the group leaves out takes the engine's default formula)."""
    assert isinstance(instance, RDSInstance)
    if not instance.parameter_groups:
        raise Unreadable("DescribeDBInstances reports no DB parameter group for the instance")
    paginator = calls.client("rds", instance.region).get_paginator("describe_db_parameters")
    wanted = {"max_connections": None, "rds.force_ssl": None}
    for page in paginator.paginate(DBParameterGroupName=instance.parameter_groups[0]):
        for parameter in page.get("Parameters", []):
            if parameter.get("ParameterName") in wanted:
                wanted[parameter["ParameterName"]] = parameter.get("ParameterValue")
    fill_from_api(RDS_INSTANCE, "DescribeDBParameters",
                  {"engine": instance.engine, "instance_class": instance.instance_class, "value": wanted["max_connections"],
                   "engine_version": instance.engine_version, "force_ssl": wanted["rds.force_ssl"]}, instance)


def instance_from(raw: dict, region: str, account_id: str) -> RDSInstance:
    """One DescribeDBInstances entry. A field the API leaves out stays unknown, never false."""
    instance = from_api(RDS_INSTANCE, raw, region, account_id)
    assert isinstance(instance, RDSInstance)
    return instance


CLUSTER_LISTED = (
    "tags", "engine", "engine_version", "engine_major_version", "engine_mode", "storage_encrypted", "kms_key_id",
    "backup_retention_days", "deletion_protection", "iam_auth_enabled", "multi_az", "member_ids", "member_count",
    "cloudwatch_logs_exports", "database_name", "parameter_group",
)

CLUSTER_COLLECTOR = Collector(
    service="rds",
    resource_type=RDSCluster,
    list_operation="DescribeDBClusters",
    list_resources=list_clusters,
    listed_properties=CLUSTER_LISTED,
)

COLLECTOR = Collector(
    service="rds",
    resource_type=RDSInstance,
    list_operation="DescribeDBInstances",
    list_resources=paginated_listing("rds", "describe_db_instances", "DBInstances", instance_from),
    listed_properties=LISTED,
    derived={"connection_alarm_share": ("max_connections",)},  # linked with the alarms (collect.link_alarms)
    families={"cluster": Family("cluster", "DescribeDBClusters", CLUSTER_LEVEL, fetch_cluster_level),
              "max_connections": Family("max_connections", "DescribeDBParameters",
                                        RDS_INSTANCE.read_by("DescribeDBParameters"), fetch_max_connections),
              "subnet_routes": Family("subnet_routes", "ec2:DescribeRouteTables", RDS_INSTANCE.read_by("DescribeRouteTables"),
                                      fetch_subnet_routes),
              "security_groups": Family("security_groups", "ec2:DescribeSecurityGroups",
                                        RDS_INSTANCE.read_by("DescribeSecurityGroups"), fetch_security_groups)},
)
