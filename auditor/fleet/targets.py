"""``auditor scan --all-targets``: every configured target and every discovered organization account, audited
concurrently; one failing target does not stop the others, and each is its own run.

Scans run on the executor config.yaml names: threads here (``local``), or Celery workers (``celery``), in which
case this process only waits for results and records them, so the history keeps one writer either way.
"""
from __future__ import annotations

import sqlite3
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
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
    label: Optional[str] = None
    status: str = "failed"
    counts: dict = field(default_factory=dict)
    score: Optional[float] = None


@dataclass
class Fleet:
    """What --all-targets audits: the configured targets, then each organization's audited accounts."""

    targets: list[Target]
    discoveries: list = field(default_factory=list)  # organizations.Discovery
    problems: list[str] = field(default_factory=list)  # organizations that could not be listed


def organization_client(config: Config, org):
    from auditor.aws import AwsSettings, ClientPool

    settings = AwsSettings(regions=[org.regions[0]], profile=org.profile, role_arn=org.role_arn,
                           external_id=org.management_external_id, endpoint_url=org.endpoint_url,
                           max_attempts=config.timeouts.attempts, connect_timeout=config.timeouts.connect_seconds,
                           read_timeout=config.timeouts.read_seconds)
    return ClientPool(settings).client("organizations", "us-east-1")  # a global service, served in us-east-1


def fleet_of(config: Config, include_configured: bool = True) -> Fleet:
    """Discover each organization (a failure to list one is a problem line, not the end of the others)."""
    from auditor.fleet.organizations import discover, member_role_arn

    fleet = Fleet(list(config.targets) if include_configured else [])
    for org in config.organizations:
        try:
            found = discover(org, organization_client(config, org))
        except AuditorError as exc:
            fleet.problems.append(f"organization {org.name}: could not list its accounts: {exc}")
            continue
        fleet.discoveries.append(found)
        for account in found.audited:
            fleet.targets.append(Target(
                name=f"{org.name}/{account.id}", label=account.name, ou=account.ou, environment=account.environment,
                packs=org.packs, regions=org.regions, profile=org.profile,
                role_arn=member_role_arn(org, account.id), external_id=org.external_id,
                endpoint_url=org.endpoint_url, via_role_arn=org.role_arn, via_external_id=org.management_external_id))
    return fleet


def prepare_fleet(config: Config, waivers_path: Optional[Path]) -> tuple[Fleet, list]:
    """What ``--all-targets`` checks before any AWS call, as bad input: every pack a target or an organization
    names exists, the waivers file reads, the Celery broker (executor: celery) is set; then the fleet itself
    (configured targets and discovered accounts). Nothing to audit at all is bad input too."""
    from auditor.engine.waivers import load_configured_waivers
    from auditor.errors import BadInput
    from auditor.rules.load import PackFileSet

    for pack_id in {p for t in config.targets for p in t.packs} | {p for o in config.organizations for p in o.packs}:
        PackFileSet(config.rules_dir).path_of(pack_id)
    waivers = load_configured_waivers(waivers_path or config.waivers, config.rules_dir)
    if config.executor.type == "celery":
        from auditor.fleet.distributed import make_app

        make_app(config.executor.model_copy(update={"broker_url": config.executor.broker()}))
    fleet = fleet_of(config)
    if not fleet.targets and not fleet.problems:
        raise BadInput(f"{config.path or 'config'}: no target to audit (targets: [] and no organization account "
                       "qualifies: see auditor targets list)")
    return fleet, waivers


