"""What every normalized resource shares (identity, tags, alarms, what could not be read), for the live
collectors and the IaC parsers alike; each service module holds its own models.

Each model is typed by its CloudFormation name, so one rule judges the live account and the IaC alike.
A property that could not be read stays ``None`` and its family is named in ``unknown`` with the reason:
unknown is not false, and a rule that reads it yields ``error``."""
from __future__ import annotations

from typing import Any, ClassVar, Optional

from pydantic import BaseModel, ConfigDict, Field, model_serializer

from auditor.textsafety import encodable



class Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SourceLocation(Model):
    """Where an IaC resource is declared; empty for live resources. ``address`` is the Terraform address
    (``module.orders.aws_s3_bucket.this[0]``), which tells two calls of one module apart; ``note`` says how the
    block was read where that matters to the verdict (a count that could not be evaluated)."""

    file: str
    line: Optional[int] = None
    address: Optional[str] = None
    note: Optional[str] = None

    @model_serializer(mode="wrap")
    def _without_empty(self, handler: Any) -> Any:
        data = handler(self)
        for key in ("address", "note"):
            if isinstance(data, dict) and data.get(key) is None:
                data.pop(key, None)
        return data


class Alarm(Model):
    """A CloudWatch metric alarm as a rule sees it, on its own or linked to the resource it watches."""

    name: str
    namespace: Optional[str] = None
    metric_name: Optional[str] = None
    dimensions: dict[str, str] = Field(default_factory=dict)
    statistic: Optional[str] = None
    extended_statistic: Optional[str] = None
    period: Optional[int] = None
    evaluation_periods: Optional[int] = None
    datapoints_to_alarm: Optional[int] = None
    threshold: Optional[float] = None
    comparison_operator: Optional[str] = None
    treat_missing_data: Optional[str] = None
    actions_enabled: Optional[bool] = None
    alarm_actions: list[str] = Field(default_factory=list)
    description: Optional[str] = None
    uses_metric_math: bool = False
    metric_math_expression: Optional[str] = None
    # Its threshold is an anomaly-detection band (ANOMALY_DETECTION_BAND), the "baseline" of the metric.
    uses_anomaly_detection: bool = False
    # Every metric the alarm reads: its own, or each MetricStat of its metric math (e.g. 4xxErrors, AllRequests).
    metric_names: list[str] = Field(default_factory=list)
    # How long the metric must breach before the alarm fires (period x datapoints to alarm), in seconds.
    breach_seconds: Optional[int] = None
    # A FreeStorageSpace alarm on a DB instance: its threshold as a share of the allocated storage, in %
    # ("alert at 80 % capacity" is a threshold of 20 % free).
    threshold_share_of_storage: Optional[float] = None


class Resource(Model):
    """What every normalized resource has: identity, tags, and what could not be read."""

    type: ClassVar[str] = ""
    id: str
    name: str
    arn: Optional[str] = None
    region: str
    account_id: Optional[str] = None
    tags: dict[str, str] = Field(default_factory=dict)
    alarms: list[Alarm] = Field(default_factory=list)
    unknown: dict[str, str] = Field(default_factory=dict)
    source: Optional[SourceLocation] = None
    # IaC only: properties the template leaves unset, filled with the value AWS documents as default.
    defaults: dict[str, str] = Field(default_factory=dict)
    # IaC only: where a property is declared, when not in the resource's own block (a companion resource).
    locations: dict[str, SourceLocation] = Field(default_factory=dict)

    def mark_unknown(self, family: str, reason: str) -> None:
        self.unknown[family] = reason

    def reference(self) -> dict[str, Any]:
        return {"type": self.type, "id": self.id, "arn": self.arn, "name": self.name, "region": self.region}


def make_encodable(resource: Resource) -> None:
    """Names and tags are untrusted: a lone surrogate in one (valid JSON from AWS, not valid UTF-8) is escaped
    here, once, so the history, every report and the terminal can hold it."""
    resource.id, resource.name = encodable(resource.id), encodable(resource.name)
    if resource.arn:
        resource.arn = encodable(resource.arn)
    if any(not _encodes(k) or not _encodes(v) for k, v in resource.tags.items()):
        resource.tags = {encodable(k): encodable(v) for k, v in resource.tags.items()}


def _encodes(text: str) -> bool:
    return encodable(text) is text
