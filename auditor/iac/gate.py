"""``auditor iac PATH``: the pull-request gate. The IaC that would build the account becomes the same normalized
resources a live scan collects, the same rules judge them, and checkov's own checks come alongside as the
``checkov`` pack. Findings carry the file and line."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

from auditor.collect import link_alarms, make_encodable
from auditor.evaluate import Inventory, evaluate_rules
from auditor.findings import Finding, ResourceRef, RunInfo, utc_now
from auditor.iac.checkov_run import CheckovOutput, run_checkov
from auditor.iac.cloudformation import cloudformation_resources
from auditor.iac.terraform import relative, terraform_resources
from auditor.resources import CloudWatchAlarm, Resource, SourceLocation
from auditor.rules.pack import Pack, iter_rules
from auditor.scan import blocked_rules, contexts_for, new_run_id
from auditor.waivers import Waiver, apply_waivers

TF_TO_CFN = {
    "aws_s3_bucket": "AWS::S3::Bucket", "aws_dynamodb_table": "AWS::DynamoDB::Table",
    "aws_db_instance": "AWS::RDS::DBInstance", "aws_elasticache_replication_group": "AWS::ElastiCache::ReplicationGroup",
    "aws_opensearch_domain": "AWS::OpenSearchService::Domain", "aws_efs_file_system": "AWS::EFS::FileSystem",
    "aws_ebs_volume": "AWS::EC2::Volume", "aws_ssm_parameter": "AWS::SSM::Parameter",
    "aws_cloudwatch_metric_alarm": "AWS::CloudWatch::Alarm",
}
CONTROL_WORDS = (("point in time", "pitr"), ("versioning", "versioning"), ("in transit", "encryption_in_transit"),
                 ("tls", "encryption_in_transit"), ("https", "encryption_in_transit"), ("encrypt", "encryption"),
                 ("kms", "encryption"), ("public", "public_access_block"), ("backup", "backup"),
                 ("retention", "backup"), ("deletion protection", "deletion_protection"),
                 ("multi-az", "high_availability"), ("multi az", "high_availability"), ("failover", "high_availability"),
                 ("lifecycle", "lifecycle"), ("alarm", "alarm"))


@dataclass
class IacResult:
    run: RunInfo
    findings: list[Finding]
    resources: list[Resource]
    waivers: dict


def iac_resources(out: CheckovOutput, region: str) -> list[Resource]:
    resources = terraform_resources(out.terraform, out.root, region) + cloudformation_resources(
        out.cloudformation, out.root, region)
    for resource in resources:
        make_encodable(resource)
    inventory = Inventory(resources=resources, regions=[region])
    link_alarms(inventory, [r for r in resources if isinstance(r, CloudWatchAlarm)])
    return resources


def iac_audit(path: Path, packs: list[Pack], environment: str, parameters: dict, waivers: list[Waiver],
              region: str, account_id: Optional[str], with_checkov: bool, var_files: list[Path],
              target: Optional[str] = None) -> IacResult:
    run = RunInfo(id=new_run_id(), target=target or f"iac:{path}", account_id=account_id, regions=[region],
                  environment=environment, packs=[p.id for p in packs] + (["checkov"] if with_checkov else []),
                  started_at=utc_now())
    out = run_checkov(path, var_files, with_checks=with_checkov)
    resources = iac_resources(out, region)
    # An account id the IaC cannot know statically (a data source) matches {account_id} patterns.
    contexts = contexts_for(packs, environment, account_id or "*", parameters)
    findings = evaluate_rules(iter_rules(packs), environment, contexts, Inventory(resources=resources, regions=[region]),
                              blocked_rules(packs, parameters))
    if with_checkov:
        findings.extend(checkov_findings(out, region))
    waiver_summary = apply_waivers(findings, waivers, run.target)
    for f in findings:
        f.first_seen = run.started_at
    run.finished_at = utc_now()
    run.status = "partial" if any(f.status == "error" for f in findings) else "complete"
    return IacResult(run, findings, resources, waiver_summary)


def checkov_findings(out: CheckovOutput, region: str) -> list[Finding]:
    findings = []
    for record in out.checks:
        result = record.check_result.get("result")
        status = {"PASSED": "pass", "FAILED": "fail", "SKIPPED": "waived"}.get(getattr(result, "name", str(result)))
        if status is None:
            continue
        tf_type, _, name = record.resource.partition(".")
        rtype = TF_TO_CFN.get(tf_type) or (tf_type if tf_type.startswith("AWS::") else f"Terraform::Resource::{tf_type}")
        file = relative(str(record.file_abs_path or record.file_path), out.root)
        line = record.file_line_range[0] if record.file_line_range else 1
        text = f"{record.check_name}".lower()
        control = next((c for word, c in CONTROL_WORDS if word in text), "configuration")
        finding = Finding(
            rule_id=record.check_id, pack="checkov", title=record.check_name, control=control,
            severity=_severity(record), status=status,
            resource=ResourceRef(type=rtype, id=record.resource, name=name or record.resource, region=region),
            property=", ".join(record.check_result.get("evaluated_keys") or []) or None,
            expected="check passes", actual=status, message=f"checkov {record.check_id}: {record.check_name}",
            spec_ref=f"checkov {record.check_id}", remediation=record.guideline or f"See checkov policy {record.check_id}",
            source=SourceLocation(file=file, line=line))
        if status == "waived":
            finding.waiver = {"id": f"checkov:skip={record.check_id}", "state": "active", "owner": "inline comment",
                              "reason": record.check_result.get("suppress_comment") or "checkov:skip", "expires": None,
                              "waived_status": "fail"}
        findings.append(finding)
    return findings


def _severity(record: Any) -> str:
    severity = getattr(record, "severity", None)
    name = str(getattr(severity, "name", severity or "")).lower()
    return name if name in ("critical", "high", "medium", "low", "info") else "medium"
