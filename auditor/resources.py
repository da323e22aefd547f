"""Normalized resource models, shared by the live collectors and the IaC parsers.

Each model is typed by its CloudFormation name, so one rule judges the live account and the IaC alike.
A property that could not be read stays ``None`` and its family is named in ``unknown`` with the reason:
unknown is not false, and a rule that reads it yields ``error``.
"""
from __future__ import annotations

from typing import Any, ClassVar, Optional

from pydantic import BaseModel, ConfigDict, Field, model_serializer


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SourceLocation(Model):
    """Where an IaC resource is declared; empty for live resources. ``address`` is the Terraform address
    (``module.orders.aws_s3_bucket.this[0]``), which tells two calls of one module apart; ``note`` says how the
    block was read where that matters to the verdict (a count that could not be evaluated)."""

    file: str
    line: Optional[int] = None
    address: Optional[str] = None
    note: Optional[str] = None

    @model_serializer(mode="wrap")
    def _without_empty(self, handler: Any) -> Any:
        data = handler(self)
        for key in ("address", "note"):
            if isinstance(data, dict) and data.get(key) is None:
                data.pop(key, None)
        return data


class Alarm(Model):
    """A CloudWatch metric alarm as a rule sees it, on its own or linked to the resource it watches."""

    name: str
    namespace: Optional[str] = None
    metric_name: Optional[str] = None
    dimensions: dict[str, str] = Field(default_factory=dict)
    statistic: Optional[str] = None
    extended_statistic: Optional[str] = None
    period: Optional[int] = None
    evaluation_periods: Optional[int] = None
    datapoints_to_alarm: Optional[int] = None
    threshold: Optional[float] = None
    comparison_operator: Optional[str] = None
    treat_missing_data: Optional[str] = None
    actions_enabled: Optional[bool] = None
    alarm_actions: list[str] = Field(default_factory=list)
    description: Optional[str] = None
    uses_metric_math: bool = False
    metric_math_expression: Optional[str] = None
    # Its threshold is an anomaly-detection band (ANOMALY_DETECTION_BAND), the "baseline" of the metric.
    uses_anomaly_detection: bool = False
    # Every metric the alarm reads: its own, or each MetricStat of its metric math (e.g. 4xxErrors, AllRequests).
    metric_names: list[str] = Field(default_factory=list)
    # How long the metric must breach before the alarm fires (period x datapoints to alarm), in seconds.
    breach_seconds: Optional[int] = None
    # A FreeStorageSpace alarm on a DB instance: its threshold as a share of the allocated storage, in %
    # ("alert at 80 % capacity" is a threshold of 20 % free).
    threshold_share_of_storage: Optional[float] = None


class Resource(Model):
    """What every normalized resource has: identity, tags, and what could not be read."""

    type: ClassVar[str] = ""
    id: str
    name: str
    arn: Optional[str] = None
    region: str
    account_id: Optional[str] = None
    tags: dict[str, str] = Field(default_factory=dict)
    alarms: list[Alarm] = Field(default_factory=list)
    unknown: dict[str, str] = Field(default_factory=dict)
    source: Optional[SourceLocation] = None
    # IaC only: properties the template leaves unset, filled with the value AWS documents as default.
    defaults: dict[str, str] = Field(default_factory=dict)
    # IaC only: where a property is declared, when not in the resource's own block (a companion resource).
    locations: dict[str, SourceLocation] = Field(default_factory=dict)

    def mark_unknown(self, family: str, reason: str) -> None:
        self.unknown[family] = reason

    def reference(self) -> dict[str, Any]:
        return {"type": self.type, "id": self.id, "arn": self.arn, "name": self.name, "region": self.region}


# --- S3 -------------------------------------------------------------------------------------------------


class PublicAccessBlock(Model):
    block_public_acls: bool = False
    ignore_public_acls: bool = False
    block_public_policy: bool = False
    restrict_public_buckets: bool = False
    all_blocked: bool = False

    @classmethod
    def of(cls, **flags: bool) -> "PublicAccessBlock":
        """The four settings as given, and whether all of them block."""
        return cls(**flags, all_blocked=all(flags.values()))

    @classmethod
    def new_bucket_default(cls) -> "PublicAccessBlock":
        """What AWS applies to a new bucket since April 2023: every setting on."""
        return cls.of(block_public_acls=True, ignore_public_acls=True, block_public_policy=True,
                      restrict_public_buckets=True)


