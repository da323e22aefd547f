"""``auditor scan --all-targets``: every target of config.yaml (accounts, roles, regions) audited concurrently
within one bounded pool; one failing target does not stop the others, and each is its own run."""
from __future__ import annotations

import sqlite3
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

from auditor.config import Config, Target
from auditor.errors import AuditorError
from auditor.reporting.summary import gate_exit_code, score_text


@dataclass
class TargetResult:
    target: str
    code: int
    line: str


def audit_one(config: Config, target: Target, out: Path, formats: list[str], fail_on: str, db: Path,
              workers: int, waivers: list, on_progress: Optional[Callable[[str, int, int], None]]) -> TargetResult:
    from auditor.audit import audit
    from auditor.history.store import HistoryStore
    from auditor.rules.pack import PackFileSet
    from auditor.scan import ScanRequest

    try:
        packs = PackFileSet(config.rules_dir).load(target.packs)
        settings = config.aws_settings(target, max_workers=workers)
        request = ScanRequest(target.name, target.environment, packs, settings, config.parameters, waivers,
                              on_progress=(lambda done, total: on_progress(target.name, done, total)) if on_progress else None)
        store = HistoryStore(db)
        try:
            outcome = audit(request, store, out, formats, keep_runs=config.keep_runs)
        finally:
            store.close()
    except AuditorError as exc:
        return TargetResult(target.name, exc.exit_code, f"{target.name}: could not audit: {exc}")
    except sqlite3.Error as exc:
        return TargetResult(target.name, 3, f"{target.name}: could not record the run: {exc}")
    counts = outcome.document["summary"]["by_status"]
    code = gate_exit_code(outcome.findings, fail_on, outcome.run.status)
    report = outcome.paths[0] if outcome.paths else ""
    score = score_text(outcome.document["summary"]["score"], outcome.run.status)
    return TargetResult(target.name, code, f"{target.name}: run {outcome.run.id} {outcome.run.status}, "
                                           f"{counts['fail']} fail {counts['error']} error {counts['pass']} pass, "
                                           f"score {score}, report {report}")


def audit_all(config: Config, out: Path, formats: list[str], fail_on: str, db: Path, waivers: list,
              parallel: int) -> list[TargetResult]:
    """Targets run ``parallel`` at a time; API calls are shared out so the whole run stays within max_workers."""
    workers = max(2, config.max_workers // max(1, min(parallel, len(config.targets))))
    progress = progress_display() if sys.stdout.isatty() else None
    tasks: dict[str, int] = {}

    def on_progress(name: str, done: int, total: int) -> None:
        if progress is not None:
            if name not in tasks:
                tasks[name] = progress.add_task(name, total=total)
            progress.update(tasks[name], completed=done, total=total)

    with ThreadPoolExecutor(max_workers=parallel, thread_name_prefix="target") as pool:
        if progress is not None:
            progress.start()
        try:
            futures = [pool.submit(audit_one, config, t, out, formats, fail_on, db, workers, waivers,
                                   on_progress if progress is not None else None) for t in config.targets]
            return [f.result() for f in futures]
        finally:
            if progress is not None:
                progress.stop()


def progress_display():
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TextColumn("property reads"), transient=True)


def fleet_exit_code(results: list[TargetResult]) -> int:
    codes = {r.code for r in results}
    if codes & {2, 3}:
        return 3
    return 1 if 1 in codes else 0
