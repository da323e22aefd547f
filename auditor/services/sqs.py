"""SQS queues: the model, its field table, and the live fetch (ListQueues per region; GetQueueAttributes,
ListQueueTags and ListDeadLetterSourceQueues each as a family).

Encryption at rest is SSE-KMS (a KMS key), SSE-SQS (keys SQS owns) or none; SQS turns SSE-SQS on for every queue
created since October 2022 unless the request turns it off, so a template that says nothing gets SSE-SQS. A
queue's dead-letter queue is named by its redrive policy; a queue that is itself another queue's dead-letter
queue needs none.
"""
from __future__ import annotations

import json
from typing import Any, ClassVar, Iterable, Optional

from auditor.services.common import partition_of
from auditor.services.fetch import AwsCalls, Collector, Family
from auditor.services.fields import Defaulted, Field, TypeMap, Unknown, fill_from_api
from auditor.services.model import Resource
from auditor.services.values import as_bool, clean, get

SSE_SQS_SINCE = "SSE-SQS, on by default for queues created since October 2022"


class SQSQueue(Resource):
    """An SQS queue: how its messages are encrypted at rest and where the ones it cannot deliver go."""

    type: ClassVar[str] = "AWS::SQS::Queue"
    url: Optional[str] = None  # live only: the queue URL every SQS call takes
    fifo: Optional[bool] = None
    encryption: Optional[str] = None  # SSE-KMS, SSE-SQS or NONE
    kms_master_key_id: Optional[str] = None
    dead_letter_target: Optional[str] = None  # the name of the queue its redrive policy sends failures to
    max_receive_count: Optional[int] = None
    # Another queue's redrive policy names this one: a dead-letter queue itself, which needs none of its own.
    is_dead_letter_queue: Optional[bool] = None


def queue_name(arn_or_name: Any) -> Optional[str]:
    """``arn:aws:sqs:eu-west-1:123456789012:orders-dlq`` -> ``orders-dlq``; a name stays a name."""
    if arn_or_name is None:
        return None
    return str(arn_or_name).rsplit(":", 1)[-1]


def redrive_of(value: Any) -> dict:
    """A redrive policy as AWS returns it (a JSON string) or a template writes it (a map, or jsonencode's
    string); {} when there is none."""
    value = clean(value)
    if isinstance(value, list) and len(value) == 1:
        value = value[0]
    if isinstance(value, str) and value.strip():
        try:
            value = json.loads(value)
        except ValueError as exc:
            raise ValueError(f"the redrive policy is not JSON: {value[:80]}") from exc
    return value if isinstance(value, dict) else {}


def encryption_of(kms_key: Any, sqs_managed: Any) -> str:
    if kms_key not in (None, ""):
        return "SSE-KMS"
    if as_bool(sqs_managed) is True:
        return "SSE-SQS"
    return "NONE"


def _encryption_api(attrs: dict) -> str:
    """GetQueueAttributes names the KMS key or says SqsManagedSseEnabled; an answer with neither is a queue
    without encryption at rest (queues made before the default changed, or made with it turned off)."""
    return encryption_of(attrs.get("KmsMasterKeyId"), attrs.get("SqsManagedSseEnabled"))


def _encryption_iac(key_attr: str, managed_attr: str):
    def read(props: dict, ctx: Any) -> Any:
        key, managed = get(props, key_attr), get(props, managed_attr)
        if key in (None, "") and managed is None:
            return Defaulted("SSE-SQS", SSE_SQS_SINCE)
        # A key, even one named by a reference, is SSE-KMS; a switch this cannot read (var.sse) is not "off".
        if key in (None, "") and as_bool(managed) is None:
            return Unknown(f"not resolvable statically: {str(managed)[:120]}")
        return encryption_of(key, managed)
    return read


def _dead_letter_api(attrs: dict) -> Any:
    return queue_name(redrive_of(attrs.get("RedrivePolicy")).get("deadLetterTargetArn"))


def _max_receive_api(attrs: dict) -> Any:
    return redrive_of(attrs.get("RedrivePolicy")).get("maxReceiveCount")


def _redrive_iac(companion: Optional[tuple[str, str]], policy_attr: str):
    """The redrive policy the queue's own block writes, or (Terraform) an aws_sqs_queue_redrive_policy naming
    the queue."""
    def policy(props: dict, ctx: Any) -> dict:
        found = redrive_of(get(props, policy_attr))
        if not found and companion:
            for _, attrs in ctx.pointing(*companion):
                found = redrive_of(get(attrs, policy_attr))
        return found
    return policy


def _dead_letter_iac(companion: Optional[tuple[str, str]], policy_attr: str):
    read = _redrive_iac(companion, policy_attr)

    def target(props: dict, ctx: Any) -> Any:
        value = read(props, ctx).get("deadLetterTargetArn")
        if value is None:
            return None
        resolved = ctx.resolve(value)
        return queue_name(resolved) if isinstance(resolved, str) else Unknown(f"not resolvable statically: {value}")
    return target


