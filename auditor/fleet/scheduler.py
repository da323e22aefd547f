"""``auditor schedule``: nightly audits with APScheduler 3, per config.yaml.

Jobs live in a persistent SQLAlchemy job store beside the history, with coalescing and a misfire grace time:
a machine that was down runs one catch-up audit per target, never a burst. ``max_instances=1`` and a per-target
file lock keep two audits of one target apart, even across processes. SIGTERM or SIGINT lets a running audit
finish and store its run, then stops; one failing target never stops the others.
"""
from __future__ import annotations

import logging
import os
import signal
import threading
import time
from pathlib import Path
from typing import Optional

from auditor.config import Config, Target, cron_trigger, load_config
from auditor.errors import AuditIncomplete, AuditorError, BadInput
from auditor.reporting.summary import gate_exit_code
from auditor.runs.locking import TargetBusy, exclusive, lock_path

log = logging.getLogger("auditor.schedule")


def scheduled_targets(config: Config, only: Optional[str] = None) -> list[Target]:
    """The targets with a schedule, or just ``only`` (which must have one). Organizations are scheduled as a
    whole (scheduled_organizations); a config with only those has no scheduled target, and that is fine."""
    targets = [t for t in config.targets if t.schedule]
    if only is not None:
        if any(o.name == only for o in config.organizations):
            return []
        chosen = config.target(only)
        if chosen.schedule is None:
            raise BadInput(f"{config.path or 'config'}: target {only!r} has no schedule (targets[].schedule.cron)")
        return [chosen]
    if not targets and not scheduled_organizations(config):
        raise BadInput(f"{config.path or 'config'}: no target has a schedule (targets[].schedule.cron, or "
                       "organizations[].schedule.cron)")
    return targets


def scheduled_organizations(config: Config, only: Optional[str] = None) -> list:
    orgs = [o for o in config.organizations if o.schedule and (only is None or o.name == only)]
    if only is not None and not orgs and any(o.name == only for o in config.organizations):
        raise BadInput(f"{config.path or 'config'}: organization {only!r} has no schedule (organizations[].schedule)")
    return orgs


def audit_organization(config_path: Optional[str], org_name: str) -> int:
    """One scheduled audit of every account of an organization, discovered afresh, on the configured executor
    (Celery workers, or threads here). Never raises; returns the fleet's exit code."""
    from auditor.fleet.targets import audit_all, fleet_exit_code, fleet_of, organization_totals
    from auditor.engine.waivers import load_configured_waivers

    try:
        config = load_config(Path(config_path) if config_path else None)
        config.organizations = [o for o in config.organizations if o.name == org_name]
        fleet = fleet_of(config, include_configured=False)
        for problem in fleet.problems:
            log.error("%s", problem)
        waivers = load_configured_waivers(config.waivers, config.rules_dir)
        results = audit_all(config, config.out, config.formats, config.fail_on, config.db, waivers,
                            config.scheduler.max_parallel_audits, targets=fleet.targets)
    except AuditorError as exc:
        log.error("audit of organization %s failed: %s", org_name, exc)
        return exc.exit_code
    except Exception as exc:  # noqa: BLE001  one organization's failure must not take the scheduler down
        log.exception("audit of organization %s failed unexpectedly: %s", org_name, exc)
        return 3
    for result in results:
        log.info("audit %s", result.line)
    for line in organization_totals(fleet, results):
        log.info("%s", line)
    return fleet_exit_code(results, fleet.problems)


def upcoming(config: Config, only: Optional[str] = None, count: int = 3, now=None) -> list[dict]:
    """The next fire times of each scheduled target, from the same triggers the scheduler runs, without starting
    it: what ``auditor schedule --list`` prints."""
    import datetime as dt

    now = now or dt.datetime.now(dt.timezone.utc)
    out = []
    scheduled = [(t.name, t) for t in scheduled_targets(config, only)]
    scheduled += [(f"org:{o.name}", o) for o in scheduled_organizations(config, only)]
    for name, target in scheduled:
        trigger = cron_trigger(target.schedule.cron, target.schedule.timezone)
        times, previous, moment = [], None, now
        for _ in range(count):
            fire = trigger.get_next_fire_time(previous, moment)
            if fire is None:
                break
            times.append(fire.isoformat())
            previous, moment = fire, fire + dt.timedelta(microseconds=1)
        out.append({"target": name, "cron": target.schedule.cron, "timezone": target.schedule.timezone,
                    "next": times})
    return out


