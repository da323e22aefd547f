"""``auditor rules properties TYPE``: every property a rule can read, its type, and the API call that fills it.

Generated from the resource models and the collectors' family tables, so it cannot drift from what a scan reads.
"""
from __future__ import annotations

import json
import typing
from typing import Any, Iterator

import click
from pydantic import BaseModel
from rich.table import Table
from rich.text import Text

from auditor.errors import BadInput
from auditor.rules.properties import _unwrap
from auditor.services.registry import RESOURCE_MODELS

# Identity and bookkeeping fields that rules do not judge.
_INTERNAL = {"unknown", "source", "defaults", "locations"}


def type_name(annotation: Any) -> str:
    annotation = _unwrap(annotation)
    origin = typing.get_origin(annotation)
    if origin is list:
        return f"list[{type_name(typing.get_args(annotation)[0])}]"
    if origin is dict:
        key, value = typing.get_args(annotation)
        return f"dict[{type_name(key)}, {type_name(value)}]"
    if origin is typing.Literal:
        return "str (" + " | ".join(repr(a) for a in typing.get_args(annotation)) + ")"
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return "object"
    return getattr(annotation, "__name__", str(annotation))


def _walk(model: type[BaseModel], prefix: str) -> Iterator[tuple[str, str]]:
    for name, field in model.model_fields.items():
        if name in _INTERNAL:
            continue
        annotation = _unwrap(field.annotation)
        path = f"{prefix}{name}"
        yield path, type_name(annotation)
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            yield from _walk(annotation, path + ".")
        elif typing.get_origin(annotation) is list:
            item = _unwrap(typing.get_args(annotation)[0])
            if isinstance(item, type) and issubclass(item, BaseModel):
                yield from _walk(item, path + "[].")


def _sources(resource_type: str) -> dict[str, str]:
    """Top-level property -> the call that fills it."""
    from auditor.services.registry import COLLECTORS

    collector = COLLECTORS.get(resource_type)
    if collector is None:
        return {}
    out = {prop: f"{collector.service}:{collector.list_operation}" for prop in collector.listed_properties}
    for family in collector.families.values():
        for prop in family.properties:
            out.setdefault(prop, family.operation if ":" in family.operation else f"{collector.service}:{family.operation}")
    for prop, deps in collector.derived.items():
        out.setdefault(prop, "derived from " + ", ".join(deps))
    out.setdefault("alarms", "cloudwatch:DescribeAlarms (linked by dimension)")
    linked = {"cdn": "cloudfront:ListDistributions (linked by origin bucket)",
              "in_eks_cluster_security_group": "eks:DescribeCluster (linked by security group), with "
                                               "efs:DescribeMountTargetSecurityGroups",
              "replicas_cross_az": "rds:DescribeDBInstances (linked: the replicas' zones)",
              "connection_alarm_share": "cloudwatch:DescribeAlarms with rds:DescribeDBParameters (linked)"}
    for prop, source in linked.items():
        if prop in RESOURCE_MODELS[resource_type].model_fields:
            out[prop] = source
    for identity in ("id", "name", "arn", "region", "account_id"):
        out.setdefault(identity, f"{collector.service}:{collector.list_operation}")
    return out


def properties_of(resource_type: str) -> list[dict]:
    if resource_type not in RESOURCE_MODELS:
        raise BadInput(f"unknown resource type {resource_type!r}; known: {', '.join(sorted(RESOURCE_MODELS))}")
    sources = _sources(resource_type)
    rows = []
    for path, kind in _walk(RESOURCE_MODELS[resource_type], ""):
        top = path.split(".")[0].split("[")[0]
        rows.append({"property": path, "type": kind, "filled_by": sources.get(top, "")})
    return rows


def print_properties(resource_type: str | None, as_json: bool) -> None:
    from auditor.reporting.console import console

    if resource_type is None:
        types = sorted(RESOURCE_MODELS)
        if as_json:
            click.echo(json.dumps(types, indent=1))
        else:
            for name in types:
                click.echo(name)
        return
    rows = properties_of(resource_type)
    if as_json:
        click.echo(json.dumps(rows, indent=1))
        return
    table = Table(title=f"Properties of {resource_type}", title_justify="left")
    for column in ("property", "type", "filled by"):
        table.add_column(column)
    for row in rows:
        table.add_row(Text(row["property"]), Text(row["type"]), Text(row["filled_by"]))  # "[str]" is not markup
    console().print(table)

