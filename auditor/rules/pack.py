"""Rule packs: the YAML format, validated with pydantic when loaded.

A pack is one file ``rules/<id>.yaml`` (or a folder ``rules/<id>/`` whose ``pack.yaml`` holds the header and
whose other YAML files hold ``rules:`` lists). Every error names the file, the line, the rule id and the field.
"""
from __future__ import annotations

import functools
import re
from importlib import resources
from pathlib import Path
from typing import Any, Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from auditor.environments import CANONICAL_ENVIRONMENTS, canonical_env
from auditor.errors import BadInput, BadInputs
from auditor.rules.conditions import ConditionError, condition_keys, parse_condition, placeholders_in
from auditor.rules.properties import UnknownProperty, check_condition_paths, check_condition_types
from auditor.services.model import SourceLocation
from auditor.services.registry import RESOURCE_MODELS
from auditor.yamlfile import YamlDocument, explain_errors, load_yaml

CONTROLS = (
    "existence", "encryption", "encryption_in_transit", "versioning", "pitr", "ttl", "lifecycle",
    "public_access_block", "alarm", "backup", "high_availability", "deletion_protection", "capacity",
    "configuration",
)
SEVERITIES = ("critical", "high", "medium", "low", "info")
Control = Literal[CONTROLS]  # type: ignore[valid-type]
Severity = Literal[SEVERITIES]  # type: ignore[valid-type]
RULE_ID = re.compile(r"^[A-Z][A-Z0-9]*(-[A-Z0-9]+)*-\d{3}$")
# Placeholders every pack may use; the others must be the pack's parameters.
BUILT_IN_PLACEHOLDERS = frozenset({"env", "environment", "account_id", "region"})


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
    # Filled when the pack loads: the property paths the check reads, the parameters the rule uses, and
    # whether it comes from a baseline pack (which yields to a spec pack on the same property).
    reads: frozenset = Field(default=frozenset(), exclude=True)
    params_used: frozenset = Field(default=frozenset(), exclude=True)
    # The parameters each name pattern uses, and those the rest of the rule uses: a rule naming several
    # resources runs on the names whose parameters are set (Pack.blocked_rules).
    name_params: tuple = Field(default=(), exclude=True)
    other_params: frozenset = Field(default=frozenset(), exclude=True)
    baseline: bool = Field(default=False, exclude=True)
    # The environments the rule's pack describes (its header's applies_to; None: all).
    pack_environments: Optional[list[str]] = Field(default=None, exclude=True)

    def location(self) -> Optional[SourceLocation]:
        """The rule's pack file and line (see rule_location)."""
        return rule_location(self.where)

    @field_validator("severity", "control", mode="before")
    @classmethod
    def lower_case(cls, value: Any) -> Any:
        """``severity: High`` is what a newcomer writes; the vocabulary itself is lower case."""
        return value.strip().lower() if isinstance(value, str) else value

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
    """A value the spec leaves open. ``required``: the spec names no such resource, so there is no default to
    guess; until config.yaml sets it, the rules that use it are ``error`` with ``description`` as the reason."""

    default: Any = None
    required: bool = False
    description: str = ""


class NotCovered(Strict):
    section: str
    requirement: str
    reason: str
    # true: a boto3 call could verify it, and no rule does yet (a gap we owe, counted against the pack's share of
    # the spec's checkable requirements); false: not a configuration an AWS API shows.
    checkable: bool = False


