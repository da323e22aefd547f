"""What a collector is: a listing call and a table of property families, each fetched by one call.

Fetching is described as data, so the scanner makes only the calls that the selected rules need
(a rule on ``versioning.status`` costs ``get_bucket_versioning`` and nothing else). Collectors never judge.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Optional

from auditor.aws import ClientPool
from auditor.services.model import Resource


class Unreadable(Exception):
    """A property that cannot be read for a reason AWS did not phrase as an error code."""


class AwsCalls:
    """What a collector may use: clients per region, and a memo for account-wide answers."""

    def __init__(self, pool: ClientPool, account_id: str, deadline_seconds: Optional[float] = None):
        self.pool = pool
        self.account_id = account_id
        self.deadline_seconds = deadline_seconds
        self._deadline = time.monotonic() + deadline_seconds if deadline_seconds else None
        self._memo: dict[str, Any] = {}
        self._memo_locks: dict[str, threading.Lock] = {}
        self._lock = threading.Lock()

    def client(self, service: str, region: str) -> Any:
        return self.pool.client(service, region)

    def past_deadline(self) -> bool:
        """The target's audit has used its time (config: timeouts.target_deadline_seconds): what is not read
        yet stays unknown (``error``) rather than hold the run, and every other target, hostage."""
        return self._deadline is not None and time.monotonic() > self._deadline

    def deadline_reason(self) -> str:
        return f"the audit's deadline of {self.deadline_seconds:g} s had passed"

    def once(self, key: str, fetch: Callable[[], Any]) -> Any:
        """The answer of ``fetch`` computed once per run (errors included), whichever thread asks first."""
        with self._lock:
            lock = self._memo_locks.setdefault(key, threading.Lock())
        with lock:
            if key not in self._memo:
                try:
                    self._memo[key] = (True, fetch())
                except Exception as exc:  # remembered and re-raised to every caller, never swallowed
                    self._memo[key] = (False, exc)
            ok, value = self._memo[key]
        if not ok:
            raise value
        return value


def paginated_listing(service: str, operation: str, key: str,
                      parse: Callable[[dict, str, Optional[str]], Resource]) -> Callable[[AwsCalls, str], Iterable[Resource]]:
    """A listing that is one paginated call (``describe_volumes``) whose pages hold the resources under ``key``,
    each parsed from its entry (most often ``mappings.from_api`` with the type's table)."""
    def list_resources(calls: AwsCalls, region: str) -> Iterable[Resource]:
        for page in calls.client(service, region).get_paginator(operation).paginate():
            for raw in page.get(key, []):
                yield parse(raw, region, calls.account_id)
    return list_resources


@dataclass(frozen=True)
class Family:
    """Properties read together by one API call per resource.

    ``absent_codes`` are the error codes by which AWS says "not configured"; ``when_absent`` then records that,
    which is a fact, unlike an access-denied error, which leaves the properties unknown.
    """

    name: str
    operation: str
    properties: tuple[str, ...]
    fetch: Callable[[AwsCalls, Resource], None]
    absent_codes: tuple[str, ...] = ()
    when_absent: Optional[Callable[[Resource], None]] = None


@dataclass
class Collector:
    service: str
    resource_type: type[Resource]
    list_operation: str
    # Yields resources of one region, with the properties the listing call itself returns.
    list_resources: Callable[[AwsCalls, str], Iterable[Resource]]
    listed_properties: tuple[str, ...] = ()
    families: dict[str, Family] = field(default_factory=dict)
    # Properties computed from others: property -> the properties it needs.
    derived: dict[str, tuple[str, ...]] = field(default_factory=dict)
    finish: Optional[Callable[[Resource], None]] = None
    # Runs before the families, e.g. to find a bucket's region.
    locate: Optional[Family] = None
    # A global service (CloudFront) is listed once, in this region, whatever regions the scan covers.
    global_region: Optional[str] = None

    def families_for(self, properties: Iterable[str]) -> set[str]:
        """The families to fetch for the top-level properties the rules read."""
        wanted: set[str] = set()
        pending = list(properties)
        seen: set[str] = set()
        while pending:
            prop = pending.pop()
            if prop in seen:
                continue
            seen.add(prop)
            if prop in self.derived:
                pending.extend(self.derived[prop])
                continue
            for family in self.families.values():
                if prop in family.properties:
                    wanted.add(family.name)
        return wanted
