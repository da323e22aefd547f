"""Terraform (as checkov parsed and rendered it) -> the normalized resources the live collectors produce.

AWS provider v4+ splits a bucket across aws_s3_bucket_versioning, _server_side_encryption_configuration,
_public_access_block, _lifecycle_configuration, _policy, ...: they are joined to their bucket by reference or
name. Alarms are joined to what they watch afterwards, as for a live scan. Unset properties take the AWS
default (and say so); unresolvable ones are unknown.
"""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

from auditor.iac import tfexpr
from auditor.iac.tfpolicy import document_for, policy_documents
from auditor.services.cloudwatch import CloudWatchAlarm
from auditor.services.fields import TypeMap, read_iac
from auditor.services.model import Resource, SourceLocation
from auditor.services.rds.fetch import CLUSTER_LEVEL
from auditor.services.rds.model import RDSInstance
from auditor.services.registry import TF_TABLES
from auditor.services.s3.fetch import summarize_lifecycle
from auditor.services.s3.model import (
    BucketCors, BucketEncryption, BucketLogging, BucketPolicy, BucketVersioning, LifecycleRule, LifecycleTransition,
    ObjectLock, PublicAccessBlock, S3Bucket,
)
from auditor.services.s3.policy import parse_policy
from auditor.services.values import (
    Declared, TF_REF, as_int, blocks, clean, expand_dynamic, get, is_unresolved, map_safely, one, pick,
    unresolved_policy_part,
)


@dataclass
class TfBlock:
    type: str
    address: str
    attrs: dict
    file: str
    line: int
    # Nested blocks that ``dynamic`` makes but checkov could not expand: block name -> why (values.expand_dynamic).
    unexpanded: dict[str, str] = field(default_factory=dict)
    # A count or for_each that could not be evaluated: the block is read once, and findings say so.
    instances_note: Optional[str] = None


