"""Build an account exactly to spec 002 (ecommerce-platform) in moto, and the drifts the demo injects.

The names are the pack's parameter defaults. ``DRIFTS`` maps a drift's name to the function that makes it
and to the rule that must catch it; the tests break each in turn.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Callable

from auditor.demo.mockaws import MockAccount, database_security_group, db_subnet_group
from auditor.services.rds.table import max_connections_of

SPEC = {
    "production": {"rds_class": "db.r6g.2xlarge", "storage": 1000, "retention": 35, "multi_az": True, "replicas": 2,
                   "billing": "PAY_PER_REQUEST", "os_type": "r6g.xlarge.search", "os_count": 3, "os_volume": 500,
                   "masters": True, "azs": 3, "warm": True},
    "staging": {"rds_class": "db.r6g.xlarge", "storage": 500, "retention": 14, "multi_az": True, "replicas": 1,
                "billing": "PAY_PER_REQUEST", "os_type": "r6g.large.search", "os_count": 2, "os_volume": 100,
                "masters": False, "azs": 2, "warm": False},
    "development": {"rds_class": "db.r6g.large", "storage": 200, "retention": 7, "multi_az": False, "replicas": 0,
                    "billing": "PROVISIONED", "os_type": "r6g.large.search", "os_count": 2, "os_volume": 100,
                    "masters": False, "azs": 2, "warm": False},
}

LIFECYCLES = {
    "product-images": [(30, "STANDARD_IA"), (90, "GLACIER")],
    "order-documents": [(30, "STANDARD_IA"), (180, "GLACIER")],
    "application-logs": [(30, "STANDARD_IA"), (60, "GLACIER")],  # the nearest S3 allows to §6.1's 14/30
    "database-backups": [(30, "STANDARD_IA"), (60, "GLACIER")],  # the nearest S3 allows to §6.1's 7/30
}
VERSIONED = ("product-images", "order-documents", "database-backups")
PURPOSES = ("product-images", "order-documents", "application-logs", "database-backups", "static-assets")
CACHES = {"session-cache": "cache.r6g.large", "product-cache": "cache.r6g.xlarge", "api-cache": "cache.r6g.large"}
TABLES = ("Products", "UserPreferences", "ProductCatalog", "Sessions")


# Names this mock account gives what spec 002 leaves unnamed (its buckets, search domain and caches): the demo
# sets them as pack parameters, as a real config.yaml would for a real account.
DEMO_PARAMETERS = {"ecommerce-platform": {
    "search_domain": "product-search-{env}",
    "product_images_bucket": "ecommerce-product-images-{env}",
    "order_documents_bucket": "ecommerce-order-documents-{env}",
    "application_logs_bucket": "ecommerce-application-logs-{env}",
    "database_backups_bucket": "ecommerce-database-backups-{env}",
    "static_assets_bucket": "ecommerce-static-assets-{env}",
    "session_cache": "session-cache-{env}",
    "product_cache": "product-cache-{env}",
    "api_cache": "api-cache-{env}",
    "dax_cluster": "ecommerce-dax-{env}",
    "backup_plan": "ecommerce-weekly-{env}",
    "critical_tables": ["ProductCatalog-{env}"],
    "audit_log_groups": ["/ecommerce/{env}/audit"],
    "large_upload_buckets": ["{product_images_bucket}"],
    "access_point_buckets": ["{order_documents_bucket}"],
}}


# What moto cannot build: it has no cross-region automated-backup replication (StartDBInstanceAutomatedBackups-
# Replication answers an HTML 500) and no global-table replicas (UpdateTable's ReplicaUpdates are accepted, never
# kept), so scans of this mock account waive ECOM-RDS-024 and ECOM-DDB-019, saying why.
MOTO_WAIVERS = [{"id": "W-MOTO-BACKUP-REPLICATION", "rule": "ECOM-RDS-024", "resource": "product-db-*",
                 "reason": "moto cannot replicate automated backups to another region", "owner": "auditor-tests",
                 "expires": "2099-12-31"},
                {"id": "W-MOTO-GLOBAL-TABLES", "rule": "ECOM-DDB-019", "resource": "ProductCatalog-*",
                 "reason": "moto accepts replica updates but keeps no replica", "owner": "auditor-tests",
                 "expires": "2099-12-31"}]


def bucket(purpose: str, env: str) -> str:
    return f"ecommerce-{purpose}-{env}"


def build_account(aws: MockAccount, env: str = "production", skip: tuple[str, ...] = ()) -> None:
    """Provision everything spec 002 asks for in ``env``; ``skip`` leaves out named parts (drifts by absence)."""
    spec = SPEC[env]
    kms_key = aws.kms.create_key(Description="ecommerce data")["KeyMetadata"]["Arn"]
    _rds(aws, env, spec, kms_key, skip)
    _tables(aws, env, spec, kms_key, skip)
    _search(aws, env, spec)
    _buckets(aws, env, kms_key, skip)
    _caches(aws, env, skip)
    _dax(aws, env, skip)
    _backup_plan(aws, env, skip)
    _cdn(aws, env, skip)
    _audit_logs(aws, env, skip)
    aws.s3control.put_public_access_block(AccountId="123456789012", PublicAccessBlockConfiguration={  # §6.2
        "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True, "RestrictPublicBuckets": True})
    aws.ec2.enable_ebs_encryption_by_default()


def _alarm(aws: MockAccount, name: str, namespace: str, metric: str, dimension: tuple[str, str], comparison: str,
           threshold: float, period: int = 300, statistic: str = "Average", description: str = "",
           evaluation_periods: int = 1) -> None:
    aws.cloudwatch.put_metric_alarm(
        AlarmName=name, Namespace=namespace, MetricName=metric, Dimensions=[{"Name": dimension[0], "Value": dimension[1]}],
        Statistic=statistic, Period=period, EvaluationPeriods=evaluation_periods, Threshold=threshold,
        ComparisonOperator=comparison,
        AlarmDescription=description or f"{metric} on {dimension[1]}",
    )


def _rds(aws: MockAccount, env: str, spec: dict, kms_key: str, skip: tuple[str, ...] = ()) -> None:
    db = f"product-db-{env}"
    aws.rds.create_db_parameter_group(DBParameterGroupName=f"custom-postgres14-{env}", DBParameterGroupFamily="postgres14",
                                      Description="spec 002 3.1")
    if "tls-optional" not in skip:
        aws.rds.modify_db_parameter_group(DBParameterGroupName=f"custom-postgres14-{env}", Parameters=[  # §3.2: TLS
            {"ParameterName": "rds.force_ssl", "ParameterValue": "1", "ApplyMethod": "immediate"}])
    group = db_subnet_group(aws, f"product-db-{env}-subnets", public="public-subnets" in skip)
    access = database_security_group(aws, group, open_to_internet="db-open-to-internet" in skip)  # §3.2
    aws.rds.create_db_instance(
        DBSubnetGroupName=group, VpcSecurityGroupIds=[access], DBInstanceIdentifier=db, Engine="postgres", EngineVersion="14.9", DBInstanceClass=spec["rds_class"],
        AllocatedStorage=spec["storage"], StorageType="gp3", MultiAZ=spec["multi_az"],
        BackupRetentionPeriod=spec["retention"], StorageEncrypted=True, KmsKeyId=kms_key,
        EnablePerformanceInsights=True, PerformanceInsightsRetentionPeriod=7, DeletionProtection=env == "production",
        PubliclyAccessible=False, EnableIAMDatabaseAuthentication=True, DBParameterGroupName=f"custom-postgres14-{env}",
        EnableCloudwatchLogsExports=["postgresql", "upgrade"], MasterUsername="dbadmin", AvailabilityZone="us-east-1a",
        ManageMasterUserPassword=True, Tags=[{"Key": "Environment", "Value": env}],
    )
    _alarm(aws, f"{db}-cpu", "AWS/RDS", "CPUUtilization", ("DBInstanceIdentifier", db), "GreaterThanOrEqualToThreshold", 80)
    _alarm(aws, f"{db}-free-storage", "AWS/RDS", "FreeStorageSpace", ("DBInstanceIdentifier", db), "LessThanThreshold",
           spec["storage"] * 0.2 * 1024 ** 3)
    most = max_connections_of("postgres", spec["rds_class"], None)  # the engine default: the group sets none
    _alarm(aws, f"{db}-connections", "AWS/RDS", "DatabaseConnections", ("DBInstanceIdentifier", db),
           "GreaterThanThreshold", (0.95 if "late-connections-alarm" in skip else 0.8) * most)
    for n in range(1, spec["replicas"] + 1):
        replica = f"{db}-replica-{n}"
        zone = "us-east-1a" if "replica-same-az" in skip else f"us-east-1{'bc'[n - 1]}"
        aws.rds.create_db_instance_read_replica(DBInstanceIdentifier=replica, SourceDBInstanceIdentifier=db,
                                                PubliclyAccessible=False, AvailabilityZone=zone)
        _alarm(aws, f"{replica}-lag", "AWS/RDS", "ReplicaLag", ("DBInstanceIdentifier", replica), "GreaterThanThreshold",
               30, period=60, statistic="Maximum")


def _tables(aws: MockAccount, env: str, spec: dict, kms_key: str, skip: tuple[str, ...]) -> None:
    def gsi(name: str, hash_key: str, range_key: str | None = None) -> dict:
        keys = [{"AttributeName": hash_key, "KeyType": "HASH"}]
        if range_key:
            keys.append({"AttributeName": range_key, "KeyType": "RANGE"})
        index = {"IndexName": name, "KeySchema": keys, "Projection": {"ProjectionType": "ALL"}}
        if spec["billing"] == "PROVISIONED":
            index["ProvisionedThroughput"] = {"ReadCapacityUnits": 5, "WriteCapacityUnits": 5}
        return index

    tables = {
        "Products": (("productId", None), [gsi("category-index", "category"), gsi("brand-index", "brand")], False),
        "UserPreferences": (("userId", None), [], True),
        "ProductCatalog": (("catalogId", "productId"),
                           [gsi("category-index", "category", "createDate"), gsi("date-index", "createDate")], True),
        "Sessions": (("sessionId", None), [gsi("userId-index", "userId"), gsi("expiryTime-index", "expiryTime")], False),
    }
    if "sessions-sort-key" in skip:  # a drift: a sort key the spec's Sessions table does not have
        tables["Sessions"] = (("sessionId", "userId"), *tables["Sessions"][1:])
    for table, ((hash_key, range_key), gsis, stream) in tables.items():
        name = f"{table}-{env}"
        if name in skip:
            continue
        keys = [{"AttributeName": hash_key, "KeyType": "HASH"}] + (
            [{"AttributeName": range_key, "KeyType": "RANGE"}] if range_key else [])
        attributes = {k["AttributeName"] for k in keys} | {k["AttributeName"] for g in gsis for k in g["KeySchema"]}
        params = {
            "TableName": name, "KeySchema": keys,
            "AttributeDefinitions": [{"AttributeName": a, "AttributeType": "S"} for a in sorted(attributes)],
            "BillingMode": spec["billing"], "SSESpecification": {"Enabled": True, "SSEType": "KMS", "KMSMasterKeyId": kms_key},
            "DeletionProtectionEnabled": env == "production",
            "Tags": [{"Key": "Environment", "Value": env}],
        }
        if gsis:
            params["GlobalSecondaryIndexes"] = gsis
        if spec["billing"] == "PROVISIONED":
            params["ProvisionedThroughput"] = {"ReadCapacityUnits": 5, "WriteCapacityUnits": 5}
        if stream:
            params["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
        aws.dynamodb.create_table(**params)
        aws.dynamodb.update_continuous_backups(
            TableName=name, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True})
        if spec["billing"] == "PROVISIONED" and "no-autoscaling" not in skip:  # §4.1.1: with auto-scaling
            _autoscale(aws, name)
    if f"Sessions-{env}" not in skip and "sessions-ttl" not in skip:
        aws.dynamodb.update_time_to_live(TableName=f"Sessions-{env}",
                                         TimeToLiveSpecification={"Enabled": True, "AttributeName": "expiryTime"})


def _autoscale(aws: MockAccount, table: str) -> None:
    """Target tracking on read and write capacity, as the DynamoDB console's auto scaling sets it up."""
    for unit, metric in (("ReadCapacityUnits", "DynamoDBReadCapacityUtilization"),
                         ("WriteCapacityUnits", "DynamoDBWriteCapacityUtilization")):
        target = {"ServiceNamespace": "dynamodb", "ResourceId": f"table/{table}",
                  "ScalableDimension": f"dynamodb:table:{unit}"}
        aws.application_autoscaling.register_scalable_target(**target, MinCapacity=5, MaxCapacity=100)
        aws.application_autoscaling.put_scaling_policy(
            **target, PolicyName=f"{table}-{unit}", PolicyType="TargetTrackingScaling",
            TargetTrackingScalingPolicyConfiguration={"TargetValue": 70.0, "PredefinedMetricSpecification": {
                "PredefinedMetricType": metric}})


