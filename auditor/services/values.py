"""Reading values out of what checkov parsed: HCL wraps every value in a list, references stay strings when
they cannot be resolved, and CloudFormation keeps intrinsic functions as dicts."""
from __future__ import annotations

import re
from typing import Any, Callable, Optional

# Terraform's built-in functions: a value still reading ``format("%s-x", var.name)`` is one checkov could not
# evaluate, never a literal (no AWS name or setting is written that way).
TF_FUNCTIONS = (
    "abs ceil floor log max min parseint pow signum chomp format formatlist indent join lower regex regexall replace "
    "split strrev substr title trim trimprefix trimsuffix trimspace upper startswith endswith strcontains alltrue "
    "anytrue chunklist coalesce coalescelist compact concat contains distinct element flatten index keys length "
    "list lookup map matchkeys merge one range reverse setintersection setproduct setsubtract setunion slice sort "
    "sum transpose values zipmap base64decode base64encode base64gzip csvdecode jsondecode jsonencode urlencode "
    "yamldecode yamlencode abspath dirname pathexpand basename file fileexists fileset filebase64 templatefile "
    "formatdate timeadd timestamp uuid md5 sha1 sha256 sha512 cidrhost cidrnetmask cidrsubnet cidrsubnets can try "
    "tobool tolist tomap tonumber toset tostring type sensitive nonsensitive"
).split()
ITERATOR_REF = r"^[a-z_][a-z0-9_]*\.(value|key)(\.|\[|$)"  # a dynamic block's iterator: rule.value.days
UNRESOLVED = re.compile(r"\$\{|^(module\.[\w-]+\.)*(aws_[a-z0-9_]+|data\.[a-z0-9_.]+|var\.|local\.|each\.|count\.)"
                        rf"|{ITERATOR_REF}|^({'|'.join(TF_FUNCTIONS)})\(")
TF_REF = re.compile(r'^(?P<address>(?:module\.[\w-]+\.)*aws_[a-z0-9_]+\.[\w-]+(?:\[(?:\d+|"[^"]*")\])?)\.(?P<attr>[a-z_]+)$')


def expand_dynamic(value: Any, unexpanded: dict[str, str], top: str = "",
                   emptied: Optional[dict[str, str]] = None) -> Any:
    """Terraform attributes with checkov's ``dynamic`` blocks merged in as the blocks they make.

    checkov expands a dynamic block it can evaluate (into one block or several) and leaves the rest as
    ``{content, for_each}``. Those, and expansions still holding iterator values (``rule.value.days``), are
    recorded in ``unexpanded`` under the top-level block they sit in, with the for_each expression: the property
    they set is unknown, never the AWS default. A for_each that evaluated to nothing makes no block; it is noted
    in ``emptied`` (top-level block -> dynamic block name), for the caller to tell "empty" from "no value"."""
    emptied = {} if emptied is None else emptied
    if isinstance(value, list):
        return [expand_dynamic(v, unexpanded, top, emptied) for v in value]
    if not isinstance(value, dict):
        return value
    out: dict[str, Any] = {}
    for key, item in value.items():
        if key != "dynamic":
            merged = expand_dynamic(item, unexpanded, top or key, emptied)
            if key in out and isinstance(out[key], list):
                out[key] = (merged if isinstance(merged, list) else [merged]) + out[key]
            else:
                out[key] = merged
            continue
        for entry in item if isinstance(item, list) else [item]:
            for name, body in (entry.items() if isinstance(entry, dict) else ()):
                where = top or name
                if isinstance(body, dict) and "content" in body and "for_each" in body:
                    for_each = one(body.get("for_each"))
                    if for_each not in (None, [], {}):
                        unexpanded[where] = f'dynamic "{name}" (for_each = {str(for_each)[:80]})'
                    else:
                        emptied[where] = name
                    continue
                made = [expand_dynamic(b, unexpanded, where, emptied) for b in (body if isinstance(body, list) else [body])]
                if _holds_iterator(made):
                    unexpanded[where] = f'dynamic "{name}" (its content reads iterator values checkov left unresolved)'
                out.setdefault(name, [])
                if not isinstance(out[name], list):
                    out[name] = [out[name]]
                out[name].extend(made)
    return out


_ITERATOR = re.compile(ITERATOR_REF)


def _holds_iterator(value: Any) -> bool:
    if isinstance(value, str):
        return bool(_ITERATOR.match(value))
    if isinstance(value, dict):
        return any(_holds_iterator(v) for k, v in value.items() if not k.startswith("__"))
    if isinstance(value, list):
        return any(_holds_iterator(v) for v in value)
    return False


def one(value: Any) -> Any:
    """HCL's ``["x"]`` -> ``"x"``; a block list of one -> the block."""
    while isinstance(value, list) and len(value) == 1:
        value = value[0]
    return value


def get(attrs: dict, *path: str, default: Any = None) -> Any:
    """attrs["a"][0]["b"][0] for HCL; attrs["a"]["b"] for CloudFormation: both read the same way."""
    value: Any = attrs
    for key in path:
        value = one(value)
        if not isinstance(value, dict) or key not in value:
            return default
        value = value[key]
    value = one(value)
    return default if value is None else value


