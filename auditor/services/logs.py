"""CloudWatch Logs log groups, for how long they keep events: the model, the field table, and the live fetch
(DescribeLogGroups per region carries the retention and the KMS key; a group without retentionInDays never
expires its events)."""
from __future__ import annotations

from functools import partial
from typing import Any, ClassVar, Optional

from auditor.services.fetch import AwsCalls, Collector, Family, Unreadable, paginated_listing
from auditor.services.fields import Defaulted, Field, TypeMap, Unknown, from_api
from auditor.services.model import Resource
from auditor.services.values import as_int, get

# What a rule on retention compares when a group never expires its events: longer than any retention.
NEVER_EXPIRES = 999_999


class LogGroup(Resource):
    type: ClassVar[str] = "AWS::Logs::LogGroup"
    # Days its events are kept; NEVER_EXPIRES when no retention is set.
    retention_days: Optional[int] = None
    kms_key_id: Optional[str] = None
    log_group_class: Optional[str] = None


def _retention_api(raw: dict) -> int:
    return int(raw["retentionInDays"]) if raw.get("retentionInDays") else NEVER_EXPIRES


def _retention_iac(key: str, zero_is_never: bool):
    """Terraform's retention_in_days defaults to 0, "never expire", as does a CloudFormation group without
    RetentionInDays."""
    def read(props: dict, ctx: Any) -> Any:
        value = get(props, key)
        if value is None or (zero_is_never and as_int(value) == 0):
            return Defaulted(NEVER_EXPIRES, "no retention set: the group never expires its events")
        days = as_int(value)
        return days if days is not None else Unknown(f"not resolvable statically: {str(value)[:120]}")
    return read


LOG_GROUP = TypeMap(
    model=LogGroup, api_operation="DescribeLogGroups", api_id="logGroupName", api_name="logGroupName",
    api_arn=lambda raw: raw.get("logGroupArn") or str(raw.get("arn", "")).removesuffix(":*") or None,
    tf_types=("aws_cloudwatch_log_group",), tf_name="name", cfn_types=("AWS::Logs::LogGroup",), cfn_name="LogGroupName",
    fields=(
        Field("retention_days", "raw", api=_retention_api, tf=_retention_iac("retention_in_days", True),
              cfn=_retention_iac("RetentionInDays", False)),
        Field("kms_key_id", "ref", api="kmsKeyId", tf="kms_key_id", cfn="KmsKeyId"),
        Field("log_group_class", api="logGroupClass", tf="log_group_class", cfn="LogGroupClass", default="STANDARD",
              api_absent="default", note="the STANDARD class"),
    ),
)


def fetch_tags(calls: AwsCalls, group: LogGroup) -> None:
    if not group.arn:
        raise Unreadable("DescribeLogGroups reported no ARN for the log group")
    answer = calls.client("logs", group.region).list_tags_for_resource(resourceArn=group.arn)
    group.tags = {str(k): str(v) for k, v in (answer.get("tags") or {}).items()}


COLLECTOR = Collector(
    service="logs",
    resource_type=LogGroup,
    list_operation="DescribeLogGroups",
    list_resources=paginated_listing("logs", "describe_log_groups", "logGroups", partial(from_api, LOG_GROUP)),
    listed_properties=LOG_GROUP.api_properties,
    families={"tags": Family("tags", "ListTagsForResource", ("tags",), fetch_tags)},
)