@dataclass
class TfModel:
    """Every resource block, indexed by address and by (type, name attribute) for joins."""

    blocks: list[TfBlock]
    region: str
    # aws_iam_policy_document data blocks, rendered (tfpolicy.policy_documents).
    documents: dict[str, Optional[dict]] = field(default_factory=dict)
    by_address: dict[str, TfBlock] = field(default_factory=dict)
    by_type: dict[str, list[TfBlock]] = field(default_factory=dict)
    _pointing: dict[str, dict[tuple[str, str], list[TfBlock]]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.by_address = {b.address: b for b in self.blocks}
        for block in self.blocks:
            self.by_type.setdefault(block.type, []).append(block)

    def of_type(self, rtype: str) -> list[TfBlock]:
        return self.by_type.get(rtype, [])

    def companions_of(self, rtype: str, target: TfBlock, name: Optional[str], attribute: str = "bucket") -> list[TfBlock]:
        """The blocks of ``rtype`` whose ``attribute`` designates ``target`` (as points_to decides), from an index
        built once per type: joining 12,500 buckets to their companions is linear, not 12,500 scans."""
        if rtype not in self._pointing:
            index: dict[tuple[str, str], list[TfBlock]] = {}
            for block in self.of_type(rtype):
                for key in self._designations(get(block.attrs, attribute), module_prefix(block.address)):
                    index.setdefault(key, []).append(block)
            self._pointing[rtype] = index
        index = self._pointing[rtype]
        unindexed = _INDEX.sub("", target.address)
        found = index.get(("ref", target.address), []) + (index.get(("ref", unindexed), []) if unindexed != target.address else []) \
            + (index.get(("name", name), []) if name is not None else [])
        seen: set[int] = set()
        return [b for b in found if not (id(b) in seen or seen.add(id(b)))]

    @staticmethod
    def _designations(value: Any, prefix: str = "") -> list[tuple[str, str]]:
        """What a reference designates, keyed as companions_of looks it up: the address and each dotted suffix
        (a reference ending in ``.ADDRESS`` designates ADDRESS), or the literal name. A reference inside a
        module (``aws_s3_bucket.this[0].id`` in module.logs) designates the block of that module."""
        value = one(value)
        if not isinstance(value, str):
            return []
        match = TF_REF.match(value.removeprefix("${").removesuffix("}"))
        wrapped = {w.group(0) for w in _WRAPPED_REF.finditer(value)} if not match else set()
        if not match and len(wrapped) != 1:
            return [("name", value)]
        # join("", aws_s3_bucket.default.*.id), one(aws_s3_bucket.this[*].id), a local holding either: the
        # splat designates every instance of the block, as the unindexed address.
        address = match.group("address") if match else wrapped.pop()
        if prefix and not address.startswith("module."):
            address = prefix + address
        parts = address.split(".")
        return [("ref", ".".join(parts[i:])) for i in range(len(parts))]

    def points_to(self, value: Any, target: TfBlock, name: Optional[str]) -> bool:
        """Does an attribute (a reference such as aws_s3_bucket.logs.id, or a literal name) designate target?"""
        value = one(value)
        if not isinstance(value, str):
            return False
        match = TF_REF.match(value.removeprefix("${").removesuffix("}"))
        if match:
            return match.group("address") == target.address or match.group("address").endswith("." + target.address)
        return name is not None and value == name

    def name_of(self, value: Any, near: Optional[TfBlock] = None) -> Any:
        """A reference to another resource's id or name, replaced by that resource's name when known. A reference
        written inside a module (``aws_rds_cluster.this[0].id`` in module.orders) names that module's block."""
        value = one(value)
        if isinstance(value, str):
            match = TF_REF.match(value.removeprefix("${").removesuffix("}"))
            address = match.group("address") if match else None
            prefix = module_prefix(near.address) if near is not None else ""
            if address and prefix and not address.startswith("module.") and prefix + address in self.by_address:
                address = prefix + address
            if address in self.by_address:
                block = self.by_address[address]
                for key in NAME_ATTRIBUTE.get(block.type, ()):
                    name = get(block.attrs, key)
                    if isinstance(name, str) and not is_unresolved(name):
                        return name
        return value


_WRAPPED_REF = re.compile(r"(?:module\.[\w-]+\.)*aws_[a-z0-9_]+\.[A-Za-z_][\w-]*")
_INDEX = re.compile(r"\[[^\]]*\]$")
_MODULE_PREFIX = re.compile(r'^((?:module\.[\w-]+(?:\[[^\]]*\])?\.)*)')


def module_prefix(address: str) -> str:
    """``module.logs.`` of ``module.logs.aws_s3_bucket.this[0]``; empty at the root."""
    match = _MODULE_PREFIX.match(address)
    return match.group(1) if match else ""


NAME_ATTRIBUTE = {
    **{rtype: (table.tf_name,) for rtype, table in TF_TABLES.items() if isinstance(table.tf_name, str)},
    "aws_s3_bucket": ("bucket",), "aws_cloudwatch_metric_alarm": ("alarm_name",),
    "aws_efs_file_system": ("creation_token",), "aws_elasticache_parameter_group": ("name",),
    "aws_db_subnet_group": ("name",), "aws_cloudfront_cache_policy": ("name",), "aws_db_parameter_group": ("name",),
    "aws_rds_cluster_instance": ("identifier",),
}


def blocks_from_definitions(definitions: dict, root: str, var_files: tuple[Path, ...] = ()) -> list[TfBlock]:
    """Every resource block that will exist: a ``count`` of 0 or an empty ``for_each`` makes none, and one whose
    count or for_each cannot be evaluated is read once, with a note that says so."""
    out = []
    unset = _unset_variables(definitions, var_files)
    values = variable_values(definitions, unset | _given_variables(definitions, var_files))
    locals_cache: dict[str, dict[str, str]] = {}
    for key, definition in definitions.items():
        path = getattr(key, "file_path", key)
        for entry in definition.get("resource", []):
            for rtype, named in entry.items():
                for name, attrs in named.items():
                    if not isinstance(attrs, dict):
                        continue
                    address = attrs.get("__address__") or f"{rtype}.{name}"
                    line = one(attrs.get("__start_line__") or attrs.get("__startline__") or 1)
                    attrs = with_variable_values(attrs, module_prefix(address), values, _block_text(str(path), attrs))
                    if getattr(key, "tf_source_modules", None) is None:
                        attrs = keep_unset_variables(attrs, unset, _block_text(str(path), attrs))
                    instances = _instances(str(path), attrs, unset, address, values, locals_cache)
                    if instances == 0:
                        continue
                    attrs = render_dynamics(attrs, _block_text(str(path), attrs),
                                            _references(str(path), address, values, locals_cache))
                    unexpanded: dict[str, str] = {}
                    emptied: dict[str, str] = {}
                    attrs = expand_dynamic(attrs, unexpanded, emptied=emptied)
                    if emptied and getattr(key, "tf_source_modules", None) is None:
                        _unset_for_each(str(path), attrs, emptied, unset, unexpanded)
                    out.append(TfBlock(rtype, address, attrs, relative(str(path), root), int(line), unexpanded,
                                       instances if isinstance(instances, str) else None))
    return out


def _instances(path: str, attrs: dict, unset: set[str], address: str, values: dict[str, Any],
               locals_cache: dict[str, dict[str, str]]) -> "int | str | None":
    """0 when ``count``/``for_each`` makes no instance; a note when it cannot be evaluated; else None (checkov
    has already expanded ``count = 1`` and literal for_each keys into one block per instance). A count written
    with flags (``local.create && var.x ? 1 : 0``) is evaluated here first: checkov expands some of those that
    make no instance."""
    counted = _count_of(path, attrs, address, values, locals_cache)
    if counted is not None:
        index = re.search(r"\[(\d+)\]$", address)
        return 0 if (int(index.group(1)) if index else 0) >= counted else None
    for meta in ("count", "for_each"):
        if meta not in attrs:
            continue
        value = one(attrs[meta])
        if meta == "count" and as_int(value) is not None:
            return 0 if as_int(value) == 0 else None
        if meta == "for_each" and value in ({}, [], None, ""):
            written = _written(path, attrs, meta)
            missing = sorted(set(re.findall(r"\bvar\.([A-Za-z_][\w-]*)", written)) & unset)
            if not missing:
                return 0
            value = written
        if isinstance(value, (dict, list)) and value:
            return None
        return (f"{meta} = {str(value)[:80]} could not be evaluated statically: "
                "judged as one instance")
    return None


def _count_of(path: str, attrs: dict, address: str, values: dict[str, Any],
              locals_cache: dict[str, dict[str, str]]) -> Optional[int]:
    """The block's count as the file writes it, evaluated over the module call's variables and the module's
    locals; None when it has none or reads anything else."""
    written = _written(path, attrs, "count")
    if not written:
        return None
    try:
        count = tfexpr.evaluate(written, _references(path, address, values, locals_cache))
    except tfexpr.Unknown:
        return None
    return int(count) if isinstance(count, (int, float)) and not isinstance(count, bool) else None


def _references(path: str, address: str, values: dict[str, Any],
                locals_cache: dict[str, dict[str, str]]) -> Callable[[str], Any]:
    """How tfexpr reads ``var.x`` and ``local.y`` for a block: the module call's variable values (followed up
    through parent modules) and the module's locals as written."""
    folder = str(Path(path).parent)

    def lookup(ref: str, prefix: str = module_prefix(address), depth: int = 0) -> Any:
        if depth > 8:
            raise tfexpr.Unknown(ref)
        kind, name = ref.split(".", 1)
        if kind == "local":
            expression = tfexpr.module_locals(folder, locals_cache).get(name)
            if expression is None:
                raise tfexpr.Unknown(ref)
            return tfexpr.evaluate(expression, lambda inner: lookup(inner, prefix, depth + 1))
        if prefix + name not in values:
            raise tfexpr.Unknown(ref)
        value = values[prefix + name]
        if isinstance(value, str) and _VAR_REF.match(value):
            return lookup(f"var.{_VAR_REF.match(value).group(1)}", _LAST_MODULE.sub("", prefix), depth + 1)
        if isinstance(value, str) and is_unresolved(value) or _holds_unresolved(value):
            raise tfexpr.Unknown(ref)
        return value

    return lookup


_DYNAMIC = re.compile(r'dynamic\s+"(?P<name>[\w-]+)"\s*\{')
_LITERAL = re.compile(r'^(?:-?\d+(?:\.\d+)?|true|false|"[^"$]*")$')


def render_dynamics(attrs: dict, text: str, lookup: Callable[[str], Any]) -> dict:
    """The top-level ``dynamic`` blocks of the modules' convention (``for_each = var.x != null ? [var.x] : []``
    over a content of ``key = NAME.value.attr`` lines), made from the file as written where tfexpr can evaluate
    the for_each: checkov renders many of them wrongly (the content reading the variable itself, or a block
    made from a null). Others stay as checkov made them."""
    dynamic = attrs.get("dynamic")
    if not dynamic or not text:
        return attrs
    entries = dynamic if isinstance(dynamic, list) else [dynamic]
    rendered = []
    for entry in entries:
        if not isinstance(entry, dict):
            rendered.append(entry)
            continue
        out = {}
        for name, body in entry.items():
            made = _render_dynamic(text, name, lookup)
            out[name] = body if made is None else made
        rendered.append(out)
    return {**attrs, "dynamic": rendered}


def _render_dynamic(text: str, name: str, lookup: Callable[[str], Any]) -> Optional[Any]:
    match = next((m for m in _DYNAMIC.finditer(text) if m.group("name") == name), None)
    body = _braced(text, match.end()) if match else None
    for_each = re.match(r"\s*for_each\s*=\s*([^\n]+)", body or "")
    content = re.search(r"\bcontent\s*\{", body or "")
    inner = _braced(body, content.end()) if body and content else None
    if not for_each or inner is None or "{" in inner:
        return None
    try:
        items = tfexpr.evaluate(for_each.group(1).strip(), lookup)
    except tfexpr.Unknown:
        return None
    if not isinstance(items, (list, dict)):
        return None
    if not items:
        return {"content": [], "for_each": []}  # no block: expand_dynamic notes it as emptied
    pairs = list(items.items()) if isinstance(items, dict) else list(enumerate(items))
    blocks = []
    for key, item in pairs:
        block = {}
        for attribute, expression in re.findall(r"(?m)^\s*([A-Za-z_][\w-]*)\s*=\s*(.+?)\s*$", inner):
            value = _content_value(expression, name, key, item)
            if value is not None:
                block[attribute] = [value]
        blocks.append(block)
    return blocks


def _content_value(expression: str, name: str, key: Any, item: Any) -> Any:
    if expression == f"{name}.key":
        return key
    if expression == f"{name}.value":
        return item
    if expression.startswith(f"{name}.value.") and re.fullmatch(r"[\w.-]+", expression):
        value: Any = item
        for attribute in expression.split(".")[2:]:
            value = value.get(attribute) if isinstance(value, dict) else None
        return value
    if _LITERAL.match(expression):
        return tfexpr.evaluate(expression, lambda ref: None)
    return expression  # left as written: an expression the readers will call unresolved


def _braced(text: str, start: int) -> Optional[str]:
    """The text from ``start`` (just after an opening brace) to its matching closing brace."""
    depth = 1
    for i in range(start, len(text)):
        depth += {"{": 1, "}": -1}.get(text[i], 0)
        if depth == 0:
            return text[start:i]
    return None


def _holds_unresolved(value: Any) -> bool:
    if isinstance(value, dict):
        return any(_holds_unresolved(v) for v in value.values())
    if isinstance(value, list):
        return any(_holds_unresolved(v) for v in value)
    return isinstance(value, str) and is_unresolved(value)


def _written(path: str, attrs: dict, meta: str) -> str:
    """The expression a meta-argument has in the file, for a note and to see which variables it reads."""
    match = re.search(rf"(?m)^\s*{meta}\s*=\s*([^\n]+)", _block_text(path, attrs))
    return match.group(1).strip() if match else ""


_VAR_REF = re.compile(r"^\$?\{?var\.([A-Za-z_][\w-]*)\}?$")
_LAST_MODULE = re.compile(r"module\.[\w-]+(?:\[[^\]]*\])?\.$")


def variable_values(definitions: dict, unknown_at_root: set[str]) -> dict[str, Any]:
    """Each variable's value by address (``module.db.module.inner.retention``), as checkov rendered it into the
    variable's ``default`` for every module call: what the caller passed, else the declared default. A root
    variable given by a var file, or with no value at all, is left out (checkov rendered the first; the second
    is unknown)."""
    values: dict[str, Any] = {}
    for definition in definitions.values():
        for entry in definition.get("variable", []):
            for name, body in entry.items():
                if not isinstance(body, dict) or "default" not in body:
                    continue
                address = str(body.get("__address__") or name)
                if "." not in address and name in unknown_at_root:
                    continue
                default = body["default"]
                values[address] = default[0] if isinstance(default, list) and len(default) == 1 else default
    # A module variable without a default takes what its call passes; checkov keeps that on the module block.
    for definition in definitions.values():
        for entry in definition.get("module", []):
            for name, body in entry.items():
                if not isinstance(body, dict):
                    continue
                address = str(body.get("__address__") or name)
                prefix = ".".join(p if p == "module" or address.startswith("module.") else f"module.{p}"
                                  for p in address.split(".")) + "."
                for key, value in body.items():
                    if key.startswith("__") or key in ("source", "version", "count", "for_each", "providers"):
                        continue
                    value = value[0] if isinstance(value, list) and len(value) == 1 else value
                    values.setdefault(prefix + key, value)
    return values


def with_variable_values(attrs: Any, prefix: str, values: dict[str, Any], text: str) -> Any:
    """Attributes written as ``key = var.NAME`` (in ``text``, the block as the file has it) that checkov left
    reading ``var.NAME`` take the variable's value: null (the terraform-aws-modules convention for "leave it to
    AWS") unsets the attribute, so the AWS default applies; a literal default is the value. A chain through
    module calls (``var.x`` in a submodule, passed ``var.x`` by its parent) is followed up. What checkov
    rendered to ``var.NAME`` from another expression (a local's conditional) stays unresolved."""
    if isinstance(attrs, list):
        return [with_variable_values(v, prefix, values, text) for v in attrs]
    if not isinstance(attrs, dict):
        return attrs
    out = {}
    for key, value in attrs.items():
        if key.startswith("__") or key in ("count", "for_each"):
            out[key] = value
            continue
        found, resolved = _variable_value(one(value), prefix, values)
        if not found or not _written_as_variable(text, key, one(value)):
            out[key] = with_variable_values(value, prefix, values, text)
        elif resolved is not None:
            out[key] = [resolved]
    return out


def keep_unset_variables(attrs: dict, unset: set[str], text: str, depth: int = 1) -> dict:
    """An attribute written ``key = var.NAME`` where the root variable NAME has no default and no value:
    checkov evaluates it to its type's empty value (``[]`` for a list of CIDR blocks), which reads as "none"
    when it is "not known". It stays ``var.NAME``, unresolved, so its checks are error with the reason. A key
    is matched at its own nesting depth in the block's text (a table's ``name`` is not its attribute block's
    ``name``); where two nested blocks of one kind write it differently, both read unresolved."""
    out = dict(attrs)
    for key, value in attrs.items():
        if key.startswith("__"):
            continue
        if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):  # nested blocks
            out[key] = [keep_unset_variables(v, unset, text, depth + 1) for v in value]
            continue
        pattern = rf'(?m)^\s*{re.escape(key)}\s*=\s*"?(?:\$\{{)?var\.([A-Za-z_][\w-]*)\}}?"?\s*(?:#.*|//.*)?$'
        for match in re.finditer(pattern, text):
            before = text[:match.start()]
            if before.count("{") - before.count("}") == depth and match.group(1) in unset:
                out[key] = [f"var.{match.group(1)}"]
                break
    return out


