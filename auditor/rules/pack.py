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

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from auditor.environments import CANONICAL_ENVIRONMENTS, canonical_env
from auditor.errors import BadInput
from auditor.services.model import SourceLocation
from auditor.services.registry import RESOURCE_MODELS

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
    # How much of its spec sentence the rule checks: ``partial`` with ``left_out`` saying what it does not (spec
    # coverage counts that remainder as a requirement not yet encoded).
    covers: Literal["full", "partial"] = "full"
    left_out: Optional[str] = None
    # Why only the live scan can judge the rule (an account-wide setting no template holds): the IaC gate lists
    # it among the rules not run, with this reason, rather than guess.
    live_only: Optional[str] = None
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

    @model_validator(mode="after")
    def says_what_is_left_out(self) -> "Rule":
        if self.covers == "partial" and not (self.left_out or "").strip():
            raise ValueError("covers: partial needs left_out: what of its spec sentence the rule does not check")
        if self.covers == "full" and self.left_out:
            raise ValueError("left_out is for a rule with covers: partial")
        return self

    def applies_to(self, environment: str) -> bool:
        return self.environments is None or environment in self.environments


class Parameter(Strict):
    """A value the spec leaves open. ``required``: the spec names no such resource, so there is no default to
    guess; until config.yaml sets it, the rules that use it are ``error`` with ``description`` as the reason."""

    default: Any = None
    required: bool = False
    description: str = ""

    def check(self, where: str, value: Any) -> None:
        """A value of the kind the parameter takes: a number where the default is one, else a name or a list of
        names (a required parameter is always a name: the spec names no such resource). One line, never a
        rule that silently judges nothing."""
        default = self.default
        if value is None:
            return
        if isinstance(default, (int, float)) and not isinstance(default, bool):
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise BadInput(f"{where}: expected a number (the default is {default}), got {value!r}")
        elif not (isinstance(value, str) or (isinstance(value, list) and all(isinstance(v, str) for v in value))):
            raise BadInput(f"{where}: expected a name or a list of names, got {value!r}")


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
            self.header.parameters[name].check(f"config.yaml: parameters.{self.id}.{name}", value)
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


def iter_rules(packs: list[Pack]) -> list[Rule]:
    return [rule for pack in packs for rule in pack.rules]
