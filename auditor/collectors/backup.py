"""AWS Backup plans: ListBackupPlans per region; each plan's rules (GetBackupPlan) and the resources its
selections name (ListBackupSelections, then GetBackupSelection) are families, read only when a rule needs them."""
from __future__ import annotations

from functools import partial

from auditor.collectors.base import AwsCalls, Collector, Family, paginated_listing
from auditor.mappings import from_api
from auditor.mappings.fields import fill_from_api
from auditor.mappings.tables import BACKUP_PLAN, summarize_backup_plan
from auditor.resources import BackupPlan


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
