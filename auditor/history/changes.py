"""What changed since the previous complete run of the same target: each finding's ``change`` and
``first_seen``, and the failures that disappeared (``resolved``)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional

from auditor.engine.findings import Finding, Sight


@dataclass(frozen=True)
class Prior:
    """What the previous run said of a finding: enough to name the change without loading it whole."""

    status: str
    first_seen: Optional[str]
    state_id: int = 0


def annotate_changes(current: list[Finding], priors: Optional[dict[str, Prior]], now: str,
                     load_gone: Callable[[list[int]], list[Finding]] = lambda ids: [],
                     sight: Optional[Sight] = None) -> list[Finding]:
    """Set ``change`` and ``first_seen`` on ``current``; return it plus a ``resolved`` entry for each previous
    failure whose finding is gone (its resource deleted, say), loaded with ``load_gone``. A finding is gone only
    if this run could see it (``sight``: its rule ran, its region was scanned and listed); one it could not see
    is simply not in this run, and its prior state waits for the next run that can.

    first_seen is when the finding's current status was first seen without interruption, so for a failure it
    answers "since when has this been failing?". Superseded findings are the spec pack's to judge: no change.
    """
    priors = priors or {}
    for finding in current:
        old = priors.get(finding.key)
        finding.change = _change(old.status if old else None, finding.status)
        same = old is not None and old.status == finding.status
        finding.first_seen = (old.first_seen or now) if same else now
    seen = {f.key for f in current}
    gone_ids = [p.state_id for key, p in priors.items()
                if key not in seen and p.status == "fail" and (sight is None or sight.sees(key))]
    gone = [old.model_copy(update={
        "status": "pass", "change": "resolved", "first_seen": now, "actual": "absent",
        "message": f"{GONE} (was: {old.message})",
    }) for old in load_gone(gone_ids)] if gone_ids else []
    return current + gone


GONE = "no longer present in this run"


def is_gone(finding: Finding) -> bool:
    """A previous failure whose resource this run no longer has: a change to report, not a verdict of this run
    (report.json lists it under ``gone``, never among the findings as a pass)."""
    return finding.change == "resolved" and finding.actual == "absent" and finding.message.startswith(GONE)


def gone_json(finding: Finding) -> dict:
    return {"rule_id": finding.rule_id, "pack": finding.pack, "title": finding.title, "control": finding.control,
            "severity": finding.severity, "status": "gone", "previous_status": "fail", "change": "resolved",
            "resource": finding.resource.model_dump(mode="json"), "message": finding.message,
            "spec_ref": finding.spec_ref, "first_seen": finding.first_seen}


def priors_of(findings: list[Finding]) -> dict[str, Prior]:
    return {f.key: Prior(f.status, f.first_seen) for f in findings}


def _change(before: Optional[str], now: str) -> str:
    """new: not seen before, or seen only as an error (unknown); resolved: a failure now passes or is waived;
    regressed: what passed now fails; unchanged: everything else (a failure that became an error is not fixed)."""
    if before is None:
        return "new"
    if now == "superseded":
        return "unchanged"
    if before == "superseded":
        return "new"
    if before == "fail" and now in ("pass", "waived"):
        return "resolved"
    if now == "fail" and before in ("pass", "waived"):
        return "regressed"
    if now == "fail" and before == "error":
        return "new"
    return "unchanged"