class PackHeader(Strict):
    id: str
    title: str
    spec: Optional[str] = None
    description: str = ""
    version: int = 1
    # spec: a pack that encodes an architecture spec; baseline: best practice, which yields to a spec pack
    # that judges the same property of the same resource.
    kind: Literal["spec", "baseline"] = "spec"
    environments: dict[str, str] = Field(default_factory=lambda: {e: e for e in CANONICAL_ENVIRONMENTS})
    # The environments the spec describes (spec 004: production only): a rule without environments of its own
    # judges only these, so a staging account is not held to a production document.
    applies_to: Optional[list[str]] = None
    parameters: dict[str, Parameter] = Field(default_factory=dict)
    not_covered: list[NotCovered] = Field(default_factory=list)

    @field_validator("applies_to")
    @classmethod
    def known_scope(cls, value: Optional[list[str]]) -> Optional[list[str]]:
        if value is None:
            return None
        out = []
        for env in value:
            canonical = canonical_env(str(env))
            if canonical is None:
                raise ValueError(f"unknown environment {env!r}; known: {', '.join(CANONICAL_ENVIRONMENTS)}")
            out.append(canonical)
        return out

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
        """Defaults with config.yaml's values over them; a required parameter nobody set is left out."""
        values = {name: p.default for name, p in self.header.parameters.items() if not p.required}
        for name, value in (overrides or {}).items():
            if name not in self.header.parameters:
                known = ", ".join(sorted(self.header.parameters)) or "none"
                raise BadInput(f"config.yaml: parameters.{self.id}.{name}: pack {self.id} has no such parameter (known: {known})")
            values[name] = value
        return values

    def unset_parameters(self, overrides: Optional[dict[str, Any]] = None) -> dict[str, str]:
        """Required parameters config.yaml does not set, each with the line that says what to do."""
        given = overrides or {}
        return {name: f"set parameters.{self.id}.{name} in config.yaml ({p.description or 'the spec names no value'})"
                for name, p in self.header.parameters.items() if p.required and given.get(name) in (None, "")}

    def blocked_rules(self, overrides: Optional[dict[str, Any]] = None) -> dict[str, str]:
        """Rule id -> why it cannot run: it uses a required parameter that is not set. A rule that names several
        resources is blocked only when none of its names can be filled: otherwise it runs on those that can,
        and each name left unfilled is an ``error`` of its own (evaluate.unset_name_findings)."""
        unset = self.unset_parameters(overrides)
        out = {}
        for rule in self.rules:
            missing = rule.params_used & set(unset)
            if not missing:
                continue
            runnable_names = [p for p in rule.name_params if not p & missing]
            if runnable_names and not rule.other_params & missing:
                continue
            out[rule.id] = unset[sorted(missing)[0]]
        return out


@functools.lru_cache(maxsize=4096)
def rule_location(where: str) -> Optional[SourceLocation]:
    """``path:line`` as a finding names it: a built-in pack as ``auditor/packs/NAME.yaml`` (its place in the
    auditor source), a user's pack relative to the working directory when under it, else absolute."""
    path, _, line = where.rpartition(":")
    if not path or not line.isdigit():
        return None
    file = Path(path)
    try:
        shown = Path("auditor", "packs", file.relative_to(builtin_packs_dir())).as_posix()
    except ValueError:
        try:
            shown = file.resolve().relative_to(Path.cwd().resolve()).as_posix()
        except (ValueError, OSError):
            shown = file.as_posix()
    return SourceLocation(file=shown, line=int(line))


def builtin_packs_dir() -> Path:
    """The packs shipped inside the package (package data), wherever it is installed."""
    return Path(str(resources.files("auditor") / "packs"))


