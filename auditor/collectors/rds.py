"""RDS DB instances: one paginated describe_db_instances per region returns every property we read."""
from __future__ import annotations

from typing import Iterable

from auditor.collectors.base import AwsCalls, Collector
from auditor.resources import RDSInstance, Resource

LISTED = (
    "tags", "engine", "engine_version", "engine_major_version", "instance_class", "storage_type",
    "allocated_storage_gb", "multi_az", "backup_retention_days", "storage_encrypted", "kms_key_id",
    "performance_insights_enabled", "performance_insights_retention_days", "deletion_protection",
    "publicly_accessible", "iam_auth_enabled", "parameter_groups", "cloudwatch_logs_exports", "read_replica_ids",
    "read_replica_count", "replica_source", "is_read_replica",
)


def list_instances(calls: AwsCalls, region: str) -> Iterable[Resource]:
    client = calls.client("rds", region)
    for page in client.get_paginator("describe_db_instances").paginate():
        for raw in page.get("DBInstances", []):
            yield instance_from(raw, region, calls.account_id)


def instance_from(raw: dict, region: str, account_id: str) -> RDSInstance:
    """Normalize one DescribeDBInstances entry. A field the API leaves out stays unknown, never false."""
    version = raw.get("EngineVersion")
    replicas = list(raw.get("ReadReplicaDBInstanceIdentifiers", []))
    instance = RDSInstance(
        id=raw["DBInstanceIdentifier"],
        name=raw["DBInstanceIdentifier"],
        arn=raw.get("DBInstanceArn"),
        region=region,
        account_id=account_id,
        tags={t["Key"]: t["Value"] for t in raw.get("TagList", [])},
        engine=raw.get("Engine"),
        engine_version=version,
        engine_major_version=version.split(".")[0] if version else None,
        instance_class=raw.get("DBInstanceClass"),
        storage_type=raw.get("StorageType"),
        allocated_storage_gb=raw.get("AllocatedStorage"),
        multi_az=raw.get("MultiAZ"),
        backup_retention_days=raw.get("BackupRetentionPeriod"),
        storage_encrypted=raw.get("StorageEncrypted"),
        kms_key_id=raw.get("KmsKeyId"),
        performance_insights_enabled=raw.get("PerformanceInsightsEnabled"),
        performance_insights_retention_days=raw.get("PerformanceInsightsRetentionPeriod"),
        deletion_protection=raw.get("DeletionProtection"),
        publicly_accessible=raw.get("PubliclyAccessible"),
        iam_auth_enabled=raw.get("IAMDatabaseAuthenticationEnabled"),
        parameter_groups=[g["DBParameterGroupName"] for g in raw.get("DBParameterGroups", [])],
        cloudwatch_logs_exports=list(raw.get("EnabledCloudwatchLogsExports", [])),
        read_replica_ids=replicas,
        read_replica_count=len(replicas),
        replica_source=raw.get("ReadReplicaSourceDBInstanceIdentifier"),
        is_read_replica=bool(raw.get("ReadReplicaSourceDBInstanceIdentifier")),
    )
    for prop, key in (("performance_insights_enabled", "PerformanceInsightsEnabled"), ("multi_az", "MultiAZ"),
                      ("storage_encrypted", "StorageEncrypted"), ("deletion_protection", "DeletionProtection"),
                      ("publicly_accessible", "PubliclyAccessible")):
        if key not in raw:
            instance.mark_unknown(prop, f"DescribeDBInstances did not report {key}")
    if "PerformanceInsightsEnabled" not in raw:
        instance.mark_unknown("performance_insights_retention_days",
                              "DescribeDBInstances did not report PerformanceInsightsEnabled")
    return instance


COLLECTOR = Collector(
    service="rds",
    resource_type=RDSInstance,
    list_operation="DescribeDBInstances",
    list_resources=list_instances,
    listed_properties=LISTED,
)
