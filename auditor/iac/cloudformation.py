"""CloudFormation (YAML, JSON, CDK synth output, as checkov parsed it) -> normalized resources.

Property names mostly follow the AWS APIs, so the live collectors' parsers are reused where the shapes agree
(alarms, lifecycle, policies). ``Ref`` and ``Fn::GetAtt`` to resources of the same template are resolved to
their names; other intrinsic functions that checkov could not resolve leave the property unknown.
"""
from __future__ import annotations

import json
import re
from typing import Any, Callable

from auditor.collectors.cloudwatch import alarm_from
from auditor.collectors.rds import CLUSTER_LEVEL, multi_az_from_members
from auditor.collectors.s3 import parse_policy, summarize_lifecycle
from auditor.iac.values import Declared, as_bool, clean, key_manager_of, map_safely, pick
from auditor.resources import (
    BucketCors, BucketEncryption, BucketLogging, BucketPolicy, BucketVersioning, CloudWatchAlarm, DynamoDBTable,
    EBSVolume, EFSFileSystem, ElastiCacheReplicationGroup, KeySchema, LifecycleRule, LifecycleTransition,
    ObjectLock, OpenSearchDomain, PublicAccessBlock, RDSCluster, RDSInstance, Resource, S3Bucket, SecondaryIndex,
    SourceLocation, SSMParameter, TablePitr, TableSse, TableStream, TableTtl,
)

NAME_PROPERTY = {
    "AWS::S3::Bucket": "BucketName", "AWS::DynamoDB::Table": "TableName", "AWS::RDS::DBInstance": "DBInstanceIdentifier",
    "AWS::ElastiCache::ReplicationGroup": "ReplicationGroupId", "AWS::OpenSearchService::Domain": "DomainName",
    "AWS::SSM::Parameter": "Name", "AWS::CloudWatch::Alarm": "AlarmName", "AWS::ElastiCache::ParameterGroup": None,
    "AWS::Elasticsearch::Domain": "DomainName", "AWS::RDS::DBCluster": "DBClusterIdentifier",
}
PAB_KEYS = (("BlockPublicAcls", "block_public_acls"), ("IgnorePublicAcls", "ignore_public_acls"),
            ("BlockPublicPolicy", "block_public_policy"), ("RestrictPublicBuckets", "restrict_public_buckets"))


def render(value: Any, params: dict[str, Any], region: str) -> Any:
    """Resolve what needs no deployment: Ref to parameters with defaults and pseudo parameters, Fn::Sub and
    Fn::Join over them. Refs to resources stay, for joins; ${AWS::AccountId} stays, and matches {account_id}."""
    if isinstance(value, list):
        return [render(v, params, region) for v in value]
    if not isinstance(value, dict):
        return value
    if len([k for k in value if not k.startswith("__")]) == 1:
        fn = next(k for k in value if not k.startswith("__"))
        arg = value[fn]
        if fn == "Ref" and isinstance(arg, str) and (arg in params or arg == "AWS::Region"):
            return region if arg == "AWS::Region" else params[arg]
        if fn == "Fn::Sub":
            text, local = (arg[0], render(arg[1], params, region)) if isinstance(arg, list) else (arg, {})
            if isinstance(text, str):
                def sub(match):
                    key = match.group(1)
                    found = local.get(key, params.get(key, region if key == "AWS::Region" else None))
                    return str(found) if isinstance(found, (str, int, float)) else match.group(0)
                return re.sub(r"\$\{([A-Za-z0-9:._-]+)\}", sub, text)
        if fn == "Fn::Join" and isinstance(arg, list) and len(arg) == 2:
            parts = render(arg[1], params, region)
            if isinstance(parts, list) and all(isinstance(p, (str, int, float)) for p in parts):
                return str(arg[0]).join(str(p) for p in parts)
    return {k: render(v, params, region) for k, v in value.items()}


def _line_of(path: str, logical_id: str) -> int:
    """The line declaring a resource, where the parser did not keep it (YAML ``Id:`` or JSON ``"Id":``)."""
    try:
        lines = open(path, encoding="utf-8").read().splitlines()
    except OSError:
        return 1
    pattern = re.compile(rf'^\s*"?{re.escape(logical_id)}"?\s*:')
    return next((n for n, text in enumerate(lines, 1) if pattern.match(text)), 1)