def _dax(aws: MockAccount, env: str, skip: tuple[str, ...]) -> None:
    """§4.2: DAX in front of the frequently read tables (encrypted, TLS endpoint: the baseline's DAX rules)."""
    name = f"ecommerce-dax-{env}"
    if name not in skip:
        aws.dax.create_cluster(ClusterName=name, NodeType="dax.r5.large", ReplicationFactor=3,
                               IamRoleArn=f"arn:aws:iam::123456789012:role/{name}", SSESpecification={"Enabled": True},
                               ClusterEndpointEncryptionType="TLS")


def _backup_plan(aws: MockAccount, env: str, skip: tuple[str, ...]) -> None:
    """§4.3: weekly on-demand backups kept 90 days. (moto answers HTTP 500 to backup selections, so the plan's
    selection of the tables is not made here: that check is an error against moto, tested with the Stubber.)"""
    days = 30 if "short-weekly-backups" in skip else 90
    aws.backup.create_backup_plan(BackupPlan={"BackupPlanName": f"ecommerce-weekly-{env}", "Rules": [{
        "RuleName": "weekly-full", "TargetBackupVaultName": "Default", "ScheduleExpression": "cron(0 5 ? * SUN *)",
        "Lifecycle": {"DeleteAfterDays": days}}]})