def audit_target(config_path: Optional[str], target_name: str) -> int:
    """One scheduled audit, from a fresh read of config.yaml; returns the gate's exit code. Never raises, so
    one target's failure cannot stop the scheduler or the other targets."""
    from auditor.runs.audit import audit
    from auditor.history.store import HistoryStore
    from auditor.rules.load import PackFileSet
    from auditor.runs.scan import ScanRequest
    from auditor.engine.waivers import load_configured_waivers

    try:
        config = load_config(Path(config_path) if config_path else None)
        target = config.target(target_name)
        packs = PackFileSet(config.rules_dir).load(target.packs)
        settings = config.aws_settings(target)
        waivers = load_configured_waivers(config.waivers, config.rules_dir)
        store = HistoryStore(config.db)
        try:
            outcome = audit(ScanRequest(target.name, target.environment, packs, settings, config.parameters, waivers),
                            store, config.out, config.formats, keep_runs=config.keep_runs)
        finally:
            store.close()
    except TargetBusy as exc:
        log.warning("audit %s skipped: %s", target_name, exc)
        return 3
    except AuditorError as exc:
        log.error("audit %s failed: %s", target_name, exc)
        return exc.exit_code
    except Exception as exc:  # a bug in one target's audit must not take the scheduler down; it is logged whole
        log.exception("audit %s failed unexpectedly: %s", target_name, exc)
        return 3
    counts = outcome.document["summary"]["by_status"]
    report = next((str(p) for p in outcome.paths if p.suffix == ".html"), str(outcome.paths[0]) if outcome.paths else "")
    new_failures = [f for f in outcome.findings if f.status == "fail" and f.change in ("new", "regressed")]
    log.info("audit %s: run %s %s, %d pass %d fail %d error %d waived, score %s, %d new failures, report %s",
             target_name, outcome.run.id, outcome.run.status, counts["pass"], counts["fail"], counts["error"],
             counts["waived"], outcome.document["summary"]["score"], len(new_failures), report)
    if new_failures and config.scheduler.webhook_url:
        from auditor.fleet.notify import notify

        try:
            notify(config, outcome, new_failures)
        except Exception:  # notify logs its own failures; this is for a bug in it, never a reason to stop
            log.exception("webhook for %s failed unexpectedly", target_name)
    return gate_exit_code(outcome.findings, config.fail_on, outcome.run.status)


def run_once(config: Config, only: Optional[str] = None, exit_zero_on_findings: bool = False) -> int:
    """Every scheduled target (or ``only``) once, in turn, for a Kubernetes CronJob or a systemd timer. With
    ``exit_zero_on_findings`` findings do not fail the job: only an audit that could not be made does."""
    path = str(config.path) if config.path else None
    codes = [audit_target(path, t.name) for t in scheduled_targets(config, only)]
    codes += [audit_organization(path, o.name) for o in scheduled_organizations(config, only)]
    from auditor.fleet.notify import DELIVERIES

    if DELIVERIES["failed"]:
        log.warning("webhooks: %d of %d deliveries failed (see the lines above)", DELIVERIES["failed"],
                    DELIVERIES["failed"] + DELIVERIES["sent"])
    if any(code in (2, 3) for code in codes):
        return 3
    return 1 if 1 in codes and not exit_zero_on_findings else 0