class BucketEncryption(Model):
    enabled: bool = False
    algorithm: Optional[str] = None  # AES256, aws:kms, aws:kms:dsse
    kms_key_id: Optional[str] = None
    bucket_key_enabled: Optional[bool] = None


class BucketVersioning(Model):
    status: str = "Disabled"  # Enabled, Suspended, Disabled (never enabled)
    mfa_delete: str = "Disabled"


class LifecycleTransition(Model):
    days: Optional[int] = None
    storage_class: str


class LifecycleRule(Model):
    id: Optional[str] = None
    status: str = "Enabled"
    prefix: str = ""
    transitions: list[LifecycleTransition] = Field(default_factory=list)
    expiration_days: Optional[int] = None
    noncurrent_expiration_days: Optional[int] = None
    abort_incomplete_multipart_days: Optional[int] = None


class BucketLifecycle(Model):
    rules: list[LifecycleRule] = Field(default_factory=list)
    # Smallest enabled transition day per storage class (GLACIER, STANDARD_IA, ...), for simple rules.
    transition_days: dict[str, int] = Field(default_factory=dict)
    expiration_days: Optional[int] = None


class BucketPolicy(Model):
    exists: bool = False
    denies_insecure_transport: bool = False
    allows_public_principal: bool = False
    # Object reads (s3:GetObject) the policy allows: to a CloudFront origin access identity or origin access
    # control ("OAI only access"), and to anyone else.
    grants_reads_to_cdn: bool = False
    grants_reads_to_others: bool = False


class BucketCors(Model):
    configured: bool = False
    rule_count: int = 0
    allowed_origins: list[str] = Field(default_factory=list)


class BucketLogging(Model):
    enabled: bool = False
    target_bucket: Optional[str] = None


class ObjectLock(Model):
    enabled: bool = False
    mode: Optional[str] = None
    retention_days: Optional[int] = None


class CdnBehavior(Model):
    """One cache behavior of a CloudFront distribution, with the origin it routes to."""

    distribution: str
    path_pattern: str = "*"  # "*" for the default behavior
    origin_id: Optional[str] = None
    bucket: Optional[str] = None  # the S3 bucket of that origin, when it is one
    origin_access: Optional[str] = None  # how CloudFront reads that bucket: OAI, OAC or none
    default_ttl: Optional[int] = None  # seconds (the behavior's own, or its cache policy's)
    cache_policy_id: Optional[str] = None
    viewer_protocol_policy: Optional[str] = None
    # This behavior's fields that could not be read (its cache policy's TTL): a rule on them is error, while
    # the rules on its other fields (HTTPS) still judge it.
    unknown: dict[str, str] = Field(default_factory=dict)

    @model_serializer(mode="wrap")
    def _without_empty(self, handler: Any) -> Any:
        data = handler(self)
        if isinstance(data, dict) and not data.get("unknown"):
            data.pop("unknown", None)
        return data


class BucketCdn(Model):
    """How CloudFront serves a bucket: linked from the distributions whose origins are this bucket."""

    served: bool = False
    distributions: list[str] = Field(default_factory=list)
    behaviors: list[CdnBehavior] = Field(default_factory=list)


class S3Bucket(Resource):
    type: ClassVar[str] = "AWS::S3::Bucket"
    versioning: Optional[BucketVersioning] = None
    encryption: Optional[BucketEncryption] = None
    public_access_block: Optional[PublicAccessBlock] = None
    account_public_access_block: Optional[PublicAccessBlock] = None
    # Bucket-level or account-level block, whichever is stricter per setting.
    effective_public_access_block: Optional[PublicAccessBlock] = None
    lifecycle: Optional[BucketLifecycle] = None
    policy: Optional[BucketPolicy] = None
    cors: Optional[BucketCors] = None
    logging: Optional[BucketLogging] = None
    object_lock: Optional[ObjectLock] = None
    cdn: Optional[BucketCdn] = None  # linked from CloudFront distributions (collectors.cloudfront.link_cdn)
    replication: Optional[bool] = None  # an enabled replication rule copies its objects to another bucket
    intelligent_tiering_configurations: Optional[int] = None  # enabled archive configurations
    # Objects move to S3 Intelligent-Tiering: a lifecycle transition to it, or an enabled configuration.
    intelligent_tiering: Optional[bool] = None