class Template:
    """All resources of the scanned templates, by logical id, to resolve Ref and GetAtt between them."""

    def __init__(self, definitions: dict, root: str, region: str):
        self.region = region
        self.resources: dict[str, tuple[str, dict, str, int]] = {}
        for path, template in definitions.items():
            params = {}
            for name, param in (template.get("Parameters") or {}).items():
                if isinstance(param, dict):  # checkov nests a parameter's fields under Properties
                    default = param.get("Default", (param.get("Properties") or {}).get("Default"))
                    if default is not None:
                        params[name] = default
            for logical_id, body in (template.get("Resources") or {}).items():
                if isinstance(body, dict) and isinstance(body.get("Type"), str):
                    file = str(path)[len(root.rstrip("/")) + 1:] if str(path).startswith(root.rstrip("/") + "/") else str(path)
                    line = body.get("__startline__") or _line_of(str(path), logical_id)
                    self.resources[logical_id] = (body["Type"], render(body.get("Properties") or {}, params, region),
                                                  file, int(line))

    def name(self, logical_id: str) -> str:
        rtype, props, _, _ = self.resources[logical_id]
        key = NAME_PROPERTY.get(rtype)
        value = props.get(key) if key else None
        if rtype == "AWS::EFS::FileSystem":
            value = {t.get("Key"): t.get("Value") for t in props.get("FileSystemTags") or []}.get("Name")
        # A name with ${AWS::AccountId} left in it still matches {account_id} patterns.
        return value if isinstance(value, str) and value else logical_id

    def resolve(self, value: Any) -> Any:
        """Ref / GetAtt to a resource of the templates -> its name (or the logical id when it has none)."""
        value = clean(value)
        if isinstance(value, dict) and len(value) == 1:
            (fn, arg), = value.items()
            if fn == "Ref" and isinstance(arg, str) and arg in self.resources:
                return self.name(arg)
            if fn == "Fn::GetAtt":
                target = arg[0] if isinstance(arg, list) else str(arg).split(".")[0]
                if target in self.resources:
                    return self.name(target)
        return value

    def refers_to(self, value: Any, logical_id: str) -> bool:
        value = clean(value)
        if isinstance(value, dict) and len(value) == 1:
            (fn, arg), = value.items()
            target = arg[0] if isinstance(arg, list) else str(arg).split(".")[0] if fn == "Fn::GetAtt" else arg
            return fn in ("Ref", "Fn::GetAtt") and target == logical_id
        return isinstance(value, str) and value == self.name(logical_id)

    def declares_key(self, value: Any) -> bool:
        """A Ref or GetAtt to a KMS key or alias of this template (customer managed by definition)."""
        value = clean(value)
        if isinstance(value, dict) and len(value) == 1:
            (fn, arg), = value.items()
            target = (arg[0] if isinstance(arg, list) else str(arg).split(".")[0]) if fn == "Fn::GetAtt" else arg
            return fn in ("Ref", "Fn::GetAtt") and isinstance(target, str) and \
                self.resources.get(target, ("",))[0] in ("AWS::KMS::Key", "AWS::KMS::Alias", "AWS::KMS::ReplicaKey")
        return False

    def of_type(self, rtype: str) -> list[tuple[str, dict]]:
        return [(lid, props) for lid, (t, props, _, _) in self.resources.items() if t == rtype]


# Which template property a normalized property comes from, to point a finding at its line.
PROPERTY_LINES = {
    "versioning": "VersioningConfiguration", "encryption": "BucketEncryption",
    "public_access_block": "PublicAccessBlockConfiguration", "effective_public_access_block": "PublicAccessBlockConfiguration",
    "lifecycle": "LifecycleConfiguration", "cors": "CorsConfiguration", "object_lock": "ObjectLockConfiguration",
    "ttl": "TimeToLiveSpecification", "pitr": "PointInTimeRecoverySpecification", "sse": "SSESpecification",
    "stream": "StreamSpecification", "key_schema": "KeySchema", "gsis": "GlobalSecondaryIndexes",
    "gsi_names": "GlobalSecondaryIndexes",
}


def _base(template: Template, logical_id: str, cls: type[Resource]) -> Resource:
    _, props, file, line = template.resources[logical_id]
    name = template.name(logical_id)
    tags = {t.get("Key"): t.get("Value") for t in props.get("Tags") or [] if isinstance(t, dict)}
    resource = cls(id=name, name=name, region=template.region, tags={str(k): str(v) for k, v in tags.items()},
                   source=SourceLocation(file=file, line=line))
    for prop, key in PROPERTY_LINES.items():
        value = props.get(key)
        first = value[0] if isinstance(value, list) and value else value
        if isinstance(first, dict) and first.get("__startline__"):
            resource.locations[prop] = SourceLocation(file=file, line=int(first["__startline__"]))
    return resource


