"""AWS Backup plans, their rules and selections."""
from __future__ import annotations

import re
from typing import Any, Optional

from auditor.iac.values import as_int, get, is_unresolved
from auditor.mappings.fields import Field, TypeMap, Unknown, iac_value, read_path
from auditor.mappings.tables.common import flat
from auditor.resources import BackupPlan, BackupRule, Resource


def is_weekly(schedule: Any) -> Optional[bool]:
    """Does a Backup schedule run once a week? ``cron(0 5 ? * SUN *)`` (one day of the week, any month) or
    ``rate(7 days)``; None when it is not a schedule expression at all."""
    if not isinstance(schedule, str):
        return None
    text = schedule.strip()
    rate = re.fullmatch(r"rate\(\s*(\d+)\s+days?\s*\)", text)
    if rate:
        return int(rate.group(1)) == 7
    cron = re.fullmatch(r"cron\((.+)\)", text)
    if not cron or len(cron.group(1).split()) != 6:
        return None
    _, _, day_of_month, month, day_of_week, _ = cron.group(1).split()
    return day_of_month in ("?", "*") and month == "*" and day_of_week not in ("?", "*") and \
        not any(c in day_of_week for c in ",-/")


def _backup_rules(raw: Any, name: str, schedule: str, retention: str) -> list[BackupRule]:
    out = []
    for rule in raw if isinstance(raw, list) else [raw] if isinstance(raw, dict) else []:
        days = iac_value(rule, retention)
        out.append(BackupRule(name=str(iac_value(rule, name)), schedule=iac_value(rule, schedule),
                              weekly=is_weekly(iac_value(rule, schedule)),
                              delete_after_days=as_int(days) if days is not None else None))
    return out


def summarize_backup_plan(plan: Resource) -> None:
    """The properties the rules read, from the plan's rules and selections (live and in IaC alike)."""
    assert isinstance(plan, BackupPlan)
    if "rules" not in plan.unknown:
        weekly = [r for r in plan.rules if r.weekly]
        # Kept forever (no DeleteAfterDays) is longer than any retention the spec asks for.
        plan.weekly_retention_days = max((r.delete_after_days if r.delete_after_days is not None else 36500
                                          for r in weekly), default=0)
    if "selected_resources" not in plan.unknown:
        plan.selects_dynamodb = any(r == "*" or r.startswith("arn:aws:dynamodb:") for r in plan.selected_resources)
        plan.selected_tables = sorted({t for t in (_table_pattern(r) for r in plan.selected_resources) if t})
    else:
        plan.unknown.setdefault("selected_tables", plan.unknown["selected_resources"])


def _table_pattern(resource: str) -> Optional[str]:
    """The table names a selection's resource covers: ``*`` (every resource, or every DynamoDB one), or the
    name (pattern) after ``:table/`` of a DynamoDB ARN; None for another service's resource."""
    if resource == "*":
        return "*"
    parts = resource.split(":", 5)
    if len(parts) < 6 or parts[2] not in ("dynamodb", "*"):
        return None
    tail = parts[5]
    if tail in ("*", "table*", "table/*"):
        return "*"
    return tail[len("table/"):].split("/")[0] if tail.startswith("table/") else None


def _selected(rtype: str, plan_attribute: str, resources: str):
    """The resources an IaC plan's selections name; a reference to a table of the IaC is that table's ARN."""
    def read(props: dict, ctx: Any) -> Any:
        out = []
        for _, selection in ctx.pointing(rtype, plan_attribute):
            for value in flat(iac_value(selection, resources)) if isinstance(iac_value(selection, resources), list) \
                    else [iac_value(selection, resources)] if iac_value(selection, resources) is not None else []:
                kind = ctx.type_of(value)
                if kind in ("aws_dynamodb_table", "AWS::DynamoDB::Table"):
                    out.append(f"arn:aws:dynamodb:*:*:table/{ctx.resolve(value)}")
                elif isinstance(value, str) and not is_unresolved(value):
                    out.append(value)
                else:
                    return Unknown(f"a backup selection names a resource not resolvable statically: {str(value)[:120]}")
        return out
    return read


BACKUP_PLAN = TypeMap(
    model=BackupPlan, api_operation="ListBackupPlans", api_id="BackupPlanId", api_name="BackupPlanName",
    api_arn="BackupPlanArn", tf_types=("aws_backup_plan",), tf_name="name",
    cfn_types=("AWS::Backup::BackupPlan",), cfn_name=lambda p: get(p, "BackupPlan", "BackupPlanName"),
    fields=(
        Field("rules", "raw", api_call="GetBackupPlan",
              api=lambda raw: _backup_rules(read_path(raw, "BackupPlan.Rules") or [], "RuleName", "ScheduleExpression",
                                            "Lifecycle.DeleteAfterDays"),
              tf=lambda p, ctx: _backup_rules(ctx.blocks(p, "rule"), "rule_name", "schedule", "lifecycle.delete_after"),
              cfn=lambda p, ctx: _backup_rules(iac_value(p, "BackupPlan.BackupPlanRule") or [], "RuleName",
                                               "ScheduleExpression", "Lifecycle.DeleteAfterDays")),
        # A selection by tags alone (ListOfTags, no Resources) takes every tagged resource of every type: "*".
        Field("selected_resources", "raw", api_call="ListBackupSelections",
              api=lambda raw: list(raw.get("Resources") or (["*"] if raw.get("ListOfTags") else [])),
              tf=_selected("aws_backup_selection", "plan_id", "resources"),
              cfn=_selected("AWS::Backup::BackupSelection", "BackupPlanId", "BackupSelection.Resources")),
    ),
    finish_tf=lambda props, plan, ctx, d: summarize_backup_plan(plan),
    finish_cfn=lambda props, plan, ctx, d: summarize_backup_plan(plan),
)
