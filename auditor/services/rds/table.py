"""RDS instances and clusters: storage, backups, replicas, subnets, max_connections."""
from __future__ import annotations

import re
from typing import Any, Optional

from auditor.services.common import flat, major_version
from auditor.services.fields import Defaulted, Field, TypeMap, Unknown, iac_value
from auditor.services.model import Resource
from auditor.services.network import internet_ingress_iac, subnets_private_iac
from auditor.services.rds.model import RDSCluster, RDSInstance
from auditor.services.values import Declared, as_bool, as_int, get, is_unresolved, one


_RDS_KEY = dict(default=lambda r: "alias/aws/rds" if r.storage_encrypted else None,
                note=lambda r: "the AWS managed key aws/rds" if r.storage_encrypted else "")


def _pi_retention(days: int):
    return lambda r: days if r.performance_insights_enabled else None


def _replicas(rtype: str, attribute: str):
    return lambda props, ctx: [name for name, _ in ctx.pointing(rtype, attribute)]


_SUBNET_GROUP = {"tf": ("aws_db_subnet_group", "db_subnet_group_name", "subnet_ids"),
                 "cfn": ("AWS::RDS::DBSubnetGroup", "DBSubnetGroupName", "SubnetIds")}


def _private_subnets_iac(source: str):
    """Is every subnet of the instance's DB subnet group private? Read through the IaC's subnet group, route
    table associations and routes; unknown where one of them is not declared in it."""
    group_type, group_key, subnets_key = _SUBNET_GROUP[source]

    def read(props: dict, ctx: Any) -> Any:
        group_ref = iac_value(props, group_key)
        if group_ref is None:
            return Defaulted(False, "no DB subnet group: the default VPC's subnets, which route to an internet gateway")
        groups = ctx.named(group_type, group_ref)
        if not groups:
            return Unknown(f"the DB subnet group {str(ctx.resolve(group_ref))[:80]} is not declared in this IaC")
        return subnets_private_iac(source, ctx, flat(iac_value(groups[0], subnets_key)))
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


def force_ssl_of(engine: Any, major_version: Any, value: Any, noted: bool = True) -> Any:
    """rds.force_ssl as a boolean: the parameter's value, or the engine's default when the group leaves it unset
    (RDS for PostgreSQL 15 and later default to 1, earlier versions to 0). None for an engine without it."""
    if not str(engine or "").startswith("postgres"):
        return None
    if value is not None:
        flag = as_int(value)
        return Unknown(f"rds.force_ssl {str(value)[:80]} is not 0 or 1") if flag not in (0, 1) else bool(flag)
    major = as_int(str(major_version or "").split(".")[0])
    if major is None:
        return Unknown(f"the PostgreSQL version {major_version} is not known, nor so rds.force_ssl's default")
    if not noted:  # the API lists every parameter with its value: a missing one is the engine's default
        return major >= 15
    return Defaulted(major >= 15, f"rds.force_ssl is {1 if major >= 15 else 0} by default on PostgreSQL {major}")


def _group_parameter_iac(parameter_name: str, group_type: str, group: str, parameter: str, name: str, value: str,
                         judge: Any):
    """A parameter of the instance's DB parameter group as the IaC declares it (Terraform ``parameter`` blocks,
    CloudFormation's ``Parameters`` map), turned into the property by ``judge(props, value)``."""
    def read(props: dict, ctx: Any) -> Any:
        groups = ctx.named(group_type, iac_value(props, group)) if iac_value(props, group) is not None else []
        if iac_value(props, group) is not None and not groups:
            return Unknown(f"the parameter group {str(ctx.resolve(iac_value(props, group)))[:80]} is not declared in this IaC")
        params = groups[0] if groups else {}
        if parameter == "Parameters":  # CloudFormation: a map of name to value
            found = (params.get("Parameters") or {}).get(parameter_name)
        else:
            found = next((iac_value(b, value) for b in ctx.blocks(params, parameter) if iac_value(b, name) == parameter_name), None)
        return judge(props, found)
    return read


def _max_connections_iac(*where: str):
    return _group_parameter_iac("max_connections", *where, judge=lambda props, found: max_connections_of(
        iac_value(props, "engine|Engine"), iac_value(props, "instance_class|DBInstanceClass"), found))


def _force_ssl_iac(*where: str):
    return _group_parameter_iac("rds.force_ssl", *where, judge=lambda props, found: force_ssl_of(
        iac_value(props, "engine|Engine"), iac_value(props, "engine_version|EngineVersion"), found))


_SECRET_REF = ("secretsmanager", "secrets_manager", "aws_secretsmanager_secret")


def _password_source_api(raw: dict) -> Any:
    """Where the master password is kept: ``rds-managed`` (MasterUserSecret), ``secrets-manager`` where a tag
    names the secret, else unknown: the RDS API does not say where a password set by hand comes from."""
    if raw.get("MasterUserSecret"):
        return "rds-managed"
    tags = {str(t.get("Key")): str(t.get("Value")) for t in raw.get("TagList") or [] if isinstance(t, dict)}
    if any("arn:aws" in v and ":secretsmanager:" in v for v in tags.values()):
        return "secrets-manager"
    return Unknown("the master password is not managed by RDS, and the RDS API does not show whether it comes "
                   "from Secrets Manager (a tag holding the secret's ARN would)")