def _written_as_variable(text: str, key: str, value: str) -> bool:
    name = _VAR_REF.match(value).group(1)
    return bool(re.search(rf'(?m)^\s*{re.escape(key)}\s*=\s*"?(?:\$\{{)?var\.{re.escape(name)}\}}?"?\s*(?:#.*|//.*)?$', text))


@lru_cache(maxsize=64)
def _file_lines(path: str) -> tuple[str, ...]:
    try:
        return tuple(Path(path).read_text(errors="replace").splitlines())
    except OSError:
        return ()


def _block_text(path: str, attrs: dict) -> str:
    """A block as the file writes it (checkov keeps its lines)."""
    lines = _file_lines(path)
    start, end = int(one(attrs.get("__start_line__") or 1)), int(one(attrs.get("__end_line__") or len(lines)))
    return "\n".join(lines[start - 1:end])


def _variable_value(value: Any, prefix: str, values: dict[str, Any]) -> tuple[bool, Any]:
    for _ in range(10):
        match = _VAR_REF.match(value) if isinstance(value, str) else None
        if not match or prefix + match.group(1) not in values:
            return False, None
        value = values[prefix + match.group(1)]
        if value is None or not is_unresolved(value) and not isinstance(value, (dict, list)):
            return True, value
        prefix = _LAST_MODULE.sub("", prefix)
    return False, None


