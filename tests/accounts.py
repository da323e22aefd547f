"""Mock accounts built to specs 000, 001, 003 and 004, and the breaks that take each away from its spec.

A break names the rules that must fail after it, with the resource: the tests check that exactly those fail.
(Spec 002's account lives in auditor/demo/ecommerce.py, since the demo uses it.)
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Callable

from auditor.demo.ecommerce import tls_only_policy
from auditor.demo.mockaws import MockAccount, db_subnet_group

ACCOUNT = "123456789012"
BLOCK_ALL = {"BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True, "RestrictPublicBuckets": True}


@dataclass(frozen=True)
class Break:
    apply: Callable[[MockAccount, str], None]
    fails: tuple[tuple[str, str], ...]  # (rule id, resource name with {env})
    skip: tuple[str, ...] = ()  # parts the builder leaves out, for breaks by absence


def table(aws: MockAccount, name: str, hash_key: str, range_key: str | None = None, billing: str = "PAY_PER_REQUEST",
          gsis: list[dict] = (), stream: str | None = None, ttl: str | None = None, pitr: bool = False,
          kms: bool = False, types: dict[str, str] | None = None) -> None:
    """``types``: attribute types other than S (e.g. {"userId": "N"}, for a break)."""
    keys = [{"AttributeName": hash_key, "KeyType": "HASH"}]
    if range_key:
        keys.append({"AttributeName": range_key, "KeyType": "RANGE"})
    attributes = {k["AttributeName"] for k in keys} | {k["AttributeName"] for g in gsis for k in g["KeySchema"]}
    params = {"TableName": name, "KeySchema": keys, "BillingMode": billing,
              "AttributeDefinitions": [{"AttributeName": a, "AttributeType": (types or {}).get(a, "S")}
                                       for a in sorted(attributes)]}
    if billing == "PROVISIONED":
        params["ProvisionedThroughput"] = {"ReadCapacityUnits": 5, "WriteCapacityUnits": 5}
        gsis = [{**g, "ProvisionedThroughput": {"ReadCapacityUnits": 5, "WriteCapacityUnits": 5}} for g in gsis]
    if gsis:
        params["GlobalSecondaryIndexes"] = list(gsis)
    if stream:
        params["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": stream}
    if kms:
        params["SSESpecification"] = {"Enabled": True, "SSEType": "KMS"}
    aws.dynamodb.create_table(**params)
    if ttl:
        aws.dynamodb.update_time_to_live(TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl})
    if pitr:
        aws.dynamodb.update_continuous_backups(TableName=name,
                                               PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True})


def gsi(name: str, hash_key: str, range_key: str | None = None) -> dict:
    keys = [{"AttributeName": hash_key, "KeyType": "HASH"}]
    if range_key:
        keys.append({"AttributeName": range_key, "KeyType": "RANGE"})
    return {"IndexName": name, "KeySchema": keys, "Projection": {"ProjectionType": "ALL"}}


def bucket(aws: MockAccount, name: str, algorithm: str = "AES256", versioned: bool = False, block: bool = True,
           tls: bool = True, lifecycle: list[tuple[int, str]] = ()) -> None:
    aws.s3.create_bucket(Bucket=name)
    aws.s3.put_bucket_encryption(Bucket=name, ServerSideEncryptionConfiguration={
        "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": algorithm}}]})
    if versioned:
        aws.s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    if block:
        aws.s3.put_public_access_block(Bucket=name, PublicAccessBlockConfiguration=BLOCK_ALL)
    if tls:
        aws.s3.put_bucket_policy(Bucket=name, Policy=tls_only_policy(name))
    if lifecycle:
        aws.s3.put_bucket_lifecycle_configuration(Bucket=name, LifecycleConfiguration={"Rules": [
            {"ID": "tiering", "Status": "Enabled", "Filter": {},
             "Transitions": [{"Days": d, "StorageClass": c} for d, c in lifecycle]}]})


def alarm(aws: MockAccount, name: str, namespace: str, metric: str, dimensions: dict, threshold: float,
          comparison: str = "GreaterThanThreshold", statistic: str | None = "Sum", extended: str | None = None,
          period: int = 300, evaluation_periods: int = 1) -> None:
    params = {"AlarmName": name, "Namespace": namespace, "MetricName": metric, "Period": period,
              "Dimensions": [{"Name": k, "Value": v} for k, v in dimensions.items()], "EvaluationPeriods": evaluation_periods,
              "Threshold": threshold, "ComparisonOperator": comparison}
    if extended:
        params["ExtendedStatistic"] = extended
    else:
        params["Statistic"] = statistic
    aws.cloudwatch.put_metric_alarm(**params)


def ratio_alarm(aws: MockAccount, name: str, bucket_name: str, threshold: float) -> None:
    def stat(metric_id: str, metric: str) -> dict:
        return {"Id": metric_id, "ReturnData": False, "MetricStat": {"Period": 300, "Stat": "Sum", "Metric": {
            "Namespace": "AWS/S3", "MetricName": metric,
            "Dimensions": [{"Name": "BucketName", "Value": bucket_name}, {"Name": "FilterId", "Value": "EntireBucket"}]}}}

    aws.cloudwatch.put_metric_alarm(
        AlarmName=name, EvaluationPeriods=1, Threshold=threshold, ComparisonOperator="GreaterThanThreshold",
        Metrics=[{"Id": "rate", "Expression": "100 * errors / requests", "ReturnData": True},
                 stat("errors", "4xxErrors"), stat("requests", "AllRequests")])


# --- spec 000: serverless-app ---------------------------------------------------------------------------


def build_serverless(aws: MockAccount, env: str, skip: tuple[str, ...] = ()) -> None:
    if "users" not in skip:
        table(aws, "Users", "userId")
    if "tasks" not in skip:
        table(aws, "Tasks", "taskId", "userId", gsis=[gsi("status-createdAt", "status", "createdAt")])
    bucket(aws, f"serverless-app-user-data-{env}")
    bucket(aws, f"serverless-app-task-data-{env}", lifecycle=[(30, "STANDARD_IA"), (90, "GLACIER")])
    bucket(aws, f"serverless-app-shared-{env}", lifecycle=[(0, "INTELLIGENT_TIERING")])
    bucket(aws, f"serverless-app-backups-{env}", lifecycle=[(0, "INTELLIGENT_TIERING")])
    aws.elasticache.create_replication_group(ReplicationGroupId=f"serverless-app-cache-{env}",
                                             ReplicationGroupDescription="spec 000", Engine="redis",
                                             CacheNodeType="cache.t3.micro", NumCacheClusters=1)


SERVERLESS_BREAKS = {
    "users-numeric-key": Break(lambda aws, env: table(aws, "Users", "userId", types={"userId": "N"}),
                               (("SRV-DDB-002", "Users"),), skip=("users",)),
    "tasks-numeric-sort-key": Break(
        lambda aws, env: table(aws, "Tasks", "taskId", "userId", types={"userId": "N"},
                               gsis=[gsi("status-createdAt", "status", "createdAt")]),
        (("SRV-DDB-003", "Tasks"),), skip=("tasks",)),
    "tasks-gsi-misnamed": Break(  # the keys the spec gives, under another name than its status-createdAt
        lambda aws, env: table(aws, "Tasks", "taskId", "userId", gsis=[gsi("by-status", "status", "createdAt")]),
        (("SRV-DDB-004", "Tasks"),), skip=("tasks",)),
    "tasks-gsi-missing": Break(
        lambda aws, env: aws.dynamodb.update_table(TableName="Tasks", GlobalSecondaryIndexUpdates=[
            {"Delete": {"IndexName": "status-createdAt"}}]), (("SRV-DDB-004", "Tasks"),)),
    "users-provisioned": Break(
        lambda aws, env: aws.dynamodb.update_table(TableName="Users", BillingMode="PROVISIONED",
                                                   ProvisionedThroughput={"ReadCapacityUnits": 1, "WriteCapacityUnits": 1}),
        (("SRV-DDB-005", "Users"),)),
    "task-glacier-late": Break(
        lambda aws, env: aws.s3.put_bucket_lifecycle_configuration(
            Bucket=f"serverless-app-task-data-{env}", LifecycleConfiguration={"Rules": [
                {"ID": "t", "Status": "Enabled", "Filter": {}, "Transitions": [
                    {"Days": 30, "StorageClass": "STANDARD_IA"}, {"Days": 180, "StorageClass": "GLACIER"}]}]}),
        (("SRV-S3-002", "serverless-app-task-data-{env}"),)),
    "user-data-tiered": Break(
        lambda aws, env: aws.s3.put_bucket_lifecycle_configuration(
            Bucket=f"serverless-app-user-data-{env}", LifecycleConfiguration={"Rules": [
                {"ID": "t", "Status": "Enabled", "Filter": {}, "Transitions": [
                    {"Days": 30, "StorageClass": "STANDARD_IA"}]}]}),
        (("SRV-S3-003", "serverless-app-user-data-{env}"),)),
    "shared-not-tiered": Break(
        lambda aws, env: aws.s3.delete_bucket_lifecycle(Bucket=f"serverless-app-shared-{env}"),
        (("SRV-S3-004", "serverless-app-shared-{env}"),)),
    "backups-bucket-missing": Break(
        lambda aws, env: aws.s3.delete_bucket(Bucket=f"serverless-app-backups-{env}"),
        (("SRV-S3-001", "serverless-app-backups-{env}"),)),
}


# --- spec 001: co2-storagestack ----------------------------------------------------------------------------


CO2_ENV = {"production": "prod", "staging": "staging", "development": "dev"}


OAI = "arn:aws:iam::cloudfront:user/CloudFront Origin Access Identity E2EXAMPLE"


def oai_read_policy(name: str, reader: object = None) -> str:
    """TLS only, and object reads for the CloudFront origin access identity (or ``reader`` instead)."""
    document = json.loads(tls_only_policy(name))
    document["Statement"].append({"Sid": "CdnRead", "Effect": "Allow", "Principal": reader or {"AWS": OAI},
                                  "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{name}/*"})
    return json.dumps(document)


def distribution(aws: MockAccount, reference: str, origins: dict[str, str], oai: str = "E2EXAMPLE",
                 viewer: str = "redirect-to-https") -> None:
    """A CloudFront distribution reading each bucket through the OAI (which moto drops from its answers)."""
    def behavior(origin: str, path: str | None = None) -> dict:
        entry = {"TargetOriginId": origin, "ViewerProtocolPolicy": viewer, "MinTTL": 0, "DefaultTTL": 86400,
                 "MaxTTL": 31536000, "ForwardedValues": {"QueryString": False, "Cookies": {"Forward": "none"}}}
        return {"PathPattern": path, **entry} if path else entry

    ids = list(origins)
    aws.cloudfront.create_distribution(DistributionConfig={
        "CallerReference": reference, "Comment": reference, "Enabled": True,
        "Origins": {"Quantity": len(ids), "Items": [
            {"Id": i, "DomainName": f"{origins[i]}.s3.amazonaws.com",
             "S3OriginConfig": {"OriginAccessIdentity": f"origin-access-identity/cloudfront/{oai}"}} for i in ids]},
        "DefaultCacheBehavior": behavior(ids[0]),
        "CacheBehaviors": {"Quantity": len(ids) - 1, "Items": [behavior(i, f"/{i}/*") for i in ids[1:]]}})


def build_co2(aws: MockAccount, env: str, skip: tuple[str, ...] = ()) -> None:
    e = CO2_ENV[env]
    cache = f"co2-analysis-{e}-cache"
    prod = env == "production"
    table(aws, cache, "cache_key", billing="PROVISIONED" if prod else "PAY_PER_REQUEST",
          gsis=[gsi("cached-at-index", "cached_at")], stream="NEW_AND_OLD_IMAGES", ttl="ttl", pitr=prod, kms=True)
    website, geojson = f"co2-analysis-{e}-static-website", f"co2-analysis-{e}-geojson-data"
    for name in (website, geojson):
        bucket(aws, name, versioned=prod)
        if not prod or "auto-delete" in skip:  # CDK autoDeleteObjects outside production (DESTROY + auto-delete)
            aws.s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": [{"Key": "aws-cdk:auto-delete-objects",
                                                                        "Value": "true"}]})
        ratio_alarm(aws, f"{name}-4xx-rate", name, 5)
        alarm(aws, f"{name}-5xx", "AWS/S3", "5xxErrors", {"BucketName": name, "FilterId": "EntireBucket"}, 0)
    if "website-oai" not in skip:
        aws.s3.put_bucket_policy(Bucket=website, Policy=oai_read_policy(website))
    aws.s3.put_bucket_cors(Bucket=geojson, CORSConfiguration={"CORSRules": [
        {"AllowedMethods": ["GET"], "AllowedOrigins": ["https://co2.example.org"]}]})
    prefix = f"/co2-analysis/{e}/storage"
    for name, value in ((f"{prefix}/dynamodb/cache-table-name", cache), (f"{prefix}/dynamodb/cache-table-arn", "arn"),
                        (f"{prefix}/dynamodb/stream-arn", "arn"), (f"{prefix}/s3/static-website-bucket", website),
                        (f"{prefix}/s3/geojson-bucket", geojson), (f"{prefix}/cloudfront/oai-id", "E2EXAMPLE")):
        aws.ssm.put_parameter(Name=name, Value=value, Type="String")
    distribution(aws, f"co2-{e}", {"website": website, "geojson": geojson})
    alarm(aws, f"{cache}-throttling", "AWS/DynamoDB", "ThrottledRequests", {"TableName": cache}, 10)
    alarm(aws, f"{cache}-latency-p99", "AWS/DynamoDB", "SuccessfulRequestLatency",
          {"TableName": cache, "Operation": "GetItem"}, 100, extended="p99", statistic=None)


CO2_BREAKS = {
    "prod-auto-delete": Break(lambda aws, env: None, (("CO2-S3-011", "co2-analysis-{env}-static-website"),
                                                      ("CO2-S3-011", "co2-analysis-{env}-geojson-data")),
                              skip=("auto-delete",)),
    "ttl-attribute": Break(
        lambda aws, env: (aws.dynamodb.update_time_to_live(TableName=f"co2-analysis-{CO2_ENV[env]}-cache",
                                                           TimeToLiveSpecification={"Enabled": False, "AttributeName": "ttl"}),
                          aws.dynamodb.update_time_to_live(TableName=f"co2-analysis-{CO2_ENV[env]}-cache",
                                                           TimeToLiveSpecification={"Enabled": True, "AttributeName": "expires"})),
        (("CO2-DDB-003", "co2-analysis-{env}-cache"),)),
    "sse-kms-on-website": Break(
        lambda aws, env: aws.s3.put_bucket_encryption(
            Bucket=f"co2-analysis-{CO2_ENV[env]}-static-website", ServerSideEncryptionConfiguration={
                "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"}}]}),
        (("CO2-S3-003", "co2-analysis-{env}-static-website"),)),
    "website-without-oai": Break(lambda aws, env: None, (("CO2-S3-008", "co2-analysis-{env}-static-website"),),
                                 skip=("website-oai",)),
    "geojson-read-by-a-role": Break(  # direct access: a principal that is not the CDN's origin identity
        lambda aws, env: aws.s3.put_bucket_policy(
            Bucket=f"co2-analysis-{CO2_ENV[env]}-geojson-data",
            Policy=oai_read_policy(f"co2-analysis-{CO2_ENV[env]}-geojson-data",
                                   {"AWS": "arn:aws:iam::123456789012:role/reader"})),
        (("CO2-S3-007", "co2-analysis-{env}-geojson-data"),)),
    "no-tls-policy": Break(
        lambda aws, env: aws.s3.delete_bucket_policy(Bucket=f"co2-analysis-{CO2_ENV[env]}-geojson-data"),
        (("CO2-S3-004", "co2-analysis-{env}-geojson-data"),)),
    "no-cors": Break(
        lambda aws, env: aws.s3.delete_bucket_cors(Bucket=f"co2-analysis-{CO2_ENV[env]}-geojson-data"),
        (("CO2-S3-006", "co2-analysis-{env}-geojson-data"),)),
    "ssm-stream-arn-missing": Break(
        lambda aws, env: aws.ssm.delete_parameter(Name=f"/co2-analysis/{CO2_ENV[env]}/storage/dynamodb/stream-arn"),
        (("CO2-SSM-001", "/co2-analysis/{env}/storage/dynamodb/stream-arn"),)),
    "weak-throttling-alarm": Break(
        lambda aws, env: alarm(aws, f"co2-analysis-{CO2_ENV[env]}-cache-throttling", "AWS/DynamoDB",
                               "ThrottledRequests", {"TableName": f"co2-analysis-{CO2_ENV[env]}-cache"}, 50),
        (("CO2-ALARM-001", "co2-analysis-{env}-cache"),)),
    "short-restore-window": Break(
        lambda aws, env: aws.dynamodb.update_continuous_backups(
            TableName=f"co2-analysis-{CO2_ENV[env]}-cache",
            PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True, "RecoveryPeriodInDays": 7}),
        (("CO2-DDB-010", "co2-analysis-{env}-cache"),)),
    "throttling-alarm-per-minute": Break(  # > 10 in each minute is not > 10 in 5 minutes
        lambda aws, env: alarm(aws, f"co2-analysis-{CO2_ENV[env]}-cache-throttling", "AWS/DynamoDB",
                               "ThrottledRequests", {"TableName": f"co2-analysis-{CO2_ENV[env]}-cache"}, 10,
                               period=60, evaluation_periods=5),
        (("CO2-ALARM-001", "co2-analysis-{env}-cache"),)),
    "latency-alarm-on-average": Break(
        lambda aws, env: alarm(aws, f"co2-analysis-{CO2_ENV[env]}-cache-latency-p99", "AWS/DynamoDB",
                               "SuccessfulRequestLatency", {"TableName": f"co2-analysis-{CO2_ENV[env]}-cache"}, 100,
                               statistic="Average"),
        (("CO2-ALARM-002", "co2-analysis-{env}-cache"),)),
    "loose-4xx-rate": Break(
        lambda aws, env: ratio_alarm(aws, f"co2-analysis-{CO2_ENV[env]}-geojson-data-4xx-rate",
                                     f"co2-analysis-{CO2_ENV[env]}-geojson-data", 20),
        (("CO2-ALARM-003", "co2-analysis-{env}-geojson-data"),)),
    "no-5xx-alarm": Break(
        lambda aws, env: aws.cloudwatch.delete_alarms(AlarmNames=[f"co2-analysis-{CO2_ENV[env]}-static-website-5xx"]),
        (("CO2-ALARM-004", "co2-analysis-{env}-static-website"),)),
}


# --- spec 003: pointf --------------------------------------------------------------------------------------


def build_pointf(aws: MockAccount, env: str, skip: tuple[str, ...] = ()) -> None:
    group = db_subnet_group(aws, "ecommerce-db-subnets", public="public-subnets" in skip)
    aws.rds.create_db_instance(DBSubnetGroupName=group,
        DBInstanceIdentifier="ecommerce-db", Engine="postgres", EngineVersion="15.15", DBInstanceClass="db.t3.micro",
        AllocatedStorage=20, MultiAZ=True, BackupRetentionPeriod=30, PubliclyAccessible=False,
        DBName="shop" if "database-name" in skip else "ecommerce",
        MasterUsername="dbadmin", MasterUserPassword="not-a-real-password-1")
    table(aws, "ecommerce-sessions", "session_id", ttl="expires_at")
    table(aws, "ecommerce-carts", "user_id", "product_id", ttl="expires_at")
    table(aws, "ecommerce-orders", "id")
    table(aws, "ecommerce-payments", "id")
    if "notifications" not in skip:
        table(aws, "notifications", "order_id", "timestamp", ttl="ttl")
    bucket(aws, f"ecommerce-product-images-{ACCOUNT}", versioned=True)
    bucket(aws, f"ecommerce-order-documents-{ACCOUNT}", versioned=True)
    bucket(aws, f"ecommerce-analytics-results-{ACCOUNT}")


POINTF_BREAKS = {
    "public-subnets": Break(lambda aws, env: None, (("PTF-RDS-009", "ecommerce-db"),), skip=("public-subnets",)),
    "wrong-database": Break(lambda aws, env: None, (("PTF-RDS-008", "ecommerce-db"),), skip=("database-name",)),
    "notifications-numeric-key": Break(
        lambda aws, env: table(aws, "notifications", "order_id", "timestamp", ttl="ttl", types={"order_id": "N"}),
        (("PTF-DDB-005", "notifications"),), skip=("notifications",)),
    "single-az": Break(
        lambda aws, env: aws.rds.modify_db_instance(DBInstanceIdentifier="ecommerce-db", MultiAZ=False,
                                                    ApplyImmediately=True), (("PTF-RDS-006", "ecommerce-db"),)),
    "short-backups": Break(
        lambda aws, env: aws.rds.modify_db_instance(DBInstanceIdentifier="ecommerce-db", BackupRetentionPeriod=7,
                                                    ApplyImmediately=True), (("PTF-RDS-005", "ecommerce-db"),)),
    "carts-ttl-off": Break(
        lambda aws, env: aws.dynamodb.update_time_to_live(
            TableName="ecommerce-carts", TimeToLiveSpecification={"Enabled": False, "AttributeName": "expires_at"}),
        (("PTF-DDB-006", "ecommerce-carts"),)),
    "orders-provisioned": Break(
        lambda aws, env: aws.dynamodb.update_table(TableName="ecommerce-orders", BillingMode="PROVISIONED",
                                                   ProvisionedThroughput={"ReadCapacityUnits": 5, "WriteCapacityUnits": 5}),
        (("PTF-DDB-008", "ecommerce-orders"),)),
    "analytics-versioned": Break(
        lambda aws, env: aws.s3.put_bucket_versioning(Bucket=f"ecommerce-analytics-results-{ACCOUNT}",
                                                      VersioningConfiguration={"Status": "Enabled"}),
        (("PTF-S3-003", f"ecommerce-analytics-results-{ACCOUNT}"),)),
    "images-public": Break(
        lambda aws, env: aws.s3.delete_public_access_block(Bucket=f"ecommerce-product-images-{ACCOUNT}"),
        (("PTF-S3-005", f"ecommerce-product-images-{ACCOUNT}"),)),
    "payments-missing": Break(
        lambda aws, env: aws.dynamodb.delete_table(TableName="ecommerce-payments"),
        (("PTF-DDB-001", "ecommerce-payments"),)),
}


# --- spec 004: officeless ----------------------------------------------------------------------------------


OBSERVABILITY = ("mimir", "mimir-alertmanager", "mimir-ruler", "loki-chunks", "loki-ruler", "tempo")
CRITICAL = ("mimir-alertmanager", "mimir-ruler", "loki-ruler")
CSI_TAG = [{"ResourceType": "volume", "Tags": [{"Key": "ebs.csi.aws.com/cluster", "Value": "true"},
                                               {"Key": "Name", "Value": "pvc-data-0"}]}]


def build_officeless(aws: MockAccount, env: str, skip: tuple[str, ...] = ()) -> None:
    aws.ec2.create_volume(AvailabilityZone="us-east-1a", Size=50, VolumeType="gp3", Iops=3000, Throughput=125,
                          Encrypted=True, TagSpecifications=CSI_TAG)
    aws.ec2.create_volume(AvailabilityZone="us-east-1a", Size=8, VolumeType="gp2")  # not the cluster's: out of scope
    fs = aws.efs.create_file_system(CreationToken="eks", PerformanceMode="generalPurpose", ThroughputMode="bursting",
                                    Encrypted=True, Tags=[{"Key": "Name", "Value": "eks_production"}])
    vpc = aws.ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    for n, zone in enumerate(("us-east-1a", "us-east-1b", "us-east-1c")):
        subnet = aws.ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.0.{n}.0/24", AvailabilityZone=zone)["Subnet"]["SubnetId"]
        aws.efs.create_mount_target(FileSystemId=fs["FileSystemId"], SubnetId=subnet)
    aws.eks.create_cluster(name="officeless-production", roleArn="arn:aws:iam::123456789012:role/eks", version="1.31",
                           resourcesVpcConfig={"subnetIds": ["subnet-0a"]})  # moto: no add-ons, no cluster SG
    if "efs-plain-mounts" not in skip:  # 004 Data Security: TLS for EFS
        aws.efs.put_file_system_policy(FileSystemId=fs["FileSystemId"], Policy=json.dumps({
            "Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Principal": {"AWS": "*"}, "Action": "*",
                                                    "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]}))
    for pvc in ("pvc-logs", "pvc-content"):  # what the CSI driver makes per claim (directoryPerms 700)
        aws.efs.create_access_point(FileSystemId=fs["FileSystemId"], Tags=[{"Key": "Name", "Value": pvc}], RootDirectory={
            "Path": f"/{pvc}", "CreationInfo": {"OwnerUid": 1000, "OwnerGid": 1000, "Permissions": "700"}})
    for name in OBSERVABILITY:
        bucket(aws, f"officeless-{name}-production", algorithm="aws:kms", versioned=name in CRITICAL)
    if "valkey" not in skip:
        aws.elasticache.create_replication_group(ReplicationGroupId="officeless-valkey", ReplicationGroupDescription="spec 004",
                                                 Engine="valkey", CacheNodeType="cache.r7g.large", NumCacheClusters=1)


def _public_mount_target(aws: MockAccount) -> None:
    """Move the first mount target into a subnet whose VPC routes 0.0.0.0/0 to an internet gateway."""
    fs = _file_system(aws)
    first = aws.efs.describe_mount_targets(FileSystemId=fs)["MountTargets"][0]
    aws.efs.delete_mount_target(MountTargetId=first["MountTargetId"])
    gateway = aws.ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    aws.ec2.attach_internet_gateway(InternetGatewayId=gateway, VpcId=first["VpcId"])
    table = aws.ec2.create_route_table(VpcId=first["VpcId"])["RouteTable"]["RouteTableId"]
    aws.ec2.create_route(RouteTableId=table, DestinationCidrBlock="0.0.0.0/0", GatewayId=gateway)
    aws.ec2.associate_route_table(RouteTableId=table, SubnetId=first["SubnetId"])
    aws.efs.create_mount_target(FileSystemId=fs, SubnetId=first["SubnetId"])


def _file_system(aws: MockAccount) -> str:
    return aws.efs.describe_file_systems()["FileSystems"][0]["FileSystemId"]


OFFICELESS_BREAKS = {
    "gp2-volume": Break(
        lambda aws, env: aws.ec2.create_volume(AvailabilityZone="us-east-1a", Size=20, VolumeType="gp2", Encrypted=True,
                                               TagSpecifications=[{"ResourceType": "volume", "Tags": [
                                                   {"Key": "ebs.csi.aws.com/cluster", "Value": "true"},
                                                   {"Key": "Name", "Value": "pvc-gp2"}]}]),
        (("OFL-EBS-001", "pvc-gp2"), ("OFL-EBS-003", "pvc-gp2"))),
    "unencrypted-volume": Break(
        lambda aws, env: aws.ec2.create_volume(AvailabilityZone="us-east-1a", Size=20, VolumeType="gp3", Iops=3000,
                                               Throughput=125, Encrypted=False, TagSpecifications=[
                                                   {"ResourceType": "volume", "Tags": [
                                                       {"Key": "ebs.csi.aws.com/cluster", "Value": "true"},
                                                       {"Key": "Name", "Value": "pvc-plain"}]}]),
        (("OFL-EBS-002", "pvc-plain"),)),
    "access-point-755": Break(
        lambda aws, env: aws.efs.create_access_point(FileSystemId=_file_system(aws), RootDirectory={
            "Path": "/pvc-open", "CreationInfo": {"OwnerUid": 1000, "OwnerGid": 1000, "Permissions": "755"}}),
        (("OFL-EFS-006", "eks_production"),)),
    "two-mount-targets": Break(
        lambda aws, env: aws.efs.delete_mount_target(MountTargetId=aws.efs.describe_mount_targets(
            FileSystemId=_file_system(aws))["MountTargets"][0]["MountTargetId"]),
        (("OFL-EFS-004", "eks_production"),)),
    "efs-plain-mounts": Break(lambda aws, env: None, (("OFL-EFS-008", "eks_production"),), skip=("efs-plain-mounts",)),
    "efs-public-mount-target": Break(
        lambda aws, env: _public_mount_target(aws), (("OFL-EFS-004", "eks_production"),)),
    "ruler-unversioned": Break(
        lambda aws, env: aws.s3.put_bucket_versioning(Bucket="officeless-loki-ruler-production",
                                                      VersioningConfiguration={"Status": "Suspended"}),
        (("OFL-S3-004", "officeless-loki-ruler-production"),)),
    "tempo-plain-http": Break(lambda aws, env: aws.s3.delete_bucket_policy(Bucket="officeless-tempo-production"),
                              (("OFL-S3-005", "officeless-tempo-production"),)),
    "tempo-public": Break(
        lambda aws, env: aws.s3.delete_public_access_block(Bucket="officeless-tempo-production"),
        (("OFL-S3-003", "officeless-tempo-production"),)),
    "valkey-missing": Break(lambda aws, env: None, (("OFL-CACHE-001", "officeless-valkey"),), skip=("valkey",)),
}

PACKS = {
    "serverless-app": (build_serverless, SERVERLESS_BREAKS, {"production": "production"}),
    "co2-storagestack": (build_co2, CO2_BREAKS, CO2_ENV),
    "pointf": (build_pointf, POINTF_BREAKS, {"production": "production"}),
    "officeless": (build_officeless, OFFICELESS_BREAKS, {"production": "production"}),
}


def spelled(resource: str, env: str, spelling: dict[str, str]) -> str:
    return resource.replace("{env}", spelling.get(env, env))


def dump(value) -> str:
    return json.dumps(value, indent=1, default=str)