def s3_bucket(t: Template, lid: str) -> S3Bucket:
    d = Declared()
    props = t.resources[lid][1]
    bucket = _base(t, lid, S3Bucket)
    status = (props.get("VersioningConfiguration") or {}).get("Status")
    bucket.versioning = BucketVersioning(status=pick(d, "versioning", status, "str", default="Disabled",
                                                     note="versioning is off until configured") or "Disabled")
    rules = ((props.get("BucketEncryption") or {}).get("ServerSideEncryptionConfiguration") or [])
    if rules:
        default = rules[0].get("ServerSideEncryptionByDefault") or {}
        algorithm = pick(d, "encryption", default.get("SSEAlgorithm"), "str")
        # A key chosen by a condition (!If) is not known statically: encryption is then unknown, not a crash.
        bucket.encryption = BucketEncryption(enabled=bool(algorithm), algorithm=algorithm,
                                             kms_key_id=pick(d, "encryption", t.resolve(default.get("KMSMasterKeyID")), "str"),
                                             bucket_key_enabled=as_bool(rules[0].get("BucketKeyEnabled")))
    else:
        bucket.encryption = BucketEncryption(enabled=True, algorithm="AES256")
        d.default("encryption", "SSE-S3 (AES256) applies to every new bucket since January 2023")
    pab = props.get("PublicAccessBlockConfiguration")
    if pab is not None:
        values = {ours: bool(as_bool(pab.get(theirs))) for theirs, ours in PAB_KEYS}
        bucket.public_access_block = PublicAccessBlock(**values, all_blocked=all(values.values()))
    else:
        bucket.public_access_block = PublicAccessBlock(block_public_acls=True, ignore_public_acls=True,
                                                       block_public_policy=True, restrict_public_buckets=True,
                                                       all_blocked=True)
        d.default("public_access_block", "new buckets block all public access since April 2023")
        d.default("effective_public_access_block", "new buckets block all public access since April 2023")
    bucket.account_public_access_block = PublicAccessBlock()
    d.default("account_public_access_block", "no account-level block unless configured")
    bucket.effective_public_access_block = bucket.public_access_block.model_copy()
    lifecycle = []
    for raw in (props.get("LifecycleConfiguration") or {}).get("Rules") or []:
        transitions = list(raw.get("Transitions") or [])
        if raw.get("Transition"):
            transitions.append(raw["Transition"])
        lifecycle.append(LifecycleRule(
            id=raw.get("Id"), status=str(raw.get("Status", "Enabled")), prefix=str(raw.get("Prefix") or ""),
            transitions=[LifecycleTransition(days=pick(d, "lifecycle", x.get("TransitionInDays"), "int"),
                                             storage_class=str(x.get("StorageClass"))) for x in transitions],
            expiration_days=pick(d, "lifecycle", raw.get("ExpirationInDays"), "int")))
    bucket.lifecycle = summarize_lifecycle(lifecycle)
    if not lifecycle:
        d.default("lifecycle", "no lifecycle rules unless configured")
    policies = [p for _, p in t.of_type("AWS::S3::BucketPolicy") if t.refers_to(p.get("Bucket"), lid)]
    if policies:
        bucket.policy = parse_policy(json.dumps(clean(policies[0].get("PolicyDocument") or {}), default=str))
    else:
        bucket.policy = BucketPolicy()
        d.default("policy", "no bucket policy unless configured")
    cors = (props.get("CorsConfiguration") or {}).get("CorsRules") or []
    bucket.cors = BucketCors(configured=bool(cors), rule_count=len(cors),
                             allowed_origins=sorted({str(o) for r in cors for o in r.get("AllowedOrigins") or []}))
    if not cors:
        d.default("cors", "no CORS rules unless configured")
    logging = props.get("LoggingConfiguration")
    bucket.logging = BucketLogging(enabled=bool(logging),
                                   target_bucket=t.resolve(logging.get("DestinationBucketName")) if logging else None)
    lock = (props.get("ObjectLockConfiguration") or {}).get("Rule", {}).get("DefaultRetention") or {}
    years = pick(d, "object_lock", lock.get("Years"), "int") if lock.get("Years") is not None else None
    bucket.object_lock = ObjectLock(enabled=as_bool(props.get("ObjectLockEnabled")) is True, mode=lock.get("Mode"),
                                    retention_days=pick(d, "object_lock", lock.get("Days"), "int") if lock.get("Days")
                                    else (years * 365 if years else None))
    d.apply(bucket)
    return bucket


