"""Collectors by resource type, registered by name (no import side effects)."""
from __future__ import annotations

from auditor.collectors import (
    backup,
    cloudfront,
    cloudwatch,
    dax,
    dynamodb,
    ec2,
    efs,
    eks,
    elasticache,
    opensearch,
    rds,
    s3,
    ssm,
)
from auditor.collectors.base import Collector

COLLECTORS: dict[str, Collector] = {
    c.resource_type.type: c
    for c in (
        s3.COLLECTOR, dynamodb.COLLECTOR, rds.COLLECTOR, rds.CLUSTER_COLLECTOR, elasticache.COLLECTOR, opensearch.COLLECTOR,
        efs.COLLECTOR, ec2.COLLECTOR, ssm.COLLECTOR, cloudwatch.COLLECTOR, dax.COLLECTOR, backup.COLLECTOR, cloudfront.COLLECTOR, eks.COLLECTOR,
    )
}
