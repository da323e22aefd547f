"""One audit, start to finish: record the run, scan, compare with the previous run, store, report.

The CLI, the demo and the scheduler all audit through here, so a run is recorded the same way whoever
starts it, and an interruption (error, SIGTERM, Ctrl-C) leaves it ``failed`` in the history.
"""
from __future__ import annotations

import json
import signal
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Optional

from auditor.errors import AuditorError
from auditor.findings import Finding, RunInfo, utc_now
from auditor.history.changes import annotate_changes
from auditor.history.store import HistoryStore
from auditor.reporting.summary import summarize
from auditor.reporting.writers import report_document, write_reports
from auditor.scan import ScanRequest, new_run_id, run_scan


@dataclass
class AuditOutcome:
    run: RunInfo
    findings: list[Finding]
    paths: list[Path]
    document: dict


class Interrupted(BaseException):
    """SIGTERM during an audit: unwinds like Ctrl-C so the run is marked failed."""


@contextmanager
def sigterm_interrupts() -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def on_term(signum, frame):  # noqa: ARG001
        raise Interrupted("terminated by SIGTERM")

    previous = signal.signal(signal.SIGTERM, on_term)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def audit(request: ScanRequest, store: HistoryStore, out_dir: Path, formats: list[str],
          keep_runs: Optional[int] = None) -> AuditOutcome:
    run = RunInfo(id=new_run_id(), target=request.target, regions=request.settings.regions,
                  environment=request.environment, packs=[p.id for p in request.packs], started_at=utc_now(),
                  endpoint_url=request.settings.endpoint_url)
    store.begin_run(run)
    try:
        with sigterm_interrupts():
            result = run_scan(request, run)
            previous = store.previous_complete(run)
            findings = annotate_changes(result.findings, store.priors_at(previous) if previous else None,
                                        run.started_at, store.findings_by_state_ids)
            stored = [f for f in findings if not (f.change == "resolved" and f.actual == "absent")]
            summary = summarize(findings)
            summary_with_waivers = {**summary, "waivers": result.waivers}
            store.finish_run(run, stored, result.inventory.resources, summary_with_waivers)
    except (AuditorError, Exception, KeyboardInterrupt, Interrupted) as exc:
        run.finished_at = utc_now()
        store.fail_run(run, str(exc) or type(exc).__name__)
        raise
    if keep_runs:
        store.keep_last(run.target, keep_runs)
    document = report_document(run, findings, history_context(store, run), result.waivers)
    paths = write_reports(document, out_dir / run.id, formats)
    return AuditOutcome(run, findings, paths, document)


def history_context(store: HistoryStore, run: RunInfo, limit: int = 30) -> dict:
    """The previous run and the score trend of the target, for the reports."""
    previous = store.previous_complete(run)
    trend = []
    for row in reversed(store.runs(run.target, limit=limit)):
        if row["status"] == "failed":
            continue
        counts = json.loads(row["summary"])["by_status"] if row.get("summary") else {}
        trend.append({"run_id": row["id"], "started_at": row["started_at"], "score": row["score"],
                      "fail": counts.get("fail", 0), "error": counts.get("error", 0)})
    return {"previous_run": previous.id if previous else None, "trend": trend}
