"""Links between resources of different services, made after reading (live or IaC): the alarms that watch a
resource, and what those alarms say about it (an RDS instance's storage and connection alarms)."""
from __future__ import annotations

from typing import Optional

from auditor.services.cloudwatch import CloudWatchAlarm, GUARDED_BY_DIMENSION
from auditor.services.model import Resource
from auditor.services.rds.model import RDSInstance

ALARM_TYPE = "AWS::CloudWatch::Alarm"


def _connection_alarm_share(instance: RDSInstance) -> None:
    """How early its connection alarms fire: the lowest threshold of its high DatabaseConnections alarms
    (GreaterThan...) over max_connections. A low alarm (connections dropping under 10) says nothing of how
    early a crowd is caught, so it cannot make the share look small."""
    if "max_connections" in instance.unknown:
        instance.mark_unknown("connection_alarm_share", instance.unknown["max_connections"])
        return
    thresholds = [a.threshold for a in instance.alarms if a.metric_name == "DatabaseConnections"
                  and a.threshold is not None and str(a.comparison_operator or "").startswith("GreaterThan")]
    if instance.max_connections and thresholds:
        instance.connection_alarm_share = round(100.0 * min(thresholds) / instance.max_connections, 1)


def link_alarms(resources: list[Resource], alarms: list[CloudWatchAlarm],
                listing_errors: Optional[dict[tuple[str, str], str]] = None) -> None:
    """Give each resource the alarms whose dimensions name it; unknown where alarms could not be listed
    (``listing_errors``: (type, region) -> reason, as the live listing records them)."""
    index: dict[tuple[str, str, str], Resource] = {}
    for resource in resources:
        for name in {resource.name, resource.id}:
            index[(resource.type, resource.region, name)] = resource
        for member in getattr(resource, "member_clusters", []) or []:
            index[(resource.type, resource.region, member)] = resource
    for alarm in alarms:
        if alarm.alarm is None:
            continue
        for dimension, value in alarm.alarm.dimensions.items():
            rtype = GUARDED_BY_DIMENSION.get(dimension)
            target = index.get((rtype, alarm.region, value)) if rtype else None
            if target is None and rtype == "AWS::S3::Bucket":  # S3 metrics live in the bucket's region
                target = next((r for (t, _, n), r in index.items() if t == rtype and n == value), None)
            if target is not None and alarm.alarm not in target.alarms:
                target.alarms.append(alarm.alarm)
    for resource in resources:
        gb = getattr(resource, "allocated_storage_gb", None)
        for alarm in resource.alarms if isinstance(gb, int) and gb > 0 else ():
            if alarm.metric_name == "FreeStorageSpace" and alarm.threshold is not None:
                alarm.threshold_share_of_storage = round(100.0 * alarm.threshold / (gb * 1024 ** 3), 1)
    for resource in resources:
        if isinstance(resource, RDSInstance):
            _connection_alarm_share(resource)
    for (rtype, region), reason in (listing_errors or {}).items():
        if rtype == ALARM_TYPE:
            for resource in resources:
                if resource.region == region:
                    resource.mark_unknown("alarms", f"alarms could not be listed: {reason}")
