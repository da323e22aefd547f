"""OCSF output: one Detection Finding (class 2004, OCSF 1.5) per finding, in a JSON array, as Prowler writes.

Written as plain dicts, not through py-ocsf-models objects (100,000 pydantic objects cost seconds for nothing);
the tests validate every object with py-ocsf-models, the library Prowler uses, so the shape is theirs.
A failed run has no findings; it gets one ``ERROR`` object per reason, so no consumer reads it as clean.
"""
from __future__ import annotations

import hashlib
import json
from datetime import datetime
from pathlib import Path

from auditor import __version__

OCSF_VERSION = "1.5.0"
CLASS_UID, CATEGORY_UID = 2004, 2
SEVERITY_ID = {"info": 1, "low": 2, "medium": 3, "high": 4, "critical": 5}
SEVERITY_NAME = {1: "Informational", 2: "Low", 3: "Medium", 4: "High", 5: "Critical"}
ACTIVITY = {"new": (1, "Create"), "unchanged": (2, "Update"), "regressed": (2, "Update"), "resolved": (3, "Close")}
# status_id (the finding's workflow): waived and superseded findings were reviewed and set aside; a resolved one
# was fixed; everything else is new to whoever reads it.
STATUS_ID = {"waived": (3, "Suppressed"), "superseded": (3, "Suppressed")}


def epoch(iso: str | None) -> int | None:
    """OCSF times are milliseconds since the epoch."""
    if not iso:
        return None
    return int(datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp() * 1000)


def finding_uid(run: dict, key: str) -> str:
    """Stable across runs: the same rule on the same resource of the same target is the same finding."""
    return "auditor-" + hashlib.sha256(f"{run['target']}|{key}".encode()).hexdigest()[:32]


def detection_finding(run: dict, f: dict) -> dict:
    res = f["resource"]
    key = f"{f['rule_id']}|{res['type']}|{res['region']}|{res['id']}"
    activity_id, activity = ACTIVITY.get(f["change"], (1, "Create"))
    status_id, status = STATUS_ID.get(f["status"], (4, "Resolved") if f["change"] == "resolved" else (1, "New"))
    severity_id = SEVERITY_ID[f["severity"]]
    when = epoch(run.get("finished_at") or run["started_at"])
    return {
        "metadata": {"version": OCSF_VERSION, "product": {"name": "auditor", "vendor_name": "auditor",
                                                           "version": __version__, "uid": "auditor"},
                     "event_code": f["rule_id"], "uid": f"{run['id']}/{finding_uid(run, key)}",
                     "profiles": ["cloud", "datetime"], "tenant_uid": run.get("account_id") or ""},
        "category_uid": CATEGORY_UID, "category_name": "Findings", "class_uid": CLASS_UID,
        "class_name": "Detection Finding", "activity_id": activity_id, "activity_name": activity,
        "type_uid": CLASS_UID * 100 + activity_id, "type_name": f"Detection Finding: {activity}",
        "severity_id": severity_id, "severity": SEVERITY_NAME[severity_id],
        "status_id": status_id, "status": status, "status_code": f["status"].upper(), "status_detail": f["message"],
        "message": f["message"], "time": when, "time_dt": run.get("finished_at") or run["started_at"],
        "finding_info": {"uid": finding_uid(run, key), "title": f.get("title") or f["rule_id"], "desc": f["message"],
                         "types": [f["control"], f["pack"]], "created_time": epoch(run["started_at"]),
                         "first_seen_time": epoch(f.get("first_seen")), "last_seen_time": when,
                         "data_sources": ["iac" if f.get("source") else "aws-api"]},
        "resources": [{"uid": res.get("arn") or res["id"], "name": res["name"], "type": res["type"],
                       "region": res["region"], "cloud_partition": "aws",
                       "data": {"property": f.get("property"), "expected": f.get("expected"),
                                "actual": f.get("actual"), "source": f.get("source")}}],
        "cloud": {"provider": "AWS", "region": res["region"],
                  "account": {"uid": run.get("account_id") or "unknown", "name": run["target"], "type_id": 10,
                              "type": "AWS Account"}},
        "remediation": {"desc": f["remediation"], "references": [f["spec_ref"]]},
        "unmapped": {"spec_ref": f["spec_ref"], "control": f["control"], "pack": f["pack"], "change": f["change"],
                     "waiver": f.get("waiver"), "run_id": run["id"], "target": run["target"],
                     "environment": run.get("environment")},
    }


def run_failure(run: dict, reason: str) -> dict:
    """A failed run's reason as an ERROR finding on the run itself."""
    finding = {"rule_id": "AUDITOR-RUN", "title": "The audit run failed", "control": "configuration",
               "pack": "auditor", "severity": "high", "status": "error", "change": "new",
               "message": f"run failed: {reason}", "remediation": "Fix the cause and audit again.",
               "spec_ref": "", "resource": {"type": "auditor:run", "id": run["id"], "name": run["target"],
                                            "region": (run.get("regions") or ["global"])[0], "arn": None}}
    return detection_finding(run, finding)


def ocsf_objects(document: dict) -> list[dict]:
    run = document["run"]
    if run["status"] == "failed":
        return [run_failure(run, r) for r in (run.get("errors") or ["the run failed and recorded no reason"])]
    return [detection_finding(run, f) for f in document["findings"]]


def write_ocsf(document: dict, path: Path) -> None:
    with path.open("w", encoding="utf-8", errors="backslashreplace") as handle:
        json.dump(ocsf_objects(document), handle, separators=(",", ":"), default=str)
        handle.write("\n")
