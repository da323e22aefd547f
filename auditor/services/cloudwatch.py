"""CloudWatch metric alarms: one paginated describe_alarms per region; linked to what they watch."""
from __future__ import annotations

from typing import ClassVar, Iterable, Optional

from auditor.services.fetch import AwsCalls, Collector, Family
from auditor.services.model import Alarm, Resource


class CloudWatchAlarm(Resource):
    type: ClassVar[str] = "AWS::CloudWatch::Alarm"
    alarm: Optional[Alarm] = None


def list_alarms(calls: AwsCalls, region: str) -> Iterable[Resource]:
    client = calls.client("cloudwatch", region)
    for page in client.get_paginator("describe_alarms").paginate(AlarmTypes=["MetricAlarm"]):
        for raw in page.get("MetricAlarms", []):
            yield CloudWatchAlarm(
                id=raw["AlarmName"],
                name=raw["AlarmName"],
                arn=raw.get("AlarmArn"),
                region=region,
                account_id=calls.account_id,
                alarm=alarm_from(raw),
                defaults={} if raw.get("TreatMissingData") else {"alarm.treat_missing_data": "AWS default: TreatMissingData missing"},
            )


def alarm_from(raw: dict) -> Alarm:
    """Normalize a metric alarm. For metric math, the first MetricStat gives namespace, dimensions and period,
    and ``metric_names`` lists every metric the expression reads."""
    namespace, metric_name = raw.get("Namespace"), raw.get("MetricName")
    dimensions = {d["Name"]: d["Value"] for d in raw.get("Dimensions", [])}
    statistic, extended, period = raw.get("Statistic"), raw.get("ExtendedStatistic"), raw.get("Period")
    expression = None
    metrics = raw.get("Metrics") or []
    names = [metric_name] if metric_name else []
    for query in metrics:
        if query.get("MetricStat"):
            names.append(query["MetricStat"]["Metric"].get("MetricName"))
        if query.get("Expression") and query.get("ReturnData", True):
            expression = query["Expression"]
        stat = query.get("MetricStat")
        if stat and namespace is None:
            metric = stat["Metric"]
            namespace, metric_name = metric.get("Namespace"), metric.get("MetricName")
            dimensions = {d["Name"]: d["Value"] for d in metric.get("Dimensions", [])}
            period = stat.get("Period")
            stat_name = stat.get("Stat", "")
            if stat_name[:1] in ("p", "t", "w") and stat_name[1:2].isdigit():
                extended = stat_name
            else:
                statistic = stat_name
    return Alarm(
        name=raw["AlarmName"],
        namespace=namespace,
        metric_name=metric_name,
        dimensions=dimensions,
        statistic=statistic,
        extended_statistic=extended,
        period=period,
        evaluation_periods=raw.get("EvaluationPeriods"),
        datapoints_to_alarm=raw.get("DatapointsToAlarm"),
        threshold=raw.get("Threshold"),
        comparison_operator=raw.get("ComparisonOperator"),
        treat_missing_data=raw.get("TreatMissingData") or "missing",  # AWS's default when the answer has none
        actions_enabled=raw.get("ActionsEnabled"),
        alarm_actions=list(raw.get("AlarmActions", [])),
        description=raw.get("AlarmDescription"),
        uses_metric_math=bool(metrics),
        metric_math_expression=expression,
        uses_anomaly_detection=any("ANOMALY_DETECTION_BAND" in str(q.get("Expression") or "") for q in metrics),
        metric_names=[n for n in names if n],
        breach_seconds=_breach_seconds(period, raw.get("EvaluationPeriods"), raw.get("DatapointsToAlarm")),
    )


def _breach_seconds(period, evaluation_periods, datapoints) -> "int | None":
    """How long the metric must breach before the alarm fires: period x datapoints (all the evaluation periods
    when DatapointsToAlarm is unset). "80 % sustained for 5 minutes" is 300, whether 1 x 300 s or 5 x 60 s."""
    if not isinstance(period, int) or not isinstance(evaluation_periods, int):
        return None
    return period * (datapoints if isinstance(datapoints, int) and datapoints > 0 else evaluation_periods)


def fetch_tags(calls: AwsCalls, alarm: CloudWatchAlarm) -> None:
    answer = calls.client("cloudwatch", alarm.region).list_tags_for_resource(ResourceARN=alarm.arn)
    alarm.tags = {t["Key"]: t["Value"] for t in answer.get("Tags", [])}


COLLECTOR = Collector(
    service="cloudwatch",
    resource_type=CloudWatchAlarm,
    list_operation="DescribeAlarms",
    list_resources=list_alarms,
    listed_properties=("alarm",),
    families={"tags": Family("tags", "ListTagsForResource", ("tags",), fetch_tags)},
)


# Which alarm dimension names the resource a metric is about, per resource type.
GUARDED_BY_DIMENSION = {
    "TableName": "AWS::DynamoDB::Table",
    "BucketName": "AWS::S3::Bucket",
    "SourceBucket": "AWS::S3::Bucket",  # S3 replication metrics (ReplicationLatency) name the source bucket
    "DBInstanceIdentifier": "AWS::RDS::DBInstance",
    "DBClusterIdentifier": "AWS::RDS::DBCluster",
    "ReplicationGroupId": "AWS::ElastiCache::ReplicationGroup",
    "CacheClusterId": "AWS::ElastiCache::ReplicationGroup",
    "DomainName": "AWS::OpenSearchService::Domain",
    "FileSystemId": "AWS::EFS::FileSystem",
    "VolumeId": "AWS::EC2::Volume",
    "QueueName": "AWS::SQS::Queue",
}
