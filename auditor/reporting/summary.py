"""Counts and the compliance score of a run, and the exit code the gate derives from them."""
from __future__ import annotations

from collections import Counter, defaultdict
from typing import Iterable, Optional

from auditor.engine.findings import Finding

STATUSES = ("pass", "fail", "error", "waived", "superseded")
SEVERITY_RANK = {"info": 0, "low": 1, "medium": 2, "high": 3, "critical": 4}
# How much a finding weighs in the score: an info finding informs, it does not lower the score.
SEVERITY_WEIGHT = {"critical": 10, "high": 5, "medium": 3, "low": 1, "info": 0}


def _counts() -> dict[str, int]:
    return {status: 0 for status in STATUSES}


def summarize(findings: Iterable[Finding], run_status: str = "complete") -> dict:
    """Counts and the score. A failed run has no score (``None``): it proves nothing about compliance.
    Findings are counted once by (status, severity, control, pack, change): a few hundred combinations stand
    for 100,000 findings, and every table is added up from them."""
    combos = Counter((f.status, f.severity, f.control, f.pack, f.change) for f in findings)
    by_status = _counts()
    groups: dict[str, dict[str, dict[str, int]]] = {"by_severity": {sev: _counts() for sev in SEVERITY_RANK},
                                                    "by_control": {}, "by_pack": {}}
    by_change = {change: 0 for change in ("new", "unchanged", "resolved", "regressed")}
    earned = weight_total = 0
    evaluated = False
    for (status, severity, control, pack, change), n in combos.items():
        by_status[status] += n
        by_change[change] += n
        for group, key in (("by_severity", severity), ("by_control", control), ("by_pack", pack)):
            groups[group].setdefault(key, _counts())[status] += n
        if status in ("pass", "fail"):
            evaluated = True
            weight_total += SEVERITY_WEIGHT[severity] * n
            earned += SEVERITY_WEIGHT[severity] * n if status == "pass" else 0
    if run_status in ("failed", "running") or not evaluated:
        score_value = None
    else:
        score_value = 100.0 if weight_total == 0 else round(100.0 * earned / weight_total, 1)
    return {
        "total": sum(combos.values()),
        "by_status": by_status,
        "by_change": by_change,
        **{name: dict(sorted(g.items())) if name != "by_severity" else g for name, g in groups.items()},
        "score": score_value,
        # The score's basis: the checks made (pass or fail) and those that could not be (error), which the
        # score leaves out rather than count as compliant.
        "evaluated": by_status["pass"] + by_status["fail"],
        "not_checked": by_status["error"],
    }


def score(findings: Iterable[Finding]) -> Optional[float]:
    """Weighted share of the checks made that passed, over what the run evaluated: errors (not checked),
    waived and superseded findings are left out. None when nothing was evaluated: no check, no score."""
    earned = total = 0
    evaluated = False
    for f in findings:
        if f.status not in ("pass", "fail"):
            continue
        evaluated = True
        weight = SEVERITY_WEIGHT[f.severity]
        total += weight
        if f.status == "pass":
            earned += weight
    if not evaluated:
        return None
    return 100.0 if total == 0 else round(100.0 * earned / total, 1)


def gate_exit_code(findings: Iterable[Finding], fail_on: str, run_status: str) -> int:
    """0 clean, 1 a failure at or above ``fail_on``, 3 incomplete (errors) with nothing failing."""
    findings = list(findings)
    if fail_on != "none":
        threshold = SEVERITY_RANK[fail_on]
        if any(f.status == "fail" and SEVERITY_RANK[f.severity] >= threshold for f in findings):
            return 1
    if run_status != "complete" or any(f.status == "error" for f in findings):
        return 3
    return 0


def score_text(score_value: Optional[float], run_status: str) -> str:
    """How a score reads to people: a failed run has none, a partial one is over what was checked."""
    if run_status in ("failed", "running") or score_value is None:
        return {"failed": "none (run failed)", "running": "none (still running)"}.get(run_status,
                                                                                   "none (nothing evaluated)")
    return f"{score_value}" + (" (over the checks made)" if run_status == "partial" else "")


def failures_by_severity(findings: Iterable[Finding]) -> list[Finding]:
    failed = [f for f in findings if f.status in ("fail", "error")]
    return sorted(failed, key=lambda f: (-SEVERITY_RANK[f.severity], f.status, f.rule_id, f.resource.name))


def counts_table(findings: Iterable[Finding], key: str) -> dict[str, dict[str, int]]:
    table: dict[str, dict[str, int]] = defaultdict(_counts)
    for f in findings:
        table[getattr(f, key)][f.status] += 1
    return dict(sorted(table.items()))
