"""Warnings about rules that follow a spec into what AWS refuses, or where the spec contradicts itself.

The pack keeps the spec's words (an audit reports what the document promises); the warning tells the spec's
owner which section to fix and why.
"""
from __future__ import annotations

from typing import Any, Iterator

from auditor.environments import CANONICAL_ENVIRONMENTS
from auditor.rules.conditions import AllOf, AnyOf, Leaf, Not, Quantified
from auditor.rules.pack import Pack, Rule

# AWS: objects must stay 30 days in S3 Standard before Standard-IA or One Zone-IA, and 30 days in those
# classes before a later transition (S3 User Guide, "Constraints and considerations for transitions").
MIN_DAYS_BEFORE_IA = 30
MIN_DAYS_IN_IA = 30
IA_CLASSES = ("STANDARD_IA", "ONEZONE_IA")
LATER_CLASSES = ("GLACIER_IR", "GLACIER", "DEEP_ARCHIVE")


def _leaves(cond: Any) -> Iterator[Leaf]:
    if isinstance(cond, Leaf):
        yield cond
    elif isinstance(cond, (AllOf, AnyOf)):
        for child in cond.children:
            yield from _leaves(child)
    elif isinstance(cond, Not):
        yield from _leaves(cond.child)
    elif isinstance(cond, Quantified):
        yield from _leaves(cond.child)


def _values_by_env(value: Any) -> dict[str, Any]:
    if isinstance(value, dict) and "by_env" in value:
        return {str(k): v for k, v in value["by_env"].items()}
    return {env: value for env in CANONICAL_ENVIRONMENTS}


def transition_days(rule: Rule) -> dict[str, dict[str, int]]:
    """Per environment, the transition day each storage class is required at (equals or lte)."""
    out: dict[str, dict[str, int]] = {}
    for leaf in _leaves(rule.condition):
        prefix = "lifecycle.transition_days."
        if leaf.key.startswith(prefix) and leaf.op in ("equals", "lte"):
            for env, days in _values_by_env(leaf.value).items():
                if isinstance(days, int):
                    out.setdefault(env, {})[leaf.key[len(prefix):]] = days
    return out


def lint_rule(rule: Rule) -> list[str]:
    warnings = []
    where = f"{rule.where}: rule {rule.id} ({rule.spec_ref})"
    seen: set[str] = set()
    for days in transition_days(rule).values():
        for ia in IA_CLASSES:
            if ia in days and days[ia] < MIN_DAYS_BEFORE_IA:
                seen.add(f"{where}: transition to {ia} after {days[ia]} days; AWS refuses a transition to {ia} "
                         f"before {MIN_DAYS_BEFORE_IA} days in S3 Standard")
            for later in LATER_CLASSES:
                if ia in days and later in days and days[later] - days[ia] < MIN_DAYS_IN_IA:
                    seen.add(f"{where}: {later} after {days[later]} days is {days[later] - days[ia]} days after {ia}; "
                             f"AWS requires objects to stay {MIN_DAYS_IN_IA} days in {ia} before a later transition")
    if seen:  # a rule that can never pass is not a finding about the account
        seen.add(f"{where}: this rule can never pass on AWS: judge the nearest value AWS allows and say why in "
                 "spec_conflict")
    warnings.extend(sorted(seen))
    if rule.spec_conflict:
        warnings.append(f"{where}: spec conflict: {rule.spec_conflict}")
    return warnings


def lint_pack(pack: Pack) -> list[str]:
    return [w for rule in pack.rules if rule.condition is not None or rule.spec_conflict for w in lint_rule(rule)]
