"""The plan of a run, the same for a live scan and the IaC gate: its id, each pack's context (environment,
parameters), the rules a missing parameter blocks, and the spec conflicts the run reports."""
from __future__ import annotations

import secrets
from datetime import datetime, timezone
from typing import Any

from auditor.rules.conditions import Context
from auditor.rules.pack import Pack, Rule


def spec_conflicts_of(rules: list[Rule], environment: str) -> list[dict]:
    """The rules of a run whose spec contradicts itself or asks for what AWS refuses (``spec_conflict:``)."""
    return [{"rule_id": r.id, "conflict": r.spec_conflict} for r in rules
            if r.spec_conflict and r.applies_to(environment)]


def blocked_rules(packs: list[Pack], parameters: dict[str, dict[str, Any]]) -> dict[str, str]:
    """Rules that cannot run because a required parameter is unset: rule id -> the line that says what to set."""
    out: dict[str, str] = {}
    for pack in packs:
        out.update(pack.blocked_rules(parameters.get(pack.id)))
    return out


def new_run_id() -> str:
    return datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ") + "-" + secrets.token_hex(3)


def contexts_for(packs: list[Pack], environment: str, account_id: str, parameters: dict[str, dict[str, Any]]) -> dict[str, Context]:
    return {
        pack.id: Context(
            environment=environment,
            env_name=pack.env_spelling(environment),
            account_id=account_id,
            params=pack.parameter_values(parameters.get(pack.id)),
        )
        for pack in packs
    }
