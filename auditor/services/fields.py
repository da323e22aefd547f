"""How a model property is read, as data: one ``Field`` says where the AWS API answer, Terraform and
CloudFormation keep it, its kind, and the AWS default when a template leaves it unset.

The three readers (``from_api`` for the live collectors, ``read_iac`` for the Terraform and CloudFormation
mappers) walk the same table, in the way Cloud Custodian describes its fetches as tables: adding a property is
one ``Field``, not three functions kept in step by hand.

A location is a dotted path (``ClusterConfig.InstanceCount``; HCL's one-element block lists are looked
through), ``a|b`` for alternatives at one level (``ClusterConfig|ElasticsearchClusterConfig``), or a function of
the answer (and, for IaC, of the references resolver) for the few values no path can give.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Optional, Protocol, Union

from auditor.services.model import Resource, SourceLocation
from auditor.services.values import Declared, clean, get, key_manager_of, pick

Where = Union[str, Callable[..., Any], None]


@dataclass(frozen=True)
class Defaulted:
    """What a field's function returns for a value the source leaves to AWS: the value AWS applies, and why."""

    value: Any
    note: str


@dataclass(frozen=True)
class Unknown:
    """What a field's function returns when the source cannot tell the value: the property is unknown, and why."""

    reason: str


class References(Protocol):
    """What an IaC reader offers a field's function: references resolved to names, and the resources around."""

    label: str  # how findings name the resource being read

    def resolve(self, value: Any) -> Any: ...

    def declares_key(self, value: Any) -> bool: ...

    def pointing(self, rtype: str, attribute: str) -> list[tuple[str, dict]]: ...

    def type_of(self, value: Any) -> Optional[str]: ...

    def named(self, rtype: str, value: Any) -> list[dict]: ...

    def pointing_at(self, target: Any, rtype: str, attribute: str) -> list[dict]: ...

    def of_type(self, rtype: str) -> list[dict]: ...

    def document(self, value: Any) -> Any: ...


@dataclass(frozen=True)
class Field:
    """One model property and where each source keeps it.

    ``kind``: str, int, bool, float (converted; an expression left unresolved is unknown), ``ref`` (a reference
    to another resource, resolved to its name), ``strings`` (a list of strings), ``raw`` (taken as it is),
    ``key_manager`` (who manages the KMS key the location names, when the property ``when`` is true; ``default``
    is the service's AWS managed alias).
    ``default`` (a value, or a function of the resource read so far) is what AWS applies when a template leaves
    the property unset, ``note`` says so in the report. The live API reports values; where its answer leaves one
    out, ``api_absent`` says what that means: ``none`` (not set), ``default`` (the AWS default) or ``unknown``
    (could not be read: its checks are error).
    """

    prop: str
    kind: str = "str"
    api: Where = None
    tf: Where = None
    cfn: Where = None
    default: Any = None
    note: Union[str, Callable[[Resource], str]] = ""
    api_absent: str = "none"
    when: Optional[str] = None
    # The API call (a collector family) whose answer holds the property, when the listing does not.
    api_call: Optional[str] = None


@dataclass(frozen=True)
class TypeMap:
    """A resource type across the three sources: its model, its names in Terraform and CloudFormation, how each
    names the resource, and its fields. ``finish_*`` hooks compute what joins resources (members, replicas)."""

    model: type[Resource]
    fields: tuple[Field, ...]
    api_operation: str = ""
    api_id: Where = None
    api_name: Where = None
    api_arn: Where = None
    api_tags: Optional[str] = None
    tf_types: tuple[str, ...] = ()
    tf_name: Where = None
    cfn_types: tuple[str, ...] = ()
    cfn_name: Where = None
    cfn_tags: str = "Tags"
    # After the fields: finish_api(raw, resource); finish_tf / finish_cfn(props, resource, ctx, declared).
    # An attribute/property that makes a block a member of another resource, judged with it rather than alone
    # (an aws_elasticache_cluster naming its replication_group_id).
    tf_member_of: Optional[str] = None
    finish_api: Optional[Callable[[dict, Resource], None]] = None
    finish_tf: Optional[Callable[..., None]] = None
    finish_cfn: Optional[Callable[..., None]] = None
    by_prop: dict[str, Field] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        self.by_prop.update({f.prop: f for f in self.fields})

    @property
    def api_properties(self) -> tuple[str, ...]:
        """The properties the listing answer carries (a collector's ``listed_properties``)."""
        return tuple(f.prop for f in self.fields if f.api is not None and f.api_call is None)

    def read_by(self, call: str) -> tuple[str, ...]:
        """The properties one further API call (a collector family) reads."""
        return tuple(f.prop for f in self.fields if f.api_call == call)


def read_path(answer: Any, where: str) -> Any:
    """The value at a dotted path (``None`` when any step is missing); ``a|b`` tries a, then b. A list on the
    way is looked through when it holds one item; the value at the end is taken as it is: a list of one tag
    is a list, never the tag."""
    value = answer
    for step in where.split("."):
        value = _one(value)
        if not isinstance(value, dict):
            return None
        value = next((value[key] for key in step.split("|") if value.get(key) is not None), None)
    return value


def _one(value: Any) -> Any:
    while isinstance(value, list) and len(value) == 1 and isinstance(value[0], (dict, list)):
        value = value[0]
    return value


