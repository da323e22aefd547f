"""``auditor report RUN_ID``: a stored run rendered again, exactly as its scan reported it."""
from __future__ import annotations

import json
from pathlib import Path

from auditor.audit import history_context
from auditor.history.changes import annotate_changes
from auditor.history.store import HistoryStore
from auditor.reporting.writers import check_formats, report_document, write_reports


def stored_document(store: HistoryStore, run_id: str) -> dict:
    run = store.run(run_id)
    if run.status == "failed":  # it recorded no findings, and borrows none from the runs around it
        findings = []
    else:
        findings = annotate_changes(store.findings(run_id), store.priors_for(run), run.started_at,
                                    store.findings_by_state_ids, run.sight())
    stored_summary = json.loads(store.run_row(run_id).get("summary") or "{}")
    return report_document(run, findings, history_context(store, run), stored_summary.get("waivers"))


def render_stored_run(store: HistoryStore, run_id: str, out: Path, formats: list[str]) -> list[Path]:
    check_formats(formats)
    return write_reports(stored_document(store, run_id), out / run_id, formats)
