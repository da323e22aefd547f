"""The Celery executor: each target's scan runs on a worker (`auditor worker`); the coordinator records it.

The coordinator (`scan --all-targets`, `schedule`) records a run as it always does (failed until its findings
are in), sends one task per target with the run id as the task id, waits for the result, and stores it through
the same code as a local scan: the history keeps one writer. Workers collect and evaluate; they need AWS
credentials of their own (an instance or pod role, a profile), never ones sent over the broker.

Tasks are ``acks_late``: a worker killed mid-task leaves its message unacknowledged, and Redis gives it to another
worker after the visibility timeout. A task is idempotent per run id: a redelivered task whose scan already
finished returns that result, and the coordinator records a run once, when it is still unfinished. A task runs
within a time limit, and a result that never arrives ends the run ``failed`` with the reason.
"""
from __future__ import annotations

import hashlib
import json
import logging
from typing import Any, Callable, Optional
from urllib.parse import urlsplit, urlunsplit

from auditor.errors import AuditIncomplete, BadInput

log = logging.getLogger("auditor.distributed")
TASK = "auditor.scan_target"


def redacted_url(url: str) -> str:
    """A broker URL fit for a log line: its password (and user) replaced, the rest kept."""
    parts = urlsplit(url)
    if parts.password is None and parts.username is None:
        return url
    host = parts.hostname or ""
    if parts.port:
        host += f":{parts.port}"
    return urlunsplit((parts.scheme, f"***@{host}", parts.path, parts.query, parts.fragment))


