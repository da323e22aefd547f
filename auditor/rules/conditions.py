"""The condition language of rule packs: parsed once at load time, evaluated on plain dicts.

A leaf is ``{key: dotted.path, <op>: value}`` with one operator from ``OPERATORS``. ``all``/``any``/``not``
combine conditions; ``{key: a.list, any: cond}`` or ``{key: a.list, all: cond}`` quantify over a list, with
the inner keys relative to each item. Values may be literals, ``{by_env: {production: ..}}`` or
``{param: name}``; strings may hold ``{env}``, ``{account_id}``, ``{region}`` and parameter placeholders.

Evaluation is three-valued: a property that could not be read makes the check ``error``, never pass or fail.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Optional, Union

from auditor.environments import canonical_env
from auditor.rules.operators import ALIASES, OPERATORS, compile_pattern, is_set

PASS, FAIL, ERROR = "pass", "fail", "error"

_MISSING = object()


class ConditionError(ValueError):
    """A malformed condition; ``path`` locates the bad field below the condition's root."""

    def __init__(self, path: tuple, message: str):
        super().__init__(message)
        self.path = path


class NotApplicable(Exception):
    """The rule has no value for this environment, so it does not apply."""


# --- the parsed tree -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Leaf:
    key: str
    op: str
    value: Any


@dataclass(frozen=True)
class AllOf:
    children: tuple


@dataclass(frozen=True)
class AnyOf:
    children: tuple


@dataclass(frozen=True)
class Not:
    child: Any


@dataclass(frozen=True)
class Quantified:
    key: str
    mode: str  # "any" or "all"
    child: Any


Condition = Union[Leaf, AllOf, AnyOf, Not, Quantified]


def parse_condition(raw: Any, params: set[str], path: tuple = ()) -> Condition:
    """Turn the YAML of a condition into a tree, or raise ConditionError naming the bad field."""
    if isinstance(raw, list):
        return AllOf(tuple(parse_condition(item, params, path + (i,)) for i, item in enumerate(raw)))
    if not isinstance(raw, dict) or not raw:
        raise ConditionError(path, f"a condition must be a mapping, got {raw!r}")
    keys = set(raw)
    if "key" in raw:
        key = raw["key"]
        if not isinstance(key, str) or not re.fullmatch(r"[A-Za-z0-9_\-:]+(\.[A-Za-z0-9_\-:]+)*", key):
            raise ConditionError(path + ("key",), f"key must be a dotted property path, got {key!r}")
        ops = keys - {"key"}
        if len(ops) != 1:
            known = ", ".join(sorted(OPERATORS) + sorted(ALIASES) + ["any", "all"])
            raise ConditionError(path, f"a condition on {key!r} needs exactly one operator ({known}), got {sorted(ops) or 'none'}")
        (op,) = ops
        if op in ("any", "all"):
            return Quantified(key, op, parse_condition(raw[op], params, path + (op,)))
        if op in ALIASES:
            value = raw[op]
            if not isinstance(value, bool):
                raise ConditionError(path + (op,), f"{op} takes true or false, got {value!r}")
            return Leaf(key, ALIASES[op], not value)
        if op not in OPERATORS:
            raise ConditionError(path + (op,), f"unknown operator {op!r}; known: {', '.join(sorted(OPERATORS) + sorted(ALIASES))}")
        value = raw[op]
        _check_value(op, value, params, path + (op,))
        return Leaf(key, op, value)
    if len(keys) != 1:
        raise ConditionError(path, f"a condition without 'key' must be one of all, any, not; got {sorted(keys)}")
    (op,) = keys
    if op in ("all", "any"):
        items = raw[op]
        if not isinstance(items, list) or not items:
            raise ConditionError(path + (op,), f"{op} takes a non-empty list of conditions")
        children = tuple(parse_condition(item, params, path + (op, i)) for i, item in enumerate(items))
        return AllOf(children) if op == "all" else AnyOf(children)
    if op == "not":
        return Not(parse_condition(raw[op], params, path + (op,)))
    raise ConditionError(path + (op,), f"unknown condition {op!r}: use key with an operator, or all, any, not")


