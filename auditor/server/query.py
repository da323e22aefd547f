"""Query parameters as the API and the pages accept them: known names only, values from the vocabularies.

A misspelt filter (``?status=failed``, ``?resource=``) is a 400 that names it, never a silent empty list or
a silently ignored filter: a script that asked for something must learn it was not understood.
"""
from __future__ import annotations

from typing import Iterable

from starlette.requests import Request

from auditor.reporting.summary import SEVERITY_RANK, STATUSES
from auditor.rules.pack import CONTROLS

CHANGES = ("new", "unchanged", "resolved", "regressed")
# Finding filters and the values each may take (None: any text).
FINDING_FILTERS: dict[str, tuple[str, ...] | None] = {
    "status": STATUSES, "severity": tuple(SEVERITY_RANK), "control": CONTROLS, "change": CHANGES,
    "pack": None, "rule": None, "resource_type": None, "region": None,
}
FINDING_PARAMS = (*FINDING_FILTERS, "q", "limit", "offset")


class BadQuery(Exception):
    """A 400: the message names the parameter and what it may be."""


def check_params(request: Request, allowed: Iterable[str]) -> None:
    allowed = tuple(allowed)
    unknown = sorted(set(request.query_params) - set(allowed))
    if unknown:
        raise BadQuery(f"unknown parameter {unknown[0]!r} (this route takes: {', '.join(allowed) or 'none'})")


def int_param(request: Request, name: str, default: int, low: int, high: int) -> int:
    """A whole number within [low, high]; anything else is a 400 that says so."""
    raw = request.query_params.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadQuery(f"{name} must be a whole number, got {raw[:40]!r}") from None
    if not low <= value <= high:
        raise BadQuery(f"{name} must be between {low} and {high}, got {value}")
    return value


def finding_filters(request: Request) -> dict[str, list[str]]:
    """The filters asked for, each a list of accepted values (a repeated or comma-separated parameter is OR)."""
    out: dict[str, list[str]] = {}
    for name, vocabulary in FINDING_FILTERS.items():
        values = [v for raw in request.query_params.getlist(name) for v in raw.split(",") if v]
        for value in values:
            if vocabulary is not None and value not in vocabulary:
                raise BadQuery(f"{name}={value[:40]!r} is not a {name} (one of: {', '.join(vocabulary)})")
        if values:
            out[name] = values
    return out


def finding_matches(finding: dict, filters: dict[str, list[str]], text: str) -> bool:
    """One report finding against the filters and a search over rule id, title, resource, ARN and message."""
    res = finding["resource"]
    fields = {"rule": finding["rule_id"], "resource_type": res["type"], "region": res["region"]}
    for name, wanted in filters.items():
        if (fields[name] if name in fields else finding[name]) not in wanted:
            return False
    if not text:
        return True
    haystack = " ".join(str(v) for v in (finding["rule_id"], finding.get("title"), res["name"], res["id"],
                                         res.get("arn"), finding["message"]) if v).lower()
    return text.lower() in haystack