def audit_one(config: Config, target: Target, out: Path, formats: list[str], fail_on: str, db: Path,
              workers: int, waivers: list, on_progress: Optional[Callable[[str, int, int], None]],
              scanner: Optional[Callable] = None) -> TargetResult:
    from auditor.runs.audit import audit
    from auditor.history.store import HistoryStore
    from auditor.rules.load import PackFileSet
    from auditor.runs.scan import ScanRequest

    shown = f"{target.name} ({target.label})" if target.label else target.name
    try:
        packs = PackFileSet(config.rules_dir).load(target.packs)
        settings = config.aws_settings(target, max_workers=workers)
        request = ScanRequest(target.name, target.environment, packs, settings, config.parameters, waivers,
                              on_progress=(lambda done, total: on_progress(target.name, done, total)) if on_progress else None,
                              label=target.label, ou=target.ou)
        store = HistoryStore(db)
        try:
            outcome = audit(request, store, out, formats, keep_runs=config.keep_runs, scanner=scanner)
        finally:
            store.close()
    except AuditorError as exc:
        return TargetResult(target.name, exc.exit_code, f"{shown}: could not audit: {exc}", target.label)
    except sqlite3.Error as exc:
        return TargetResult(target.name, 3, f"{shown}: could not record the run: {exc}", target.label)
    counts = outcome.document["summary"]["by_status"]
    code = gate_exit_code(outcome.findings, fail_on, outcome.run.status)
    report = outcome.paths[0] if outcome.paths else ""
    score = score_text(outcome.document["summary"]["score"], outcome.run.status)
    return TargetResult(target.name, code, f"{shown}: run {outcome.run.id} {outcome.run.status}, "
                                           f"{counts['fail']} fail {counts['error']} error {counts['pass']} pass, "
                                           f"score {score}, report {report}", target.label, outcome.run.status,
                        dict(counts), outcome.document["summary"]["score"])


def audit_all(config: Config, out: Path, formats: list[str], fail_on: str, db: Path, waivers: list,
              parallel: int, targets: Optional[list[Target]] = None) -> list[TargetResult]:
    """Targets run ``parallel`` at a time (local) or all in flight at once up to ``executor.max_in_flight``
    (Celery: this process only waits); API calls are shared out so a local run stays within max_workers."""
    targets = list(config.targets if targets is None else targets)
    if not targets:
        return []
    scanner = None
    if config.executor.type == "celery":
        from auditor.fleet.distributed import celery_scanner, make_app

        executor = config.executor.model_copy(update={"broker_url": config.executor.broker()})
        scanner = celery_scanner(make_app(executor), executor)
        parallel = min(len(targets), config.executor.max_in_flight)
    workers = max(2, config.max_workers // max(1, min(parallel, len(targets))))
    progress = progress_display() if sys.stdout.isatty() and scanner is None else None
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
                                   on_progress if progress is not None else None, scanner) for t in targets]
            return [f.result() for f in futures]
        finally:
            if progress is not None:
                progress.stop()


def organization_totals(fleet: Fleet, results: list[TargetResult]) -> list[str]:
    """One line per organization: accounts audited and how their runs ended, findings, the worst accounts, and
    the accounts not audited (suspended, excluded, no environment)."""
    lines = []
    by_target = {r.target: r for r in results}
    for found in fleet.discoveries:
        mine = [by_target[f"{found.organization}/{a.id}"] for a in found.audited if f"{found.organization}/{a.id}" in by_target]
        ended = {s: sum(1 for r in mine if r.status == s) for s in ("complete", "partial", "failed")}
        totals = {k: sum(r.counts.get(k, 0) for r in mine) for k in ("fail", "error", "pass")}
        worst = sorted((r for r in mine if r.counts.get("fail")), key=lambda r: -r.counts["fail"])[:3]
        skipped = len(found.accounts) - len(found.audited)
        line = (f"organization {found.organization}: {len(mine)} account(s) audited: {ended['complete']} complete, "
                f"{ended['partial']} partial, {ended['failed']} failed; {totals['fail']} fail {totals['error']} error "
                f"{totals['pass']} pass; {skipped} not audited (see auditor targets list)")
        if worst:
            line += "; most failures: " + ", ".join(f"{r.target} ({r.counts['fail']})" for r in worst)
        lines.append(line)
        by_ou: dict[str, list[TargetResult]] = {}
        for account in found.audited:
            result = by_target.get(f"{found.organization}/{account.id}")
            if result is not None:
                by_ou.setdefault(account.ou or "(root)", []).append(result)
        if len(by_ou) > 1 or (by_ou and "(root)" not in by_ou):
            for ou, members in sorted(by_ou.items(), key=lambda kv: -sum(r.counts.get("fail", 0) for r in kv[1])):
                failing = sum(1 for r in members if r.counts.get("fail"))
                failed = sum(1 for r in members if r.status == "failed")
                lines.append(f"  OU {ou}: {len(members)} account(s), {failing} with failures, {failed} not audited, "
                             f"{sum(r.counts.get('fail', 0) for r in members)} fail")
    return lines


def progress_display():
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TextColumn("property reads"), transient=True)


def fleet_exit_code(results: list[TargetResult], problems: Optional[list[str]] = None) -> int:
    codes = {r.code for r in results}
    if codes & {2, 3} or problems:
        return 3
    return 1 if 1 in codes else 0
