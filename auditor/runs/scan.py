"""One audit of one target: identify the account, collect, evaluate, and describe the run."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

from auditor.aws import AwsSettings, ClientPool, FatalAwsError
from auditor.engine.evaluate import Inventory, evaluate_rules
from auditor.engine.findings import Coverage, Finding, RunInfo, utc_now
from auditor.engine.plan import blocked_rules, contexts_for, spec_conflicts_of
from auditor.engine.waivers import apply_waivers
from auditor.errors import AuditIncomplete
from auditor.live.collect import collect
from auditor.rules.conditions import Context
from auditor.rules.pack import Pack, iter_rules
from auditor.services.fetch import AwsCalls


@dataclass
class ScanRequest:
    target: Optional[str]  # None: an ad-hoc scan, named after what it scans (see adhoc_target)
    environment: str
    packs: list[Pack]
    settings: AwsSettings
    parameters: dict[str, dict[str, Any]]
    waivers: list = field(default_factory=list)
    iac_path: Optional[Path] = None  # also report IaC-vs-live drift for what this IaC declares
    iac_var_files: list = field(default_factory=list)
    on_progress: Optional[Callable[[int, int], None]] = None  # property reads done, planned
    pool: Optional[ClientPool] = None  # made by audit() when it had to identify the account first
    label: Optional[str] = None  # shown beside the target (an organization account's name)
    ou: Optional[str] = None  # its OU path


@dataclass
class ScanResult:
    run: RunInfo
    findings: list[Finding]
    inventory: Inventory
    waivers: dict = field(default_factory=dict)


def adhoc_target(account_id: Optional[str], environment: str, endpoint_url: Optional[str]) -> str:
    """The identity of a scan made without --target: what it scanned, never a configured target's name, so
    its findings stay out of that target's diffs and trends."""
    from urllib.parse import urlsplit

    name = f"adhoc:{account_id or 'unknown-account'}/{environment}"
    if endpoint_url:
        name += "@" + (urlsplit(endpoint_url).netloc or endpoint_url)
    return name


def iac_scope(request: ScanRequest, contexts: dict[str, Context]):
    """The resources the IaC declares, and what the collector must read to compare them property by property."""
    from auditor.live.collect import Need
    from auditor.iac.checkov_run import run_checkov
    from auditor.engine.drift import all_properties, scope_rules
    from auditor.iac.load import iac_resources

    declared = iac_resources(run_checkov(request.iac_path, request.iac_var_files), request.settings.regions[0])
    ctx = next(iter(contexts.values())) if contexts else Context(request.environment, request.environment)
    return declared, tuple(Need(rule, ctx, all_properties(rule.resource.type)) for rule in scope_rules(declared))


def drift_findings(request: ScanRequest, rules, contexts, inventory: Inventory, declared) -> list[Finding]:
    from auditor.engine.drift import iac_drift
    from auditor.engine.selection import selects

    live = [r for r in inventory.resources if r.type in {d.type for d in declared}]
    covered = [r for r in live if any(selects(rule, contexts[rule.pack], r, inventory.regions) for rule in rules)]
    return iac_drift(declared, live, covered, str(request.iac_path), inventory.listing_errors)


def run_scan(request: ScanRequest, run: RunInfo) -> ScanResult:
    """Audit one target, filling ``run``. Raises AuditIncomplete when the audit cannot be made at all."""
    # Parameters are checked before any call: a typo in config.yaml is bad input, not a failed audit.
    contexts_for(request.packs, request.environment, "", request.parameters)
    pool = request.pool or ClientPool(request.settings)
    account_id = pool.account_id()
    run.account_id = account_id
    contexts = contexts_for(request.packs, request.environment, account_id, request.parameters)
    rules = iter_rules(request.packs)
    blocked = blocked_rules(request.packs, request.parameters)
    runnable = [r for r in rules if r.id not in blocked]
    declared, extra = iac_scope(request, contexts) if request.iac_path else ([], ())
    try:
        inventory = collect(AwsCalls(pool, account_id, request.settings.deadline_seconds), runnable, contexts, request.settings.regions,
                            request.settings.max_workers, extra, request.on_progress)
    except FatalAwsError as exc:
        raise AuditIncomplete(f"audit of {run.target} stopped: {exc}") from None
    findings = evaluate_rules(rules, request.environment, contexts, inventory, blocked)
    inventory.forget_dumps()
    if request.iac_path:
        findings.extend(drift_findings(request, rules, contexts, inventory, declared))
    waiver_summary = apply_waivers(findings, request.waivers, request.target)
    run.finished_at = utc_now()
    run.api_calls = pool.stats.total_calls
    run.http_requests = pool.stats.total_requests
    run.retries = pool.stats.retries
    run.api_calls_by_service = pool.stats.by_service()
    run.errors = [f"{rtype} in {region}: {reason}" for (rtype, region), reason in inventory.listing_errors.items()]
    run.coverage = Coverage(
        rules=[r.id for r in runnable if r.applies_to(request.environment)],
        rules_not_run=[{"rule_id": r.id, "reason": blocked[r.id]} for r in rules
                       if r.id in blocked and r.applies_to(request.environment)],
        unlisted=[{"type": rtype, "region": region, "reason": reason}
                  for (rtype, region), reason in sorted(inventory.listing_errors.items())],
        spec_conflicts=spec_conflicts_of(runnable, request.environment),
    )
    run.status = "partial" if inventory.listing_errors or any(f.status == "error" for f in findings) else "complete"
    return ScanResult(run=run, findings=findings, inventory=inventory, waivers=waiver_summary)