# --- DynamoDB -------------------------------------------------------------------------------------------


class KeySchema(Model):
    partition_key: Optional[str] = None
    partition_key_type: Optional[str] = None
    sort_key: Optional[str] = None
    sort_key_type: Optional[str] = None


class SecondaryIndex(Model):
    name: str
    partition_key: Optional[str] = None
    sort_key: Optional[str] = None
    projection_type: Optional[str] = None
    read_capacity: Optional[int] = None
    write_capacity: Optional[int] = None


class TableSse(Model):
    enabled: bool = True  # DynamoDB always encrypts; AWS_OWNED when no SSEDescription
    type: str = "AWS_OWNED"  # AWS_OWNED, KMS (AWS managed or customer key)
    kms_key_arn: Optional[str] = None


class TableStream(Model):
    enabled: bool = False
    view_type: Optional[str] = None


class TableTtl(Model):
    status: str = "DISABLED"
    attribute: Optional[str] = None


class TablePitr(Model):
    status: str = "DISABLED"
    recovery_period_days: Optional[int] = None


class DynamoDBTable(Resource):
    type: ClassVar[str] = "AWS::DynamoDB::Table"
    status: Optional[str] = None
    key_schema: Optional[KeySchema] = None
    attribute_types: dict[str, str] = Field(default_factory=dict)
    billing_mode: Optional[str] = None
    read_capacity: Optional[int] = None
    write_capacity: Optional[int] = None
    gsis: list[SecondaryIndex] = Field(default_factory=list)
    gsi_names: list[str] = Field(default_factory=list)
    lsis: list[SecondaryIndex] = Field(default_factory=list)
    sse: Optional[TableSse] = None
    # Who manages sse.kms_key_arn: AWS (aws/dynamodb) or CUSTOMER; AWS_OWNED when DynamoDB's own key encrypts.
    kms_key_manager: Optional[str] = None
    stream: Optional[TableStream] = None
    deletion_protection: Optional[bool] = None
    table_class: Optional[str] = None
    ttl: Optional[TableTtl] = None
    pitr: Optional[TablePitr] = None


# --- RDS ------------------------------------------------------------------------------------------------


class RDSInstance(Resource):
    type: ClassVar[str] = "AWS::RDS::DBInstance"
    engine: Optional[str] = None
    engine_version: Optional[str] = None
    engine_major_version: Optional[str] = None
    instance_class: Optional[str] = None
    storage_type: Optional[str] = None
    allocated_storage_gb: Optional[int] = None
    multi_az: Optional[bool] = None
    backup_retention_days: Optional[int] = None
    storage_encrypted: Optional[bool] = None
    kms_key_id: Optional[str] = None
    performance_insights_enabled: Optional[bool] = None
    performance_insights_retention_days: Optional[int] = None
    deletion_protection: Optional[bool] = None
    publicly_accessible: Optional[bool] = None
    iam_auth_enabled: Optional[bool] = None
    parameter_groups: list[str] = Field(default_factory=list)
    cloudwatch_logs_exports: list[str] = Field(default_factory=list)
    read_replica_ids: list[str] = Field(default_factory=list)
    read_replica_count: int = 0
    replica_source: Optional[str] = None
    is_read_replica: bool = False
    db_name: Optional[str] = None  # the database created with the instance (DBName)
    availability_zone: Optional[str] = None  # where the instance (or a replica) runs
    # The most connections the engine accepts: its parameter group's max_connections, a number or the engine's
    # formula of the class memory (LEAST({DBInstanceClassMemory/9531392},5000) for PostgreSQL).
    max_connections: Optional[int] = None
    # The lowest threshold of its DatabaseConnections alarms, as a share of max_connections in % (linked).
    connection_alarm_share: Optional[float] = None
    subnet_ids: list[str] = Field(default_factory=list)  # of its DB subnet group
    vpc_id: Optional[str] = None
    # No subnet of its DB subnet group routes 0.0.0.0/0 (or ::/0) to an internet gateway.
    in_private_subnets: Optional[bool] = None
    # Regions its automated backups are replicated to (cross-region automated-backup replication).
    backup_replication_regions: list[str] = Field(default_factory=list)
    # The read replicas run in distinct Availability Zones, none in this instance's (collectors.rds.link_replicas).
    replicas_cross_az: Optional[bool] = None
    master_password_managed: Optional[bool] = None  # the master password kept by RDS in Secrets Manager
    # Where the master password is kept: rds-managed, secrets-manager (the IaC reads it from a secret, or a tag
    # names one) or literal (written in the IaC); None when that cannot be told.
    master_password_source: Optional[str] = None
    # An Aurora (or Multi-AZ DB cluster) member: its storage, backup and protection are its cluster's, and are
    # read from the cluster (CLUSTER_LEVEL in collectors/rds.py), as AWS applies them.
    cluster_id: Optional[str] = None


