"""AWS Security Finding Format (ASFF), the shape BatchImportFindings takes, and ``--security-hub`` import.

One ASFF finding per finding, with a stable ``Id`` per (target, rule, resource), so a night's import updates
yesterday's findings instead of piling new ones up. Pass findings go too (Compliance PASSED): Security Hub
archives nothing by itself, and a fixed finding must read as fixed there as well.
"""
from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from pathlib import Path
from typing import Callable

from auditor import __version__
from auditor.services.registry import ASFF_TYPES

SCHEMA_VERSION = "2018-10-08"
SEVERITY = {"info": "INFORMATIONAL", "low": "LOW", "medium": "MEDIUM", "high": "HIGH", "critical": "CRITICAL"}
COMPLIANCE = {"pass": "PASSED", "fail": "FAILED", "waived": "FAILED", "error": "NOT_AVAILABLE",
              "superseded": "NOT_AVAILABLE"}
WORKFLOW = {"waived": "SUPPRESSED", "superseded": "SUPPRESSED"}
BATCH = 100  # BatchImportFindings takes at most 100 findings per call


def product_arn(region: str, account: str) -> str:
    """The default product of an account: how a custom integration imports its own findings."""
    return f"arn:aws:securityhub:{region}:{account}:product/{account}/default"


def asff_finding(run: dict, f: dict, home_region: str) -> dict:
    res = f["resource"]
    account = run.get("account_id") or "000000000000"
    key = f"{run['target']}|{f['rule_id']}|{res['type']}|{res['region']}|{res['id']}"
    region = res["region"] if res["region"] and res["region"][:2].isalpha() and "-" in res["region"] else home_region
    when = run.get("finished_at") or run["started_at"]
    compliance = {"Status": COMPLIANCE[f["status"]]}  # why an error is NOT_AVAILABLE: the Description says
    fields = {"auditor/rule_id": f["rule_id"], "auditor/pack": f["pack"], "auditor/control": f["control"],
              "auditor/spec_ref": f["spec_ref"], "auditor/status": f["status"], "auditor/change": f["change"],
              "auditor/run_id": run["id"], "auditor/target": run["target"], "ProviderName": "auditor",
              "ProviderVersion": __version__}
    if f.get("waiver"):
        fields.update({"auditor/waiver_reason": f["waiver"].get("reason", ""),
                       "auditor/waiver_owner": f["waiver"].get("owner", ""),
                       "auditor/waiver_expires": f["waiver"].get("expires", "")})
    finding = {
        "SchemaVersion": SCHEMA_VERSION,
        "Id": "auditor/" + hashlib.sha256(key.encode()).hexdigest()[:40],
        "ProductArn": product_arn(region, account),
        "ProductName": "auditor", "CompanyName": "auditor",
        "GeneratorId": f"auditor/{f['pack']}/{f['rule_id']}",
        "AwsAccountId": account,
        "Region": region,
        "Types": [f"Software and Configuration Checks/Industry and Regulatory Standards/{f['pack']}"],
        "CreatedAt": f.get("first_seen") or run["started_at"], "UpdatedAt": when,
        "FirstObservedAt": f.get("first_seen") or run["started_at"], "LastObservedAt": when,
        "Severity": {"Label": SEVERITY[f["severity"]], "Original": f["severity"]},
        "Title": (f.get("title") or f["rule_id"])[:256],
        "Description": f["message"][:1024] or f["rule_id"],
        "Remediation": {"Recommendation": {"Text": f["remediation"][:512]}},
        "ProductFields": {k: str(v)[:4096] for k, v in fields.items()},
        "Resources": [{"Type": ASFF_TYPES.get(res["type"], "Other"), "Id": (res.get("arn") or res["id"])[:512],
                       "Partition": "aws", "Region": region,
                       "Details": {"Other": {"name": res["name"][:1024], "cfn_type": res["type"],
                                            "property": str(f.get("property") or "")[:1024],
                                            "expected": json.dumps(f.get("expected"), default=str)[:1024],
                                            "actual": json.dumps(f.get("actual"), default=str)[:1024]}}}],
        "Compliance": compliance,
        "Workflow": {"Status": WORKFLOW.get(f["status"], "RESOLVED" if f["status"] == "pass" else "NEW")},
        "RecordState": "ACTIVE",
    }
    if f.get("source"):
        finding["ProductFields"]["auditor/source"] = f"{f['source']['file']}:{f['source'].get('line') or 1}"
    return finding


def asff_findings(document: dict) -> list[dict]:
    run = document["run"]
    home = (run.get("regions") or ["us-east-1"])[0]
    if run["status"] == "failed":
        return [asff_finding(run, {"rule_id": "AUDITOR-RUN", "title": "The audit run failed", "pack": "auditor",
                                   "control": "configuration", "severity": "high", "status": "error", "change": "new",
                                   "message": f"run failed: {reason}", "remediation": "Fix the cause and audit again.",
                                   "spec_ref": "", "resource": {"type": "auditor:run", "id": run["id"],
                                                                "name": run["target"], "region": home, "arn": None}},
                             home)
                for reason in (run.get("errors") or ["the run failed and recorded no reason"])]
    return [asff_finding(run, f, home) for f in document["findings"]]


def write_asff(document: dict, path: Path) -> None:
    with path.open("w", encoding="utf-8", errors="backslashreplace") as handle:
        json.dump(asff_findings(document), handle, separators=(",", ":"), default=str)
        handle.write("\n")


def import_to_security_hub(document: dict, client_for: Callable[[str], object]) -> tuple[int, list[str]]:
    """BatchImportFindings, 100 at a time, into the region each finding belongs to (``client_for(region)``).
    Returns the number imported and one line per finding or call that failed."""
    by_region: dict[str, list[dict]] = defaultdict(list)
    for finding in asff_findings(document):
        by_region[finding["Region"]].append(finding)
    imported, problems = 0, []
    for region, findings in sorted(by_region.items()):
        client = client_for(region)
        for start in range(0, len(findings), BATCH):
            batch = findings[start:start + BATCH]
            try:
                answer = client.batch_import_findings(Findings=batch)
            except Exception as exc:  # noqa: BLE001  botocore's ClientError, EndpointConnectionError, ...
                problems.append(f"Security Hub in {region}: BatchImportFindings failed: {exc}")
                continue
            imported += answer.get("SuccessCount", 0)
            for failed in answer.get("FailedFindings", []):
                problems.append(f"Security Hub in {region}: finding {failed.get('Id')} refused: "
                                f"{failed.get('ErrorCode')} {failed.get('ErrorMessage')}")
    return imported, problems


def security_hub_clients(settings) -> Callable[[str], object]:
    """Security Hub clients with the audit's own credentials, role and endpoint (moto, LocalStack)."""
    from auditor.aws import ClientPool

    pool = ClientPool(settings)
    return lambda region: pool.client("securityhub", region)
