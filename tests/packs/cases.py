"""Plain-data cases for the shipped packs: a rule judged on one resource built from a dict, no I/O.

Each tests/packs/test_<pack>.py holds a table ``rule id -> (passing properties, failing properties)`` and
checks every rule of its pack has a row. The resource is named so that the rule selects it (its name pattern
filled in with the test config's parameters, ``*`` as ``x``) and carries the tags the rule selects on; an
existence rule (no condition) takes ``PRESENT`` / ``ABSENT`` instead of properties.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any, Optional

import yaml

from auditor.engine.evaluate import Inventory, evaluate_rules
from auditor.engine.plan import blocked_rules, contexts_for
from auditor.engine.selection import expand, listed
from auditor.rules.load import PackFileSet
from auditor.rules.pack import Pack, Rule
from auditor.services.registry import RESOURCE_MODELS

PRESENT, ABSENT = "present", "absent"
ENVIRONMENTS = ("production", "staging", "development")
CONFIG = Path(__file__).resolve().parents[1] / "fixtures" / "config.yaml"
REGION = "us-east-1"
ACCOUNT = "123456789012"


@lru_cache(maxsize=None)
def pack(pack_id: str) -> Pack:
    (loaded,) = PackFileSet().load([pack_id])
    return loaded


@lru_cache(maxsize=None)
def parameters() -> dict[str, dict[str, Any]]:
    return yaml.safe_load(CONFIG.read_text())["parameters"]


def rule_of(pack_id: str, rule_id: str) -> Rule:
    return next(r for r in pack(pack_id).rules if r.id == rule_id)


def environment_of(rule: Rule) -> str:
    """The first environment the rule judges (production when it judges every one)."""
    return next(env for env in ENVIRONMENTS if rule.applies_to(env))


def resources_for(rule: Rule, env: str, props: dict) -> list[Any]:
    """One resource of the rule's type per name the rule selects, each with ``props`` over the model's defaults
    (a rule on several named resources, or requiring them, sees them all)."""
    ctx = contexts_for([pack(rule.pack)], env, ACCOUNT, parameters())[rule.pack]
    tags = {key: expand(value, ctx, REGION).replace("*", "x") for key, value in rule.resource.tags.items()}
    out = []
    for pattern in listed(rule.resource.names, ctx):
        name = expand(pattern, ctx, REGION).replace("*", "x").replace("?", "x")
        data = {"id": name, "name": name, "region": REGION, "account_id": ACCOUNT, "tags": tags, **props}
        out.append(RESOURCE_MODELS[rule.resource.type].model_validate(data))
    return out


def judge(pack_id: str, rule_id: str, props: Any, env: Optional[str] = None) -> str:
    """The status the rule gives the resource (or, for an existence rule, the account) built from ``props``."""
    rule = rule_of(pack_id, rule_id)
    env = env or environment_of(rule)
    contexts = contexts_for([pack(pack_id)], env, ACCOUNT, parameters())
    resources = [] if props == ABSENT else resources_for(rule, env, {} if props == PRESENT else props)
    findings = evaluate_rules([rule], env, contexts, Inventory(resources, [REGION]),
                              blocked_rules([pack(pack_id)], parameters()))
    statuses = {f.status for f in findings if f.rule_id == rule_id}
    assert len(statuses) == 1, f"{rule_id}: {[(f.resource.name, f.status, f.message) for f in findings]}"
    return statuses.pop()


def missing_rows(pack_id: str, cases: dict) -> list[str]:
    return sorted(r.id for r in pack(pack_id).rules if r.id not in cases)


def pack_tests(pack_id: str, cases: dict) -> tuple:
    """The three tests of a pack's table: every rule has a row, each passing row passes, each failing row fails.
    A test module takes them as ``test_every_rule_has_a_row, test_passes, test_fails = pack_tests(...)``."""
    import pytest

    def test_every_rule_has_a_row():
        assert missing_rows(pack_id, cases) == []

    @pytest.mark.parametrize("rule_id", sorted(cases))
    def test_passes(rule_id):
        assert judge(pack_id, rule_id, cases[rule_id][0]) == "pass"

    @pytest.mark.parametrize("rule_id", sorted(cases))
    def test_fails(rule_id):
        assert judge(pack_id, rule_id, cases[rule_id][1]) == "fail"

    return test_every_rule_has_a_row, test_passes, test_fails
