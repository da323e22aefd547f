"""Collect what the selected rules need, once per service and region, concurrently.

Plan: list each needed resource type per region; keep the resources some rule's name pattern selects; fetch
only the property families those rules read; link alarms to what they watch. Nothing is fetched twice.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Callable, Optional

from botocore.exceptions import BotoCoreError, ClientError

from auditor.aws import FatalAwsError, REGION_REFUSALS, error_code, why_unreadable
from auditor.engine.evaluate import Inventory
from auditor.engine.selection import matches_name
from auditor.rules.conditions import Context, condition_keys
from auditor.rules.pack import Rule
from auditor.services import cloudfront, eks
from auditor.services.cloudwatch import CloudWatchAlarm
from auditor.services.fetch import AwsCalls, Collector, Family, Unreadable
from auditor.services.links import ALARM_TYPE, link_alarms
from auditor.services.model import Resource, make_encodable
from auditor.services.rds.fetch import link_replicas
from auditor.services.registry import COLLECTORS

# Properties linked from resources of another type, read only for that: property -> (that type, the linker).
LINKS: dict[str, tuple[str, Callable[..., None]]] = {
    "cdn": (cloudfront.TYPE, cloudfront.link_cdn),
    "in_eks_cluster_security_group": (eks.TYPE, eks.link_cluster_security_groups),
}


@dataclass
class Need:
    """What one rule reads: its resource type, top-level properties, and whether its selector reads tags."""

    rule: Rule
    ctx: Context
    properties: set[str]


def plan_needs(rules: list[Rule], contexts: dict[str, Context]) -> list[Need]:
    needs = []
    for rule in rules:
        props = {key.split(".")[0].split("[")[0] for key in condition_keys(rule.condition)} if rule.condition else set()
        if rule.resource.tags:
            props.add("tags")
        needs.append(Need(rule, contexts[rule.pack], props))
    return needs


def collect(calls: AwsCalls, rules: list[Rule], contexts: dict[str, Context], regions: list[str],
            max_workers: int, extra_needs: tuple[Need, ...] = (),
            on_progress: Optional[Callable[[int, int], None]] = None) -> Inventory:
    """``extra_needs`` asks for more than the rules read (e.g. every property of resources an IaC declares)."""
    needs = plan_needs(rules, contexts) + list(extra_needs)
    types = {n.rule.resource.type for n in needs}
    wants_alarms = any("alarms" in n.properties for n in needs)
    if wants_alarms:
        types.add(ALARM_TYPE)
    links = [(rtype, link) for prop, (rtype, link) in LINKS.items() if any(prop in n.properties for n in needs)]
    types |= {rtype for rtype, _ in links}
    inventory = Inventory(resources=[], regions=regions)
    with ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="collect") as pool:
        listings = [(COLLECTORS[t], region) for t in sorted(types)
                    for region in ([COLLECTORS[t].global_region] if COLLECTORS[t].global_region else regions)]
        for (collector, region), result in zip(listings, pool.map(lambda job: _list(calls, *job), listings), strict=True):
            resources, reason = result
            if reason:
                inventory.listing_errors[(collector.resource_type.type, region)] = reason
            inventory.resources.extend(resources)

        _unlocate_duplicates(inventory)
        plans = _plan_fetches(inventory, needs, regions)
        jobs = [(calls, c.locate, r) for r, c, _ in plans if c.locate and not r.region]
        located = len(jobs)
        fetches = [(calls, c.families[f], r) for r, c, families in plans for f in sorted(families)]
        tick = _ticker(on_progress, located + len(fetches))
        _run(pool, jobs, tick)
        _run(pool, fetches, tick)
        for resource, collector, _ in plans:
            _finish(collector, resource)
    for resource in inventory.resources:
        make_encodable(resource)
    alarms = [r for r in inventory.resources if isinstance(r, CloudWatchAlarm)]
    if wants_alarms:
        link_alarms(inventory.resources, alarms, inventory.listing_errors)
    link_replicas(inventory.resources)
    for linked_type, link in links:
        link(inventory.resources, next(
            (why for (rtype, _), why in inventory.listing_errors.items() if rtype == linked_type), None))
    selected_types = {n.rule.resource.type for n in needs}
    for linked in (ALARM_TYPE, *(rtype for rtype, _ in LINKS.values())):
        if linked not in selected_types:  # read only to link: not judged, not reported
            inventory.resources = [r for r in inventory.resources if r.type != linked]
    return inventory


def _unlocate_duplicates(inventory: Inventory) -> None:
    """A global resource (a bucket) listed in several regions came from an endpoint that ignored the region
    filter: keep one, with its region unknown, so that its collector locates it."""
    seen: dict[tuple[str, str], Resource] = {}
    kept = []
    for resource in inventory.resources:
        key = (resource.type, resource.id)
        if COLLECTORS[resource.type].locate is None:
            kept.append(resource)
        elif key in seen:
            seen[key].region = ""
        else:
            seen[key] = resource
            kept.append(resource)
    inventory.resources = kept


def _list(calls: AwsCalls, collector: Collector, region: str) -> tuple[list[Resource], str | None]:
    """One listing; whatever goes wrong is that (type, region)'s reason, and the rest of the audit goes on."""
    operation = f"{collector.service}:{collector.list_operation}"
    if calls.past_deadline():
        return [], f"{operation} not called: {calls.deadline_reason()}"
    try:
        return list(collector.list_resources(calls, region)), None
    except ClientError as exc:
        if error_code(exc) in REGION_REFUSALS:
            # A region the account has not enabled answers like rejected credentials: that region's checks are
            # errors, the regions that answer are audited. (Credentials rejected everywhere fail every region.)
            return [], f"{region} refused the credentials for {operation} ({error_code(exc)}): region not enabled " \
                       "for this account, or credentials not valid there"
        return [], why_unreadable(exc, operation)
    except BotoCoreError as exc:
        return [], why_unreadable(exc, operation)
    except FatalAwsError:
        raise
    except Exception as exc:  # noqa: BLE001  a malformed answer: this listing's error, not the audit's end
        return [], malformed(operation, exc)