def dynamodb_table(t: Template, lid: str) -> DynamoDBTable:
    d = Declared()
    p = t.resources[lid][1]
    table = _base(t, lid, DynamoDBTable)
    types = {a.get("AttributeName"): a.get("AttributeType") for a in p.get("AttributeDefinitions") or []
             if isinstance(a, dict) and isinstance(a.get("AttributeName"), str)}
    keys = p.get("KeySchema") or []
    # An attribute name from a parameter with no default (!Ref KeyName) is not known statically: the key schema
    # is unknown (its checks are error, naming the expression), never a crash.
    hash_key = pick(d, "key_schema", next((k.get("AttributeName") for k in keys if k.get("KeyType") == "HASH"), None), "str")
    range_key = pick(d, "key_schema", next((k.get("AttributeName") for k in keys if k.get("KeyType") == "RANGE"), None), "str")
    table.attribute_types = {str(k): str(v) for k, v in types.items()}
    table.key_schema = KeySchema(partition_key=hash_key, partition_key_type=types.get(hash_key), sort_key=range_key,
                                 sort_key_type=types.get(range_key) if range_key else None)
    table.billing_mode = pick(d, "billing_mode", p.get("BillingMode"), "str", default="PROVISIONED",
                              note="PROVISIONED unless BillingMode says otherwise")
    throughput = p.get("ProvisionedThroughput") or {}
    if table.billing_mode == "PROVISIONED":
        table.read_capacity = pick(d, "read_capacity", throughput.get("ReadCapacityUnits"), "int")
        table.write_capacity = pick(d, "write_capacity", throughput.get("WriteCapacityUnits"), "int")

    def index(raw: dict) -> SecondaryIndex:
        ks = raw.get("KeySchema") or []
        return SecondaryIndex(name=str(raw.get("IndexName")),
                              partition_key=next((k.get("AttributeName") for k in ks if k.get("KeyType") == "HASH"), None),
                              sort_key=next((k.get("AttributeName") for k in ks if k.get("KeyType") == "RANGE"), None),
                              projection_type=(raw.get("Projection") or {}).get("ProjectionType"))

    table.gsis = [index(g) for g in p.get("GlobalSecondaryIndexes") or []]
    table.gsi_names = [g.name for g in table.gsis]
    table.lsis = [index(g) for g in p.get("LocalSecondaryIndexes") or []]
    sse = p.get("SSESpecification") or {}
    if as_bool(sse.get("SSEEnabled")):
        table.sse = TableSse(enabled=True, type="KMS", kms_key_arn=t.resolve(sse.get("KMSMasterKeyId")))
        table.kms_key_manager = key_manager_of(d, "kms_key_manager", sse.get("KMSMasterKeyId"), True, "aws/dynamodb",
                                               t.declares_key(sse.get("KMSMasterKeyId")))
    else:
        table.kms_key_manager = "AWS_OWNED"
        table.sse = TableSse(enabled=True, type="AWS_OWNED")
        if not sse:
            d.default("sse", "encrypted with an AWS owned key unless SSESpecification enables KMS")
    stream = p.get("StreamSpecification") or {}
    table.stream = TableStream(enabled=bool(stream.get("StreamViewType")), view_type=stream.get("StreamViewType"))
    if not stream:
        d.default("stream", "no stream unless StreamSpecification")
    ttl = p.get("TimeToLiveSpecification")
    if ttl:
        table.ttl = TableTtl(status="ENABLED" if pick(d, "ttl", ttl.get("Enabled"), "bool") else "DISABLED",
                             attribute=ttl.get("AttributeName"))
    else:
        table.ttl = TableTtl()
        d.default("ttl", "TTL is off unless configured")
    spec = p.get("PointInTimeRecoverySpecification") or {}
    enabled = pick(d, "pitr", spec.get("PointInTimeRecoveryEnabled"), "bool", default=False,
                   note="point-in-time recovery is off unless configured")
    period = pick(d, "pitr", spec.get("RecoveryPeriodInDays"), "int", default=35) if enabled else None
    table.pitr = TablePitr(status="ENABLED" if enabled else "DISABLED", recovery_period_days=period) \
        if enabled is not None else None
    table.deletion_protection = pick(d, "deletion_protection", p.get("DeletionProtectionEnabled"), "bool",
                                     default=False, note="deletion protection is off unless configured")
    table.table_class = p.get("TableClass") or "STANDARD"
    d.apply(table)
    return table


