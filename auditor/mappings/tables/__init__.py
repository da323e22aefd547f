"""The mapping tables: for each resource type, where the AWS API, Terraform and CloudFormation keep each property.

One entry per property (see fields.Field). The few values no path gives are small functions of the answer
(``props``) and of the IaC context (``ctx``: references resolved to names, the resources pointing at this one).
An ``Unknown(reason)`` returned by one of them leaves the property unknown with that reason.
"""
from auditor.mappings.fields import TypeMap
from auditor.mappings.tables.backup import BACKUP_PLAN, is_weekly, summarize_backup_plan
from auditor.mappings.tables.cloudfront import CLOUDFRONT, MANAGED_CACHE_POLICIES, bucket_of_domain
from auditor.mappings.tables.dax import DAX
from auditor.mappings.tables.dynamodb import DYNAMODB
from auditor.mappings.tables.eks import EKS
from auditor.mappings.tables.elasticache import CACHE_CLUSTER, ELASTICACHE, SERVERLESS_CACHE
from auditor.mappings.tables.files import EBS, EFS
from auditor.mappings.tables.opensearch import OPENSEARCH
from auditor.mappings.tables.rds import RDS_CLUSTER, RDS_INSTANCE, is_internet_route, max_connections_of
from auditor.mappings.tables.ssm import SSM

TABLES: tuple[TypeMap, ...] = (DYNAMODB, EKS, OPENSEARCH, EFS, EBS, SSM, ELASTICACHE, RDS_INSTANCE, RDS_CLUSTER, DAX,
                               BACKUP_PLAN, CLOUDFRONT, CACHE_CLUSTER, SERVERLESS_CACHE)

__all__ = ["BACKUP_PLAN", "CACHE_CLUSTER", "CLOUDFRONT", "DAX", "DYNAMODB", "EBS", "EFS", "EKS", "ELASTICACHE", "MANAGED_CACHE_POLICIES",
           "OPENSEARCH", "RDS_CLUSTER", "RDS_INSTANCE", "SERVERLESS_CACHE", "SSM", "TABLES", "bucket_of_domain", "is_internet_route",
           "is_weekly", "max_connections_of", "summarize_backup_plan"]