def _plan_fetches(inventory: Inventory, needs: list[Need], regions: list[str]) -> list[tuple[Resource, Collector, set[str]]]:
    """Per resource that some rule's name pattern selects, the families those rules read."""
    by_type: dict[str, list[Need]] = {}
    for need in needs:
        by_type.setdefault(need.rule.resource.type, []).append(need)
    plans = []
    for resource in inventory.resources:
        collector = COLLECTORS[resource.type]
        selecting = [n for n in by_type.get(resource.type, []) if matches_name(n.rule, n.ctx, resource, regions)]
        if selecting:
            wanted = set().union(*(n.properties for n in selecting))
            plans.append((resource, collector, collector.families_for(wanted - set(collector.listed_properties))))
    return plans


def _ticker(on_progress: Optional[Callable[[int, int], None]], total: int) -> Callable[[], None]:
    done = [0]
    if on_progress:
        on_progress(0, total)

    def tick() -> None:
        done[0] += 1
        if on_progress:
            on_progress(done[0], total)

    return tick


def _run(pool: ThreadPoolExecutor, jobs: list[tuple[AwsCalls, Family, Resource]], tick: Callable[[], None]) -> None:
    for _ in pool.map(lambda job: fetch_family(*job), jobs):
        tick()


def malformed(operation: str, exc: Exception) -> str:
    """The reason for an answer auditor could not make sense of (a missing key, an unexpected shape)."""
    detail = (str(exc).splitlines() or [""])[0][:160]
    return f"{operation} answer could not be read ({type(exc).__name__}: {detail})"


def fetch_family(calls: AwsCalls, family: Family, resource: Resource) -> None:
    """Fill one family of one resource: absent means "not configured", any other error leaves it unknown, with
    the reason. Nothing one answer does ends the audit, except an endpoint or credentials gone for good."""
    if calls.past_deadline():
        _unknown(resource, family, f"{family.operation} not called: {calls.deadline_reason()}")
        return
    try:
        family.fetch(calls, resource)
    except ClientError as exc:
        if error_code(exc) in family.absent_codes and family.when_absent:
            family.when_absent(resource)
        else:
            _unknown(resource, family, why_unreadable(exc, family.operation))
    except BotoCoreError as exc:
        _unknown(resource, family, why_unreadable(exc, family.operation))
    except Unreadable as exc:
        _unknown(resource, family, str(exc))
    except FatalAwsError:
        raise
    except Exception as exc:  # noqa: BLE001  a malformed answer is this family's error
        _unknown(resource, family, malformed(family.operation, exc))


def _unknown(resource: Resource, family: Family, reason: str) -> None:
    for prop in family.properties:
        resource.mark_unknown(prop, reason)


def _finish(collector: Collector, resource: Resource) -> None:
    for prop, deps in collector.derived.items():
        for dep in deps:
            if dep in resource.unknown:
                resource.mark_unknown(prop, resource.unknown[dep])
    if collector.finish:
        try:
            collector.finish(resource)
        except Exception as exc:  # noqa: BLE001  derived values from a malformed answer: unknown, with the reason
            for prop in collector.derived:
                resource.mark_unknown(prop, malformed(f"{collector.service} (derived {prop})", exc))