def make_app(executor) -> Any:
    """A Celery app from config.yaml's ``executor``: JSON only, late acks, one task per worker process at a time."""
    import importlib.util

    if importlib.util.find_spec("celery") is None or importlib.util.find_spec("redis") is None:
        raise BadInput("executor: type celery needs celery and redis, which the base install leaves out: "
                       "pip install 'auditor[distributed]'")
    from celery import Celery

    if not executor.broker_url:
        raise BadInput("executor: type celery needs broker_url (e.g. redis://127.0.0.1:6379/0)")
    app = Celery("auditor", broker=executor.broker_url, backend=executor.result_backend or executor.broker_url)
    app.conf.update(
        task_serializer="json", result_serializer="json", accept_content=["json"],
        task_acks_late=True, task_reject_on_worker_lost=True, worker_prefetch_multiplier=1,
        task_time_limit=executor.task_time_limit_seconds,
        # The soft limit lets a scan end cleanly before the hard one: 30 s before it, or at 80 % of a short one
        # (a fixed 30 s off a 22 s limit left 1 s, and every scan past it was stopped).
        task_soft_time_limit=max(1, int(max(executor.task_time_limit_seconds - 30, executor.task_time_limit_seconds * 0.8))),
        # Redis redelivers a dead worker's task once it is older than the visibility timeout, when a live worker
        # sweeps for such tasks: every 10 s at most here (kombu's default sweep is every 100 s).
        broker_transport_options={"visibility_timeout": executor.visibility_timeout_seconds,
                                  "unacked_restore_interval": min(10, max(1, executor.visibility_timeout_seconds // 4)),
                                  "unacked_restore_throttle": 1},
        result_backend_transport_options={"visibility_timeout": executor.visibility_timeout_seconds},
        # A broker that restarts: publishing retries within broker_outage_seconds, and so do the result backend's
        # reads and writes (the worker storing a result, the coordinator polling for it).
        task_publish_retry=True,
        task_publish_retry_policy={"max_retries": _retries(executor.broker_outage_seconds), "interval_start": 0.5,
                                   "interval_step": 0.5, "interval_max": 2},
        result_backend_always_retry=True, result_backend_max_retries=_retries(executor.broker_outage_seconds),
        result_backend_base_sleep_between_retries_ms=200, result_backend_max_sleep_between_retries_ms=2000,
        broker_connection_retry=True, broker_connection_max_retries=None,
        result_expires=7 * 86400, broker_connection_retry_on_startup=True, worker_hijack_root_logger=False,
        task_track_started=True, worker_send_task_events=False, task_send_sent_event=False,
    )
    app.task(name=TASK, bind=True)(scan_target_task)
    return app


def _retries(outage_seconds: float) -> int:
    """Retries at most 2 s apart that span ``outage_seconds``."""
    return max(1, int(outage_seconds / 2) + 3)


def pack_digest(pack) -> str:
    """The SHA-256 of a pack's files, as the history stores it: coordinator and worker must judge by one pack."""
    from pathlib import Path

    files = {Path(p).name: Path(p).read_text(encoding="utf-8") for p in pack.files}
    return hashlib.sha256(json.dumps(files, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def task_payload(request, run) -> dict:
    """What a worker needs to scan one target: where (no secrets: a profile name or a role to assume at most),
    which packs (by id and digest), the parameters and waivers, and the run being recorded."""
    from dataclasses import asdict

    return {
        "run": run.model_dump(mode="json"),
        "target": request.target, "environment": request.environment,
        "packs": [{"id": p.id, "sha256": pack_digest(p)} for p in request.packs],
        "settings": asdict(request.settings), "parameters": request.parameters,
        "waivers": [w.model_dump(mode="json") for w in request.waivers],
    }


def scan_target_task(task, payload: dict) -> dict:
    """The worker's side: the scan of one target, as a JSON-ready result."""
    existing = task.app.backend.get_task_meta(task.request.id)
    if existing.get("status") == "SUCCESS":  # redelivered after it finished: the same result, not a second scan
        return existing["result"]
    return run_payload(payload, rules_dir=getattr(task.app, "auditor_rules_dir", None))


def run_payload(payload: dict, rules_dir=None) -> dict:
    from auditor.aws import AwsSettings
    from auditor.engine.findings import RunInfo
    from auditor.rules.load import PackFileSet
    from auditor.runs.scan import ScanRequest, run_scan
    from auditor.engine.waivers import Waiver

    packs = PackFileSet(rules_dir).load([p["id"] for p in payload["packs"]])
    for pack, wanted in zip(packs, payload["packs"]):
        if pack_digest(pack) != wanted["sha256"]:
            raise AuditIncomplete(f"pack {pack.id} on this worker differs from the coordinator's (sha256 "
                                  f"{pack_digest(pack)[:12]} here, {wanted['sha256'][:12]} there): run one version")
    run = RunInfo.model_validate(payload["run"])
    request = ScanRequest(payload["target"], payload["environment"], packs, AwsSettings(**payload["settings"]),
                          payload["parameters"], [Waiver.model_validate(w) for w in payload["waivers"]])
    result = run_scan(request, run)
    return {"run": run.model_dump(mode="json"), "findings": [f.model_dump(mode="json") for f in result.findings],
            "resources": [{"type": r.type, "data": r.model_dump(mode="json")} for r in result.inventory.resources],
            "waivers": result.waivers}


def result_from(data: dict, run) -> Any:
    """The worker's answer as the ScanResult a local scan returns, with ``run`` filled from it."""
    from auditor.engine.evaluate import Inventory
    from auditor.engine.findings import Finding, RunInfo
    from auditor.services.registry import RESOURCE_MODELS
    from auditor.runs.scan import ScanResult

    scanned = RunInfo.model_validate(data["run"])
    for name in RunInfo.model_fields:
        if name not in ("id", "target", "started_at"):
            setattr(run, name, getattr(scanned, name))
    inventory = Inventory(resources=[RESOURCE_MODELS[r["type"]].model_validate(r["data"]) for r in data["resources"]],
                          regions=list(run.regions))
    return ScanResult(run=run, findings=[Finding.model_validate(f) for f in data["findings"]], inventory=inventory,
                      waivers=data["waivers"])


def celery_scanner(app, executor) -> Callable:
    """A drop-in for scan.run_scan that sends the scan to a worker and waits for its result. The wait polls the
    result backend (a plain GET, safe from many coordinator threads at once), never Redis pub/sub."""
    import time

    def scan(request, run):
        try:
            result = app.send_task(TASK, args=[task_payload(request, run)], task_id=run.id)
        except Exception as exc:  # noqa: BLE001  publishing retried for broker_outage_seconds already
            raise AuditIncomplete(f"could not send the scan to the Celery broker within "
                                  f"{executor.broker_outage_seconds:g} s: {type(exc).__name__}: "
                                  f"{redacted_url(str(exc))}") from None
        deadline = time.monotonic() + executor.result_timeout_seconds
        outage_since: Optional[float] = None
        while True:
            try:
                if result.ready():
                    state, data = result.state, result.result
                    break
                outage_since = None
            except Exception as exc:  # noqa: BLE001  the broker or backend is away: wait for it, within a bound
                outage_since = outage_since or time.monotonic()
                if time.monotonic() - outage_since > executor.broker_outage_seconds:
                    raise AuditIncomplete(f"lost the Celery result backend for more than "
                                          f"{executor.broker_outage_seconds:g} s: {type(exc).__name__}: "
                                          f"{redacted_url(str(exc))}") from None
                log.warning("the Celery result backend is away (%s); waiting for it", type(exc).__name__)
            if time.monotonic() > deadline:
                result.revoke()
                raise AuditIncomplete(
                    f"no result from the Celery workers within {executor.result_timeout_seconds:g} s (are "
                    f"`auditor worker` processes running against {redacted_url(executor.broker_url)}?)")
            time.sleep(0.5 if outage_since is None else 1.0)
        if state != "SUCCESS":
            raise AuditIncomplete(f"the worker could not scan {run.target}: {worker_reason(data)}")
        return result_from(data, run)

    return scan


def worker_reason(exc: Any) -> str:
    text = (str(exc).splitlines() or [""])[0][:300]
    name = type(exc).__name__
    if name in ("TimeLimitExceeded", "SoftTimeLimitExceeded"):
        return f"the task ran past its time limit ({text or name})"
    if name == "WorkerLostError":
        return f"the worker process was lost ({text})"
    return text if name in ("AuditIncomplete", "BadInput", "AuditorError") else f"{name}: {text}"


def run_worker(app, concurrency: int, queues: Optional[list[str]] = None, loglevel: str = "INFO") -> None:
    argv = ["worker", f"--concurrency={concurrency}", f"--loglevel={loglevel}", "--pool=prefork",
            "--without-gossip", "--without-mingle", "--without-heartbeat"]
    if queues:
        argv.append(f"--queues={','.join(queues)}")
    app.worker_main(argv)