def db_cluster(t: Template, lid: str) -> RDSCluster:
    d = Declared()
    p = t.resources[lid][1]
    cluster = _base(t, lid, RDSCluster)
    version = pick(d, "engine_version", p.get("EngineVersion"), "str")
    cluster.engine = pick(d, "engine", p.get("Engine"), "str")
    cluster.engine_version, cluster.engine_major_version = version, version.split(".")[0] if version else None
    cluster.engine_mode = pick(d, "engine_mode", p.get("EngineMode"), "str", default="provisioned", note="provisioned")
    serverless_v1 = cluster.engine_mode == "serverless"
    cluster.storage_encrypted = pick(d, "storage_encrypted", p.get("StorageEncrypted"), "bool", default=serverless_v1,
                                     note="encrypted only in serverless engine mode unless StorageEncrypted")
    cluster.kms_key_id = t.resolve(p.get("KmsKeyId")) or ("alias/aws/rds" if cluster.storage_encrypted else None)
    cluster.backup_retention_days = pick(d, "backup_retention_days", p.get("BackupRetentionPeriod"), "int", default=1,
                                         note="1 day of automated backups")
    cluster.deletion_protection = pick(d, "deletion_protection", p.get("DeletionProtection"), "bool", default=False,
                                       note="deletion protection off unless configured")
    cluster.iam_auth_enabled = pick(d, "iam_auth_enabled", p.get("EnableIAMDatabaseAuthentication"), "bool",
                                    default=False, note="IAM authentication off unless enabled")
    cluster.cloudwatch_logs_exports = [str(x) for x in p.get("EnableCloudwatchLogsExports") or []]
    cluster.database_name = p.get("DatabaseName") if isinstance(p.get("DatabaseName"), str) else None
    cluster.parameter_group = t.resolve(p.get("DBClusterParameterGroupName"))
    members = [other for other, props in t.of_type("AWS::RDS::DBInstance")
               if t.refers_to(props.get("DBClusterIdentifier"), lid)]
    cluster.member_ids = [t.name(m) for m in members]
    cluster.member_count = len(members)
    cluster.multi_az, note = multi_az_from_members(cluster.engine, cluster.member_count)
    if note:
        d.default("multi_az", note)
    d.apply(cluster)
    return cluster


def db_instance(t: Template, lid: str) -> RDSInstance:
    d = Declared()
    p = t.resources[lid][1]
    db = _base(t, lid, RDSInstance)
    if p.get("DBClusterIdentifier") is not None:
        return _cluster_member(t, lid, db, d, p)
    version = pick(d, "engine_version", p.get("EngineVersion"), "str")
    db.engine, db.engine_version = pick(d, "engine", p.get("Engine"), "str"), version
    db.engine_major_version = version.split(".")[0] if version else None
    db.instance_class = pick(d, "instance_class", p.get("DBInstanceClass"), "str")
    db.storage_type = pick(d, "storage_type", p.get("StorageType"), "str", default="gp2", note="gp2 unless StorageType")
    db.allocated_storage_gb = pick(d, "allocated_storage_gb", p.get("AllocatedStorage"), "int")
    db.multi_az = pick(d, "multi_az", p.get("MultiAZ"), "bool", default=False, note="single-AZ unless MultiAZ")
    db.backup_retention_days = pick(d, "backup_retention_days", p.get("BackupRetentionPeriod"), "int", default=1,
                                    note="1 day of automated backups")
    db.storage_encrypted = pick(d, "storage_encrypted", p.get("StorageEncrypted"), "bool", default=False,
                                note="unencrypted unless StorageEncrypted")
    db.kms_key_id = t.resolve(p.get("KmsKeyId")) or ("alias/aws/rds" if db.storage_encrypted else None)
    db.performance_insights_enabled = pick(d, "performance_insights_enabled", p.get("EnablePerformanceInsights"),
                                           "bool", default=False, note="Performance Insights off unless enabled")
    retention = p.get("PerformanceInsightsRetentionPeriod")
    db.performance_insights_retention_days = (pick(d, "performance_insights_retention_days", retention, "int")
                                              if retention is not None else (7 if db.performance_insights_enabled else None))
    db.deletion_protection = pick(d, "deletion_protection", p.get("DeletionProtection"), "bool", default=False,
                                  note="deletion protection off unless configured")
    db.publicly_accessible = pick(d, "publicly_accessible", p.get("PubliclyAccessible"), "bool", default=False,
                                  note="not publicly accessible unless configured")
    db.iam_auth_enabled = pick(d, "iam_auth_enabled", p.get("EnableIAMDatabaseAuthentication"), "bool", default=False,
                               note="IAM authentication off unless enabled")
    db.db_name = pick(d, "db_name", p.get("DBName"), "str", note="no database created unless DBName")
    db.master_password_managed = pick(d, "master_password_managed", p.get("ManageMasterUserPassword"), "bool",
                                      default=False, note="the password is yours to keep unless ManageMasterUserPassword")
    group = t.resolve(p.get("DBParameterGroupName"))
    db.parameter_groups = [str(group)] if group else []
    db.cloudwatch_logs_exports = [str(x) for x in p.get("EnableCloudwatchLogsExports") or []]
    source = p.get("SourceDBInstanceIdentifier")
    db.is_read_replica = bool(source)
    db.replica_source = t.resolve(source) if source else None
    replicas = [other for other, props in t.of_type("AWS::RDS::DBInstance")
                if other != lid and t.refers_to(props.get("SourceDBInstanceIdentifier"), lid)]
    db.read_replica_ids = [t.name(r) for r in replicas]
    db.read_replica_count = len(replicas)
    d.apply(db)
    return db