class PackFileSet:
    """Where packs live: ``<dir>/<id>.yaml`` or ``<dir>/<id>/``, in config.yaml's ``rules_dir`` first (which adds
    packs, or overrides a shipped one of the same id), then in the packs shipped with auditor."""

    def __init__(self, rules_dir: Optional[Path] = None, builtin: bool = True):
        self.rules_dir = Path(rules_dir) if rules_dir is not None else None
        self.dirs = [d for d in (self.rules_dir, builtin_packs_dir() if builtin else None) if d is not None]

    def describe(self) -> str:
        return " and ".join(str(d) for d in self.dirs)

    @staticmethod
    def _ids_in(folder: Path) -> set[str]:
        if not folder.is_dir():
            return set()
        ids = {p.stem for p in folder.glob("*.yaml")}
        return ids | {p.name for p in folder.iterdir() if p.is_dir() and (p / "pack.yaml").exists()}

    def available(self) -> list[str]:
        return sorted(set().union(*(self._ids_in(d) for d in self.dirs)))

    def path_of(self, pack_id: str) -> Path:
        for folder in self.dirs:
            for candidate in (folder / f"{pack_id}.yaml", folder / pack_id):
                if candidate.exists():
                    return candidate
        known = ", ".join(self.available()) or "none"
        raise BadInput(f"unknown pack {pack_id!r} (packs in {self.describe()}: {known})")

    def load(self, pack_ids: list[str]) -> list["Pack"]:
        packs = [load_pack(self.path_of(pack_id)) for pack_id in pack_ids]
        check_unique_ids(packs)
        return packs

    def load_all(self) -> list["Pack"]:
        return self.load(self.available())


def check_unique_ids(packs: list[Pack]) -> None:
    seen: dict[str, str] = {}  # rule id -> pack: one pass, linear in the number of rules
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
    problems: list[str] = []
    for doc in rule_docs:
        try:
            rules.extend(_load_rules(doc, header))
        except BadInputs as exc:
            problems.extend(exc.problems)
    seen: dict[str, Rule] = {}
    for rule in rules:
        if rule.id in seen:
            problems.append(f"{rule.where}: rule {rule.id}: id: used twice in pack {header.id} (first at {seen[rule.id].where})")
        seen.setdefault(rule.id, rule)
    if problems:
        raise BadInputs(problems)
    return Pack(header=header, rules=rules, files=[d.path for d in rule_docs])


def _load_header(doc: YamlDocument) -> PackHeader:
    data = doc.data
    if not isinstance(data, dict) or "pack" not in data:
        raise BadInput(f"{doc.where(())}: a pack file starts with a 'pack:' header (id, title, ...)")
    try:
        header = PackHeader.model_validate(data["pack"])
    except ValidationError as exc:
        raise BadInputs(explain_errors(doc, exc, ("pack",))) from None
    problems = []
    allowed = BUILT_IN_PLACEHOLDERS | set(header.parameters)
    for name, param in header.parameters.items():
        where = doc.where(("pack", "parameters", name))
        if param.required and param.default is not None:
            problems.append(f"{where}: parameters.{name}: a required parameter has no default (config.yaml sets it)")
        for placeholder in sorted(placeholders_in(param.default) - allowed):
            problems.append(f"{where}: parameters.{name}: unknown placeholder {{{placeholder}}} "
                            f"(built in: {', '.join(sorted(BUILT_IN_PLACEHOLDERS))}; parameters: {', '.join(sorted(header.parameters)) or 'none'})")
    if problems:
        raise BadInputs(problems)
    return header


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
    problems: list[str] = []
    for index, raw in enumerate(raw_rules):
        loc = ("rules", index)
        rule_id = raw.get("id") if isinstance(raw, dict) else None
        try:
            rule = Rule.model_validate(raw)
        except ValidationError as exc:
            problems.extend(explain_errors(doc, exc, loc, f"rule {rule_id}: " if rule_id else ""))
            continue
        rule.pack = header.id
        rule.where = doc.where(loc)
        if rule.environments is None and header.applies_to is not None:
            rule.environments = list(header.applies_to)
        rule.baseline = header.kind == "baseline"
        rule.pack_environments = list(header.applies_to) if header.applies_to is not None else None
        rule_problems = _with_condition(doc, loc, rule, header) + _check_placeholders(doc, loc, rule, header)
        if rule_problems:
            problems.extend(rule_problems)
        else:
            rules.append(rule)
    if problems:
        raise BadInputs(problems)
    return rules