def run_forever(config: Config, only: Optional[str] = None) -> int:
    from apscheduler.executors.pool import ThreadPoolExecutor
    from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
    from apscheduler.schedulers.background import BackgroundScheduler

    targets = scheduled_targets(config, only)
    organizations = scheduled_organizations(config, only)
    if config.path is None:
        raise BadInput("auditor schedule needs a config file (--config or ./config.yaml) listing scheduled targets")
    config_path = str(Path(config.path).resolve())
    jobstore = Path(config.scheduler.jobstore)

    def start() -> "BackgroundScheduler":
        scheduler = BackgroundScheduler(
            jobstores={"default": SQLAlchemyJobStore(url=f"sqlite:///{jobstore}")},
            executors={"default": ThreadPoolExecutor(config.scheduler.max_parallel_audits)},
            job_defaults={"coalesce": True, "max_instances": 1,
                          "misfire_grace_time": config.scheduler.misfire_grace_seconds},
            timezone="UTC",
        )
        scheduler.start(paused=True)
        sync_jobs(scheduler, targets, config_path, organizations)
        scheduler.resume()
        for job in scheduler.get_jobs():
            log.info("scheduled %s: next run %s", job.id, job.next_run_time)
        return scheduler

    with exclusive(lock_path(config.db, "scheduler"), "auditor schedule for this history"):
        stop = threading.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stop.set())
        scheduler = start_or_rebuild(start, jobstore)
        while not stop.wait(0.5):
            if not healthy(scheduler, jobstore):
                log.warning("the job store %s was lost or the scheduler stopped: rebuilding it from config.yaml",
                            jobstore)
                try:
                    scheduler.shutdown(wait=False)
                except Exception:  # noqa: BLE001  it is being replaced either way
                    pass
                scheduler = start_or_rebuild(start, jobstore)
        return stop_gracefully(scheduler, config.scheduler.stop_timeout_seconds)


def healthy(scheduler, jobstore: Path) -> bool:
    """The scheduler's thread runs and its job store is still the file on disk (not deleted under it)."""
    thread = getattr(scheduler, "_thread", None)
    return bool(scheduler.running and thread is not None and thread.is_alive() and jobstore.exists())


def start_or_rebuild(start, jobstore: Path):
    """Start the scheduler; a job store that is corrupt (not SQLite, or not APScheduler's) is moved aside and
    rebuilt from config.yaml with a warning. If even that fails, the process exits non-zero so its supervisor
    restarts it: never a process that stays up and audits nothing."""
    from sqlalchemy.exc import SQLAlchemyError

    try:
        return start()
    except (SQLAlchemyError, LookupError, ValueError) as exc:
        aside = jobstore.with_name(f"{jobstore.name}.corrupt-{int(time.time())}")
        log.warning("job store %s is unusable (%s: %s): moved to %s, rebuilding from config.yaml", jobstore,
                    type(exc).__name__, str(exc).splitlines()[0][:200] if str(exc) else "", aside)
        if jobstore.exists():
            jobstore.replace(aside)
        try:
            return start()
        except SQLAlchemyError as again:
            raise AuditIncomplete(f"job store {jobstore} cannot be rebuilt: {again}") from None


def stop_gracefully(scheduler, timeout: float) -> int:
    """No new audits; running ones get ``timeout`` seconds to finish and store their run. Past that, their runs
    are marked failed and the process ends at once (SQLite rolls back any write in flight)."""
    from auditor.runs.audit import IN_PROGRESS, abandon_runs_in_progress

    scheduler.pause()
    log.info("stopping: waiting up to %ss for %d running audit(s)", timeout, len(IN_PROGRESS))
    waited = 0.0
    while IN_PROGRESS and waited < timeout:
        threading.Event().wait(0.2)
        waited += 0.2
    if IN_PROGRESS:
        marked = abandon_runs_in_progress("stopped: the scheduler received SIGTERM before the audit finished")
        log.warning("stopped with audits still running; runs %s marked failed", ", ".join(marked))
        logging.shutdown()
        os._exit(143)
    scheduler.shutdown(wait=True)
    log.info("stopped")
    return 0


def sync_jobs(scheduler, targets: list[Target], config_path: str, organizations: list = ()) -> None:
    """Make the stored jobs match config.yaml, keeping unchanged ones so their missed runs still catch up."""
    wanted = {}
    for target in targets:
        trigger = cron_trigger(target.schedule.cron, target.schedule.timezone)
        wanted[f"audit:{target.name}"] = (target, trigger)
    for org in organizations:
        wanted[f"org:{org.name}"] = (org, cron_trigger(org.schedule.cron, org.schedule.timezone))
    for job in scheduler.get_jobs():
        if job.id not in wanted:
            log.info("removing %s: no longer scheduled in config.yaml", job.id)
            job.remove()
    for job_id, (target, trigger) in wanted.items():
        args = [config_path, target.name]
        existing = scheduler.get_job(job_id)
        if existing and str(existing.trigger) == str(trigger) and list(existing.args) == args:
            continue
        scheduler.add_job(audit_organization if job_id.startswith("org:") else audit_target, trigger, args=args,
                          id=job_id, name=f"audit {target.name}", replace_existing=True)