def _cluster_member(t: Template, lid: str, db: RDSInstance, d: Declared, p: dict) -> RDSInstance:
    """An Aurora instance: its class, engine and monitoring; storage, backups and protection come from its
    cluster (collectors.rds.defer_to_clusters, after every template is read)."""
    db.engine = pick(d, "engine", p.get("Engine"), "str")
    db.instance_class = pick(d, "instance_class", p.get("DBInstanceClass"), "str")
    db.storage_type = "aurora"
    d.unknown["allocated_storage_gb"] = "Aurora storage grows with the data: an Aurora instance has no allocated size"
    db.publicly_accessible = pick(d, "publicly_accessible", p.get("PubliclyAccessible"), "bool", default=False,
                                  note="not publicly accessible unless configured")
    db.performance_insights_enabled = pick(d, "performance_insights_enabled", p.get("EnablePerformanceInsights"),
                                           "bool", default=False, note="Performance Insights off unless enabled")
    retention = p.get("PerformanceInsightsRetentionPeriod")
    db.performance_insights_retention_days = (pick(d, "performance_insights_retention_days", retention, "int")
                                              if retention is not None else (7 if db.performance_insights_enabled else None))
    group = t.resolve(p.get("DBParameterGroupName"))
    db.parameter_groups = [str(group)] if group else []
    cluster = t.resolve(p.get("DBClusterIdentifier"))
    if isinstance(cluster, str) and cluster:
        db.cluster_id = cluster
    else:
        for prop in CLUSTER_LEVEL:
            d.unresolved(prop, cluster)
    d.apply(db)
    return db


def replication_group(t: Template, lid: str) -> ElastiCacheReplicationGroup:
    d = Declared()
    p = t.resources[lid][1]
    group = _base(t, lid, ElastiCacheReplicationGroup)
    group.engine = pick(d, "engine", p.get("Engine"), "str", default="redis", note="redis unless Engine")
    group.engine_version = p.get("EngineVersion")
    group.node_type = pick(d, "node_type", p.get("CacheNodeType"), "str")
    if p.get("NumCacheClusters") is not None:
        group.node_count = pick(d, "node_count", p.get("NumCacheClusters"), "int")
    else:
        shards = pick(d, "node_count", p.get("NumNodeGroups"), "int", default=1) or 1
        group.node_count = shards * ((pick(d, "node_count", p.get("ReplicasPerNodeGroup"), "int", default=0) or 0) + 1)
    group.multi_az = pick(d, "multi_az", p.get("MultiAZEnabled"), "bool", default=False, note="Multi-AZ off")
    group.automatic_failover = pick(d, "automatic_failover", p.get("AutomaticFailoverEnabled"), "bool", default=False,
                                    note="automatic failover off")
    group.at_rest_encryption = pick(d, "at_rest_encryption", p.get("AtRestEncryptionEnabled"), "bool", default=False,
                                    note="no encryption at rest unless enabled")
    group.transit_encryption = pick(d, "transit_encryption", p.get("TransitEncryptionEnabled"), "bool", default=False,
                                    note="no encryption in transit unless enabled")
    group.snapshot_retention_days = pick(d, "snapshot_retention_days", p.get("SnapshotRetentionLimit"), "int", default=0,
                                         note="no automatic snapshots")
    group.parameter_group = t.resolve(p.get("CacheParameterGroupName"))
    declared = [props for other, props in t.of_type("AWS::ElastiCache::ParameterGroup")
                if t.refers_to(p.get("CacheParameterGroupName"), other)]
    if declared:
        group.parameters = {str(k): str(v) for k, v in clean(declared[0].get("Properties") or {}).items()}
    else:
        d.unknown["parameters"] = "the parameter group is not declared in this template, so its values are unknown"
    d.apply(group)
    return group