def _with_condition(doc: YamlDocument, loc: tuple, rule: Rule, header: PackHeader) -> list[str]:
    """Parse the rule's check and check its paths and value types against the resource model; the problems."""
    model = RESOURCE_MODELS[rule.resource.type]
    if rule.check is None:
        if not rule.resource.required:
            return [f"{doc.where(loc)}: rule {rule.id}: check: missing (only a rule with resource.required may omit it)"]
        return []
    try:
        rule.condition = parse_condition(rule.check, set(header.parameters))
        check_condition_paths(rule.condition, model)
    except ConditionError as exc:
        field = ".".join(str(p) for p in ("check",) + exc.path)
        return [f"{doc.where(loc + ('check',) + exc.path)}: rule {rule.id}: {field}: {exc}"]
    except UnknownProperty as exc:
        return [f"{doc.where(loc + ('check',))}: rule {rule.id}: check: {exc} on {rule.resource.type}"]
    defaults = {name: p.default for name, p in header.parameters.items()}
    problems = []
    for path, message in check_condition_types(rule.condition, model, defaults):
        field = ".".join(str(p) for p in ("check",) + path)
        problems.append(f"{doc.where(loc + ('check',) + path)}: rule {rule.id}: {field}: {message}")
    rule.reads = frozenset(condition_keys(rule.condition))
    return problems


def _check_placeholders(doc: YamlDocument, loc: tuple, rule: Rule, header: PackHeader) -> list[str]:
    """Every ``{name}`` must be built in or a parameter: an undefined one would be looked up literally."""
    allowed = BUILT_IN_PLACEHOLDERS | set(header.parameters)
    used: set[str] = set()
    problems = []
    fields = [(("resource", "names"), rule.resource.names), (("resource", "exclude_names"), rule.resource.exclude_names),
              (("resource", "tags"), list(rule.resource.tags.values())), (("check",), rule.check)]
    for field, value in fields:
        found = placeholders_in(value)
        used |= found
        for name in sorted(found - allowed):
            problems.append(f"{doc.where(loc + field)}: rule {rule.id}: {'.'.join(field)}: unknown placeholder {{{name}}} "
                            f"(built in: {', '.join(sorted(BUILT_IN_PLACEHOLDERS))}; "
                            f"parameters: {', '.join(sorted(header.parameters)) or 'none'})")
    used |= _params_of(rule.check)
    # A parameter may itself hold placeholders of other parameters ({bucket_prefix}-logs).
    pending = list(used & set(header.parameters))
    while pending:
        name = pending.pop()
        for inner in placeholders_in(header.parameters[name].default) & set(header.parameters):
            if inner not in used:
                used.add(inner)
                pending.append(inner)
    rule.params_used = frozenset(used & set(header.parameters))
    rule.name_params = tuple(_with_defaults(placeholders_in(name), header) for name in rule.resource.names)
    rule.other_params = _with_defaults(
        set().union(*(placeholders_in(v) for v in (rule.resource.exclude_names, list(rule.resource.tags.values()),
                                                    rule.check))) | _params_of(rule.check), header)
    return problems


def _with_defaults(names: set[str], header: PackHeader) -> frozenset:
    """Parameters, with those their defaults name in turn ({bucket_prefix}-logs)."""
    found, pending = set(names) & set(header.parameters), list(set(names) & set(header.parameters))
    while pending:
        for inner in placeholders_in(header.parameters[pending.pop()].default) & set(header.parameters):
            if inner not in found:
                found.add(inner)
                pending.append(inner)
    return frozenset(found)


def _params_of(value: Any) -> set[str]:
    if isinstance(value, dict):
        found = {value["param"]} if set(value) == {"param"} and isinstance(value["param"], str) else set()
        for item in value.values():
            found |= _params_of(item)
        return found
    if isinstance(value, list):
        return set().union(*(_params_of(v) for v in value)) if value else set()
    return set()


def iter_rules(packs: list[Pack]) -> list[Rule]:
    return [rule for pack in packs for rule in pack.rules]
