"""IaC to resources: checkov's parse of Terraform and CloudFormation as normalized resources, linked as the live
ones are (alarms, CDN, replicas, clusters), and the declared resources of types no reader models."""
from __future__ import annotations

from typing import Any

from auditor.iac.checkov_run import CheckovOutput
from auditor.iac.cloudformation import cloudformation_resources, line_of
from auditor.iac.terraform import relative, terraform_resources
from auditor.services.cloudfront import link_cdn
from auditor.services.cloudwatch import CloudWatchAlarm
from auditor.services.eks import link_cluster_security_groups
from auditor.services.links import link_alarms
from auditor.services.model import Resource, make_encodable
from auditor.services.rds.fetch import defer_to_clusters, link_replicas
from auditor.services.rds.model import RDSCluster
from auditor.services.registry import SERVICES


def iac_resources(out: CheckovOutput, region: str, variants: bool = False) -> list[Resource]:
    """The IaC as normalized resources; ``variants``: a CloudFormation resource choosing by Fn::If is one
    resource per combination of its conditions (merge_conditional merges their findings)."""
    declared = terraform_resources(out.terraform, out.root, region, tuple(out.var_files))
    # In file and line order, instances of one block by address: checkov expands a for_each over a set in the
    # set's order, which changes from one process to the next, and so did the order of the report's findings.
    declared.sort(key=lambda r: (r.source.file, r.source.line or 0, r.source.address or r.id) if r.source else ("", 0, r.id))
    resources = declared + cloudformation_resources(out.cloudformation, out.root, region, variants)
    for resource in resources:
        make_encodable(resource)
    defer_to_clusters(resources, [r for r in resources if isinstance(r, RDSCluster)], "is not declared in this IaC")
    link_alarms(resources, [r for r in resources if isinstance(r, CloudWatchAlarm)])
    link_cdn(resources)
    link_cluster_security_groups(resources)
    link_replicas(resources)
    for service in SERVICES:
        if service.iac_link:
            service.iac_link(resources)
    return resources


# IaC types that hold what the packs judge (a table, a cache, a database, a file system) but that the IaC
# readers do not model: each declared one is listed in the report as skipped, with the type its rules are
# written for, never silently dropped.
UNMODELLED: dict[str, str] = {
    "aws_dynamodb_global_table": "AWS::DynamoDB::Table",
    "aws_rds_global_cluster": "AWS::RDS::DBCluster", "AWS::RDS::GlobalCluster": "AWS::RDS::DBCluster",
    "aws_memorydb_cluster": "AWS::ElastiCache::ReplicationGroup", "AWS::MemoryDB::Cluster": "AWS::ElastiCache::ReplicationGroup",
    "aws_elasticache_global_replication_group": "AWS::ElastiCache::ReplicationGroup",
    "AWS::ElastiCache::GlobalReplicationGroup": "AWS::ElastiCache::ReplicationGroup",
    "aws_s3_directory_bucket": "AWS::S3::Bucket", "AWS::S3Express::DirectoryBucket": "AWS::S3::Bucket",
    "aws_docdb_cluster": "AWS::RDS::DBCluster", "AWS::DocDB::DBCluster": "AWS::RDS::DBCluster",
    "aws_neptune_cluster": "AWS::RDS::DBCluster", "AWS::Neptune::DBCluster": "AWS::RDS::DBCluster",
    "aws_fsx_lustre_file_system": "AWS::EFS::FileSystem", "aws_fsx_openzfs_file_system": "AWS::EFS::FileSystem",
    "aws_fsx_ontap_file_system": "AWS::EFS::FileSystem", "aws_fsx_windows_file_system": "AWS::EFS::FileSystem",
    "AWS::FSx::FileSystem": "AWS::EFS::FileSystem",
    "aws_opensearchserverless_collection": "AWS::OpenSearchService::Domain",
    "AWS::OpenSearchServerless::Collection": "AWS::OpenSearchService::Domain",
}


def skipped_resources(out: CheckovOutput, judged_types: set[str]) -> list[dict]:
    """The declared resources of UNMODELLED types whose model type the selected rules judge."""
    skipped = []
    for key, definition in out.terraform.items():
        for entry in definition.get("resource", []) if isinstance(definition, dict) else []:
            for rtype, named in entry.items():
                for name, attrs in (named.items() if isinstance(named, dict) else []):
                    if UNMODELLED.get(rtype) in judged_types and isinstance(attrs, dict):
                        skipped.append(_skipped(rtype, attrs.get("__address__") or f"{rtype}.{name}",
                                                str(getattr(key, "file_path", key)), attrs.get("__start_line__"), out))
    for path, template in out.cloudformation.items():
        for logical_id, body in ((template or {}).get("Resources") or {}).items():
            rtype = body.get("Type") if isinstance(body, dict) else None
            if UNMODELLED.get(str(rtype)) in judged_types:
                line = body.get("__startline__") or line_of(str(path), logical_id)
                skipped.append(_skipped(str(rtype), logical_id, str(path), line, out))
    return sorted(skipped, key=lambda s: (s["file"], s["line"] or 0, s["address"]))


def _skipped(rtype: str, address: str, path: str, line: Any, out: CheckovOutput) -> dict:
    line = line[0] if isinstance(line, list) and line else line
    return {"address": address, "type": rtype, "file": relative(path, out.root), "line": int(line) if line else None,
            "reason": f"{rtype} is not modelled: the rules on {UNMODELLED[rtype]} do not judge it"}