def opensearch_domain(t: Template, lid: str) -> OpenSearchDomain:
    d = Declared()
    p = t.resources[lid][1]
    domain = _base(t, lid, OpenSearchDomain)
    # AWS::Elasticsearch::Domain, the legacy twin, names its cluster config and version differently.
    c, ebs = p.get("ClusterConfig") or p.get("ElasticsearchClusterConfig") or {}, p.get("EBSOptions") or {}
    legacy = p.get("ElasticsearchVersion")
    domain.engine_version = p.get("EngineVersion") or (f"Elasticsearch_{legacy}" if legacy is not None else None)
    domain.instance_type = c.get("InstanceType")
    domain.instance_count = pick(d, "instance_count", c.get("InstanceCount"), "int", default=1, note="one data node")
    domain.dedicated_master_enabled = pick(d, "dedicated_master_enabled", c.get("DedicatedMasterEnabled"), "bool",
                                           default=False, note="no dedicated masters")
    domain.dedicated_master_type = c.get("DedicatedMasterType")
    domain.dedicated_master_count = pick(d, "dedicated_master_count", c.get("DedicatedMasterCount"), "int")
    domain.zone_awareness_enabled = pick(d, "zone_awareness_enabled", c.get("ZoneAwarenessEnabled"), "bool",
                                         default=False, note="zone awareness off")
    azs = (c.get("ZoneAwarenessConfig") or {}).get("AvailabilityZoneCount")
    domain.availability_zone_count = (pick(d, "availability_zone_count", azs, "int", default=2)
                                      if domain.zone_awareness_enabled else 1)
    domain.warm_enabled = pick(d, "warm_enabled", c.get("WarmEnabled"), "bool", default=False, note="UltraWarm off")
    domain.warm_type, domain.warm_count = c.get("WarmType"), pick(d, "warm_count", c.get("WarmCount"), "int")
    domain.ebs_enabled = pick(d, "ebs_enabled", ebs.get("EBSEnabled"), "bool")
    domain.volume_type = ebs.get("VolumeType")
    domain.volume_size_gb = pick(d, "volume_size_gb", ebs.get("VolumeSize"), "int")
    domain.encryption_at_rest = pick(d, "encryption_at_rest", (p.get("EncryptionAtRestOptions") or {}).get("Enabled"),
                                     "bool", default=False, note="no encryption at rest unless enabled")
    domain.node_to_node_encryption = pick(d, "node_to_node_encryption",
                                          (p.get("NodeToNodeEncryptionOptions") or {}).get("Enabled"), "bool",
                                          default=False, note="node-to-node encryption off")
    endpoint = p.get("DomainEndpointOptions") or {}
    domain.enforce_https = pick(d, "enforce_https", endpoint.get("EnforceHTTPS"), "bool", default=False,
                                note="HTTPS not enforced")
    domain.tls_security_policy = endpoint.get("TLSSecurityPolicy")
    d.apply(domain)
    return domain


def efs_file_system(t: Template, lid: str) -> EFSFileSystem:
    d = Declared()
    p = t.resources[lid][1]
    fs = _base(t, lid, EFSFileSystem)
    fs.tags = {str(x.get("Key")): str(x.get("Value")) for x in p.get("FileSystemTags") or []}
    fs.encrypted = pick(d, "encrypted", p.get("Encrypted"), "bool", default=False, note="unencrypted unless Encrypted")
    fs.kms_key_id = t.resolve(p.get("KmsKeyId"))
    fs.kms_key_manager = key_manager_of(d, "kms_key_manager", p.get("KmsKeyId"), fs.encrypted, "aws/elasticfilesystem",
                                        t.declares_key(p.get("KmsKeyId")))
    fs.performance_mode = pick(d, "performance_mode", p.get("PerformanceMode"), "str", default="generalPurpose",
                               note="generalPurpose")
    fs.throughput_mode = pick(d, "throughput_mode", p.get("ThroughputMode"), "str", default="bursting", note="bursting")
    fs.mount_target_count = sum(1 for _, props in t.of_type("AWS::EFS::MountTarget")
                                if t.refers_to(props.get("FileSystemId"), lid))
    fs.backup_policy = str((p.get("BackupPolicy") or {}).get("Status") or "DISABLED")
    d.apply(fs)
    return fs


