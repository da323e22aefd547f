"""SARIF 2.1.0: one reporting descriptor per rule (with its help text), one result per failed or unverified
finding, so code scanning annotates IaC lines and lists live drift by resource."""
from __future__ import annotations

import hashlib
import json
import posixpath
from pathlib import Path
from typing import Optional
from urllib.parse import quote

from auditor import __version__

# config.yaml's sarif_help_uri: a URL with {pack} and {rule_id}; None: no helpUri for the packs' rules.
HELP_URI_TEMPLATE: Optional[str] = None


def configure(help_uri_template: Optional[str]) -> None:
    global HELP_URI_TEMPLATE
    HELP_URI_TEMPLATE = help_uri_template
LEVEL = {"critical": "error", "high": "error", "medium": "warning", "low": "note", "info": "note"}
SECURITY_SEVERITY = {"critical": "9.5", "high": "8.0", "medium": "5.5", "low": "3.0", "info": "0.0"}


def sarif_document(document: dict) -> dict:
    rules: dict[str, dict] = {}
    results = []
    for f in document["findings"]:
        if f["rule_id"] not in rules:
            rules[f["rule_id"]] = _descriptor(f)
        if f["status"] not in ("fail", "error", "waived"):  # pass and superseded are no results
            continue
        results.append(_result(f, list(rules).index(f["rule_id"]), document["run"]))
    run = document["run"]
    return {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "auditor", "version": __version__, "semanticVersion": __version__,
                                "rules": list(rules.values())}},
            "automationDetails": {"id": f"auditor/{run['target']}/{run['id']}"},
            "invocations": [{"executionSuccessful": run["status"] != "failed",
                             "startTimeUtc": run["started_at"], "endTimeUtc": run.get("finished_at") or run["started_at"],
                             "toolExecutionNotifications": execution_notifications(run)}],
            "results": results,
            "properties": {"environment": run["environment"], "packs": run["packs"], "score": document["summary"]["score"]},
        }],
    }


def execution_notifications(run: dict) -> list[dict]:
    """Why a run failed (it has no results, and says so), or what a partial run could not check."""
    if run["status"] == "failed":
        return [{"level": "error", "message": {"text": reason}}
                for reason in run.get("errors") or ["the run failed and recorded no reason"]]
    coverage = run.get("coverage") or {}
    notes = [{"level": "warning",
              "message": {"text": f"not checked: {item['type']} in {item['region']} could not be listed: {item['reason']}"}}
             for item in coverage.get("unlisted", [])]
    notes += [{"level": "warning", "message": {"text": f"{item['rule_id']} not run: {item['reason']}"},
               "associatedRule": {"id": item["rule_id"]}} for item in coverage.get("rules_not_run", [])]
    notes += [{"level": "note", "message": {"text": f"{item['rule_id']} spec conflict: {item['conflict']}"},
               "associatedRule": {"id": item["rule_id"]}} for item in coverage.get("spec_conflicts", [])]
    return notes


def help_uri(f: dict) -> Optional[str]:
    """Where a person reads the rule: checkov's guideline for its checks; for ours, the configured template, or
    none (a placeholder repository would send people nowhere)."""
    if f["pack"] == "checkov" and str(f.get("remediation", "")).startswith("https://"):
        return f["remediation"]
    if HELP_URI_TEMPLATE:
        return HELP_URI_TEMPLATE.replace("{pack}", quote(f["pack"], safe="")).replace(
            "{rule_id}", quote(f["rule_id"], safe=""))
    return None


def _descriptor(f: dict) -> dict:
    descriptor = {
        "id": f["rule_id"],
        "name": f["rule_id"].replace("-", ""),
        "shortDescription": {"text": f.get("title") or f["rule_id"]},
        "fullDescription": {"text": f"{f.get('title') or f['rule_id']} ({f['spec_ref']})"},
        "help": {"text": f"{f.get('title') or f['rule_id']}\n\nSpec: {f['spec_ref']}\n\nFix: {f['remediation']}",
                 "markdown": f"**{f.get('title') or f['rule_id']}**\n\n> {f['spec_ref']}\n\n**Fix:** {f['remediation']}"},
        "defaultConfiguration": {"level": LEVEL[f["severity"]]},
        "properties": {"tags": [f["control"], f["pack"], "aws"], "precision": "very-high",
                       "security-severity": SECURITY_SEVERITY[f["severity"]], "control": f["control"]},
    }
    uri = help_uri(f)
    if uri:
        descriptor["helpUri"] = uri
    return descriptor


def _uri(run: dict, file: str) -> str:
    """A file of the IaC root as a URI relative to the repository root, where code scanning resolves it."""
    prefix = run.get("source_prefix") or ""
    return posixpath.join(prefix, file) if prefix else file


def _result(f: dict, index: int, run: dict) -> dict:
    resource = f["resource"]
    result = {
        "ruleId": f["rule_id"],
        "ruleIndex": index,
        "level": LEVEL[f["severity"]] if f["status"] == "fail" else "note",
        "kind": "fail" if f["status"] in ("fail", "waived") else "review",
        "message": {"text": f"{resource['type']} {resource['name']}: {f['message']}"},
        "partialFingerprints": {"auditorFinding/v1": hashlib.sha256(
            f"{f['rule_id']}|{resource['type']}|{resource['region']}|{resource['id']}".encode("utf-8", "backslashreplace")).hexdigest()},
        "properties": {"status": f["status"], "change": f["change"], "expected": f["expected"],
                       "actual": f["actual"], "resource": resource},
    }
    # Where the result is: an IaC finding at its file and line, a resource the IaC lacks at the root's main file
    # (where it would be declared); a live finding at the resource (a logical location, its ARN), and at its
    # rule's line when the rule is in the user's own pack. A shipped pack is not a file of the user's repository:
    # pointing code scanning at auditor/packs/... inside the installed package annotated nothing.
    source = f.get("source") or ({"file": run["default_source"], "line": 1} if run.get("default_source") else None)
    location: dict = {"logicalLocations": [_logical(resource)]}
    if source:
        artifact = {"uri": _uri(run, source["file"])}
    else:
        source = f.get("rule_source")
        shipped = not source or str(source.get("file", "")).startswith("auditor/packs/")
        artifact = None if shipped else {
            "uri": Path(source["file"]).as_uri() if Path(source["file"]).is_absolute() else source["file"]}
    if artifact is not None:
        location["physicalLocation"] = {"artifactLocation": artifact, "region": {"startLine": source.get("line") or 1}}
    result["locations"] = [location]
    if f["status"] == "waived":
        waiver = f.get("waiver") or {}
        result["suppressions"] = [{"kind": "external", "status": "accepted",
                                   "justification": str(waiver.get("reason", "waived"))}]
    return result


def _logical(resource: dict) -> dict:
    return {"name": resource["name"], "fullyQualifiedName": resource.get("arn") or resource["id"], "kind": "resource"}


def write_sarif(document: dict, path: Path) -> None:
    path.write_text(json.dumps(sarif_document(document), indent=1, default=str) + "\n", encoding="utf-8")
