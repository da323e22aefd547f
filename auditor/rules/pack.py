"""Rule packs: the YAML format, validated with pydantic when loaded.

A pack is one file ``rules/<id>.yaml`` (or a folder ``rules/<id>/`` whose ``pack.yaml`` holds the header and
whose other YAML files hold ``rules:`` lists). Every error names the file, the line, the rule id and the field.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from auditor.environments import CANONICAL_ENVIRONMENTS, canonical_env
from auditor.errors import BadInput
from auditor.resources import RESOURCE_MODELS
from auditor.rules.conditions import ConditionError, parse_condition
from auditor.rules.properties import UnknownProperty, check_condition_paths
from auditor.yamlfile import YamlDocument, explain_validation, load_yaml

CONTROLS = (
    "existence", "encryption", "encryption_in_transit", "versioning", "pitr", "ttl", "lifecycle",
    "public_access_block", "alarm", "backup", "high_availability", "deletion_protection", "capacity",
    "configuration",
)
SEVERITIES = ("critical", "high", "medium", "low", "info")
Control = Literal[CONTROLS]  # type: ignore[valid-type]
Severity = Literal[SEVERITIES]  # type: ignore[valid-type]
RULE_ID = re.compile(r"^[A-Z][A-Z0-9]*(-[A-Z0-9]+)*-\d{3}$")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=False)


class Selector(Strict):
    """Which resources a rule covers."""

    type: str
    names: list[str] = Field(default_factory=lambda: ["*"])
    exclude_names: list[str] = Field(default_factory=list)
    tags: dict[str, str] = Field(default_factory=dict)
    required: bool = False

    @field_validator("type")
    @classmethod
    def known_type(cls, value: str) -> str:
        if value not in RESOURCE_MODELS:
            raise ValueError(f"unknown resource type {value!r}; known: {', '.join(sorted(RESOURCE_MODELS))}")
        return value

    @field_validator("names")
    @classmethod
    def some_names(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("names must list at least one pattern")
        return value


class Rule(Strict):
    id: str
    title: str
    control: Control
    severity: Severity
    spec_ref: str
    remediation: str
    description: str = ""
    # Where the spec contradicts itself on this rule: the pack follows the prose, validate warns.
    spec_conflict: Optional[str] = None
    environments: Optional[list[str]] = None
    resource: Selector
    check: Any = None
    condition: Any = Field(default=None, exclude=True)
    pack: str = ""
    where: str = Field(default="", exclude=True)

    @field_validator("id")
    @classmethod
    def stable_id(cls, value: str) -> str:
        if not RULE_ID.match(value):
            raise ValueError(f"rule id {value!r} must look like ECOM-S3-003 (upper-case words, a 3-digit number)")
        return value

    @field_validator("environments")
    @classmethod
    def known_environments(cls, value: Optional[list[str]]) -> Optional[list[str]]:
        if value is None:
            return None
        out = []
        for env in value:
            canonical = canonical_env(env)
            if canonical is None:
                raise ValueError(f"unknown environment {env!r}; known: {', '.join(CANONICAL_ENVIRONMENTS)}")
            out.append(canonical)
        return out

    def applies_to(self, environment: str) -> bool:
        return self.environments is None or environment in self.environments


class Parameter(Strict):
    default: Any
    description: str = ""


class NotCovered(Strict):
    section: str
    requirement: str
    reason: str


class PackHeader(Strict):
    id: str
    title: str
    spec: Optional[str] = None
    description: str = ""
    version: int = 1
    environments: dict[str, str] = Field(default_factory=lambda: {e: e for e in CANONICAL_ENVIRONMENTS})
    parameters: dict[str, Parameter] = Field(default_factory=dict)
    not_covered: list[NotCovered] = Field(default_factory=list)

    @field_validator("environments")
    @classmethod
    def canonical_keys(cls, value: dict[str, str]) -> dict[str, str]:
        out = {}
        for env, spelling in value.items():
            canonical = canonical_env(str(env))
            if canonical is None:
                raise ValueError(f"unknown environment {env!r}; known: {', '.join(CANONICAL_ENVIRONMENTS)}")
            out[canonical] = str(spelling)
        return out


class Pack(BaseModel):
    header: PackHeader
    rules: list[Rule]
    files: list[Path]

    @property
    def id(self) -> str:
        return self.header.id

    def env_spelling(self, environment: str) -> str:
        return self.header.environments.get(environment, environment)

    def parameter_values(self, overrides: Optional[dict[str, Any]] = None) -> dict[str, Any]:
        values = {name: p.default for name, p in self.header.parameters.items()}
        for name, value in (overrides or {}).items():
            if name not in values:
                known = ", ".join(sorted(values)) or "none"
                raise BadInput(f"config.yaml: parameters.{self.id}.{name}: pack {self.id} has no such parameter (known: {known})")
            values[name] = value
        return values


class PackFileSet:
    """Where packs live: ``rules_dir/<id>.yaml`` or ``rules_dir/<id>/``."""

    def __init__(self, rules_dir: Path):
        self.rules_dir = Path(rules_dir)

    def available(self) -> list[str]:
        if not self.rules_dir.is_dir():
            return []
        ids = {p.stem for p in self.rules_dir.glob("*.yaml")}
        ids |= {p.name for p in self.rules_dir.iterdir() if p.is_dir() and (p / "pack.yaml").exists()}
        return sorted(ids)

    def path_of(self, pack_id: str) -> Path:
        for candidate in (self.rules_dir / f"{pack_id}.yaml", self.rules_dir / pack_id):
            if candidate.exists():
                return candidate
        known = ", ".join(self.available()) or "none"
        raise BadInput(f"unknown pack {pack_id!r} (packs in {self.rules_dir}: {known})")

    def load(self, pack_ids: list[str]) -> list["Pack"]:
        packs = [load_pack(self.path_of(pack_id)) for pack_id in pack_ids]
        check_unique_ids(packs)
        return packs

    def load_all(self) -> list["Pack"]:
        return self.load(self.available())


def check_unique_ids(packs: list[Pack]) -> None:
    seen: dict[str, str] = {}
    for pack in packs:
        for rule in pack.rules:
            if rule.id in seen:
                raise BadInput(f"rule id {rule.id} is defined in both pack {seen[rule.id]} and pack {pack.id}")
            seen[rule.id] = pack.id


def load_pack(path: Path) -> Pack:
    """Load and validate one pack, from a file or a folder."""
    path = Path(path)
    if path.is_dir():
        header_doc = load_yaml(path / "pack.yaml")
        rule_docs = [header_doc] + [load_yaml(p) for p in sorted(path.glob("*.yaml")) if p.name != "pack.yaml"]
    else:
        header_doc = load_yaml(path)
        rule_docs = [header_doc]
    header = _load_header(header_doc)
    rules: list[Rule] = []
    for doc in rule_docs:
        rules.extend(_load_rules(doc, header))
    ids = [r.id for r in rules]
    for rule_id in ids:
        if ids.count(rule_id) > 1:
            raise BadInput(f"{path}: rule id {rule_id} is used twice in pack {header.id}")
    return Pack(header=header, rules=rules, files=[d.path for d in rule_docs])


def _load_header(doc: YamlDocument) -> PackHeader:
    data = doc.data
    if not isinstance(data, dict) or "pack" not in data:
        raise BadInput(f"{doc.where(())}: a pack file starts with a 'pack:' header (id, title, ...)")
    try:
        return PackHeader.model_validate(data["pack"])
    except ValidationError as exc:
        raise explain_validation(doc, exc, ("pack",)) from None


def _load_rules(doc: YamlDocument, header: PackHeader) -> list[Rule]:
    data = doc.data if isinstance(doc.data, dict) else {}
    unknown_sections = set(data) - {"pack", "rules"}
    if unknown_sections:
        section = sorted(unknown_sections)[0]
        raise BadInput(f"{doc.where((section,))}: unknown section {section!r} (a pack file has 'pack' and 'rules')")
    raw_rules = data.get("rules") or []
    if not isinstance(raw_rules, list):
        raise BadInput(f"{doc.where(('rules',))}: 'rules' must be a list")
    rules = []
    for index, raw in enumerate(raw_rules):
        loc = ("rules", index)
        rule_id = raw.get("id") if isinstance(raw, dict) else None
        try:
            rule = Rule.model_validate(raw)
        except ValidationError as exc:
            raise explain_validation(doc, exc, loc, f"rule {rule_id}: " if rule_id else "") from None
        rule.pack = header.id
        rule.where = doc.where(loc)
        rules.append(_with_condition(doc, loc, rule, header))
    return rules


def _with_condition(doc: YamlDocument, loc: tuple, rule: Rule, header: PackHeader) -> Rule:
    model = RESOURCE_MODELS[rule.resource.type]
    if rule.check is None:
        if not rule.resource.required:
            raise BadInput(f"{doc.where(loc)}: rule {rule.id}: check: missing (only a rule with resource.required may omit it)")
        return rule
    try:
        rule.condition = parse_condition(rule.check, set(header.parameters))
        check_condition_paths(rule.condition, model)
    except ConditionError as exc:
        field = ".".join(str(p) for p in ("check",) + exc.path)
        raise BadInput(f"{doc.where(loc + ('check',) + exc.path)}: rule {rule.id}: {field}: {exc}") from None
    except UnknownProperty as exc:
        raise BadInput(f"{doc.where(loc + ('check',))}: rule {rule.id}: check: {exc} on {rule.resource.type}") from None
    return rule


def iter_rules(packs: list[Pack]) -> list[Rule]:
    return [rule for pack in packs for rule in pack.rules]