def _given_variables(definitions: dict, var_files: tuple[Path, ...]) -> set[str]:
    """Root variables a var file (or terraform.tfvars, *.auto.tfvars) gives a value."""
    given: set[str] = set()
    for var_file in var_files:
        given |= set(re.findall(r"(?m)^\s*\"?([A-Za-z_][\w-]*)\"?\s*[=:]", Path(var_file).read_text(errors="replace")))
    for key in definitions:
        if getattr(key, "tf_source_modules", None) is None:
            folder = Path(str(getattr(key, "file_path", key))).parent
            for auto in [folder / "terraform.tfvars", *folder.glob("*.auto.tfvars")]:
                if auto.is_file():
                    given |= set(re.findall(r"(?m)^\s*([A-Za-z_][\w-]*)\s*=", auto.read_text(errors="replace")))
    return given


def _unset_variables(definitions: dict, var_files: tuple[Path, ...]) -> set[str]:
    """Root-module variables with no default and no value in a var file: checkov evaluates them to an empty
    value, so a ``for_each`` over one looks like "no block" when it is "not known"."""
    given = _given_variables(definitions, var_files)
    unset = set()
    for key, definition in definitions.items():
        if getattr(key, "tf_source_modules", None) is not None:
            continue
        for entry in definition.get("variable", []):
            for name, body in entry.items():
                if isinstance(body, dict) and "default" not in body and name not in given:
                    unset.add(name)
    return unset


def _unset_for_each(path: str, attrs: dict, emptied: dict[str, str], unset: set[str], unexpanded: dict[str, str]) -> None:
    """A dynamic block whose for_each (as written in the file) reads a variable with no value is unknown."""
    text = _block_text(path, attrs)
    for where, name in emptied.items():
        match = re.search(rf'dynamic\s+"{re.escape(name)}"\s*\{{.*?for_each\s*=\s*([^\n]+)', text, re.S)
        missing = sorted(set(re.findall(r"\bvar\.([A-Za-z_][\w-]*)", match.group(1))) & unset) if match else []
        if missing:
            unexpanded[where] = (f'dynamic "{name}" (for_each = {match.group(1).strip()[:80]}: '
                                 f'var.{missing[0]} has no default and no value in a var file)')


def relative(path: str, root: str) -> str:
    """A file as the report names it: relative to the IaC root, also when it lies outside it (a module from
    ``../modules``), so the path always leads to the file."""
    import os

    root = root.rstrip("/")
    if path.startswith(root + "/"):
        return path[len(root) + 1:]
    if os.path.isabs(path):
        return Path(os.path.relpath(path, root)).as_posix()
    return path


_CUSTOMER_KEY = re.compile(r"^(\$\{)?(module\.[\w-]+\.)*(aws_kms_key|aws_kms_alias|aws_kms_replica_key)\.")


def _customer_key(value: Any) -> bool:
    """A reference to a KMS key or alias this IaC declares (customer managed by definition)."""
    return isinstance(one(value), str) and bool(_CUSTOMER_KEY.match(one(value)))


