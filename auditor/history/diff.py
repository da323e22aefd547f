"""``auditor diff``: what failed anew, what was fixed, what regressed, and what changed in configuration."""
from __future__ import annotations

from typing import Any

from auditor.history.store import HistoryStore


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """{"versioning": {"status": "Enabled"}} -> {"versioning.status": "Enabled"}; lists stay whole."""
    if isinstance(value, dict) and value:
        out: dict[str, Any] = {}
        for key, item in value.items():
            out.update(flatten(item, f"{prefix}{key}."))
        return out
    return {prefix[:-1]: value}


def diff_runs(store: HistoryStore, run_a: str, run_b: str) -> dict:
    a_run, b_run = store.run(run_a), store.run(run_b)
    a = {f.key: f for f in store.findings(run_a)}
    b = {f.key: f for f in store.findings(run_b)}

    def brief(f, before=None) -> dict:
        item = {"rule_id": f.rule_id, "severity": f.severity, "control": f.control, "status": f.status,
                "resource": f.resource.model_dump(), "expected": f.expected, "actual": f.actual, "message": f.message}
        if before is not None:
            item["before"] = {"status": before.status, "actual": before.actual}
        return item

    new_failures = [brief(f) for k, f in b.items() if f.status == "fail" and k not in a]
    regressed = [brief(f, a[k]) for k, f in b.items() if f.status == "fail" and k in a and a[k].status != "fail"]
    fixed = [brief(b[k], f) if k in b else {**brief(f), "status": "absent", "before": {"status": "fail", "actual": f.actual}}
             for k, f in a.items() if f.status == "fail" and (k not in b or b[k].status != "fail")]
    still = sum(1 for k, f in b.items() if f.status == "fail" and k in a and a[k].status == "fail")

    ra, rb = store.resources(run_a), store.resources(run_b)
    changes = []
    for key in sorted(set(ra) & set(rb)):
        before, after = flatten(ra[key]["config"]), flatten(rb[key]["config"])
        for prop in sorted(set(before) | set(after)):
            if before.get(prop) != after.get(prop):
                changes.append({"resource": {"type": key[0], "region": key[1], "id": key[2], "name": rb[key]["name"]},
                                "property": prop, "before": before.get(prop), "after": after.get(prop)})
    return {
        "run_a": a_run.model_dump(mode="json"), "run_b": b_run.model_dump(mode="json"),
        "new_failures": new_failures, "regressed": regressed, "fixed": fixed, "still_failing": still,
        "configuration_changes": changes,
        "resources_added": [{"type": k[0], "region": k[1], "id": k[2]} for k in sorted(set(rb) - set(ra))],
        "resources_removed": [{"type": k[0], "region": k[1], "id": k[2]} for k in sorted(set(ra) - set(rb))],
    }
