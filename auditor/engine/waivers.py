"""Waivers: a rule waived for a resource pattern, with a reason, an owner and an expiry date.

A waived finding keeps its reason in every report; an expired waiver no longer applies and the finding says
so; a waiver that matches no finding at all is reported as stale, so the file does not rot.
"""
from __future__ import annotations

import datetime as dt
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Optional

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from auditor.engine.findings import Finding
from auditor.errors import BadInputs
from auditor.yamlfile import explain_validation, load_yaml


class Waiver(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: Optional[str] = None
    rule: str = Field(description="rule id, or a glob such as ECOM-S3-*")
    resource: str = Field(default="*", description="glob on the resource name or id")
    target: str = Field(default="*", description="glob on the target name")
    reason: str
    owner: str
    expires: dt.date

    @field_validator("reason", "owner")
    @classmethod
    def not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be empty")
        return value

    def label(self, index: int) -> str:
        return self.id or f"waiver #{index + 1} ({self.rule} on {self.resource})"

    def matches(self, finding: Finding, target: str) -> bool:
        res = finding.resource
        return (fnmatchcase(finding.rule_id, self.rule) and fnmatchcase(target, self.target)
                and (fnmatchcase(res.name, self.resource) or fnmatchcase(res.id, self.resource)))


class WaiverFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    waivers: list[Waiver] = Field(default_factory=list)


# Rule ids made by the tool rather than by a pack: checkov's checks and the IaC-vs-live drift rules.
GENERATED_RULES = ("CKV_*", "CKV2_*", "IAC-DRIFT-*")


def load_waivers(path: Path, known_rules: Optional[set[str]] = None) -> list[Waiver]:
    """Load a waivers file; with ``known_rules``, a waiver whose rule (or glob) names no known rule is a load
    error with its line: a typo would otherwise waive nothing and only ever show up as "stale"."""
    doc = load_yaml(path)
    try:
        waivers = WaiverFile.model_validate(doc.data or {}).waivers
    except ValidationError as exc:
        raise explain_validation(doc, exc) from None
    if known_rules is not None:
        problems = []
        for index, waiver in enumerate(waivers):
            generated = any(fnmatchcase(waiver.rule, g) or fnmatchcase(g.rstrip("*"), waiver.rule) for g in GENERATED_RULES)
            if not generated and not any(fnmatchcase(rule_id, waiver.rule) for rule_id in known_rules):
                problems.append(f"{doc.where(('waivers', index, 'rule'))}: waivers.{index}.rule: {waiver.rule!r} "
                                f"names no rule of any pack (see auditor rules list)")
        if problems:
            raise BadInputs(problems)
    return waivers


def load_configured_waivers(path: Optional[Path], rules_dir: Path) -> list[Waiver]:
    """The waivers file of a command (--waivers or config.yaml), checked against every pack's rule ids."""
    if path is None:
        return []
    from auditor.rules.load import PackFileSet

    known = {rule.id for pack in PackFileSet(rules_dir).load_all() for rule in pack.rules}
    return load_waivers(path, known)


def apply_waivers(findings: list[Finding], waivers: list[Waiver], target: str,
                  today: Optional[dt.date] = None) -> dict:
    """Waive failing and unverified findings in place; return what the report says about the waivers."""
    today = today or dt.datetime.now(dt.timezone.utc).date()
    matched = [0] * len(waivers)
    expired_used: set[int] = set()
    for finding in findings:
        for index, waiver in enumerate(waivers):
            if not waiver.matches(finding, target):
                continue
            matched[index] += 1
            if finding.status not in ("fail", "error"):
                break
            info = {"id": waiver.label(index), "reason": waiver.reason, "owner": waiver.owner,
                    "expires": waiver.expires.isoformat()}
            if waiver.expires < today:
                finding.waiver = {**info, "state": "expired"}
                finding.message += f" (waiver expired on {waiver.expires.isoformat()}: {waiver.reason})"
                expired_used.add(index)
            else:
                finding.waiver = {**info, "state": "active", "waived_status": finding.status}
                finding.status = "waived"
            break
    summary = {"active": 0, "expired": [], "stale": []}
    for index, waiver in enumerate(waivers):
        entry = {"id": waiver.label(index), "rule": waiver.rule, "resource": waiver.resource, "owner": waiver.owner,
                 "expires": waiver.expires.isoformat(), "reason": waiver.reason}
        if matched[index] == 0:
            summary["stale"].append(entry)
        elif waiver.expires < today:
            summary["expired"].append({**entry, "still_failing": index in expired_used})
        else:
            summary["active"] += 1
    summary["waived_findings"] = sum(1 for f in findings if f.status == "waived")
    return summary
