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
