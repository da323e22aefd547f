"""Findings and runs: what an audit produces, in the shape of report.json (schema version 1)."""
from __future__ import annotations

import builtins
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Literal, Optional

from pydantic import BaseModel, Field

from auditor.services.model import SourceLocation

# superseded: a baseline finding on a property that a spec pack judges for the same resource; the spec pack's
# verdict stands, and a superseded finding counts in neither the score nor the gate.
Status = Literal["pass", "fail", "error", "waived", "superseded"]
Change = Literal["new", "unchanged", "resolved", "regressed"]


def utc_now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class ResourceRef(BaseModel):
    type: str
    id: str
    arn: Optional[str] = None
    name: str
    region: str


class Finding(BaseModel):
    rule_id: str
    pack: str
    title: str
    control: str
    severity: str
    status: Status
    resource: ResourceRef
    property: Optional[str] = None
    expected: Any = None
    actual: Any = None
    message: str
    spec_ref: str
    remediation: str
    change: Change = "new"
    first_seen: Optional[str] = None
    source: Optional[SourceLocation] = None
    # Where the rule is written (its pack file and line): where a live finding points in SARIF and the report.
    rule_source: Optional[SourceLocation] = None
    waiver: Optional[dict] = None
    superseded_by: Optional[str] = None

    @builtins.property  # the field named 'property' shadows the builtin in this class body
    def key(self) -> str:
        """Identity of a finding across runs: the same rule on the same resource."""
        return f"{self.rule_id}|{self.resource.type}|{self.resource.region}|{self.resource.id}"


class Coverage(BaseModel):
    """What a run evaluated. A finding outside it (a rule not run, a listing that failed, a region not scanned)
    is neither in the run nor ``resolved`` by it: its earlier state carries over to the next run that sees it."""

    rules: list[str] = Field(default_factory=list)  # rule ids that ran in this environment
    rules_not_run: list[dict] = Field(default_factory=list)  # {rule_id, reason}
    unlisted: list[dict] = Field(default_factory=list)  # {type, region, reason}: listings that failed
    # {rule_id, conflict}: rules that ran where the spec contradicts itself or asks for what AWS refuses; each
    # judges the pack's stated reading (rules validate names them too). Once per run, not a finding.
    spec_conflicts: list[dict] = Field(default_factory=list)
    # IaC runs: resources of a type the packs judge that the IaC reader does not model ({address, type, file,
    # line, reason}), listed rather than dropped; and how many warnings checkov logged or printed meanwhile.
    iac_skipped: list[dict] = Field(default_factory=list)
    checkov_messages: int = 0

    def sight(self, regions: list[str]) -> "Sight":
        return Sight(frozenset(self.rules), frozenset(regions),
                     frozenset((u["type"], u["region"]) for u in self.unlisted))


@dataclass(frozen=True)
class Sight:
    """Whether a run could see a finding key (rule|type|region|id): its rule ran, its region was scanned and the
    listing of its type there answered. ``rules`` None: a run recorded before coverage was kept sees all."""

    rules: Optional[frozenset]
    regions: frozenset
    unlisted: frozenset = frozenset()

    def sees(self, key: str) -> bool:
        rule_id, rtype, region, _ = key.split("|", 3)
        if self.rules is not None and rule_id not in self.rules:
            return False
        return region in self.regions and (rtype, region) not in self.unlisted


class RunInfo(BaseModel):
    id: str
    target: str
    label: Optional[str] = None  # shown beside the target: an organization account's name
    ou: Optional[str] = None  # its OU path, by name (prod / prod-eu)
    account_id: Optional[str] = None
    regions: list[str]
    environment: str
    packs: list[str]
    started_at: str
    finished_at: Optional[str] = None
    # "running": only as the history reads a run still being made (its report is written when it finishes).
    status: Literal["complete", "partial", "failed", "running"] = "complete"
    api_calls: int = 0
    http_requests: int = 0
    retries: int = 0
    api_calls_by_service: dict[str, int] = Field(default_factory=dict)
    endpoint_url: Optional[str] = None
    errors: list[str] = Field(default_factory=list)
    coverage: Optional[Coverage] = None
    # IaC runs: where the IaC root lies relative to the SARIF root (the repository), and the file a finding with
    # no declaration of its own (a required resource the IaC lacks) points at.
    source_prefix: Optional[str] = None
    default_source: Optional[str] = None

    def sight(self) -> Sight:
        if self.coverage is None:
            return Sight(None, frozenset(self.regions))
        return self.coverage.sight(self.regions)