def _listed(value: Any) -> list:
    """An HCL list attribute as a list (a single unresolved string stays one item, never its characters)."""
    return value if isinstance(value, list) else [] if value is None else [value]


def _tag(value: Any) -> str:
    """HCL turns the tag value "true" into a boolean; AWS keeps tags as strings."""
    return str(value).lower() if isinstance(value, bool) else str(value)


def _base(model: TfModel, block: TfBlock, cls: type[Resource], name: Any, declared: Declared) -> Resource:
    """Identity and tags. A name checkov could not render stays the expression it is (``acme-${var.env}``, which
    IaC drift globs), and the resource is known by its address, so two calls of one module (both
    ``${var.name}``) stay two resources, reported and waived apart."""
    resolved = name if isinstance(name, str) and name else block.address
    tags = get(block.attrs, "tags", default={})
    resource = cls(id=resolved, name=resolved, region=model.region, arn=None,
                   tags={str(k): _tag(v) for k, v in clean(tags).items()} if isinstance(tags, dict) else {},
                   source=SourceLocation(file=block.file, line=block.line, address=block.address,
                                         note=block.instances_note))
    if is_unresolved(resolved):
        resource.id = block.address  # the expression (kept as the name, ${...} and all) is no identity
    return resource


# --- S3 ---------------------------------------------------------------------------------------------------


def _companions(model: TfModel, bucket: TfBlock, name: Optional[str], rtype: str) -> list[TfBlock]:
    return model.companions_of(rtype, bucket, name)


def _read_guarded(resource: Resource, d: Declared, props: tuple[str, ...], read: Callable[[], None]) -> None:
    """One property family read from the IaC; an exception there (a shape checkov left half rendered) leaves
    those properties unknown with the reason, and the rest of the resource, its name included, stands."""
    try:
        read()
    except Exception as exc:  # noqa: BLE001
        reason = f"not read from the IaC ({type(exc).__name__}: {(str(exc).splitlines() or [''])[0][:120]})"
        for prop in props:
            setattr(resource, prop, None)
            d.defaults.pop(prop, None)
            d.unknown[prop] = reason