def _cdn(aws: MockAccount, env: str, skip: tuple[str, ...]) -> None:
    """§6.3/§7.2: one distribution for the static assets (7 days), the product images (24 hours) and the API
    (its origin's Cache-Control headers: the managed UseOriginCacheControlHeaders policy)."""
    def behavior(origin: str, ttl: int, path: str | None = None) -> dict:
        entry = {"TargetOriginId": origin, "ViewerProtocolPolicy": "redirect-to-https", "MinTTL": 0,
                 "DefaultTTL": ttl, "MaxTTL": 31536000,
                 "ForwardedValues": {"QueryString": False, "Cookies": {"Forward": "none"}}}
        return {"PathPattern": path, **entry} if path else entry

    origins = [{"Id": purpose, "DomainName": f"{bucket(purpose, env)}.s3.amazonaws.com",
                "S3OriginConfig": {"OriginAccessIdentity": ""}} for purpose in ("static-assets", "product-images")]
    images_ttl = 3600 if "images-ttl-1h" in skip else 86400
    aws.cloudfront.create_distribution(DistributionConfig={
        "CallerReference": f"ecommerce-{env}", "Comment": f"ecommerce {env}", "Enabled": True,
        "Origins": {"Quantity": 3, "Items": origins + [{
            "Id": "api", "DomainName": f"api-{env}.shop.example.com",
            "CustomOriginConfig": {"HTTPPort": 80, "HTTPSPort": 443, "OriginProtocolPolicy": "https-only"}}]},
        "DefaultCacheBehavior": behavior("static-assets", 604800),
        "CacheBehaviors": {"Quantity": 2, "Items": [behavior("product-images", images_ttl, "/images/*"), {
            "PathPattern": "/api/*", "TargetOriginId": "api", "ViewerProtocolPolicy": "https-only",
            # a forced minimum caches even what the API marks no-cache (a drift)
            **({"MinTTL": 300, "DefaultTTL": 300, "MaxTTL": 3600,
                "ForwardedValues": {"QueryString": True, "Cookies": {"Forward": "none"}}}
               if "api-min-ttl" in skip else {"CachePolicyId": "83da9c7e-98b4-4e11-a168-04f0df8e2c65"})}]}})


