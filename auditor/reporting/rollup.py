"""Where the fleet stands: every target's latest run, totals across targets, and a roll-up by pack and control.

Read from the runs table alone (each run stores its summary), so the dashboard of a fleet with a year of
100,000-finding runs costs a few rows per target. A target whose latest run failed is shown as failed, with
its reason; its counts in the roll-up come from its last finished run and are marked stale, so a failing
night neither hides what was known to fail nor reads as compliant.
"""
from __future__ import annotations

import csv
import json
import re
from pathlib import Path
from typing import Optional

from auditor.engine.findings import utc_now
from auditor.history.context import trend_of
from auditor.history.store import HistoryStore
from auditor.reporting.summary import SEVERITY_RANK

COUNTED = ("pass", "fail", "error", "waived")
SEVERITIES = tuple(SEVERITY_RANK)[::-1]  # critical first


def _counts() -> dict[str, int]:
    return {s: 0 for s in COUNTED}


def target_view(store: HistoryStore, target: str, trend_runs: int = 30) -> Optional[dict]:
    rows = store.runs(target, limit=trend_runs)
    if not rows:
        return None
    latest = rows[0]
    finished = next((r for r in rows if r["status"] != "failed" and r.get("summary")), None)
    summary = json.loads(finished["summary"]) if finished else {}
    by_severity = summary.get("by_severity", {})
    return {
        "name": target, "environment": latest["environment"], "account_id": latest.get("account_id"),
        "label": latest.get("label"), "ou": latest.get("ou"),
        "latest": {"id": latest["id"], "status": latest["status"], "started_at": latest["started_at"],
                   "score": None if latest["status"] == "failed" else latest["score"],
                   "errors": json.loads(latest.get("errors") or "[]")},
        "counted_run": finished["id"] if finished else None,
        "stale": finished is not None and finished["id"] != latest["id"],
        "by_status": {s: summary.get("by_status", {}).get(s, 0) for s in COUNTED},
        "fail_by_severity": {sev: by_severity.get(sev, {}).get("fail", 0) for sev in SEVERITIES},
        "by_pack": summary.get("by_pack", {}), "by_control": summary.get("by_control", {}),
        "trend": trend_of(rows), "runs": store.run_count(target),
    }


def fleet_view(store: HistoryStore, trend_runs: int = 30) -> dict:
    targets = [view for view in (target_view(store, t, trend_runs) for t in store.targets()) if view]
    # Worst first: failed runs, then the most critical and high failures, then the lowest score.
    targets.sort(key=lambda t: (t["latest"]["status"] != "failed", -t["fail_by_severity"]["critical"],
                                -t["fail_by_severity"]["high"], t["latest"]["score"] if t["latest"]["score"] is not None
                                else 101, t["name"]))
    totals = {"targets": len(targets), "by_status": _counts(), "fail_by_severity": {sev: 0 for sev in SEVERITIES},
              "latest_status": {s: 0 for s in ("complete", "partial", "failed", "running")}, "stale": 0}
    rollups: dict[str, dict[str, dict]] = {"by_pack": {}, "by_control": {}}
    scores = []
    for t in targets:
        totals["latest_status"][t["latest"]["status"]] = totals["latest_status"].get(t["latest"]["status"], 0) + 1
        totals["stale"] += t["stale"]
        if t["latest"]["score"] is not None:
            scores.append(t["latest"]["score"])
        for s in COUNTED:
            totals["by_status"][s] += t["by_status"][s]
        for sev in SEVERITIES:
            totals["fail_by_severity"][sev] += t["fail_by_severity"][sev]
        for group in rollups:
            for name, counts in t[group].items():
                entry = rollups[group].setdefault(name, {**_counts(), "targets": 0, "failing_targets": []})
                entry["targets"] += 1
                for s in COUNTED:
                    entry[s] += counts.get(s, 0)
                if counts.get("fail"):
                    entry["failing_targets"].append(t["name"])
    totals["mean_score"] = round(sum(scores) / len(scores), 1) if scores else None
    organizations = organization_rollup(targets)
    for group in rollups:  # most failures first
        rollups[group] = dict(sorted(rollups[group].items(), key=lambda kv: (-kv[1]["fail"], -kv[1]["error"], kv[0])))
    return {"generated_at": utc_now(), "targets": targets, "totals": totals, **rollups,
            "organizations": organizations}


ORG_TARGET = re.compile(r"^(?P<org>[^/]+)/(?P<account>\d{12})$")