def ebs_volume(t: Template, lid: str) -> EBSVolume:
    d = Declared()
    p = t.resources[lid][1]
    volume = _base(t, lid, EBSVolume)
    volume.name = volume.tags.get("Name") or lid
    volume.volume_type = pick(d, "volume_type", p.get("VolumeType"), "str", default="gp2", note="gp2 unless VolumeType")
    gp3 = volume.volume_type == "gp3"
    volume.size_gb = pick(d, "size_gb", p.get("Size"), "int")
    volume.iops = pick(d, "iops", p.get("Iops"), "int", default=3000 if gp3 else None, note="3000 IOPS on gp3" if gp3 else "")
    volume.throughput_mbps = pick(d, "throughput_mbps", p.get("Throughput"), "int", default=125 if gp3 else None,
                                  note="125 MB/s on gp3" if gp3 else "")
    volume.encrypted = pick(d, "encrypted", p.get("Encrypted"), "bool", default=False, note="unencrypted unless Encrypted")
    volume.kms_key_id = t.resolve(p.get("KmsKeyId"))
    volume.kms_key_manager = key_manager_of(d, "kms_key_manager", p.get("KmsKeyId"), volume.encrypted, "aws/ebs",
                                            t.declares_key(p.get("KmsKeyId")))
    volume.availability_zone = p.get("AvailabilityZone") if isinstance(p.get("AvailabilityZone"), str) else None
    d.unknown["region_encryption_by_default"] = "the region's EBS encryption default is not part of a template"
    d.apply(volume)
    return volume


def ssm_parameter(t: Template, lid: str) -> SSMParameter:
    """Names and types only: the Value property is never read."""
    d = Declared()
    p = t.resources[lid][1]
    param = _base(t, lid, SSMParameter)
    param.parameter_type = pick(d, "parameter_type", p.get("Type"), "str")
    param.tier = pick(d, "tier", p.get("Tier"), "str", default="Standard", note="Standard tier")
    param.data_type = p.get("DataType") or "text"
    param.description = p.get("Description")
    d.apply(param)
    return param


def metric_alarm(t: Template, lid: str) -> CloudWatchAlarm:
    p = clean(t.resources[lid][1])
    alarm = _base(t, lid, CloudWatchAlarm)
    raw = dict(p)
    raw["AlarmName"] = alarm.name
    raw["Dimensions"] = [{"Name": x.get("Name"), "Value": str(t.resolve(x.get("Value")))} for x in p.get("Dimensions") or []]
    for query in raw.get("Metrics") or []:
        metric = (query.get("MetricStat") or {}).get("Metric") or {}
        metric["Dimensions"] = [{"Name": x.get("Name"), "Value": str(t.resolve(x.get("Value")))}
                                for x in metric.get("Dimensions") or []]
    for key in ("Threshold", "Period", "EvaluationPeriods", "DatapointsToAlarm"):
        if isinstance(raw.get(key), str):
            raw[key] = float(raw[key]) if key == "Threshold" else int(raw[key])
    alarm.alarm = alarm_from(raw)
    return alarm


MAPPERS: dict[str, Callable[[Template, str], Resource]] = {
    "AWS::S3::Bucket": s3_bucket,
    "AWS::DynamoDB::Table": dynamodb_table,
    "AWS::RDS::DBInstance": db_instance,
    "AWS::RDS::DBCluster": db_cluster,
    "AWS::ElastiCache::ReplicationGroup": replication_group,
    "AWS::OpenSearchService::Domain": opensearch_domain,
    "AWS::Elasticsearch::Domain": opensearch_domain,
    "AWS::EFS::FileSystem": efs_file_system,
    "AWS::EC2::Volume": ebs_volume,
    "AWS::SSM::Parameter": ssm_parameter,
    "AWS::CloudWatch::Alarm": metric_alarm,
}


def cloudformation_resources(definitions: dict, root: str, region: str) -> list[Resource]:
    # Each template is its own stack: its Refs are its own, and two templates may use the same logical id.
    out = []
    for path in sorted(definitions, key=str):
        template = Template({path: definitions[path]}, root, region)
        out.extend(map_safely(MAPPERS[rtype], template, lid, lid, file, line)
                   for lid, (rtype, _, file, line) in template.resources.items() if rtype in MAPPERS)
    return out