def _audit_logs(aws: MockAccount, env: str, skip: tuple[str, ...]) -> None:
    """§8.1: audit logs in CloudWatch Logs, kept 7 years (2557 days, as CloudWatch Logs offers it)."""
    group = f"/ecommerce/{env}/audit"
    aws.logs.create_log_group(logGroupName=group)
    aws.logs.put_retention_policy(logGroupName=group, retentionInDays=365 if "audit-logs-1y" in skip else 2557)


def _search(aws: MockAccount, env: str, spec: dict) -> None:
    cluster = {"InstanceType": spec["os_type"], "InstanceCount": spec["os_count"], "ZoneAwarenessEnabled": True,
               "ZoneAwarenessConfig": {"AvailabilityZoneCount": spec["azs"]}, "DedicatedMasterEnabled": spec["masters"],
               "WarmEnabled": spec["warm"]}
    if spec["masters"]:
        cluster.update(DedicatedMasterType="m6g.large.search", DedicatedMasterCount=3)
    if spec["warm"]:  # production: UltraWarm, and cold storage for indices 91-365 days old (§5.2)
        cluster.update(WarmType="ultrawarm1.medium.search", WarmCount=2, ColdStorageOptions={"Enabled": True})
    aws.opensearch.create_domain(
        DomainName=f"product-search-{env}", EngineVersion="OpenSearch_2.11", ClusterConfig=cluster,
        EBSOptions={"EBSEnabled": True, "VolumeType": "gp3", "VolumeSize": spec["os_volume"]},
        EncryptionAtRestOptions={"Enabled": True}, NodeToNodeEncryptionOptions={"Enabled": True},
        DomainEndpointOptions={"EnforceHTTPS": True},
    )