def s3_bucket(model: TfModel, block: TfBlock) -> S3Bucket:
    """A bucket and its provider-v4 companions, one property family at a time."""
    d = Declared()
    name = get(block.attrs, "bucket")
    bucket = _base(model, block, S3Bucket, name, d)
    name = name if isinstance(name, str) else None

    def located(prop: str, found: list[TfBlock]) -> list[TfBlock]:
        if found:
            bucket.locations[prop] = SourceLocation(file=found[0].file, line=found[0].line, address=found[0].address)
            for why in found[0].unexpanded.values():
                d.unknown[prop] = f"not resolvable statically: {why} in {found[0].address}"
            uncertain = uncertain_companion(found, block, "bucket")
            if uncertain is not None:  # a companion whose for_each/count is not known may not cover this bucket
                d.unknown[prop] = (f"not resolvable statically: {uncertain.address}: {uncertain.instances_note}, "
                                   "so whether it applies to this bucket is not known")
        return found

    def read_versioning() -> None:
        versioning = located("versioning", _companions(model, block, name, "aws_s3_bucket_versioning"))
        inline_versioning = get(block.attrs, "versioning", "enabled")
        if versioning:
            status = get(versioning[0].attrs, "versioning_configuration", "status")
            bucket.versioning = BucketVersioning(status=pick(d, "versioning", status, "str") or "Disabled")
        elif inline_versioning is not None:
            bucket.versioning = BucketVersioning(status="Enabled" if pick(d, "versioning", inline_versioning, "bool")
                                                 else "Suspended")
        else:
            bucket.versioning = BucketVersioning(status="Disabled")
            d.default("versioning", "versioning is off until configured")

    def read_encryption() -> None:
        sse = located("encryption", _companions(model, block, name, "aws_s3_bucket_server_side_encryption_configuration"))
        rule = get(sse[0].attrs, "rule") if sse else get(block.attrs, "server_side_encryption_configuration", "rule")
        if rule:
            default = get(rule, "apply_server_side_encryption_by_default") or {}
            algorithm = pick(d, "encryption", get(default, "sse_algorithm"), "str")
            bucket.encryption = BucketEncryption(enabled=bool(algorithm), algorithm=algorithm,
                                                 kms_key_id=model.name_of(get(default, "kms_master_key_id"), block),
                                                 bucket_key_enabled=get(rule, "bucket_key_enabled"))
        else:
            bucket.encryption = BucketEncryption(enabled=True, algorithm="AES256")
            d.default("encryption", "SSE-S3 (AES256) applies to every new bucket since January 2023")

    def read_public_access() -> None:
        pab = located("public_access_block", _companions(model, block, name, "aws_s3_bucket_public_access_block"))
        if pab:
            bucket.locations["effective_public_access_block"] = bucket.locations["public_access_block"]
            values = {k: bool(pick(d, "public_access_block", get(pab[0].attrs, k), "bool", default=False))
                      for k in ("block_public_acls", "ignore_public_acls", "block_public_policy", "restrict_public_buckets")}
            bucket.public_access_block = PublicAccessBlock.of(**values)
        else:
            bucket.public_access_block = PublicAccessBlock.new_bucket_default()
            d.default("public_access_block", "new buckets block all public access since April 2023")
        account = model.of_type("aws_s3_account_public_access_block")
        if account:
            values = {k: bool(get(account[0].attrs, k, default=False)) for k in
                      ("block_public_acls", "ignore_public_acls", "block_public_policy", "restrict_public_buckets")}
            bucket.account_public_access_block = PublicAccessBlock.of(**values)
        else:
            bucket.account_public_access_block = PublicAccessBlock()
            d.default("account_public_access_block", "no account-level block unless configured")
        merged = {k: getattr(bucket.public_access_block, k) or getattr(bucket.account_public_access_block, k)
                  for k in ("block_public_acls", "ignore_public_acls", "block_public_policy", "restrict_public_buckets")}
        bucket.effective_public_access_block = PublicAccessBlock.of(**merged)
        if "public_access_block" in d.defaults:
            d.defaults["effective_public_access_block"] = d.defaults["public_access_block"]

    def read_lifecycle() -> None:
        lifecycle = located("lifecycle", _companions(model, block, name, "aws_s3_bucket_lifecycle_configuration"))
        raw_rules = blocks(lifecycle[0].attrs, "rule") if lifecycle else blocks(block.attrs, "lifecycle_rule")
        rules = []
        for raw in raw_rules:
            enabled = get(raw, "status") or ("Enabled" if get(raw, "enabled") in (True, "true") else "Disabled")
            rules.append(LifecycleRule(
                id=get(raw, "id"), status=str(enabled), prefix=str(get(raw, "filter", "prefix") or get(raw, "prefix") or ""),
                transitions=[LifecycleTransition(days=pick(d, "lifecycle", get(t, "days"), "int"),
                                                 storage_class=str(get(t, "storage_class")))
                             for t in blocks(raw, "transition") if get(t, "storage_class")],
                expiration_days=pick(d, "lifecycle", get(raw, "expiration", "days"), "int")))
        bucket.lifecycle = summarize_lifecycle(rules)
        if not raw_rules:
            d.default("lifecycle", "no lifecycle rules unless configured")

    def read_replication() -> None:
        replication = located("replication", _companions(model, block, name, "aws_s3_bucket_replication_configuration"))
        if replication:
            bucket.replication = any(str(get(r, "status") or "Enabled") == "Enabled" for r in blocks(replication[0].attrs, "rule"))
        elif blocks(block.attrs, "replication_configuration"):  # the pre-v4 inline block
            bucket.replication = True
        else:
            bucket.replication = False
            d.default("replication", "no replication unless configured")

    def read_tiering() -> None:
        tiering = located("intelligent_tiering",
                          _companions(model, block, name, "aws_s3_bucket_intelligent_tiering_configuration"))
        bucket.intelligent_tiering_configurations = sum(1 for b in tiering if str(get(b.attrs, "status") or "Enabled") == "Enabled")
        bucket.intelligent_tiering = "INTELLIGENT_TIERING" in bucket.lifecycle.transition_days or \
            bool(bucket.intelligent_tiering_configurations)

    def read_policy() -> None:
        policies = located("policy", _companions(model, block, name, "aws_s3_bucket_policy"))
        inline = get(block.attrs, "policy")  # the pre-v4 inline form, still common in modules
        if policies or inline not in (None, "", []):
            document = get(policies[0].attrs, "policy") if policies else inline
            document = document_for(document, module_prefix(block.address), model.documents) or document
            if isinstance(document, str) and document.strip().startswith("{"):
                try:
                    document = json.loads(document)
                except json.JSONDecodeError:
                    pass
            unresolved = unresolved_policy_part(clean(document))
            if unresolved is not None:
                d.unresolved("policy", unresolved)
            else:
                bucket.policy = parse_policy(json.dumps(clean(document), default=str))
        else:
            bucket.policy = BucketPolicy()
            d.default("policy", "no bucket policy unless configured")

    def read_cors() -> None:
        cors = located("cors", _companions(model, block, name, "aws_s3_bucket_cors_configuration"))
        cors_rules = blocks(cors[0].attrs, "cors_rule") if cors else blocks(block.attrs, "cors_rule")
        origins = sorted({str(o) for r in cors_rules for o in _listed(get(r, "allowed_origins"))})
        bucket.cors = BucketCors(configured=bool(cors_rules), rule_count=len(cors_rules), allowed_origins=origins)
        if not cors_rules:
            d.default("cors", "no CORS rules unless configured")

    def read_logging() -> None:
        logging = located("logging", _companions(model, block, name, "aws_s3_bucket_logging"))
        bucket.logging = BucketLogging(enabled=bool(logging or get(block.attrs, "logging")),
                                       target_bucket=model.name_of(get(logging[0].attrs, "target_bucket"), block) if logging else None)

    def read_object_lock() -> None:
        lock = located("object_lock", _companions(model, block, name, "aws_s3_bucket_object_lock_configuration"))
        lock_enabled = bool(lock) or get(block.attrs, "object_lock_enabled") in (True, "true")
        retention = get(lock[0].attrs, "rule", "default_retention") if lock else None
        years = pick(d, "object_lock", get(retention, "years"), "int") if retention else None
        bucket.object_lock = ObjectLock(enabled=lock_enabled, mode=get(retention, "mode") if retention else None,
                                        retention_days=(pick(d, "object_lock", get(retention, "days"), "int") or
                                                        (years * 365 if years else None)) if retention else None)

    def read_acceleration() -> None:
        accelerate = located("transfer_acceleration",
                             _companions(model, block, name, "aws_s3_bucket_accelerate_configuration"))
        status = get(accelerate[0].attrs, "status") if accelerate else get(block.attrs, "acceleration_status")
        bucket.transfer_acceleration = pick(d, "transfer_acceleration", status, "str") if status else "Disabled"
        if status is None:
            d.default("transfer_acceleration", "Transfer Acceleration is off unless configured")

    def read_access_points() -> None:
        points = _companions(model, block, name, "aws_s3_access_point")
        bucket.access_points = sorted(str(get(p.attrs, "name") or p.address) for p in points)

    # What each read fills: an exception there leaves those properties unknown, and only those.
    for props, read in (
            (("versioning",), read_versioning),
            (("encryption",), read_encryption),
            (("public_access_block", "account_public_access_block", "effective_public_access_block"), read_public_access),
            (("lifecycle",), read_lifecycle),
            (("replication",), read_replication),
            (("intelligent_tiering_configurations", "intelligent_tiering"), read_tiering),
            (("policy",), read_policy),
            (("cors",), read_cors),
            (("logging",), read_logging),
            (("object_lock",), read_object_lock),
            (("transfer_acceleration",), read_acceleration),
            (("access_points",), read_access_points),
    ):
        _read_guarded(bucket, d, props, read)
    d.apply(bucket)
    return bucket


# --- RDS --------------------------------------------------------------------------------------------------


