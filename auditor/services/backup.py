"""AWS Backup plans: the model, its field table, and the live fetch.

ListBackupPlans per region; each plan's rules (GetBackupPlan) and the resources its selections name
(ListBackupSelections, then GetBackupSelection) are families, read only when a rule needs them."""
from __future__ import annotations

import re
from functools import partial
from typing import Any, ClassVar, Optional

from pydantic import Field as ModelField

from auditor.services.common import flat
from auditor.services.fetch import AwsCalls, Collector, Family, paginated_listing
from auditor.services.fields import Field, TypeMap, Unknown, fill_from_api, from_api, iac_value, read_path
from auditor.services.model import Model, Resource
from auditor.services.values import as_int, get, is_unresolved


class BackupRule(Model):
    """One rule of an AWS Backup plan: when it runs and how long its recovery points are kept."""

    name: str
    schedule: Optional[str] = None  # cron(...) or rate(...)
    weekly: Optional[bool] = None  # the schedule runs once a week
    delete_after_days: Optional[int] = None  # None: kept until deleted by hand


class BackupPlan(Resource):
    """An AWS Backup plan and the resources its selections name."""

    type: ClassVar[str] = "AWS::Backup::BackupPlan"
    rules: list[BackupRule] = ModelField(default_factory=list)
    # The longest retention among the weekly rules (0 when no rule runs weekly).
    weekly_retention_days: Optional[int] = None
    selected_resources: list[str] = ModelField(default_factory=list)  # ARNs or wildcards of its backup selections
    selects_dynamodb: Optional[bool] = None  # a selection names DynamoDB tables (an ARN, a table wildcard or "*")
    # The DynamoDB table names its selections cover, as patterns ("Products-production", "Sessions-*", "*").
    selected_tables: list[str] = ModelField(default_factory=list)


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
                if kind in ("aws_dynamodb_table", "AWS::DynamoDB::Table", "AWS::DynamoDB::GlobalTable"):
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


def fetch_rules(calls: AwsCalls, plan: BackupPlan) -> None:
    answer = calls.client("backup", plan.region).get_backup_plan(BackupPlanId=plan.id)
    fill_from_api(BACKUP_PLAN, "GetBackupPlan", answer, plan)


def fetch_selections(calls: AwsCalls, plan: BackupPlan) -> None:
    client = calls.client("backup", plan.region)
    resources: list[str] = []
    for page in client.get_paginator("list_backup_selections").paginate(BackupPlanId=plan.id):
        for entry in page.get("BackupSelectionsList", []):
            selection = client.get_backup_selection(BackupPlanId=plan.id, SelectionId=entry["SelectionId"])
            fill_from_api(BACKUP_PLAN, "ListBackupSelections", selection.get("BackupSelection", {}), plan)
            resources.extend(plan.selected_resources)
    plan.selected_resources = resources


COLLECTOR = Collector(
    service="backup",
    resource_type=BackupPlan,
    list_operation="ListBackupPlans",
    list_resources=paginated_listing("backup", "list_backup_plans", "BackupPlansList", partial(from_api, BACKUP_PLAN)),
    listed_properties=BACKUP_PLAN.api_properties,
    families={
        "rules": Family("rules", "GetBackupPlan", BACKUP_PLAN.read_by("GetBackupPlan"), fetch_rules),
        "selections": Family("selections", "ListBackupSelections", BACKUP_PLAN.read_by("ListBackupSelections"),
                             fetch_selections),
    },
    derived={"weekly_retention_days": ("rules",), "selects_dynamodb": ("selected_resources",),
             "selected_tables": ("selected_resources",)},
    finish=summarize_backup_plan,
)