class RDSCluster(Resource):
    """An Aurora cluster (or a Multi-AZ DB cluster): the storage, backups and protection its instances share."""

    type: ClassVar[str] = "AWS::RDS::DBCluster"
    engine: Optional[str] = None
    engine_version: Optional[str] = None
    engine_major_version: Optional[str] = None
    engine_mode: Optional[str] = None
    storage_encrypted: Optional[bool] = None
    kms_key_id: Optional[str] = None
    backup_retention_days: Optional[int] = None
    deletion_protection: Optional[bool] = None
    iam_auth_enabled: Optional[bool] = None
    multi_az: Optional[bool] = None
    member_ids: list[str] = Field(default_factory=list)
    member_count: Optional[int] = None
    cloudwatch_logs_exports: list[str] = Field(default_factory=list)
    database_name: Optional[str] = None
    parameter_group: Optional[str] = None


# --- ElastiCache ----------------------------------------------------------------------------------------


class ElastiCacheReplicationGroup(Resource):
    type: ClassVar[str] = "AWS::ElastiCache::ReplicationGroup"
    engine: Optional[str] = None
    engine_version: Optional[str] = None
    node_type: Optional[str] = None
    node_count: Optional[int] = None
    member_clusters: list[str] = Field(default_factory=list)
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


# --- OpenSearch -----------------------------------------------------------------------------------------


class OpenSearchDomain(Resource):
    type: ClassVar[str] = "AWS::OpenSearchService::Domain"
    engine_version: Optional[str] = None
    instance_type: Optional[str] = None
    instance_count: Optional[int] = None
    dedicated_master_enabled: Optional[bool] = None
    dedicated_master_type: Optional[str] = None
    dedicated_master_count: Optional[int] = None
    zone_awareness_enabled: Optional[bool] = None
    availability_zone_count: Optional[int] = None
    warm_enabled: Optional[bool] = None
    warm_type: Optional[str] = None
    warm_count: Optional[int] = None
    ebs_enabled: Optional[bool] = None
    volume_type: Optional[str] = None
    volume_size_gb: Optional[int] = None
    encryption_at_rest: Optional[bool] = None
    kms_key_id: Optional[str] = None
    node_to_node_encryption: Optional[bool] = None
    enforce_https: Optional[bool] = None
    tls_security_policy: Optional[str] = None


# --- EFS, EBS, SSM, CloudWatch --------------------------------------------------------------------------


class EfsAccessPoint(Model):
    """An EFS access point: the directory it roots clients in, and how it creates it."""

    id: str
    path: Optional[str] = None
    permissions: Optional[str] = None  # the octal mode it creates the root directory with, e.g. "700"


class EFSFileSystem(Resource):
    type: ClassVar[str] = "AWS::EFS::FileSystem"
    encrypted: Optional[bool] = None
    kms_key_id: Optional[str] = None
    kms_key_manager: Optional[str] = None  # AWS (aws/elasticfilesystem) or CUSTOMER; None when not encrypted
    performance_mode: Optional[str] = None
    throughput_mode: Optional[str] = None
    mount_target_count: Optional[int] = None
    backup_policy: Optional[str] = None  # ENABLED, DISABLED, ...
    access_points: list[EfsAccessPoint] = Field(default_factory=list)
    access_point_count: Optional[int] = None
    mount_target_security_groups: list[list[str]] = Field(default_factory=list)  # per mount target
    # Every mount target is in an EKS cluster's security group (linked: collectors.eks.link_cluster_security_groups).
    in_eks_cluster_security_group: Optional[bool] = None


