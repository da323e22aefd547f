"""Findings and runs: what an audit produces, in the shape of report.json (schema version 1)."""
from __future__ import annotations

import builtins
from datetime import datetime, timezone
from typing import Any, Literal, Optional

from pydantic import BaseModel, Field

from auditor.resources import SourceLocation

Status = Literal["pass", "fail", "error", "waived"]
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
    waiver: Optional[dict] = None

    @builtins.property  # the field named 'property' shadows the builtin in this class body
    def key(self) -> str:
        """Identity of a finding across runs: the same rule on the same resource."""
        return f"{self.rule_id}|{self.resource.type}|{self.resource.region}|{self.resource.id}"


class RunInfo(BaseModel):
    id: str
    target: str
    account_id: Optional[str] = None
    regions: list[str]
    environment: str
    packs: list[str]
    started_at: str
    finished_at: Optional[str] = None
    status: Literal["complete", "partial", "failed"] = "complete"
    api_calls: int = 0
    http_requests: int = 0
    retries: int = 0
    api_calls_by_service: dict[str, int] = Field(default_factory=dict)
    endpoint_url: Optional[str] = None
    errors: list[str] = Field(default_factory=list)