def tls_only_policy(name: str) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [{
        "Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
        "Resource": [f"arn:aws:s3:::{name}", f"arn:aws:s3:::{name}/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]})


def _buckets(aws: MockAccount, env: str, kms_key: str, skip: tuple[str, ...] = ()) -> None:
    for purpose in PURPOSES:
        name = bucket(purpose, env)
        aws.s3.create_bucket(Bucket=name, ObjectLockEnabledForBucket=purpose == "order-documents")
        sensitive = purpose in ("order-documents", "database-backups")
        default = {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": kms_key} if sensitive else {"SSEAlgorithm": "AES256"}
        aws.s3.put_bucket_encryption(Bucket=name, ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": default}]})
        if purpose in VERSIONED:
            aws.s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
        if purpose in LIFECYCLES:
            rule = {"ID": "spec-002-6.1", "Status": "Enabled", "Filter": {},
                    "Transitions": [{"Days": d, "StorageClass": c} for d, c in LIFECYCLES[purpose]]}
            if purpose == "application-logs":
                rule["Expiration"] = {"Days": 365}
            aws.s3.put_bucket_lifecycle_configuration(Bucket=name, LifecycleConfiguration={"Rules": [rule]})
        if purpose != "static-assets":
            aws.s3.put_public_access_block(Bucket=name, PublicAccessBlockConfiguration={
                "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True,
                "RestrictPublicBuckets": True})
        if purpose == "order-documents":
            aws.s3.put_object_lock_configuration(Bucket=name, ObjectLockConfiguration={
                "ObjectLockEnabled": "Enabled", "Rule": {"DefaultRetention": {"Mode": "COMPLIANCE", "Years": 7}}})
        aws.s3.put_bucket_policy(Bucket=name, Policy=tls_only_policy(name))
        if purpose == "product-images" and "no-acceleration" not in skip:  # §6.3: large uploads accelerated
            aws.s3.put_bucket_accelerate_configuration(Bucket=name, AccelerateConfiguration={"Status": "Enabled"})
        if purpose == "order-documents":  # §6.3: the billing service reads order documents through its access point
            aws.s3control.create_access_point(AccountId="123456789012", Name=f"billing-{env}", Bucket=name)
        aws.s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": [{"Key": "Environment", "Value": env}]})
        _bucket_alarms(aws, name, skip)


def _bucket_alarms(aws: MockAccount, name: str, skip: tuple[str, ...]) -> None:
    """§10.2: request rate against an anomaly-detection band; alarms on 4xx and on 5xx errors."""
    dimensions = [{"Name": "BucketName", "Value": name}, {"Name": "FilterId", "Value": "EntireBucket"}]
    aws.s3.put_bucket_metrics_configuration(Bucket=name, Id="EntireBucket", MetricsConfiguration={"Id": "EntireBucket"})
    # A drift: a fixed threshold instead of the anomaly-detection band.
    band = f"{name}:fixed-request-threshold" not in skip
    aws.cloudwatch.put_metric_alarm(
        AlarmName=f"{name}-request-rate", ComparisonOperator="GreaterThanUpperThreshold", EvaluationPeriods=3,
        ThresholdMetricId="band", Metrics=[
            {"Id": "m1", "ReturnData": True, "MetricStat": {"Metric": {"Namespace": "AWS/S3", "MetricName": "AllRequests",
                                                                        "Dimensions": dimensions},
                                                             "Period": 300, "Stat": "Sum"}},
            {"Id": "band", "Expression": "ANOMALY_DETECTION_BAND(m1, 2)" if band else "m1 * 0 + 10000",
             "ReturnData": True}])
    for metric in ("4xxErrors", "5xxErrors"):
        if f"{name}:{metric}" in skip:
            continue
        aws.cloudwatch.put_metric_alarm(
            AlarmName=f"{name}-{metric}", Namespace="AWS/S3", MetricName=metric, Dimensions=dimensions, Statistic="Sum",
            Period=300, EvaluationPeriods=3, Threshold=10, ComparisonOperator="GreaterThanThreshold")


def _caches(aws: MockAccount, env: str, skip: tuple[str, ...]) -> None:
    for purpose, node_type in CACHES.items():
        group = f"{purpose}-{env}"
        if group in skip:
            continue
        aws.elasticache.create_replication_group(
            ReplicationGroupId=group, ReplicationGroupDescription=f"spec 002 7.1 {purpose}", Engine="redis",
            CacheNodeType=node_type, NumNodeGroups=1, ReplicasPerNodeGroup=2, MultiAZEnabled=True,
            AutomaticFailoverEnabled=True, AtRestEncryptionEnabled=True, TransitEncryptionEnabled=True,
            SnapshotRetentionLimit=7,  # §7.1.1: one node per AZ
            PreferredCacheClusterAZs=["us-east-1a", "us-east-1b", "us-east-1b" if f"{purpose}-shared-az" in skip else "us-east-1c"],
        )
        for member in (f"{group}-001", f"{group}-002", f"{group}-003"):
            _alarm(aws, f"{member}-hit-rate", "AWS/ElastiCache", "CacheHitRate", ("CacheClusterId", member),
                   "LessThanThreshold", 80)
            _alarm(aws, f"{member}-evictions", "AWS/ElastiCache", "Evictions", ("CacheClusterId", member),
                   "GreaterThanThreshold", 0, statistic="Sum")


# --- drifts --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Drift:
    """A change away from the spec, the rule that must catch it, and what the finding must say."""

    description: str
    rule_id: str
    control: str
    resource: str
    expected: object
    actual: object
    apply: Callable[[MockAccount, str], None]
    skip: tuple[str, ...] = ()
    # Other (rule, resource) failures the same change causes, beyond the drifted resource's own.
    also_fails: tuple[tuple[str, str], ...] = ()


def _suspend_versioning(aws: MockAccount, env: str) -> None:
    aws.s3.put_bucket_versioning(Bucket=bucket("order-documents", env), VersioningConfiguration={"Status": "Suspended"})


def _shorten_backups(aws: MockAccount, env: str) -> None:
    aws.rds.modify_db_instance(DBInstanceIdentifier=f"product-db-{env}", BackupRetentionPeriod=7, ApplyImmediately=True)


def _pitr_off(aws: MockAccount, env: str) -> None:
    aws.dynamodb.update_continuous_backups(TableName=f"UserPreferences-{env}",
                                           PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": False})


def _late_glacier(aws: MockAccount, env: str) -> None:
    aws.s3.put_bucket_lifecycle_configuration(Bucket=bucket("product-images", env), LifecycleConfiguration={"Rules": [
        {"ID": "tiering", "Status": "Enabled", "Filter": {},
         "Transitions": [{"Days": 30, "StorageClass": "STANDARD_IA"}, {"Days": 120, "StorageClass": "GLACIER"}]}]})


def _expire_static_assets(aws: MockAccount, env: str) -> None:
    aws.s3.put_bucket_lifecycle_configuration(Bucket=bucket("static-assets", env), LifecycleConfiguration={"Rules": [
        {"ID": "expire", "Status": "Enabled", "Filter": {}, "Expiration": {"Days": 90}}]})


def _weak_cpu_alarm(aws: MockAccount, env: str) -> None:
    db = f"product-db-{env}"
    _alarm(aws, f"{db}-cpu", "AWS/RDS", "CPUUtilization", ("DBInstanceIdentifier", db), "GreaterThanOrEqualToThreshold", 95)


def _late_storage_alarm(aws: MockAccount, env: str) -> None:
    """An alarm at 5 % free space fires when the database is 95 % full, not 80 %."""
    db = f"product-db-{env}"
    _alarm(aws, f"{db}-free-storage", "AWS/RDS", "FreeStorageSpace", ("DBInstanceIdentifier", db), "LessThanThreshold",
           SPEC[env]["storage"] * 0.05 * 1024 ** 3)


def _brief_cpu_alarm(aws: MockAccount, env: str) -> None:
    """80 % for one minute is not 80 % sustained for five."""
    db = f"product-db-{env}"
    _alarm(aws, f"{db}-cpu", "AWS/RDS", "CPUUtilization", ("DBInstanceIdentifier", db), "GreaterThanOrEqualToThreshold", 80,
           period=60)


def _unblock_public_access(aws: MockAccount, env: str) -> None:
    """The account-level block switched off, and the backups bucket's own removed: that bucket is now public."""
    aws.s3control.delete_public_access_block(AccountId="123456789012")
    aws.s3.delete_public_access_block(Bucket=bucket("database-backups", env))


def _sse_s3_for_backups(aws: MockAccount, env: str) -> None:
    aws.s3.put_bucket_encryption(Bucket=bucket("database-backups", env), ServerSideEncryptionConfiguration={
        "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]})


def _no_failover(aws: MockAccount, env: str) -> None:
    aws.elasticache.modify_replication_group(ReplicationGroupId=f"session-cache-{env}", MultiAZEnabled=False,
                                             AutomaticFailoverEnabled=False, ApplyImmediately=True)


def _nothing(aws: MockAccount, env: str) -> None:
    """The drift is made by leaving something out of build_account (``skip``)."""


DRIFTS: dict[str, Drift] = {
    "versioning-suspended": Drift("order documents bucket versioning suspended", "ECOM-S3-002", "versioning",
                                  "ecommerce-order-documents-{env}", "Enabled", "Suspended", _suspend_versioning),
    "short-backups": Drift("product database keeps 7 days of backups", "ECOM-RDS-007", "backup", "product-db-{env}",
                           ">= 35", 7, _shorten_backups),
    "pitr-off": Drift("UserPreferences without point-in-time recovery", "ECOM-DDB-010", "pitr", "UserPreferences-{env}",
                      "ENABLED", "DISABLED", _pitr_off),
    "late-glacier": Drift("product images to Glacier after 120 days", "ECOM-S3-004", "lifecycle",
                          "ecommerce-product-images-{env}", 90, 120, _late_glacier),
    "weak-cpu-alarm": Drift("CPU alarm at 95 % instead of 80 %", "ECOM-RDS-016", "alarm", "product-db-{env}",
                            None, None, _weak_cpu_alarm),
    "late-storage-alarm": Drift("free-storage alarm at 5 % free instead of 20 %", "ECOM-RDS-017", "alarm",
                                "product-db-{env}", None, None, _late_storage_alarm),
    "brief-cpu-alarm": Drift("CPU alarm after 1 minute at 80 % instead of 5", "ECOM-RDS-016", "alarm", "product-db-{env}",
                             None, None, _brief_cpu_alarm),
    "static-assets-expire": Drift("static assets expired after 90 days", "ECOM-S3-013", "lifecycle",
                                  "ecommerce-static-assets-{env}", None, None, _expire_static_assets),
    "public-backups": Drift("account-level public access block off, and the database backups bucket's own removed",
                            "ECOM-S3-010", "public_access_block", "ecommerce-database-backups-{env}", True, False,
                            _unblock_public_access,
                            also_fails=tuple(("ECOM-S3-019", bucket(p, "{env}")) for p in PURPOSES if p != "static-assets")),
    "backups-sse-s3": Drift("database backups encrypted with SSE-S3, not KMS", "ECOM-S3-009", "encryption",
                            "ecommerce-database-backups-{env}", "in ['aws:kms', 'aws:kms:dsse']", "AES256",
                            _sse_s3_for_backups),
    "session-cache-no-failover": Drift("session cache without Multi-AZ", "ECOM-CACHE-004", "high_availability",
                                       "session-cache-{env}", True, False, _no_failover),
    "sessions-ttl-off": Drift("Sessions table without TTL", "ECOM-DDB-008", "ttl", "Sessions-{env}", "ENABLED",
                              "DISABLED", _nothing, skip=("sessions-ttl",)),
    "sessions-sort-key": Drift("Sessions table keyed by sessionId and userId", "ECOM-DDB-007", "configuration",
                               "Sessions-{env}", None, None, _nothing, skip=("sessions-sort-key",)),
    "dax-missing": Drift("no DAX cluster in front of the tables", "ECOM-DDB-015", "existence", "ecommerce-dax-{env}",
                         "present", "absent", _nothing, skip=("ecommerce-dax-{env}",)),
    "short-weekly-backups": Drift("weekly backups kept 30 days, not 90", "ECOM-DDB-016", "backup",
                                  "ecommerce-weekly-{env}", ">= 90", 30, _nothing, skip=("short-weekly-backups",)),
    "images-ttl-1h": Drift("product images cached 1 hour by CloudFront, not 24", "ECOM-S3-014", "configuration",
                           "ecommerce-product-images-{env}", None, None, _nothing, skip=("images-ttl-1h",)),
    "replica-same-az": Drift("read replicas in the primary's Availability Zone", "ECOM-RDS-023", "high_availability",
                             "product-db-{env}", True, False, _nothing, skip=("replica-same-az",)),
    "public-subnets": Drift("product database in subnets that route to an internet gateway", "ECOM-RDS-025",
                            "public_access_block", "product-db-{env}", True, False, _nothing, skip=("public-subnets",)),
    "cache-shared-az": Drift("two session cache nodes in one Availability Zone", "ECOM-CACHE-004", "high_availability",
                             "session-cache-{env}", None, None, _nothing, skip=("session-cache-shared-az",)),
    "audit-logs-1y": Drift("audit logs kept one year, not seven", "ECOM-LOG-001", "backup", "/ecommerce/{env}/audit",
                           ">= 2557", 365, _nothing, skip=("audit-logs-1y",)),
    "no-acceleration": Drift("product images bucket without Transfer Acceleration", "ECOM-S3-020", "configuration",
                             "ecommerce-product-images-{env}", "Enabled", "Disabled", _nothing,
                             skip=("no-acceleration",)),
    "db-open-to-internet": Drift("product database security group admits PostgreSQL from 0.0.0.0/0", "ECOM-RDS-027",
                                 "public_access_block", "product-db-{env}", None, None, _nothing,
                                 skip=("db-open-to-internet",)),
    "late-connections-alarm": Drift("connection alarm at 95 % of max_connections, not 80 %", "ECOM-RDS-018", "alarm",
                                    "product-db-{env}", None, None, _nothing, skip=("late-connections-alarm",)),
    "fixed-request-threshold": Drift("application logs request rate against a fixed number, not a baseline",
                                     "ECOM-S3-016", "alarm", "ecommerce-application-logs-{env}", None, None, _nothing,
                                     skip=("ecommerce-application-logs-{env}:fixed-request-threshold",)),
    "no-5xx-alarm": Drift("order documents bucket without a 5xx alarm", "ECOM-S3-017", "alarm",
                          "ecommerce-order-documents-{env}", None, None, _nothing,
                          skip=("ecommerce-order-documents-{env}:5xxErrors",)),
    "tls-optional": Drift("product database accepts connections without TLS (PostgreSQL 14's default)", "ECOM-RDS-026",
                          "encryption_in_transit", "product-db-{env}", True, False, _nothing, skip=("tls-optional",)),
    "api-cache-missing": Drift("API response cache missing", "ECOM-CACHE-001", "existence", "api-cache-{env}", "present",
                               "absent", _nothing, skip=("api-cache-{env}",)),
}

# What the demo does to the account before its scan.
DEMO_DRIFTS = ("versioning-suspended", "short-backups", "pitr-off", "late-glacier", "weak-cpu-alarm",
               "sessions-ttl-off", "api-cache-missing")


def build_drifted(aws: MockAccount, env: str, drift_names: tuple[str, ...]) -> None:
    drifts = [DRIFTS[n] for n in drift_names]
    skip = tuple(s.replace("{env}", env) for d in drifts for s in d.skip)
    build_account(aws, env, skip=skip)
    for drift in drifts:
        drift.apply(aws, env)