def rds_cluster_instance(model: TfModel, block: TfBlock) -> RDSInstance:
    """An Aurora instance: its class, engine, placement and monitoring; storage, backups and protection come from
    its cluster (collectors.rds.defer_to_clusters, after every block is read)."""
    d = Declared()
    a = block.attrs
    db = _base(model, block, RDSInstance, get(a, "identifier"), d)
    db.engine = pick(d, "engine", get(a, "engine"), "str")
    db.instance_class = pick(d, "instance_class", get(a, "instance_class"), "str")
    db.storage_type = "aurora"
    d.unknown["allocated_storage_gb"] = "Aurora storage grows with the data: an Aurora instance has no allocated size"
    db.publicly_accessible = pick(d, "publicly_accessible", get(a, "publicly_accessible"), "bool", default=False,
                                  note="not publicly accessible unless configured")
    db.performance_insights_enabled = pick(d, "performance_insights_enabled", get(a, "performance_insights_enabled"),
                                           "bool", default=False, note="Performance Insights off unless enabled")
    retention = get(a, "performance_insights_retention_period")
    db.performance_insights_retention_days = pick(d, "performance_insights_retention_days", retention, "int") \
        if retention is not None else (7 if db.performance_insights_enabled else None)
    group = model.name_of(get(a, "db_parameter_group_name"), block)
    db.parameter_groups = [str(group)] if group else []
    cluster = get(a, "cluster_identifier")
    db.cluster_id = str(model.name_of(cluster, block)) if cluster is not None else None
    if db.cluster_id is not None and is_unresolved(db.cluster_id):
        for prop in CLUSTER_LEVEL:
            d.unknown[prop] = f"the instance's cluster is not resolvable statically: {db.cluster_id[:120]}"
        db.cluster_id = None
    d.apply(db)
    return db


def metric_alarm(model: TfModel, block: TfBlock) -> CloudWatchAlarm:
    d = Declared()
    a = block.attrs
    alarm = _base(model, block, CloudWatchAlarm, get(a, "alarm_name"), d)
    metrics = []
    for query in blocks(a, "metric_query"):
        entry = {"Id": get(query, "id"), "ReturnData": get(query, "return_data", default=False)}
        if get(query, "expression"):
            entry["Expression"] = get(query, "expression")
        metric = get(query, "metric")
        if metric:
            dims = clean(get(metric, "dimensions", default={})) or {}
            entry["MetricStat"] = {"Metric": {"Namespace": get(metric, "namespace"), "MetricName": get(metric, "metric_name"),
                                              "Dimensions": [{"Name": k, "Value": model.name_of(v, block)} for k, v in dims.items()]},
                                   "Period": get(metric, "period"), "Stat": get(metric, "stat")}
        metrics.append(entry)
    dims = clean(get(a, "dimensions", default={})) or {}
    from auditor.services.cloudwatch import alarm_from

    alarm.alarm = alarm_from({
        "AlarmName": alarm.name, "Namespace": get(a, "namespace"), "MetricName": get(a, "metric_name"),
        "Dimensions": [{"Name": k, "Value": str(model.name_of(v, block))} for k, v in dims.items()],
        "Statistic": get(a, "statistic"), "ExtendedStatistic": get(a, "extended_statistic"),
        "Period": pick(d, "alarm", get(a, "period"), "int"), "EvaluationPeriods": pick(d, "alarm", get(a, "evaluation_periods"), "int"),
        "DatapointsToAlarm": get(a, "datapoints_to_alarm"), "Threshold": pick(d, "alarm", get(a, "threshold"), "float"),
        "ComparisonOperator": get(a, "comparison_operator"), "TreatMissingData": get(a, "treat_missing_data"),
        "ActionsEnabled": get(a, "actions_enabled", default=True), "AlarmActions": [],
        "AlarmDescription": get(a, "alarm_description"), "Metrics": metrics,
    })
    if get(a, "treat_missing_data") is None:
        d.default("alarm.treat_missing_data", "TreatMissingData missing")
    d.apply(alarm)
    return alarm


_ANY_REF = re.compile(r'^\$?\{?(?:module\.[\w-]+(?:\[[^\]]*\])?\.)*(?P<address>(?P<type>aws_[a-z0-9_]+)\.[\w-]+'
                      r'(?:\[(?:\d+|"[^"]*")\])?)\.')


class TfContext:
    """What a mapping table's functions may ask of the Terraform around one block (fields.References)."""

    def __init__(self, model: TfModel, block: TfBlock, name: Optional[str]):
        self.model, self.block, self.name = model, block, name
        self.label = name or block.address  # how findings name the resource

    def resolve(self, value: Any) -> Any:
        """A reference to another block, by any attribute path (``aws_eks_cluster.main.vpc_config[0].x``), is
        that block's name."""
        named = self.model.name_of(value, self.block)
        match = _ANY_REF.match(one(named)) if isinstance(one(named), str) else None
        if match:
            address = module_prefix(self.block.address) + match.group("address")
            block = self.model.by_address.get(address) or self.model.by_address.get(match.group("address"))
            if block is not None:
                return _name_of_block(block)
        return named

    def declares_key(self, value: Any) -> bool:
        return _customer_key(value)

    def pointing(self, rtype: str, attribute: str) -> list[tuple[str, dict]]:
        """The blocks of ``rtype`` whose ``attribute`` designates this block, with their names."""
        found = _certain(self.model.companions_of(rtype, self.block, self.name, attribute), self.block, attribute)
        return [(_name_of_block(b), b.attrs) for b in found if b is not self.block]

    def type_of(self, value: Any) -> Optional[str]:
        """The resource type a reference names (``aws_dynamodb_table.x.arn`` -> aws_dynamodb_table)."""
        value = one(value)
        match = _ANY_REF.match(value) if isinstance(value, str) else None
        return match.group("type") if match else None

    def pointing_at(self, target: Any, rtype: str, attribute: str) -> list[dict]:
        """The blocks of ``rtype`` whose ``attribute`` designates the block ``target`` refers to."""
        match = _ANY_REF.match(one(target)) if isinstance(one(target), str) else None
        block = None
        if match:
            block = self.model.by_address.get(module_prefix(self.block.address) + match.group("address")) or \
                self.model.by_address.get(match.group("address"))
        if block is None:
            return [b.attrs for b in self.model.of_type(rtype) if one(get(b.attrs, attribute)) == one(target)]
        return [b.attrs for b in _certain(self.model.companions_of(rtype, block, None, attribute), block, attribute)]

    def document(self, value: Any) -> Any:
        """A ``data.aws_iam_policy_document.x.json`` reference as the policy it renders; anything else as it is."""
        return document_for(one(value), module_prefix(self.block.address), self.model.documents) or value

    def named(self, rtype: str, value: Any) -> list[dict]:
        return [b.attrs for b in self.model.of_type(rtype)
                if self.model.points_to(value, b, _name_of_block(b) if _name_of_block(b) != b.address else None)]

    def of_type(self, rtype: str) -> list[dict]:
        return [b.attrs for b in self.model.of_type(rtype)]

    @staticmethod
    def blocks(attrs: dict, key: str) -> list[dict]:
        return blocks(attrs, key)