def organization_rollup(targets: list[dict]) -> dict[str, dict]:
    """Per organization (targets named ORG/ACCOUNT_ID): accounts worst first, and compliance by OU."""
    out: dict[str, dict] = {}
    for t in targets:  # already worst first
        match = ORG_TARGET.match(t["name"])
        if not match:
            continue
        org = out.setdefault(match["org"], {"accounts": [], "by_status": _counts(), "by_ou": {},
                                            "failed_runs": 0})
        org["accounts"].append({"name": t["name"], "label": t["label"], "ou": t["ou"], "status": t["latest"]["status"],
                                "score": t["latest"]["score"], "fail": t["by_status"]["fail"],
                                "error": t["by_status"]["error"], "fail_by_severity": t["fail_by_severity"]})
        org["failed_runs"] += t["latest"]["status"] == "failed"
        ou = org["by_ou"].setdefault(t["ou"] or "(root)", {**_counts(), "accounts": 0, "failing_accounts": 0,
                                                           "failed_runs": 0, "scores": []})
        ou["accounts"] += 1
        ou["failing_accounts"] += bool(t["by_status"]["fail"])
        ou["failed_runs"] += t["latest"]["status"] == "failed"
        if t["latest"]["score"] is not None:
            ou["scores"].append(t["latest"]["score"])
        for s in COUNTED:
            org["by_status"][s] += t["by_status"][s]
            ou[s] += t["by_status"][s]
    for org in out.values():
        for ou in org["by_ou"].values():
            scores = ou.pop("scores")
            ou["mean_score"] = round(sum(scores) / len(scores), 1) if scores else None
        org["by_ou"] = dict(sorted(org["by_ou"].items(), key=lambda kv: (-kv[1]["fail"], kv[0])))
    return out


CSV_COLUMNS = ("section", "name", "environment", "latest_run", "status", "started_at", "score", "stale",
               *COUNTED, *(f"fail_{sev}" for sev in SEVERITIES), "targets", "failing_targets")


def write_fleet_csv(view: dict, path: Path, excel: bool = False) -> None:
    """One row per target, then one per pack and per control (``section`` says which)."""
    with path.open("w", newline="", encoding="utf-8-sig" if excel else "utf-8") as handle:
        writer = csv.DictWriter(handle, CSV_COLUMNS, extrasaction="ignore")
        writer.writeheader()
        for t in view["targets"]:
            writer.writerow({"section": "target", "name": t["name"], "environment": t["environment"],
                             "latest_run": t["latest"]["id"], "status": t["latest"]["status"],
                             "started_at": t["latest"]["started_at"],
                             "score": "" if t["latest"]["score"] is None else t["latest"]["score"],
                             "stale": "yes" if t["stale"] else "", **t["by_status"],
                             **{f"fail_{sev}": n for sev, n in t["fail_by_severity"].items()}})
        for org_name, org in view.get("organizations", {}).items():
            for ou, entry in org["by_ou"].items():
                writer.writerow({"section": "ou", "name": _safe(f"{org_name}: {ou}"),
                                 "score": "" if entry["mean_score"] is None else entry["mean_score"],
                                 **{s: entry[s] for s in COUNTED}, "targets": entry["accounts"]})
        for section in ("pack", "control"):
            for name, entry in view[f"by_{section}"].items():
                writer.writerow({"section": section, "name": _safe(name), **{s: entry[s] for s in COUNTED},
                                 "targets": entry["targets"], "failing_targets": " ".join(entry["failing_targets"])})


def _safe(text: str) -> str:
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


def write_fleet_reports(store: HistoryStore, out: Path, formats: list[str]) -> tuple[dict, list[Path]]:
    """``auditor report --all-targets``: fleet.html, fleet.json and fleet.csv in ``out``; the view and paths."""
    from auditor.reporting.html import environment
    from auditor.reporting.writers import write_atomically

    view = fleet_view(store)
    writers = {
        "json": ("fleet.json", lambda p: p.write_text(json.dumps(view, indent=1, default=str) + "\n", encoding="utf-8")),
        "csv": ("fleet.csv", lambda p: write_fleet_csv(view, p)),
        "excel": ("fleet.excel.csv", lambda p: write_fleet_csv(view, p, excel=True)),
        "html": ("fleet.html", lambda p: p.write_text(environment().get_template("fleet.html.j2").render(
            fleet=view, severities=SEVERITIES, served=False), encoding="utf-8", errors="backslashreplace")),
    }
    unknown = [f for f in formats if f not in writers]
    if unknown:
        from auditor.errors import BadInput

        raise BadInput(f"fleet report format {unknown[0]!r} is not available (available: {', '.join(writers)})")
    return view, [write_atomically(out / writers[f][0], writers[f][1]) for f in formats]

