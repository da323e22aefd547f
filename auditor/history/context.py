"""What a report says about a run's past: the previous finished run and the trend of the runs up to it."""
from __future__ import annotations

import json

from auditor.engine.findings import RunInfo
from auditor.history.store import HistoryStore


def history_context(store: HistoryStore, run: RunInfo, limit: int = 30) -> dict:
    """The previous run and the score trend of the target, for the reports."""
    previous = store.previous_complete(run)
    rows = store.runs_up_to(run.id, limit=limit)  # a run rendered again shows its past, not the runs after it
    return {"previous_run": previous.id if previous else None, "trend": trend_of(rows)}


def trend_of(rows: list[dict]) -> list[dict]:
    """Score and failures (in all, and by severity) of finished runs, oldest first; failed runs have none."""
    trend = []
    for row in reversed(rows):
        if row["status"] in ("failed", "running"):
            continue
        summary = json.loads(row["summary"]) if row.get("summary") else {}
        counts = summary.get("by_status", {})
        trend.append({"run_id": row["id"], "started_at": row["started_at"], "score": row["score"],
                      "fail": counts.get("fail", 0), "error": counts.get("error", 0),
                      "fail_by_severity": {sev: c.get("fail", 0) for sev, c in summary.get("by_severity", {}).items()}})
    return trend
