"""``auditor diff``: what failed anew, what was fixed, what regressed, and what changed in configuration.

Only the states that differ between the two runs are read (see HistoryStore.differing_states), so diffing two
runs of 100,000 findings costs what changed between them.
"""
from __future__ import annotations

import json
from typing import Any

from auditor.errors import BadInput
from auditor.history.store import HistoryStore
from auditor.rules.pack import SEVERITIES


def _brief(row: dict, before: dict | None = None) -> dict:
    item = {"rule_id": row["rule_id"], "status": row["status"],
            "resource": {"type": row["resource_type"], "id": row["resource_id"], "name": row["resource_name"],
                         "region": row["resource_region"], "arn": row["resource_arn"]},
            "property": row["property"], "expected": _load(row["expected"]), "actual": _load(row["actual"]),
            "message": row["message"]}
    if before is not None:
        item["before"] = {"status": before["status"], "actual": _load(before["actual"])}
    return item


def _load(text: str | None) -> Any:
    return None if text is None else json.loads(text)


# A resource's own lifecycle state (creating -> available, modifying -> available) is noise between two audits,
# not a configuration change; a nested status (versioning.status) is configuration and stays.
LIFECYCLE_PROPERTIES = {"status"}
SEVERITY_ORDER = {severity: rank for rank, severity in enumerate(SEVERITIES)}  # critical first


def changed_fields(before: Any, after: Any, prefix: str = "") -> list[tuple[str, Any, Any]]:
    """The leaves that differ, as (path, before, after). Dictionaries are walked; a list of named items (alarms,
    indexes, rules: each with a ``name`` or ``id``) is walked item by item, ``alarms[NAME].threshold``, so one
    changed field is shown, not the whole list twice; any other list is compared whole."""
    if isinstance(before, dict) and isinstance(after, dict):
        out = []
        for key in sorted(set(before) | set(after)):
            out += changed_fields(before.get(key), after.get(key), f"{prefix}{key}.")
        return out
    keyed_a, keyed_b = _by_name(before), _by_name(after)
    if keyed_a is not None and keyed_b is not None:
        out = []
        for name in sorted(set(keyed_a) | set(keyed_b)):
            out += changed_fields(keyed_a.get(name), keyed_b.get(name), f"{prefix[:-1]}[{name}].")
        return out
    return [] if before == after else [(prefix[:-1], before, after)]


def _by_name(value: Any) -> dict | None:
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        return None
    names = [v.get("name", v.get("id")) for v in value]
    if any(n is None for n in names) or len(set(map(str, names))) != len(names):
        return None
    return {str(n): v for n, v in zip(names, value)}


def diff_runs(store: HistoryStore, run_a: str, run_b: str) -> dict:
    """Findings and configurations compared only where both runs could see them: a failure that run B could not
    see (its rule did not run, its listing failed) is not "fixed", and one run A could not see is not "new";
    both are listed under ``not_compared``. A failed run recorded nothing, so it cannot be diffed."""
    a_run, b_run = store.run(run_a), store.run(run_b)
    for run in (a_run, b_run):
        if run.status == "running":
            raise BadInput(f"run {run.id} is still running: it has no findings to compare yet")
        if run.status == "failed":
            raise BadInput(f"run {run.id} failed ({'; '.join(run.errors) or 'no reason recorded'}): "
                           "it recorded no findings to compare")
    sight_a, sight_b = a_run.sight(), b_run.sight()
    only_a, only_b, both_failing = store.differing_states("finding_states", run_a, run_b)
    a = {r["key"]: r for r in only_a}
    b = {r["key"]: r for r in only_b}
    rules = {r[0]: (r[1], r[2], r[3]) for r in store.db.execute("SELECT ref, severity, control, title FROM rules")}

    def brief(row: dict, before: dict | None = None) -> dict:
        item = _brief(row, before)
        item["severity"], item["control"], item["title"] = rules.get(row["rule_ref"], ("info", "configuration", ""))
        item["key"] = "|".join((row["rule_id"], row["resource_type"], row["resource_region"], row["resource_id"]))
        return item

    new_failures, regressed, fixed, still, not_compared = [], [], [], both_failing, []
    for key, row in b.items():
        old = a.get(key)
        if row["status"] == "fail":
            if old is None and not sight_a.sees(key):
                not_compared.append({**brief(row), "why": f"run {run_a} did not evaluate it"})
            elif old is None:
                new_failures.append(brief(row))
            elif old["status"] == "fail":
                still += 1
            else:
                regressed.append(brief(row, old))
    for key, old in a.items():
        if old["status"] == "fail" and (key not in b or b[key]["status"] != "fail"):
            if key in b:
                if b[key]["status"] == "error":
                    not_compared.append({**brief(b[key], old), "why": f"run {run_b} could not check it"})
                else:
                    fixed.append(brief(b[key], old))
            elif not sight_b.sees(key):
                not_compared.append({**brief(old, old), "why": f"run {run_b} did not evaluate it"})
            else:
                fixed.append({**brief(old, old), "status": "absent"})

    ra, rb, _ = store.differing_states("resource_states", run_a, run_b)
    res_a = {(r["type"], r["region"], r["resource_id"]): r for r in ra}
    res_b = {(r["type"], r["region"], r["resource_id"]): r for r in rb}
    changes = []
    for key in sorted(set(res_a) & set(res_b)):
        before, after = json.loads(res_a[key]["config"]), json.loads(res_b[key]["config"])
        for prop, old_value, new_value in changed_fields(before, after):
            if prop in LIFECYCLE_PROPERTIES:
                continue
            changes.append({"resource": {"type": key[0], "region": key[1], "id": key[2], "name": res_b[key]["name"]},
                            "property": prop, "before": old_value, "after": new_value})
    for found in (new_failures, regressed, fixed, not_compared):  # worst first
        found.sort(key=lambda f: (SEVERITY_ORDER.get(f["severity"], 9), f["rule_id"], f["resource"]["name"]))
    unlisted_b = {(u["type"], u["region"]) for u in (b_run.coverage.unlisted if b_run.coverage else [])}
    removed = [k for k in sorted(set(res_a) - set(res_b)) if (k[0], k[1]) not in unlisted_b and k[1] in b_run.regions]
    return {
        "run_a": a_run.model_dump(mode="json"), "run_b": b_run.model_dump(mode="json"),
        "new_failures": new_failures, "regressed": regressed, "fixed": fixed, "still_failing": still,
        "not_compared": not_compared,
        "configuration_changes": changes,
        "resources_added": [{"type": k[0], "region": k[1], "id": k[2]} for k in sorted(set(res_b) - set(res_a))],
        "resources_removed": [{"type": k[0], "region": k[1], "id": k[2]} for k in removed],
    }