def _check_value(op: str, value: Any, params: set[str], path: tuple) -> None:
    if isinstance(value, dict):
        if set(value) == {"param"}:
            if value["param"] not in params:
                raise ConditionError(path + ("param",), f"parameter {value['param']!r} is not declared in the pack's parameters")
            return
        if set(value) == {"by_env"} and isinstance(value["by_env"], dict):
            for env, env_value in value["by_env"].items():
                if canonical_env(str(env)) is None:
                    raise ConditionError(path + ("by_env", env), f"unknown environment {env!r}")
                _check_value(op, env_value, params, path + ("by_env", env))
            return
        raise ConditionError(path, f"a value mapping must be {{by_env: ...}} or {{param: NAME}}, got {sorted(value)}")
    if op in ("in", "not_in") and not isinstance(value, list):
        raise ConditionError(path, f"{op} takes a list, got {value!r}")
    if op == "exists" and not isinstance(value, bool):
        raise ConditionError(path, f"exists takes true or false, got {value!r}")
    if op == "matches" and isinstance(value, str):
        import re2

        try:
            compile_pattern(value)
        except re2.error as exc:
            reason = exc.args[0].decode() if exc.args and isinstance(exc.args[0], bytes) else str(exc)
            raise ConditionError(path, f"invalid regular expression {value!r}: {reason} (patterns run on RE2, "
                                       "in linear time: no backreferences or lookaround)") from None
    if op in ("gte", "lte", "gt", "lt") and (isinstance(value, bool) or not isinstance(value, (int, float, str))):
        raise ConditionError(path, f"{op} takes a number or a string, got {value!r}")


def condition_keys(cond: Condition, prefix: str = "") -> list[str]:
    """Every property path a condition reads, list items written as ``list[].field``."""
    if isinstance(cond, Leaf):
        return [prefix + cond.key]
    if isinstance(cond, (AllOf, AnyOf)):
        return [k for child in cond.children for k in condition_keys(child, prefix)]
    if isinstance(cond, Not):
        return condition_keys(cond.child, prefix)
    return [prefix + cond.key] + condition_keys(cond.child, prefix + cond.key + "[].")


# --- evaluation ----------------------------------------------------------------------------------------


@dataclass
class Context:
    """What a value may depend on: the environment, the account, and the pack's parameters."""

    environment: str
    env_name: str
    account_id: str = ""
    region: str = ""
    params: dict[str, Any] = field(default_factory=dict)

    def placeholders(self) -> dict[str, str]:
        values = {k: v for k, v in self.params.items() if isinstance(v, (str, int, float))}
        values.update(env=self.env_name, environment=self.environment, account_id=self.account_id, region=self.region)
        return {k: str(v) for k, v in values.items()}

    def resolve(self, value: Any) -> Any:
        if isinstance(value, dict) and set(value) == {"param"}:
            return self.resolve(self.params[value["param"]])
        if isinstance(value, dict) and set(value) == {"by_env"}:
            for env, env_value in value["by_env"].items():
                if canonical_env(str(env)) == self.environment:
                    return self.resolve(env_value)
            raise NotApplicable()
        if isinstance(value, str):
            return fill_placeholders(value, self.placeholders())
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        return value


PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


def placeholders_in(value: Any) -> set[str]:
    """The ``{name}`` placeholders in a value (strings inside lists and mappings included)."""
    if isinstance(value, str):
        return set(PLACEHOLDER.findall(value))
    if isinstance(value, dict):
        return set().union(set(), *(placeholders_in(v) for v in value.values()))
    if isinstance(value, list):
        return set().union(set(), *(placeholders_in(v) for v in value))
    return set()


def fill_placeholders(text: str, values: dict[str, str]) -> str:
    """Replace ``{name}`` by its value, repeatedly, so that parameters may use other placeholders."""
    for _ in range(5):
        new = PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), text)
        if new == text:
            break
        text = new
    return text


@dataclass
class Outcome:
    status: str
    property: Optional[str] = None
    expected: Any = None
    actual: Any = None
    message: str = ""
    satisfied: int = 0  # leaves that held, to pick the closest candidate of a failed ``any``


def lookup(data: dict, unknown: dict[str, str], dotted: str) -> tuple[Any, Optional[str]]:
    """The value at a dotted path, and the reason it is unknown (None when it was read)."""
    parts = dotted.split(".")
    for i in range(1, len(parts) + 1):
        reason = unknown.get(".".join(parts[:i]))
        if reason:
            return None, reason
    value: Any = data
    for part in parts:
        if isinstance(value, dict) and part in value:
            value = value[part]
        else:
            return None, None
    return value, None


