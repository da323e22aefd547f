"""DynamoDB tables: list_tables per region; describe_table, PITR, TTL and tags each as a family."""
from __future__ import annotations

from typing import Iterable

from auditor.collectors.base import AwsCalls, Collector, Family
from auditor.collectors.kms import key_manager, require_key
from auditor.mappings import from_api
from auditor.mappings.fields import fill_from_api
from auditor.mappings.tables import DYNAMODB
from auditor.resources import DynamoDBTable, Resource


def list_tables(calls: AwsCalls, region: str) -> Iterable[Resource]:
    client = calls.client("dynamodb", region)
    for page in client.get_paginator("list_tables").paginate():
        for name in page.get("TableNames", []):
            arn = f"arn:aws:dynamodb:{region}:{calls.account_id}:table/{name}"
            yield from_api(DYNAMODB, {"TableName": name, "TableArn": arn}, region, calls.account_id)


def _describe(calls: AwsCalls, table: DynamoDBTable) -> dict:
    """DescribeTable once per table and run, for the description and the key-manager families alike."""
    return calls.once(f"dynamodb:{table.region}:describe:{table.name}",
                      lambda: calls.client("dynamodb", table.region).describe_table(TableName=table.name)["Table"])


def fetch_description(calls: AwsCalls, table: DynamoDBTable) -> None:
    apply_description(table, _describe(calls, table))


def fetch_key_manager(calls: AwsCalls, table: DynamoDBTable) -> None:
    """AWS_OWNED without an SSEDescription (DynamoDB's own key); else DescribeKey of the table's KMS key."""
    sse = _describe(calls, table).get("SSEDescription") or {}
    if sse.get("SSEType") != "KMS":
        table.kms_key_manager = "AWS_OWNED"
        return
    table.kms_key_manager = key_manager(calls, table.region, require_key(sse.get("KMSMasterKeyArn"), "DescribeTable"))


def apply_description(table: DynamoDBTable, raw: dict) -> None:
    """Fill a table from a DescribeTable answer, as its mapping table says."""
    table.arn = raw.get("TableArn", table.arn)
    fill_from_api(DYNAMODB, "DescribeTable", raw, table)


def fetch_pitr(calls: AwsCalls, table: DynamoDBTable) -> None:
    answer = calls.client("dynamodb", table.region).describe_continuous_backups(TableName=table.name)
    fill_from_api(DYNAMODB, "DescribeContinuousBackups", answer, table)


def fetch_ttl(calls: AwsCalls, table: DynamoDBTable) -> None:
    answer = calls.client("dynamodb", table.region).describe_time_to_live(TableName=table.name)
    fill_from_api(DYNAMODB, "DescribeTimeToLive", answer, table)


def fetch_tags(calls: AwsCalls, table: DynamoDBTable) -> None:
    client = calls.client("dynamodb", table.region)
    tags: dict[str, str] = {}
    token = None
    while True:
        kwargs = {"ResourceArn": table.arn}
        if token:
            kwargs["NextToken"] = token
        answer = client.list_tags_of_resource(**kwargs)
        tags.update({t["Key"]: t["Value"] for t in answer.get("Tags", [])})
        token = answer.get("NextToken")
        if not token:
            break
    table.tags = tags


COLLECTOR = Collector(
    service="dynamodb",
    resource_type=DynamoDBTable,
    list_operation="ListTables",
    list_resources=list_tables,
    families={
        f.name: f
        for f in (
            Family("description", "DescribeTable", DYNAMODB.read_by("DescribeTable"), fetch_description),
            Family("kms_key_manager", "DescribeKey", ("kms_key_manager",), fetch_key_manager),
            Family("pitr", "DescribeContinuousBackups", DYNAMODB.read_by("DescribeContinuousBackups"), fetch_pitr),
            Family("ttl", "DescribeTimeToLive", DYNAMODB.read_by("DescribeTimeToLive"), fetch_ttl),
            Family("tags", "ListTagsOfResource", ("tags",), fetch_tags),
        )
    },
)
