"""One audit, start to finish: record the run, scan, compare with the previous run, store, report.

The CLI, the demo and the scheduler all audit through here, so a run is recorded the same way whoever
starts it, and an interruption (error, SIGTERM, Ctrl-C) leaves it ``failed`` in the history.
"""
from __future__ import annotations

import json
import signal
import threading
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator, Optional

from auditor.aws import ClientPool
from auditor.engine.findings import Finding, RunInfo, utc_now
from auditor.engine.plan import new_run_id
from auditor.errors import AuditIncomplete, AuditorError, Interrupted
from auditor.history.changes import annotate_changes, is_gone
from auditor.history.context import history_context
from auditor.history.store import HistoryStore
from auditor.reporting.summary import summarize
from auditor.reporting.writers import report_document, write_reports
from auditor.runs.locking import target_lock
from auditor.runs.scan import ScanRequest, adhoc_target, run_scan


@dataclass
class AuditOutcome:
    run: RunInfo
    findings: list[Finding]
    paths: list[Path]
    document: dict
    warnings: list[str] = field(default_factory=list)


# Runs being audited in this process, so a scheduler forced to stop can mark them failed with a reason.
IN_PROGRESS: dict[str, tuple[HistoryStore, RunInfo]] = {}
_IN_PROGRESS_LOCK = threading.Lock()


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
          keep_runs: Optional[int] = None, scanner: Optional[Callable] = None) -> AuditOutcome:
    """Audit one target, holding its lock: never two audits of one target at once. An ad-hoc scan (no target)
    takes the lock of the identity it finds once it knows the account. ``scanner`` makes the scan itself
    (default: here, scan.run_scan; the Celery executor sends it to a worker); recording stays here."""
    if request.target is None:
        return _audit(request, store, out_dir, formats, keep_runs, scanner or run_scan)
    with target_lock(store.path, request.target):
        return _audit(request, store, out_dir, formats, keep_runs, scanner or run_scan)


def identify(request: ScanRequest, run: RunInfo, store: HistoryStore, stack: ExitStack) -> None:
    """Name an ad-hoc run after the account it reaches (one STS call, which the scan then reuses). Until then it
    is recorded under an unknown account, and stays there, failed, if the account cannot be identified."""
    request.pool = ClientPool(request.settings)
    account_id = request.pool.account_id()
    run.target = request.target = adhoc_target(account_id, request.environment, request.settings.endpoint_url)
    stack.enter_context(target_lock(store.path, run.target))
    store.retarget_run(run)


def pack_change_warning(store: HistoryStore, run: RunInfo) -> list[str]:
    """Changing a target's packs is legal, but its diffs then compare only the rules both runs ran: say so once,
    on the run that changes them."""
    previous = [r for r in store.runs(run.target, limit=2) if r["id"] != run.id][:1]
    if not previous:
        return []
    before = json.loads(previous[0].get("packs") or "[]")
    if sorted(before) == sorted(run.packs):
        return []
    return [f"target {run.target} was last audited with packs {', '.join(before)}; this run uses "
            f"{', '.join(run.packs)}: rules outside this run are neither compared nor resolved"]


def _audit(request: ScanRequest, store: HistoryStore, out_dir: Path, formats: list[str],
           keep_runs: Optional[int], scanner: Callable) -> AuditOutcome:
    adhoc = request.target is None
    run = RunInfo(id=new_run_id(), target=request.target or adhoc_target(None, request.environment,
                                                                          request.settings.endpoint_url),
                  label=request.label, ou=request.ou,
                  regions=request.settings.regions, environment=request.environment,
                  packs=[p.id for p in request.packs], started_at=utc_now(), endpoint_url=request.settings.endpoint_url)
    store.begin_run(run)
    with _IN_PROGRESS_LOCK:
        IN_PROGRESS[run.id] = (store, run)
    try:
        with sigterm_interrupts(), ExitStack() as stack:
            if adhoc:
                identify(request, run, store, stack)
            warnings = pack_change_warning(store, run)
            result = scanner(request, run)
            findings = annotate_changes(result.findings, store.priors_for(run), run.started_at,
                                        store.findings_by_state_ids, run.sight())
            stored = [f for f in findings if not is_gone(f)]
            summary = summarize(stored, run.status)
            summary["by_change"]["resolved"] += len(findings) - len(stored)
            summary_with_waivers = {**summary, "waivers": result.waivers}
            store.finish_run(run, stored, result.inventory.resources, summary_with_waivers, request.packs)
            result.inventory.resources.clear()  # stored; the reports need only the findings
            del stored
    except (Exception, KeyboardInterrupt, Interrupted) as exc:
        run.finished_at = utc_now()
        store.fail_run(run, failure_reason(exc))
        raise
    finally:
        with _IN_PROGRESS_LOCK:
            IN_PROGRESS.pop(run.id, None)
    if keep_runs:
        store.keep_last(run.target, keep_runs)
    document = report_document(run, findings, history_context(store, run), result.waivers)
    try:
        paths = write_reports(document, out_dir / run.id, formats)
    except OSError as exc:
        # The audit is stored, but nobody can read its reports: the run is partial, and says why.
        reason = f"reports could not be written to {out_dir / run.id}: {exc.strerror or exc}"
        store.mark_partial(run, reason)
        raise AuditIncomplete(f"run {run.id}: {reason}") from None
    # The findings of this run: a previous failure whose resource is gone is in the document's "gone" list.
    return AuditOutcome(run, [f for f in findings if not is_gone(f)], paths, document, warnings)


def failure_reason(exc: BaseException) -> str:
    """The line a failed run keeps: ours as they are, anything else with its type (a bug, to be reported)."""
    text = (str(exc).splitlines() or [""])[0][:300]
    if isinstance(exc, (AuditorError, Interrupted)):
        return text or type(exc).__name__
    return f"unexpected error: {type(exc).__name__}: {text}" if text else f"unexpected error: {type(exc).__name__}"


def abandon_runs_in_progress(reason: str) -> list[str]:
    """Mark every run this process is still auditing as failed (used when a stop cannot wait any longer).

    Each run's own thread holds its SQLite connection, so a fresh connection to the same file writes the mark.
    """
    with _IN_PROGRESS_LOCK:
        pending = list(IN_PROGRESS.values())
    marked = []
    for store, run in pending:
        other = HistoryStore(store.path)
        try:
            run.finished_at = utc_now()
            other.fail_run(run, reason)
            marked.append(run.id)
        finally:
            other.close()
    return marked
