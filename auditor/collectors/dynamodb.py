"""DynamoDB tables: list_tables per region; describe_table, PITR, TTL and tags each as a family."""
from __future__ import annotations

from typing import Iterable

from auditor.collectors.base import AwsCalls, Collector, Family
from auditor.collectors.kms import key_manager, require_key
from auditor.resources import DynamoDBTable, KeySchema, Resource, SecondaryIndex, TablePitr, TableSse, TableStream, TableTtl


def list_tables(calls: AwsCalls, region: str) -> Iterable[Resource]:
    client = calls.client("dynamodb", region)
    for page in client.get_paginator("list_tables").paginate():
        for name in page.get("TableNames", []):
            yield DynamoDBTable(
                id=name,
                name=name,
                arn=f"arn:aws:dynamodb:{region}:{calls.account_id}:table/{name}",
                region=region,
                account_id=calls.account_id,
            )


def _keys(schema: list[dict]) -> tuple[str | None, str | None]:
    hash_key = next((k["AttributeName"] for k in schema if k["KeyType"] == "HASH"), None)
    range_key = next((k["AttributeName"] for k in schema if k["KeyType"] == "RANGE"), None)
    return hash_key, range_key


def _index(raw: dict) -> SecondaryIndex:
    hash_key, range_key = _keys(raw.get("KeySchema", []))
    throughput = raw.get("ProvisionedThroughput") or {}
    return SecondaryIndex(
        name=raw["IndexName"],
        partition_key=hash_key,
        sort_key=range_key,
        projection_type=(raw.get("Projection") or {}).get("ProjectionType"),
        read_capacity=throughput.get("ReadCapacityUnits") or None,
        write_capacity=throughput.get("WriteCapacityUnits") or None,
    )


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
    """Fill a table from a DescribeTable answer (also used on the shapes AWS documents, in tests)."""
    types = {a["AttributeName"]: a["AttributeType"] for a in raw.get("AttributeDefinitions", [])}
    hash_key, range_key = _keys(raw.get("KeySchema", []))
    table.arn = raw.get("TableArn", table.arn)
    table.status = raw.get("TableStatus")
    table.attribute_types = types
    table.key_schema = KeySchema(
        partition_key=hash_key,
        partition_key_type=types.get(hash_key) if hash_key else None,
        sort_key=range_key,
        sort_key_type=types.get(range_key) if range_key else None,
    )
    billing = (raw.get("BillingModeSummary") or {}).get("BillingMode") or "PROVISIONED"
    throughput = raw.get("ProvisionedThroughput") or {}
    table.billing_mode = billing
    table.read_capacity = throughput.get("ReadCapacityUnits") if billing == "PROVISIONED" else None
    table.write_capacity = throughput.get("WriteCapacityUnits") if billing == "PROVISIONED" else None
    table.gsis = [_index(i) for i in raw.get("GlobalSecondaryIndexes", [])]
    table.gsi_names = [i.name for i in table.gsis]
    table.lsis = [_index(i) for i in raw.get("LocalSecondaryIndexes", [])]
    sse = raw.get("SSEDescription") or {}
    if sse.get("Status") in ("ENABLED", "ENABLING", "UPDATING"):
        table.sse = TableSse(enabled=True, type=sse.get("SSEType", "KMS"), kms_key_arn=sse.get("KMSMasterKeyArn"))
    else:
        table.sse = TableSse(enabled=True, type="AWS_OWNED")  # no SSEDescription: encrypted with an AWS owned key
    stream = raw.get("StreamSpecification") or {}
    table.stream = TableStream(enabled=bool(stream.get("StreamEnabled")), view_type=stream.get("StreamViewType"))
    table.deletion_protection = bool(raw.get("DeletionProtectionEnabled", False))
    table.table_class = (raw.get("TableClassSummary") or {}).get("TableClass", "STANDARD")


def fetch_pitr(calls: AwsCalls, table: DynamoDBTable) -> None:
    answer = calls.client("dynamodb", table.region).describe_continuous_backups(TableName=table.name)
    pitr = answer["ContinuousBackupsDescription"].get("PointInTimeRecoveryDescription", {})
    status = pitr.get("PointInTimeRecoveryStatus", "DISABLED")
    # Enabled with no RecoveryPeriodInDays: AWS's documented default, 35 days (the only period before it was settable).
    period = pitr.get("RecoveryPeriodInDays") or (35 if status == "ENABLED" else None)
    table.pitr = TablePitr(status=status, recovery_period_days=period)


def fetch_ttl(calls: AwsCalls, table: DynamoDBTable) -> None:
    answer = calls.client("dynamodb", table.region).describe_time_to_live(TableName=table.name)
    ttl = answer.get("TimeToLiveDescription", {})
    table.ttl = TableTtl(status=ttl.get("TimeToLiveStatus", "DISABLED"), attribute=ttl.get("AttributeName"))


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
            Family("description", "DescribeTable",
                   ("status", "key_schema", "attribute_types", "billing_mode", "read_capacity", "write_capacity",
                    "gsis", "gsi_names", "lsis", "sse", "stream", "deletion_protection", "table_class"),
                   fetch_description),
            Family("kms_key_manager", "DescribeKey", ("kms_key_manager",), fetch_key_manager),
            Family("pitr", "DescribeContinuousBackups", ("pitr",), fetch_pitr),
            Family("ttl", "DescribeTimeToLive", ("ttl",), fetch_ttl),
            Family("tags", "ListTagsOfResource", ("tags",), fetch_tags),
        )
    },
)
