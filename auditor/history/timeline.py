"""One finding's and one resource's story, run by run, read from the stored state ranges.

A finding's timeline says, for each run of its target, what the finding was (pass, fail, error, waived), or why
it was not there: the run failed, the run could not see it (its rule did not run, its region was not scanned,
its listing failed), or it was gone (the resource or the rule no longer applied). From that come the events an
auditor asks about: when it first failed, when it was fixed, when it regressed.

A resource's history is its configuration, property by property, in the manner of AWS Config's timeline: each
stored state is a period of runs with one configuration, and the change between two periods is listed by
property with its value before and after.
"""
from __future__ import annotations

import json
from typing import Any, Optional

from auditor.engine.drift import flatten
from auditor.engine.findings import Coverage, Sight
from auditor.errors import BadInput
from auditor.history.diff import LIFECYCLE_PROPERTIES, changed_fields
from auditor.history.store import HistoryStore


def _runs(store: HistoryStore, target: str) -> list[dict]:
    rows = store.db.execute("SELECT seq, id, started_at, status, regions, coverage FROM runs WHERE target = ? "
                            "ORDER BY seq", [target]).fetchall()
    if not rows:
        raise BadInput(f"no runs of target {target!r}")
    out = []
    for seq, run_id, started_at, status, regions, coverage in rows:
        regions = json.loads(regions) if regions else []
        sight = Coverage.model_validate_json(coverage).sight(regions) if coverage else Sight(None, frozenset(regions))
        out.append({"seq": seq, "id": run_id, "started_at": started_at, "status": status, "sight": sight})
    return out


def _state_at(states: list[dict], seq: int) -> Optional[dict]:
    return next((s for s in states if s["from_seq"] <= seq <= s["to_seq"]), None)


def finding_timeline(store: HistoryStore, target: str, key: str) -> dict:
    """``key`` as Finding.key: ``RULE|TYPE|REGION|RESOURCE_ID``."""
    states = [dict(r) for r in store.db.query(
        "SELECT f.*, r.title, r.severity, r.control, r.pack, r.spec_ref FROM finding_states f "
        "JOIN rules r ON r.ref = f.rule_ref WHERE f.target = ? AND f.key = ? ORDER BY f.from_seq", [target, key])]
    if not states:
        raise BadInput(f"target {target!r} has no finding {key!r}")
    runs = _runs(store, target)
    first_seq = states[0]["from_seq"]
    steps, events = [], []
    previous: Optional[str] = None  # the last status a run saw
    failed_before = False
    for run in runs:
        if run["seq"] < first_seq:
            continue
        state = _state_at(states, run["seq"])
        if run["status"] == "failed":
            status, note = "run failed", "the run failed: it checked nothing"
        elif state is not None:
            status, note = state["status"], state["message"]
        elif not run["sight"].sees(key):
            status, note = "not evaluated", "this run could not see it (rule not run, region not scanned or listing failed)"
        else:
            status, note = "absent", "not in this run: the resource is gone or the rule no longer applies to it"
        steps.append({"run_id": run["id"], "started_at": run["started_at"], "status": status, "note": note,
                      "actual": json.loads(state["actual"]) if state and state["actual"] else None})
        if status in ("run failed", "not evaluated"):
            continue  # a blind night is no news
        if status == "fail" and previous != "fail":
            kind = "regressed" if failed_before else "first failed"
            events.append({"event": kind, "run_id": run["id"], "started_at": run["started_at"]})
            failed_before = True
        elif previous == "fail" and status in ("pass", "absent"):
            events.append({"event": "fixed" if status == "pass" else "gone", "run_id": run["id"],
                           "started_at": run["started_at"]})
        elif status != previous and status in ("waived", "error"):
            events.append({"event": status, "run_id": run["id"], "started_at": run["started_at"]})
        previous = status
    latest = states[-1]
    rule_id, rtype, region, resource_id = key.split("|", 3)
    return {"target": target, "key": key, "rule_id": rule_id, "title": latest["title"],
            "severity": latest["severity"], "control": latest["control"], "pack": latest["pack"],
            "spec_ref": latest["spec_ref"],
            "resource": {"type": rtype, "region": region, "id": resource_id, "name": latest["resource_name"],
                         "arn": latest["resource_arn"]},
            "property": latest["property"], "expected": json.loads(latest["expected"]) if latest["expected"] else None,
            "first_seen": latest["first_seen"], "events": events, "runs": steps}


def resource_history(store: HistoryStore, target: str, key: str) -> dict:
    """``key``: ``TYPE|REGION|RESOURCE_ID``. Periods of one configuration, and what changed between them."""
    try:
        rtype, region, resource_id = key.split("|", 2)
    except ValueError:
        raise BadInput(f"resource key {key!r} is not TYPE|REGION|ID") from None
    states = [dict(r) for r in store.db.query(
        "SELECT * FROM resource_states WHERE target = ? AND type = ? AND region = ? AND resource_id = ? "
        "ORDER BY from_seq", [target, rtype, region, resource_id])]
    if not states:
        raise BadInput(f"target {target!r} has no resource {key!r}")
    by_seq = {r["seq"]: r for r in _runs(store, target)}

    def run_at(seq: int) -> dict:
        run = by_seq.get(seq)
        return {"run_id": run["id"], "started_at": run["started_at"]} if run else {"run_id": None, "started_at": None}

    periods, changes = [], []
    before: Optional[dict[str, Any]] = None
    for state in states:
        raw = json.loads(state["config"])
        periods.append({"from": run_at(state["from_seq"]), "to": run_at(state["to_seq"]),
                        "runs": sum(1 for s in by_seq if state["from_seq"] <= s <= state["to_seq"]),
                        "configuration": flatten(raw), "unknown": json.loads(state["unknown"] or "{}")})
        if before is not None:  # the changed fields, as a diff shows them (one alarm's threshold, not the list)
            changes += [{**run_at(state["from_seq"]), "property": prop, "before": old, "after": new}
                        for prop, old, new in changed_fields(before, raw) if prop not in LIFECYCLE_PROPERTIES]
        before = raw
    latest = states[-1]
    return {"target": target, "key": key, "type": rtype, "region": region, "id": resource_id, "name": latest["name"],
            "arn": latest["arn"], "periods": periods, "changes": changes}
