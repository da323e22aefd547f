"""Which property paths a resource type has, so a typo in a pack fails at load time, not at 3 a.m."""
from __future__ import annotations

import types
import typing
from typing import Any, Optional

from pydantic import BaseModel

from auditor.rules.conditions import AllOf, AnyOf, Condition, Leaf, Not, Quantified


class UnknownProperty(ValueError):
    pass


def _unwrap(annotation: Any) -> Any:
    """Optional[X] -> X."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return _unwrap(args[0])
    return annotation


def property_type(model: type[BaseModel], dotted: str) -> Any:
    """The annotation at a dotted path of a model; raises UnknownProperty naming the bad part."""
    current: Any = model
    walked: list[str] = []
    for part in dotted.split("."):
        current = _unwrap(current)
        origin = typing.get_origin(current)
        if origin is dict:
            current = typing.get_args(current)[1]
        elif isinstance(current, type) and issubclass(current, BaseModel):
            fields = current.model_fields
            if part not in fields:
                where = ".".join(walked) or current.__name__
                known = ", ".join(sorted(fields))
                raise UnknownProperty(f"unknown property {part!r} of {where} (known: {known})")
            current = fields[part].annotation
        else:
            raise UnknownProperty(f"{'.'.join(walked)} has no property {part!r}")
        walked.append(part)
    return _unwrap(current)


def _item_model(annotation: Any) -> Optional[type[BaseModel]]:
    if typing.get_origin(annotation) is list:
        (item,) = typing.get_args(annotation)
        item = _unwrap(item)
        if isinstance(item, type) and issubclass(item, BaseModel):
            return item
    return None


def check_condition_paths(cond: Condition, model: type[BaseModel]) -> None:
    """Raise UnknownProperty for the first key the model does not have."""
    if isinstance(cond, Leaf):
        property_type(model, cond.key)
    elif isinstance(cond, (AllOf, AnyOf)):
        for child in cond.children:
            check_condition_paths(child, model)
    elif isinstance(cond, Not):
        check_condition_paths(cond.child, model)
    elif isinstance(cond, Quantified):
        annotation = property_type(model, cond.key)
        item = _item_model(annotation)
        if item is None:
            raise UnknownProperty(
                f"{cond.key} is not a list of objects, so '{cond.mode}' cannot range over it (use contains or in)"
            )
        check_condition_paths(cond.child, item)


# What each operator compares the property with: the value's type must fit the property's.
_SCALAR_OPS = ("equals", "not_equals")
_ORDER_OPS = ("gte", "lte", "gt", "lt")


def _kind(annotation: Any) -> str:
    annotation = _unwrap(annotation)
    origin = typing.get_origin(annotation)
    if annotation is bool:
        return "bool"
    if annotation in (int, float):
        return "number"
    if annotation is str or origin is typing.Literal:
        return "str"
    if origin is list or annotation is list:
        return "list"
    if origin is dict or annotation is dict:
        return "dict"
    return "any"


def _fits(kind: str, value: Any) -> bool:
    if value is None or kind == "any":
        return True
    if kind == "bool":
        return isinstance(value, bool)
    if kind == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind == "str":
        return isinstance(value, str)
    if kind == "list":
        return isinstance(value, list)
    return isinstance(value, dict)


def _values(value: Any, defaults: dict[str, Any], path: tuple) -> list[tuple[tuple, Any]]:
    """The literal values a condition value stands for: each by_env entry, a parameter's default."""
    if isinstance(value, dict) and set(value) == {"by_env"} and isinstance(value["by_env"], dict):
        return [v for env, item in value["by_env"].items() for v in _values(item, defaults, path + ("by_env", env))]
    if isinstance(value, dict) and set(value) == {"param"}:
        default = defaults.get(value["param"])
        return [] if default is None else [(path + ("param",), default)]
    return [(path, value)]


def _leaf_problems(leaf: Leaf, model: type[BaseModel], defaults: dict[str, Any], path: tuple) -> list[tuple[tuple, str]]:
    annotation = property_type(model, leaf.key)
    kind = _kind(annotation)
    item_kind = _kind(typing.get_args(_unwrap(annotation))[0]) if kind == "list" and typing.get_args(_unwrap(annotation)) else "any"
    problems = []
    for where, value in _values(leaf.value, defaults, path + (leaf.op,)):
        if leaf.op in _SCALAR_OPS and not _fits(kind, value):
            problems.append((where, f"{leaf.key} is {kind}, so {leaf.op} needs a {kind} value, got {value!r}"))
        elif leaf.op in ("in", "not_in") and isinstance(value, list):
            for item in value:
                if not _fits(kind, item):
                    problems.append((where, f"{leaf.key} is {kind}, so {leaf.op} needs {kind} items, got {item!r}"))
                    break
        elif leaf.op in _ORDER_OPS:
            if kind in ("bool", "list", "dict"):
                problems.append((where, f"{leaf.key} is {kind}: {leaf.op} compares numbers or strings (use equals)"))
            elif kind in ("number", "str") and not _fits(kind, value):
                problems.append((where, f"{leaf.key} is {kind}, so {leaf.op} needs a {kind} value, got {value!r}"))
        elif leaf.op in ("contains", "not_contains"):
            if kind in ("bool", "number"):
                problems.append((where, f"{leaf.key} is {kind}: {leaf.op} needs a list, a mapping or a string"))
            elif kind == "list" and not _fits(item_kind, value):
                problems.append((where, f"{leaf.key} holds {item_kind} items, so {leaf.op} needs a {item_kind}, got {value!r}"))
        elif leaf.op == "matches" and kind in ("bool", "list", "dict"):
            problems.append((where, f"{leaf.key} is {kind}: matches reads strings"))
    return problems


def check_condition_types(cond: Condition, model: type[BaseModel], defaults: dict[str, Any],
                          path: tuple = ()) -> list[tuple[tuple, str]]:
    """Every value whose type cannot fit its property (``equals: "yes"`` on a boolean, ``gte`` on a boolean),
    as (path below the check, message). Paths are known to exist: check_condition_paths ran first."""
    if isinstance(cond, Leaf):
        return _leaf_problems(cond, model, defaults, path)
    if isinstance(cond, (AllOf, AnyOf)):
        return [p for child in cond.children for p in check_condition_types(child, model, defaults, path)]
    if isinstance(cond, Not):
        return check_condition_types(cond.child, model, defaults, path)
    if isinstance(cond, Quantified):
        item = _item_model(property_type(model, cond.key))
        return check_condition_types(cond.child, item, defaults, path) if item is not None else []
    return []