def evaluate(cond: Condition, data: dict, unknown: dict[str, str], ctx: Context, prefix: str = "") -> Outcome:
    """Judge one resource (as a dict) against a condition; raises NotApplicable for env-less values."""
    if isinstance(cond, Leaf):
        return _evaluate_leaf(cond, data, unknown, ctx, prefix)
    if isinstance(cond, AllOf):
        outcomes = [evaluate(c, data, unknown, ctx, prefix) for c in cond.children]
        held = sum(o.satisfied for o in outcomes)
        for status in (FAIL, ERROR):
            for o in outcomes:
                if o.status == status:
                    o.satisfied = held
                    return o
        return Outcome(PASS, outcomes[0].property, outcomes[0].expected, outcomes[0].actual,
                       "; ".join(o.message for o in outcomes), held)
    if isinstance(cond, AnyOf):
        outcomes = [evaluate(c, data, unknown, ctx, prefix) for c in cond.children]
        for o in outcomes:
            if o.status == PASS:
                return o
        errors = [o for o in outcomes if o.status == ERROR]
        if errors:
            return errors[0]
        best = max(outcomes, key=lambda o: o.satisfied)
        best.message = "none of the alternatives holds: " + " | ".join(o.message for o in outcomes)
        return best
    if isinstance(cond, Not):
        inner = evaluate(cond.child, data, unknown, ctx, prefix)
        if inner.status == ERROR:
            return inner
        flipped = PASS if inner.status == FAIL else FAIL
        return Outcome(flipped, inner.property, f"not ({describe(cond.child, ctx)})", inner.actual,
                       f"not ({inner.message})", 1 if flipped == PASS else 0)
    return _evaluate_quantified(cond, data, unknown, ctx, prefix)


def _evaluate_leaf(cond: Leaf, data: dict, unknown: dict[str, str], ctx: Context, prefix: str) -> Outcome:
    expected = ctx.resolve(cond.value)
    path = prefix + cond.key
    actual, reason = lookup(data, unknown, cond.key)
    shown_expected = expected if cond.op == "equals" else f"{OPERATORS[cond.op][1]} {_show(expected)}"
    if cond.op == "exists":
        shown_expected = "present" if expected else "absent"
    if reason:
        return Outcome(ERROR, path, shown_expected, None, f"{path} could not be read: {reason}")
    test, symbol = OPERATORS[cond.op]
    held = bool(test(actual, expected))
    if cond.op == "exists":
        text = f"{path} is {'set' if is_set(actual) else 'not set'}, expected {shown_expected}"
    else:
        text = f"{path} is {_show(actual)}, expected {symbol} {_show(expected)}"
    return Outcome(PASS if held else FAIL, path, shown_expected, actual, text, 1 if held else 0)


def _evaluate_quantified(cond: Quantified, data: dict, unknown: dict[str, str], ctx: Context, prefix: str) -> Outcome:
    path = prefix + cond.key
    items, reason = lookup(data, unknown, cond.key)
    if reason:
        return Outcome(ERROR, path, describe(cond, ctx), None, f"{path} could not be read: {reason}")
    items = items or []
    if not isinstance(items, list):
        items = [items]
    outcomes = [(item, evaluate(cond.child, item, _own_unknown(item), ctx, f"{path}[{_label(item, i)}]."))
                for i, item in enumerate(items)]
    if cond.mode == "all":
        for status in (FAIL, ERROR):
            for _, o in outcomes:
                if o.status == status:
                    return o
        return Outcome(PASS, path, describe(cond, ctx), len(items), f"all {len(items)} item(s) of {path} hold", 1)
    for _, o in outcomes:
        if o.status == PASS:
            return Outcome(PASS, path, describe(cond, ctx), _summary(items), o.message, 1)
    if not outcomes:
        return Outcome(FAIL, path, describe(cond, ctx), [], f"{path} is empty, expected an item where {describe(cond.child, ctx)}")
    _, best = max(outcomes, key=lambda pair: pair[1].satisfied)
    return Outcome(best.status, best.property, describe(cond, ctx), best.actual,
                   f"no item of {path} satisfies {describe(cond.child, ctx)}; closest: {best.message}", 0)


def _own_unknown(item: Any) -> dict[str, str]:
    """What an item of a list says it could not read (a CloudFront behavior's cache-policy TTL)."""
    unknown = item.get("unknown") if isinstance(item, dict) else None
    return unknown if isinstance(unknown, dict) else {}


def _label(item: Any, index: int) -> str:
    if isinstance(item, dict):
        for key in ("name", "id", "storage_class"):
            if item.get(key):
                return str(item[key])
    return str(index)


def _summary(items: list) -> Any:
    return [_label(item, i) for i, item in enumerate(items)]


def _show(value: Any) -> str:
    return "unset" if value is None else repr(value)


def describe(cond: Condition, ctx: Context) -> str:
    """A human reading of a condition, with values resolved for the context."""
    if isinstance(cond, Leaf):
        try:
            value = ctx.resolve(cond.value)
        except NotApplicable:
            value = cond.value
        if cond.op == "exists":
            return f"{cond.key} {'is set' if value else 'is not set'}"
        return f"{cond.key} {OPERATORS[cond.op][1]} {_show(value)}"
    if isinstance(cond, AllOf):
        return " and ".join(describe(c, ctx) for c in cond.children)
    if isinstance(cond, AnyOf):
        return "(" + " or ".join(describe(c, ctx) for c in cond.children) + ")"
    if isinstance(cond, Not):
        return f"not ({describe(cond.child, ctx)})"
    return f"{cond.mode} of {cond.key}: ({describe(cond.child, ctx)})"
