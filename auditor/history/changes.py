"""What changed since the previous complete run of the same target: each finding's ``change`` and
``first_seen``, and the failures that disappeared (``resolved``)."""
from __future__ import annotations

from typing import Optional

from auditor.findings import Finding


def annotate_changes(current: list[Finding], previous: Optional[list[Finding]], now: str) -> list[Finding]:
    """Set ``change`` and ``first_seen`` on ``current``; return it plus a ``resolved`` entry for each previous
    failure whose finding is gone (its resource deleted, say).

    first_seen is when the finding's current status was first seen without interruption, so for a failure it
    answers "since when has this been failing?".
    """
    before = {f.key: f for f in previous or []}
    for finding in current:
        old = before.get(finding.key)
        finding.change = _change(old.status if old else None, finding.status)
        same = old is not None and old.status == finding.status
        finding.first_seen = (old.first_seen or now) if same else now
    seen = {f.key for f in current}
    gone = []
    for old in previous or []:
        if old.key not in seen and old.status == "fail":
            gone.append(old.model_copy(update={
                "status": "pass", "change": "resolved", "first_seen": now, "actual": "absent",
                "message": f"no longer present in this run (was: {old.message})",
            }))
    return current + gone


def _change(before: Optional[str], now: str) -> str:
    """new: not seen before, or seen only as an error (unknown); resolved: a failure now passes or is waived;
    regressed: what passed now fails; unchanged: everything else (a failure that became an error is not fixed)."""
    if before is None:
        return "new"
    if before == "fail" and now in ("pass", "waived"):
        return "resolved"
    if now == "fail" and before in ("pass", "waived"):
        return "regressed"
    if now == "fail" and before == "error":
        return "new"
    return "unchanged"
