"""SERVICES: the one registry of resource types. Each entry names a type's model, its live collector, its field
tables (how the API, Terraform and CloudFormation spell each property) and its Security Hub (ASFF) type.

Adding a resource type is one service module and one line here; the lookups below are views of this tuple.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional

from auditor.services import (backup, cloudfront, cloudwatch, dax, dynamodb, ebs, efs, eks, elasticache, opensearch,
                              logs, sqs, ssm)
from auditor.services.fetch import Collector
from auditor.services.fields import TypeMap
from auditor.services.model import Resource
from auditor.services.rds import fetch as rds_fetch, model as rds_model, table as rds_table
from auditor.services.s3 import fetch as s3_fetch, model as s3_model


@dataclass(frozen=True)
class Service:
    model: type[Resource]
    collector: Collector
    # Field tables whose IaC types land on this model (a cache cluster and a serverless cache are read as
    # replication groups); the first one also reads the API. Empty where the readers are written by hand (S3).
    tables: tuple[TypeMap, ...] = ()
    # Security Hub's resource type (ASFF); a type it does not name is "Other".
    asff_type: str = "Other"
    # Links among the IaC's resources of this type, made once all are read (the live scan asks the API instead).
    iac_link: Optional[Callable[[list[Resource]], None]] = None


SERVICES: tuple[Service, ...] = (
    Service(s3_model.S3Bucket, s3_fetch.COLLECTOR, (), "AwsS3Bucket"),
    Service(dynamodb.DynamoDBTable, dynamodb.COLLECTOR, (dynamodb.DYNAMODB, dynamodb.GLOBAL_TABLE), "AwsDynamoDbTable"),
    Service(rds_model.RDSInstance, rds_fetch.COLLECTOR, (rds_table.RDS_INSTANCE,), "AwsRdsDbInstance"),
    Service(rds_model.RDSCluster, rds_fetch.CLUSTER_COLLECTOR, (rds_table.RDS_CLUSTER,), "AwsRdsDbCluster"),
    Service(elasticache.ElastiCacheReplicationGroup, elasticache.COLLECTOR,
            (elasticache.ELASTICACHE, elasticache.CACHE_CLUSTER, elasticache.SERVERLESS_CACHE),
            "AwsElastiCacheReplicationGroup"),
    Service(opensearch.OpenSearchDomain, opensearch.COLLECTOR, (opensearch.OPENSEARCH,), "AwsOpenSearchServiceDomain"),
    Service(efs.EFSFileSystem, efs.COLLECTOR, (efs.EFS,), "AwsEfsFileSystem"),
    Service(ebs.EBSVolume, ebs.COLLECTOR, (ebs.EBS,), "AwsEc2Volume"),
    Service(ssm.SSMParameter, ssm.COLLECTOR, (ssm.SSM,)),
    Service(dax.DAXCluster, dax.COLLECTOR, (dax.DAX,)),
    Service(backup.BackupPlan, backup.COLLECTOR, (backup.BACKUP_PLAN,), "AwsBackupBackupPlan"),
    Service(cloudfront.CloudFrontDistribution, cloudfront.COLLECTOR, (cloudfront.CLOUDFRONT,),
            "AwsCloudFrontDistribution"),
    Service(eks.EKSCluster, eks.COLLECTOR, (eks.EKS,), "AwsEksCluster"),
    Service(cloudwatch.CloudWatchAlarm, cloudwatch.COLLECTOR, (), "AwsCloudWatchAlarm"),
    Service(sqs.SQSQueue, sqs.COLLECTOR, (sqs.SQS,), "AwsSqsQueue", iac_link=sqs.link_dead_letter_queues),
    Service(logs.LogGroup, logs.COLLECTOR, (logs.LOG_GROUP,)),
)

RESOURCE_MODELS: dict[str, type[Resource]] = {s.model.type: s.model for s in SERVICES}
COLLECTORS: dict[str, Collector] = {s.model.type: s.collector for s in SERVICES}
ASFF_TYPES: dict[str, str] = {s.model.type: s.asff_type for s in SERVICES}
TABLES: tuple[TypeMap, ...] = tuple(table for s in SERVICES for table in s.tables)
TF_TABLES: dict[str, TypeMap] = {rtype: table for table in TABLES for rtype in table.tf_types}
CFN_TABLES: dict[str, TypeMap] = {rtype: table for table in TABLES for rtype in table.cfn_types}
