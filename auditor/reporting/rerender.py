"""``auditor report RUN_ID``: a stored run rendered again, exactly as its scan reported it."""
from __future__ import annotations

import gc
import json
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from auditor.engine.findings import Finding
from auditor.history.changes import annotate_changes
from auditor.history.context import history_context
from auditor.history.store import HistoryStore
from auditor.reporting.writers import check_formats, report_document, write_reports


def stored_document(store: HistoryStore, run_id: str) -> dict:
    run = store.run(run_id)
    if run.status in ("failed", "running"):  # it recorded no findings (yet), and borrows none from the runs around it
        findings = []
    else:
        findings = annotate_changes(store.findings(run_id), store.priors_for(run), run.started_at,
                                    store.findings_by_state_ids, run.sight())
    stored_summary = json.loads(store.run_row(run_id).get("summary") or "{}")
    return report_document(run, findings, history_context(store, run), stored_summary.get("waivers"),
                           dump=stored_finding_json)


def stored_finding_json(finding: Finding) -> dict:
    """``model_dump(mode="json")`` of a finding read back from the history, in a fifth of the time: its values
    came from JSON, so they are JSON already; only the nested models need copying (a test keeps the two equal)."""
    out = dict(finding.__dict__)
    out["resource"] = dict(finding.resource.__dict__)
    for key in ("source", "rule_source"):
        if out[key] is not None:
            out[key] = dict(out[key].__dict__)
    return out


@contextmanager
def without_gc_pauses() -> Iterator[None]:
    """Python's cycle collector walks every live object again and again while 100,000 findings are built
    (they hold no cycles to collect): it costs a third of a re-render. Paused for the build, run once after."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def render_stored_run(store: HistoryStore, run_id: str, out: Path, formats: list[str]) -> list[Path]:
    check_formats(formats)
    with without_gc_pauses():
        return write_reports(stored_document(store, run_id), out / run_id, formats)