def _password_source_iac(managed: str, password: str, replica_of: str):
    """``rds-managed`` (manage_master_user_password); ``secrets-manager`` when the password is read from a secret
    (data.aws_secretsmanager_secret_version..., {{resolve:secretsmanager:...}}); ``literal`` for a password
    written in the IaC; unknown for one from a variable or parameter, whose source the IaC does not show."""
    def read(props: dict, ctx: Any) -> Any:
        if as_bool(iac_value(props, managed)):
            return "rds-managed"
        value = iac_value(props, password)
        if value is None:
            if iac_value(props, replica_of) is not None:
                return Defaulted(None, "a read replica takes its source's master password")
            return Unknown("neither a managed master password nor a password is declared")
        text = str(value)
        if any(ref in text.lower() for ref in _SECRET_REF):
            return "secrets-manager"
        if isinstance(value, str) and not is_unresolved(value) and "{{resolve:" not in value:
            return "literal"
        return Unknown(f"the password comes from {text[:100]}: the IaC does not show whether that is Secrets Manager")
    return read


def _rds_api(raw: dict, resource: Resource) -> None:
    _rds_iac(raw, resource)
    if "PerformanceInsightsEnabled" not in raw:
        resource.mark_unknown("performance_insights_retention_days",
                              "DescribeDBInstances did not report PerformanceInsightsEnabled")


def _rds_iac(props: dict, resource: Resource, ctx: Any = None, declared: Any = None) -> None:
    assert isinstance(resource, RDSInstance)
    major_version(resource)
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
        Field("master_password_source", "raw", api=_password_source_api,
              tf=_password_source_iac("manage_master_user_password", "password", "replicate_source_db"),
              cfn=_password_source_iac("ManageMasterUserPassword", "MasterUserPassword", "SourceDBInstanceIdentifier")),
        Field("master_password_managed", "bool", api=lambda raw: bool(raw.get("MasterUserSecret")),
              tf="manage_master_user_password", cfn="ManageMasterUserPassword", default=False,
              note="the password is yours to keep unless manage_master_user_password"),
        Field("parameter_groups", "strings", api=lambda raw: [g["DBParameterGroupName"] for g in raw.get("DBParameterGroups", [])],
              tf=lambda p, ctx: [g] if (g := ctx.resolve(get(p, "parameter_group_name"))) else [],
              cfn=lambda p, ctx: [g] if (g := ctx.resolve(p.get("DBParameterGroupName"))) else []),
        Field("cloudwatch_logs_exports", "strings", api="EnabledCloudwatchLogsExports",
              tf=lambda p, ctx: flat(p.get("enabled_cloudwatch_logs_exports")), cfn="EnableCloudwatchLogsExports"),
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
        Field("force_ssl", "raw", api_call="DescribeDBParameters",
              api=lambda raw: force_ssl_of(raw["engine"], raw.get("engine_version"), raw.get("force_ssl"), noted=False),
              tf=_force_ssl_iac("aws_db_parameter_group", "parameter_group_name", "parameter", "name", "value"),
              cfn=_force_ssl_iac("AWS::RDS::DBParameterGroup", "DBParameterGroupName", "Parameters", "", "")),
        Field("subnet_ids", "strings",
              api=lambda raw: [s["SubnetIdentifier"] for s in (raw.get("DBSubnetGroup") or {}).get("Subnets", [])]),
        Field("vpc_id", api="DBSubnetGroup.VpcId"),
        Field("security_group_ids", "strings",
              api=lambda raw: [g["VpcSecurityGroupId"] for g in raw.get("VpcSecurityGroups", [])]),
        Field("internet_ingress_groups", "raw", api_call="DescribeSecurityGroups", api=lambda raw: raw["open"],
              tf=internet_ingress_iac("tf", "vpc_security_group_ids"),
              cfn=internet_ingress_iac("cfn", "VPCSecurityGroups")),
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


def _cluster_api(raw: dict, resource: Resource) -> None:
    assert isinstance(resource, RDSCluster)
    major_version(resource)
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
        major_version(cluster)
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
              tf=lambda p, ctx: flat(p.get("enabled_cloudwatch_logs_exports")), cfn="EnableCloudwatchLogsExports"),
        Field("database_name", api="DatabaseName", tf="database_name", cfn="DatabaseName"),
        Field("parameter_group", "ref", api="DBClusterParameterGroup", tf="db_cluster_parameter_group_name",
              cfn="DBClusterParameterGroupName"),
    ),
    finish_api=_cluster_api, finish_tf=_cluster_members("aws_rds_cluster_instance", "cluster_identifier"),
    finish_cfn=_cluster_members("AWS::RDS::DBInstance", "DBClusterIdentifier"),
)