class EBSVolume(Resource):
    type: ClassVar[str] = "AWS::EC2::Volume"
    volume_type: Optional[str] = None
    size_gb: Optional[int] = None
    iops: Optional[int] = None
    throughput_mbps: Optional[int] = None
    encrypted: Optional[bool] = None
    kms_key_id: Optional[str] = None
    state: Optional[str] = None
    attached: Optional[bool] = None
    availability_zone: Optional[str] = None
    kms_key_manager: Optional[str] = None  # AWS (aws/ebs) or CUSTOMER; None when not encrypted
    # Region-wide "EBS encryption by default" setting, which new volumes inherit.
    region_encryption_by_default: Optional[bool] = None


class SSMParameter(Resource):
    """Names and types only: the value of a parameter is never read."""

    type: ClassVar[str] = "AWS::SSM::Parameter"
    parameter_type: Optional[str] = None  # String, StringList, SecureString
    tier: Optional[str] = None
    data_type: Optional[str] = None
    kms_key_id: Optional[str] = None
    description: Optional[str] = None


class DAXCluster(Resource):
    """A DynamoDB Accelerator cluster: the read cache in front of DynamoDB tables."""

    type: ClassVar[str] = "AWS::DAX::Cluster"
    node_type: Optional[str] = None
    node_count: Optional[int] = None
    sse_enabled: Optional[bool] = None
    endpoint_encryption: Optional[str] = None  # TLS or NONE
    status: Optional[str] = None


class BackupRule(Model):
    """One rule of an AWS Backup plan: when it runs and how long its recovery points are kept."""

    name: str
    schedule: Optional[str] = None  # cron(...) or rate(...)
    weekly: Optional[bool] = None  # the schedule runs once a week
    delete_after_days: Optional[int] = None  # None: kept until deleted by hand


class BackupPlan(Resource):
    """An AWS Backup plan and the resources its selections name."""

    type: ClassVar[str] = "AWS::Backup::BackupPlan"
    rules: list[BackupRule] = Field(default_factory=list)
    # The longest retention among the weekly rules (0 when no rule runs weekly).
    weekly_retention_days: Optional[int] = None
    selected_resources: list[str] = Field(default_factory=list)  # ARNs or wildcards of its backup selections
    selects_dynamodb: Optional[bool] = None  # a selection names DynamoDB tables (an ARN, a table wildcard or "*")
    # The DynamoDB table names its selections cover, as patterns ("Products-production", "Sessions-*", "*").
    selected_tables: list[str] = Field(default_factory=list)


class CloudFrontDistribution(Resource):
    """A CloudFront distribution: its origins and cache behaviors (a global resource, read in us-east-1)."""

    type: ClassVar[str] = "AWS::CloudFront::Distribution"
    enabled: Optional[bool] = None
    behaviors: list[CdnBehavior] = Field(default_factory=list)
    origin_buckets: list[str] = Field(default_factory=list)


class EKSCluster(Resource):
    """An EKS cluster: its Kubernetes version, the security group EKS made for it, and its add-ons."""

    type: ClassVar[str] = "AWS::EKS::Cluster"
    version: Optional[str] = None
    cluster_security_group_id: Optional[str] = None
    addons: dict[str, str] = Field(default_factory=dict)  # add-on name -> version (e.g. aws-ebs-csi-driver)


class CloudWatchAlarm(Resource):
    type: ClassVar[str] = "AWS::CloudWatch::Alarm"
    alarm: Optional[Alarm] = None


RESOURCE_MODELS: dict[str, type[Resource]] = {
    model.type: model
    for model in (
        S3Bucket,
        DynamoDBTable,
        RDSInstance,
        RDSCluster,
        ElastiCacheReplicationGroup,
        OpenSearchDomain,
        EFSFileSystem,
        EBSVolume,
        SSMParameter,
        DAXCluster,
        BackupPlan,
        CloudFrontDistribution,
        EKSCluster,
        CloudWatchAlarm,
    )
}