def _max_receive_iac(companion: Optional[tuple[str, str]], policy_attr: str):
    read = _redrive_iac(companion, policy_attr)
    return lambda props, ctx: read(props, ctx).get("maxReceiveCount")


TF_COMPANION = ("aws_sqs_queue_redrive_policy", "queue_url")

SQS = TypeMap(
    model=SQSQueue,
    tf_types=("aws_sqs_queue",), tf_name="name",
    cfn_types=("AWS::SQS::Queue",), cfn_name="QueueName",
    fields=(
        Field("fifo", "bool", api="FifoQueue", tf="fifo_queue", cfn="FifoQueue", default=False,
              note="a standard queue unless FIFO", api_call="GetQueueAttributes", api_absent="default"),
        Field("encryption", api=_encryption_api, api_call="GetQueueAttributes",
              tf=_encryption_iac("kms_master_key_id", "sqs_managed_sse_enabled"),
              cfn=_encryption_iac("KmsMasterKeyId", "SqsManagedSseEnabled")),
        Field("kms_master_key_id", "ref", api="KmsMasterKeyId", tf="kms_master_key_id", cfn="KmsMasterKeyId",
              api_call="GetQueueAttributes"),
        Field("dead_letter_target", api=_dead_letter_api, api_call="GetQueueAttributes",
              tf=_dead_letter_iac(TF_COMPANION, "redrive_policy"), cfn=_dead_letter_iac(None, "RedrivePolicy")),
        Field("max_receive_count", "int", api=_max_receive_api, api_call="GetQueueAttributes",
              tf=_max_receive_iac(TF_COMPANION, "redrive_policy"), cfn=_max_receive_iac(None, "RedrivePolicy")),
    ),
)


def list_queues(calls: AwsCalls, region: str) -> Iterable[Resource]:
    partition = partition_of(region)
    for page in calls.client("sqs", region).get_paginator("list_queues").paginate():
        for url in page.get("QueueUrls", []):
            name = url.rstrip("/").rsplit("/", 1)[-1]
            yield SQSQueue(id=name, name=name, region=region, account_id=calls.account_id, url=url,
                           arn=f"arn:{partition}:sqs:{region}:{calls.account_id}:{name}")


def fetch_attributes(calls: AwsCalls, queue: SQSQueue) -> None:
    answer = calls.client("sqs", queue.region).get_queue_attributes(QueueUrl=queue.url, AttributeNames=["All"])
    attributes = answer.get("Attributes") or {}
    queue.arn = attributes.get("QueueArn", queue.arn)
    fill_from_api(SQS, "GetQueueAttributes", attributes, queue)


def fetch_tags(calls: AwsCalls, queue: SQSQueue) -> None:
    queue.tags = dict(calls.client("sqs", queue.region).list_queue_tags(QueueUrl=queue.url).get("Tags") or {})


def fetch_dead_letter_sources(calls: AwsCalls, queue: SQSQueue) -> None:
    """ListDeadLetterSourceQueues: the queues whose redrive policy names this one (one page is enough to know)."""
    answer = calls.client("sqs", queue.region).list_dead_letter_source_queues(QueueUrl=queue.url, MaxResults=1)
    queue.is_dead_letter_queue = bool(answer.get("queueUrls"))


def link_dead_letter_queues(resources: list[Resource]) -> None:
    """IaC: a declared queue is a dead-letter queue when another declared queue's redrive policy names it."""
    queues = [r for r in resources if isinstance(r, SQSQueue)]
    targets = {q.dead_letter_target for q in queues if q.dead_letter_target}
    unread = [q for q in queues if "dead_letter_target" in q.unknown]
    for queue in queues:
        if queue.name in targets:
            queue.is_dead_letter_queue = True
        elif unread:
            queue.mark_unknown("is_dead_letter_queue", f"the redrive policy of {unread[0].name} cannot be read: "
                                                       f"{unread[0].unknown['dead_letter_target']}")
        else:
            queue.is_dead_letter_queue = False


COLLECTOR = Collector(
    service="sqs",
    resource_type=SQSQueue,
    list_operation="ListQueues",
    list_resources=list_queues,
    listed_properties=("url",),
    families={
        f.name: f
        for f in (
            Family("attributes", "GetQueueAttributes", SQS.read_by("GetQueueAttributes"), fetch_attributes),
            Family("tags", "ListQueueTags", ("tags",), fetch_tags),
            Family("dead_letter_sources", "ListDeadLetterSourceQueues", ("is_dead_letter_queue",),
                   fetch_dead_letter_sources),
        )
    },
)
