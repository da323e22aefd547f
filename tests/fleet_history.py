"""A fleet's history for the page tests: three targets with ten nightly runs each, written through the real
HistoryStore as a scan writes them (annotated findings, resource states, run summaries).

One bucket's versioning is the story the timelines tell: it fails on night 3, is fixed on night 6 and
regresses on night 9, and its configuration changes with it. The staging target's last run failed.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

from auditor.engine.findings import Finding, ResourceRef, RunInfo
from auditor.history.store import HistoryStore
from auditor.reporting.rerender import stored_document
from auditor.reporting.summary import summarize
from auditor.services.dax import DAXCluster
from auditor.services.s3.model import S3Bucket

TARGETS = ("shop-production", "shop-staging", "data-production")
NIGHTS = 10
START = datetime(2026, 11, 1, 2, 0, tzinfo=timezone.utc)
STORY_BUCKET = "orders-archive"
# (rule, control, severity, property, good value)
RULES = [("FLEET-S3-001", "versioning", "high", "versioning.status", "Enabled"),
         ("FLEET-S3-002", "encryption", "critical", "encryption.algorithm", "aws:kms"),
         ("FLEET-S3-003", "lifecycle", "medium", "lifecycle.rules", "present")]


def versioning_on(bucket: str, night: int) -> bool:
    if bucket != STORY_BUCKET:
        return True
    return not (3 <= night < 6 or night >= 9)


def night_of(target_index: int, night: int) -> tuple[RunInfo, list[Finding], list[S3Bucket]]:
    target = TARGETS[target_index]
    started = (START + timedelta(days=night, minutes=target_index)).strftime("%Y-%m-%dT%H:%M:%SZ")
    run = RunInfo(id=f"{target}-n{night:02d}", target=target, account_id=f"11111111111{target_index}",
                  regions=["us-east-1"], environment="staging" if "staging" in target else "production",
                  packs=["fleet"], started_at=started, finished_at=started, status="complete")
    buckets = [STORY_BUCKET, "media", "logs", f"extra-{target_index}"]
    findings, resources = [], []
    for name in buckets:
        versioned = versioning_on(name, night)
        encrypted = not (target_index == 2 and name == "logs")  # data-production's logs bucket is never fixed
        # The story bucket's 4xx alarm is tightened on night 4 (one field of one item of a list changes).
        alarms = [{"name": f"{name}-4xx", "metric_name": "4xxErrors", "threshold": 20.0 if night < 4 else 5.0,
                   "comparison_operator": "GreaterThanThreshold"}] if name == STORY_BUCKET else []
        resources.append(S3Bucket(id=name, name=name, region="us-east-1", arn=f"arn:aws:s3:::{name}",
                                  versioning={"status": "Enabled" if versioned else "Suspended"}, alarms=alarms))
        for rule_id, control, severity, prop, good in RULES:
            ok = {"FLEET-S3-001": versioned, "FLEET-S3-002": encrypted}.get(rule_id, night % 4 != 1 or name != "media")
            actual = good if ok else {"FLEET-S3-001": "Suspended", "FLEET-S3-002": "AES256"}.get(rule_id, None)
            unreadable = target_index == 2 and rule_id == "FLEET-S3-003" and name == "extra-2" and night % 2
            status = "error" if unreadable else "pass" if ok else "fail"
            findings.append(Finding(
                rule_id=rule_id, pack="fleet", title=f"Buckets meet the {control} standard", control=control,
                severity=severity, status=status,
                resource=ResourceRef(type="AWS::S3::Bucket", id=name, arn=f"arn:aws:s3:::{name}", name=name,
                                     region="us-east-1"),
                property=prop, expected=good, actual=actual,
                message="GetBucketLifecycleConfiguration: AccessDenied" if unreadable else
                f"{prop} is {actual!r}, expected {good!r}", spec_ref="fleet.md §1",
                remediation="fix it"))
    # A cache whose own lifecycle moves on (creating, then available): noise a diff leaves out.
    resources.append(DAXCluster(id="cache-1", name="cache-1", region="us-east-1", node_count=3,
                                status="creating" if night < 3 else "available"))
    return run, findings, resources


def build_fleet(db: Path) -> dict[str, list[str]]:
    """The history at ``db``; returns each target's run ids, oldest first."""
    from auditor.history.changes import annotate_changes

    store = HistoryStore(db)
    ids: dict[str, list[str]] = {t: [] for t in TARGETS}
    try:
        for night in range(NIGHTS):
            for index, target in enumerate(TARGETS):
                run, findings, resources = night_of(index, night)
                store.begin_run(run)
                ids[target].append(run.id)
                if target == "shop-staging" and night == NIGHTS - 1:
                    run.finished_at = run.started_at
                    store.fail_run(run, "cannot assume role arn:aws:iam::111111111111:role/auditor: AccessDenied")
                    continue
                annotated = annotate_changes(findings, store.priors_for(run), run.started_at,
                                             store.findings_by_state_ids, run.sight())
                store.finish_run(run, annotated, resources, summarize(annotated))
    finally:
        store.close()
    return ids


def document_of(db: Path, run_id: str) -> dict:
    store = HistoryStore(db)
    try:
        return stored_document(store, run_id)
    finally:
        store.close()