def _tag_dict(raw: Any) -> dict[str, str]:
    if isinstance(raw, dict):
        return {str(k): str(v) for k, v in raw.items()}
    return {str(t["Key"]): str(t["Value"]) for t in raw or [] if isinstance(t, dict) and "Key" in t}


def _locate(answer: dict, where: Where) -> Any:
    return where(answer) if callable(where) else read_path(answer, where) if where else None


def from_api(table: TypeMap, raw: dict, region: str, account_id: Optional[str]) -> Resource:
    """One API answer (a DescribeX entry) as the model, field by field."""
    ident = _locate(raw, table.api_id)
    resource = table.model(id=str(ident), name=str(_locate(raw, table.api_name) or ident),
                           arn=_locate(raw, table.api_arn), region=region, account_id=account_id,
                           tags=_tag_dict(read_path(raw, table.api_tags)) if table.api_tags else {})
    _fill(table, raw, resource, None, table.api_operation)
    if table.finish_api:
        table.finish_api(raw, resource)
    return resource


def fill_from_api(table: TypeMap, call: str, raw: dict, resource: Resource) -> None:
    """The properties ``call`` reads (its fields' ``api_call``), from its answer: a collector family's parse."""
    _fill(table, raw, resource, call, call)


def _fill(table: TypeMap, raw: dict, resource: Resource, call: Optional[str], operation: str) -> None:
    for f in table.fields:
        if f.api is None or f.api_call != call:
            continue
        value = _locate(raw, f.api)
        if isinstance(value, Unknown):
            resource.mark_unknown(f.prop, value.reason)
            continue
        if value is None and f.api_absent == "unknown":
            resource.mark_unknown(f.prop, f"{operation} did not report {f.api if isinstance(f.api, str) else f.prop}")
        elif value is None and f.api_absent == "default":
            value = f.default(resource) if callable(f.default) else f.default
            note = f.note(resource) if callable(f.note) else f.note
            resource.defaults[f.prop] = f"AWS default: {note or value}"
        if f.kind == "strings":
            value = [str(v) for v in value or []]
        setattr(resource, f.prop, value)


def read_iac(table: TypeMap, source: str, props: dict, resource: Resource, declared: Declared,
             refs: References, file: Optional[str] = None) -> None:
    """Fill ``resource`` from a Terraform block's attributes (``source="tf"``) or a CloudFormation resource's
    properties (``"cfn"``): declared values converted to their kind, unset ones the AWS default (noted), the
    rest unknown. A CloudFormation property's own line is kept, so a finding points at it."""
    for f in table.fields:
        where = getattr(f, source)
        if where is None:
            continue
        try:
            _read_field(f, where, source, props, resource, declared, refs, file)
        except Exception as exc:  # noqa: BLE001 - a shape checkov left half rendered: this field only is unknown
            declared.defaults.pop(f.prop, None)
            declared.unknown[f.prop] = (f"not read from the IaC ({type(exc).__name__}: "
                                        f"{(str(exc).splitlines() or [''])[0][:120]})")


def _read_field(f: Field, where: Where, source: str, props: dict, resource: Resource, declared: Declared,
                refs: References, file: Optional[str]) -> None:
    """One field of one IaC resource: declared, defaulted, or unknown."""
    value = where(props, refs) if callable(where) else iac_value(props, where)
    default = f.default(resource) if callable(f.default) else f.default
    note = f.note(resource) if callable(f.note) else f.note
    if isinstance(value, Unknown):  # the model's empty default stays; the reason makes its checks error
        declared.unknown[f.prop] = value.reason
        return
    if isinstance(value, Defaulted):
        declared.default(f.prop, value.note)
        value = value.value
    if f.kind == "key_manager":
        value = key_manager_of(declared, f.prop, value, bool(getattr(resource, f.when or "", True)), default,
                               refs.declares_key(value))
    elif f.kind == "ref":
        value = refs.resolve(value) if value not in (None, "") else None
        if value is None and default is not None:
            value = default
            if note:
                declared.default(f.prop, note)
    elif f.kind == "strings":
        value = [str(v) for v in (clean(value) if isinstance(value, list) else [] if value is None else [value])]
    elif f.kind != "raw":
        value = pick(declared, f.prop, value, f.kind, default=default, note=note)
    setattr(resource, f.prop, value)
    if file and source == "cfn" and isinstance(where, str):
        line = _line_of_property(props, where)
        if line:
            resource.locations.setdefault(f.prop, SourceLocation(file=file, line=line))


def iac_value(props: dict, where: str) -> Any:
    """Terraform and CloudFormation read alike (``values.get`` looks through HCL's lists); ``a|b`` tries each."""
    value: Any = props
    for step in where.split("."):
        found = None
        for key in step.split("|"):
            found = get(value, key) if isinstance(value, (dict, list)) else None
            if found is not None:
                break
        value = found
        if value is None:
            return None
    return value


def _line_of_property(props: dict, where: str) -> Optional[int]:
    top = props.get(where.split(".")[0].split("|")[0])
    first = top[0] if isinstance(top, list) and top else top
    return int(first["__startline__"]) if isinstance(first, dict) and first.get("__startline__") else None