def blocks(attrs: dict, key: str) -> list[dict]:
    """Repeated HCL blocks (transition, rule, global_secondary_index): always a list of dicts."""
    value = attrs.get(key) or []
    if isinstance(value, dict):
        return [value]
    out = []
    for item in value:
        item = one(item)
        if isinstance(item, dict):
            out.append(item)
    return out


def is_unresolved(value: Any) -> bool:
    return isinstance(value, dict) or (isinstance(value, str) and bool(UNRESOLVED.search(value)))


def as_bool(value: Any) -> Optional[bool]:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return None


def as_int(value: Any) -> Optional[int]:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"-?\d+(\.0+)?", value.strip()):
        return int(float(value))
    return None


def as_float(value: Any) -> Optional[float]:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    try:
        return float(value) if isinstance(value, str) else None
    except ValueError:
        return None


def clean(value: Any) -> Any:
    """Drop checkov's position keys (__startline__, __file__, ...) from a parsed value."""
    if isinstance(value, dict):
        return {k: clean(v) for k, v in value.items() if not (k.startswith("__") and k.endswith("__"))}
    if isinstance(value, list):
        return [clean(v) for v in value]
    return value


class Declared:
    """Collects, for one resource, what the template leaves unset and what it sets but cannot be resolved."""

    def __init__(self) -> None:
        self.defaults: dict[str, str] = {}
        self.unknown: dict[str, str] = {}

    def default(self, prop: str, note: str) -> None:
        self.defaults[prop] = f"AWS default: {note}"

    def unresolved(self, prop: str, value: Any) -> None:
        self.unknown[prop] = f"not resolvable statically: {str(value)[:120]}"

    def apply(self, resource) -> None:
        resource.defaults.update(self.defaults)
        resource.unknown.update(self.unknown)


def pick(declared: Declared, prop: str, value: Any, kind: str, default: Any = None, note: str = "") -> Any:
    """A declared value of the wanted kind; the AWS default (noted) when unset; unknown when unresolvable.
    checkov renders a null inside a dynamic block's content as "": for a number or a flag that is unset."""
    if value is None or (value == "" and kind in ("bool", "int", "float")):
        if note:
            declared.default(prop, note)
        return default
    if kind == "bool":
        converted = as_bool(value)
    elif kind == "int":
        converted = as_int(value)
    elif kind == "float":
        converted = as_float(value)
    else:
        converted = None if is_unresolved(value) else str(value)
    if converted is None:
        declared.unresolved(prop, value)
    return converted


def unresolved_policy_part(document: Any) -> Optional[str]:
    """The first part of an IaC policy document checkov left unresolved (a statement list built by concat(),
    a statement given as var.x): the policy is then unknown, never half-read."""
    if not isinstance(document, dict):
        return str(document)[:120]
    statements = document.get("Statement", [])
    if isinstance(statements, dict):
        statements = [statements]
    if not isinstance(statements, list):
        return str(statements)[:120]
    for statement in statements:
        if not isinstance(statement, dict):
            return str(statement)[:120]
        for key in ("Effect", "Principal", "Condition"):
            value = statement.get(key)
            if isinstance(value, str) and UNRESOLVED.search(value):
                return value[:120]
    return None


def map_safely(mapper: Callable, model: Any, ident: Any, address: str, file: str, line: Optional[int],
               cls: Optional[type] = None) -> Any:
    """A block (or template resource) whose values a mapper cannot make sense of (a shape checkov left half
    rendered) becomes a resource whose every property is unknown, with the reason: its checks are ``error``
    and name the block, and the gate goes on. Valid IaC never crashes the gate."""
    import typing

    from auditor.services.model import SourceLocation

    try:
        return mapper(model, ident)
    except Exception as exc:  # noqa: BLE001
        cls = cls or typing.get_type_hints(mapper).get("return")
        if cls is None:
            raise
        reason = f"not read from the IaC ({type(exc).__name__}: {(str(exc).splitlines() or [''])[0][:120]})"
        resource = cls(id=address, name=address, region=model.region, source=SourceLocation(file=file, line=line))
        for prop in cls.model_fields:
            if prop not in ("id", "name", "arn", "region", "account_id", "unknown", "source", "defaults", "locations"):
                resource.mark_unknown(prop, reason)
        return resource


def key_manager_of(declared: Declared, prop: str, key: Any, encrypted: Optional[bool], managed_alias: str,
                   customer_key: bool) -> Optional[str]:
    """Who manages the KMS key an IaC resource names (``kms_key_manager``): AWS when it names none (the service's
    AWS managed key, ``managed_alias``) or an ``alias/aws/...``; CUSTOMER for a key or alias the IaC declares
    (``customer_key``) or any other alias (only AWS may create ``alias/aws/``); unknown for a bare key ARN or an
    expression, whose manager the IaC does not show."""
    if not encrypted:
        return None
    key = clean(key)
    if key in (None, ""):
        declared.default(prop, f"the AWS managed key {managed_alias} unless a key is given")
        return "AWS"
    if isinstance(key, str) and ("alias/aws/" in key):
        return "AWS"
    if customer_key:
        return "CUSTOMER"
    if isinstance(key, str) and not is_unresolved(key) and (key.startswith("alias/") or ":alias/" in key):
        return "CUSTOMER"
    declared.unknown[prop] = f"who manages the key is not in the IaC: {str(key)[:120]}"
    return None