class UncertainCompanion(Exception):
    """A block points at one instance of a for_each/count resource through ``each.key`` (or ``count.index``),
    and its own for_each or count could not be evaluated: for which instances it exists is not known, so the
    field reading it is unknown (never "present for all")."""


def uncertain_companion(found: list[TfBlock], target: TfBlock, attribute: str) -> Optional[TfBlock]:
    if not _INDEX.search(target.address):
        return None
    return next((b for b in found if b.instances_note and
                 re.search(r"\b(each|count)\.", str(b.attrs.get(attribute)))), None)


def _certain(found: list[TfBlock], target: TfBlock, attribute: str) -> list[TfBlock]:
    block = uncertain_companion(found, target, attribute)
    if block is not None:
        raise UncertainCompanion(f"{block.address}: {block.instances_note}, so whether it applies to "
                                 f"{target.address} is not known")
    return found


def _name_of_block(block: TfBlock) -> str:
    for key in NAME_ATTRIBUTE.get(block.type, ()):
        name = get(block.attrs, key)
        if isinstance(name, str) and not is_unresolved(name):
            return name
    return block.address


def table_mapper(table: TypeMap) -> Callable[[TfModel, TfBlock], Resource]:
    """The Terraform reader of a tabled resource type: its name, tags and fields, then its finish hook."""
    def read(model: TfModel, block: TfBlock) -> Resource:
        d = Declared()
        where = table.tf_name
        name = where(block.attrs) if callable(where) else get(block.attrs, where) if where else None
        resource = _base(model, block, table.model, name, d)
        context = TfContext(model, block, name if isinstance(name, str) else None)
        read_iac(table, "tf", block.attrs, resource, d, context)
        if table.finish_tf:
            table.finish_tf(block.attrs, resource, context, d)
        d.apply(resource)
        return resource
    return read


MAPPERS: dict[str, Callable[[TfModel, TfBlock], Resource]] = {
    **{rtype: table_mapper(table) for rtype, table in TF_TABLES.items()},
    "aws_s3_bucket": s3_bucket,
    "aws_rds_cluster_instance": rds_cluster_instance,
    "aws_cloudwatch_metric_alarm": metric_alarm,
}
MODELS: dict[str, type[Resource]] = {
    **{rtype: table.model for rtype, table in TF_TABLES.items()},
    "aws_s3_bucket": S3Bucket, "aws_rds_cluster_instance": RDSInstance,
    "aws_cloudwatch_metric_alarm": CloudWatchAlarm,
}


# Which properties a resource's own nested block sets, for a ``dynamic`` one checkov could not expand.
_DOMAIN_BLOCKS = {
    "cluster_config": ("instance_type", "instance_count", "dedicated_master_enabled", "dedicated_master_type",
                       "dedicated_master_count", "zone_awareness_enabled", "availability_zone_count", "warm_enabled",
                       "warm_type", "warm_count"),
    "ebs_options": ("ebs_enabled", "volume_type", "volume_size_gb"), "encrypt_at_rest": ("encryption_at_rest",),
    "node_to_node_encryption": ("node_to_node_encryption",),
    "domain_endpoint_options": ("enforce_https", "tls_security_policy"),
}
BLOCK_PROPERTIES: dict[str, dict[str, tuple[str, ...]]] = {
    "aws_s3_bucket": {"versioning": ("versioning",), "server_side_encryption_configuration": ("encryption",),
                      "lifecycle_rule": ("lifecycle",), "cors_rule": ("cors",), "logging": ("logging",),
                      "object_lock_configuration": ("object_lock",)},
    "aws_dynamodb_table": {"attribute": ("key_schema", "attribute_types"), "global_secondary_index": ("gsis", "gsi_names"),
                           "local_secondary_index": ("lsis",), "ttl": ("ttl",), "point_in_time_recovery": ("pitr",),
                           "server_side_encryption": ("sse",)},
    "aws_opensearch_domain": _DOMAIN_BLOCKS, "aws_elasticsearch_domain": _DOMAIN_BLOCKS,
    "aws_cloudwatch_metric_alarm": {"metric_query": ("alarm",)},
}


def _mark_unexpanded(block: TfBlock, resource: Resource) -> Resource:
    for name, why in block.unexpanded.items():
        for prop in BLOCK_PROPERTIES.get(block.type, {}).get(name, ()):
            resource.defaults.pop(prop, None)
            resource.mark_unknown(prop, f"not resolvable statically: {why}")
    return resource


def terraform_resources(definitions: dict, root: str, region: str, var_files: tuple[Path, ...] = ()) -> list[Resource]:
    model = TfModel(blocks_from_definitions(definitions, root, var_files), region, policy_documents(definitions))
    return [_mark_unexpanded(b, map_safely(MAPPERS[b.type], model, b, b.address, b.file, b.line, MODELS[b.type]))
            for b in model.blocks if b.type in MAPPERS and not _member(b)]


def _member(block: TfBlock) -> bool:
    table = TF_TABLES.get(block.type)
    return bool(table and table.tf_member_of and get(block.attrs, table.tf_member_of) is not None)
