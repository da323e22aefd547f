"""DynamoDB tables (keys, capacity, indexes, encryption, stream, PITR, TTL): the models, the field table, and
the live fetch (ListTables per region; DescribeTable, PITR, TTL, tags and auto scaling each as a family)."""
from __future__ import annotations

import re
from dataclasses import replace
from typing import Any, ClassVar, Iterable, Optional

from pydantic import Field as ModelField

from auditor.services.fetch import AwsCalls, Collector, Family
from auditor.services.fields import Defaulted, Field, TypeMap, Unknown, fill_from_api, from_api, iac_value
from auditor.services.kms import key_manager, require_key
from auditor.services.model import Model, Resource
from auditor.services.values import Declared, as_bool, as_int, clean, get, is_unresolved, key_manager_of, one


class KeySchema(Model):
    partition_key: Optional[str] = None
    partition_key_type: Optional[str] = None
    sort_key: Optional[str] = None
    sort_key_type: Optional[str] = None


class SecondaryIndex(Model):
    name: str
    partition_key: Optional[str] = None
    sort_key: Optional[str] = None
    # The key attributes' types (S, N, B), from the table's attribute definitions.
    partition_key_type: Optional[str] = None
    sort_key_type: Optional[str] = None
    projection_type: Optional[str] = None
    read_capacity: Optional[int] = None
    write_capacity: Optional[int] = None


class TableSse(Model):
    enabled: bool = True  # DynamoDB always encrypts; AWS_OWNED when no SSEDescription
    type: str = "AWS_OWNED"  # AWS_OWNED, KMS (AWS managed or customer key)
    kms_key_arn: Optional[str] = None


class TableStream(Model):
    enabled: bool = False
    view_type: Optional[str] = None


class TableTtl(Model):
    status: str = "DISABLED"
    attribute: Optional[str] = None


class TablePitr(Model):
    status: str = "DISABLED"
    recovery_period_days: Optional[int] = None


class DynamoDBTable(Resource):
    type: ClassVar[str] = "AWS::DynamoDB::Table"
    status: Optional[str] = None
    key_schema: Optional[KeySchema] = None
    attribute_types: dict[str, str] = ModelField(default_factory=dict)
    billing_mode: Optional[str] = None
    read_capacity: Optional[int] = None
    write_capacity: Optional[int] = None
    gsis: list[SecondaryIndex] = ModelField(default_factory=list)
    gsi_names: list[str] = ModelField(default_factory=list)
    lsis: list[SecondaryIndex] = ModelField(default_factory=list)
    sse: Optional[TableSse] = None
    # Who manages sse.kms_key_arn: AWS (aws/dynamodb) or CUSTOMER; AWS_OWNED when DynamoDB's own key encrypts.
    kms_key_manager: Optional[str] = None
    stream: Optional[TableStream] = None
    deletion_protection: Optional[bool] = None
    table_class: Optional[str] = None
    ttl: Optional[TableTtl] = None
    pitr: Optional[TablePitr] = None
    # The capacity dimensions (ReadCapacityUnits, WriteCapacityUnits) Application Auto Scaling scales: a
    # scalable target with a scaling policy.
    autoscaled_dimensions: list[str] = ModelField(default_factory=list)
    # The other regions a global table (version 2019.11.21) keeps a replica in.
    replica_regions: list[str] = ModelField(default_factory=list)


def _key_names(schema: Any) -> tuple[Any, Any]:
    rows = [k for k in schema or [] if isinstance(k, dict)]
    return (next((k.get("AttributeName") for k in rows if k.get("KeyType") == "HASH"), None),
            next((k.get("AttributeName") for k in rows if k.get("KeyType") == "RANGE"), None))


def _types_api(raw: dict) -> dict[str, str]:
    return {str(a.get("AttributeName")): str(a.get("AttributeType")) for a in raw.get("AttributeDefinitions") or []
            if isinstance(a, dict) and isinstance(a.get("AttributeName"), str)}


def _key_schema(hash_key: Any, range_key: Any, types: dict[str, str]) -> Any:
    for key in (hash_key, range_key):
        if key is not None and (not isinstance(key, str) or is_unresolved(key)):
            # An attribute name from a parameter with no default is not known statically: unknown, never a crash.
            return Unknown(f"not resolvable statically: {str(key)[:120]}")
    return KeySchema(partition_key=hash_key, partition_key_type=types.get(hash_key) if hash_key else None,
                     sort_key=range_key, sort_key_type=types.get(range_key) if range_key else None)


def _index_api(raw: dict, hash_default: Any = None) -> SecondaryIndex:
    hash_key, range_key = _key_names(raw.get("KeySchema"))
    throughput = raw.get("ProvisionedThroughput") or {}
    return SecondaryIndex(name=str(raw.get("IndexName")), partition_key=hash_key or hash_default, sort_key=range_key,
                          projection_type=(raw.get("Projection") or {}).get("ProjectionType"),
                          read_capacity=as_int(throughput.get("ReadCapacityUnits")) or None,
                          write_capacity=as_int(throughput.get("WriteCapacityUnits")) or None)


def _index_tf(raw: dict, hash_key: Any = None) -> SecondaryIndex:
    rcu, wcu = get(raw, "read_capacity"), get(raw, "write_capacity")
    if (rcu is not None and as_int(rcu) is None) or (wcu is not None and as_int(wcu) is None):
        raise _Unresolved(f"the capacity of index {get(raw, 'name')} is not resolvable statically: {rcu or wcu}")
    return SecondaryIndex(name=str(get(raw, "name")), partition_key=hash_key or get(raw, "hash_key"),
                          sort_key=get(raw, "range_key"), projection_type=get(raw, "projection_type"),
                          read_capacity=as_int(rcu), write_capacity=as_int(wcu))


class _Unresolved(Exception):
    pass


def _indexes_tf(key: str, lsi: bool = False):
    def read(props: dict, ctx: Any) -> Any:
        try:
            return [_index_tf(i, get(props, "hash_key") if lsi else None) for i in ctx.blocks(props, key)]
        except _Unresolved as exc:
            return Unknown(str(exc))
    return read


def _sse_api(raw: dict) -> TableSse:
    sse = raw.get("SSEDescription") or {}
    if sse.get("Status") in ("ENABLED", "ENABLING", "UPDATING"):
        return TableSse(enabled=True, type=sse.get("SSEType", "KMS"), kms_key_arn=sse.get("KMSMasterKeyArn"))
    return TableSse(enabled=True, type="AWS_OWNED")  # no SSEDescription: encrypted with an AWS owned key


def _sse_iac(block: str, enabled: str, key: str):
    def read(props: dict, ctx: Any) -> Any:
        sse = iac_value(props, block)
        on = as_bool(iac_value(sse, enabled)) if isinstance(sse, dict) else None
        if on:
            return TableSse(enabled=True, type="KMS", kms_key_arn=ctx.resolve(iac_value(sse, key)))
        return TableSse(enabled=True, type="AWS_OWNED")
    return read


_TABLE_DEFAULTS = {  # property -> (its Terraform attribute, its CloudFormation property, what AWS does without it)
    "stream": ("stream_enabled", "StreamSpecification", "no stream unless configured"),
    "ttl": ("ttl", "TimeToLiveSpecification", "TTL is off unless configured"),
    "pitr": ("point_in_time_recovery", "PointInTimeRecoverySpecification",
             "point-in-time recovery is off unless configured"),
}


def _dynamodb_finish(block: str, enabled: str, key: str):
    """The KMS key's manager and the AWS defaults a table leaves to AWS (encryption, stream, TTL, PITR)."""
    def finish(props: dict, table: Resource, ctx: Any, declared: Declared) -> None:
        assert isinstance(table, DynamoDBTable)
        type_indexes(table)
        if "gsis" in declared.unknown:
            declared.unknown["gsi_names"] = declared.unknown["gsis"]
        else:
            table.gsi_names = [g.name for g in table.gsis or []]
        table.gsis = table.gsis or []
        for prop, (tf, cfn, note) in _TABLE_DEFAULTS.items():
            if iac_value(props, tf if block.islower() else cfn) is None and prop not in declared.unknown:
                declared.default(prop, note)
        sse = iac_value(props, block)
        if table.sse is not None and table.sse.type == "KMS":
            raw_key = iac_value(sse, key)
            table.kms_key_manager = key_manager_of(declared, "kms_key_manager", raw_key, True, "aws/dynamodb",
                                                   ctx.declares_key(raw_key))
        else:
            table.kms_key_manager = "AWS_OWNED"
            if not sse:
                declared.default("sse", f"encrypted with an AWS owned key unless {block} enables KMS")
    return finish


def _pitr(enabled: Any, period: Any) -> Any:
    period = None if period == "" else period  # checkov's rendering of a null in a dynamic block
    on = as_bool(enabled) if enabled is not None else False
    if enabled is not None and on is None:
        return Unknown(f"not resolvable statically: {str(enabled)[:120]}")
    if on and period is not None and as_int(period) is None:
        return Unknown(f"not resolvable statically: {str(period)[:120]}")
    return TablePitr(status="ENABLED" if on else "DISABLED", recovery_period_days=(as_int(period) or 35) if on else None)


def _pitr_api(raw: dict) -> TablePitr:
    # An answer without its ContinuousBackupsDescription is malformed (KeyError: the family's error), not "off".
    pitr = raw["ContinuousBackupsDescription"].get("PointInTimeRecoveryDescription") or {}
    status = pitr.get("PointInTimeRecoveryStatus", "DISABLED")
    # Enabled with no RecoveryPeriodInDays: AWS's documented default, 35 days (the only period before it was settable).
    return TablePitr(status=status, recovery_period_days=pitr.get("RecoveryPeriodInDays") or (35 if status == "ENABLED" else None))


def _ttl(enabled: Any, attribute: Any, declared_block: bool) -> Any:
    if not declared_block:
        return TableTtl()
    on = as_bool(enabled) if enabled is not None else True
    if on is None:
        return Unknown(f"not resolvable statically: {str(enabled)[:120]}")
    return TableTtl(status="ENABLED" if on else "DISABLED", attribute=attribute)


def _provisioned(billing: str, capacity: str):
    """A provisioned table's capacity; an on-demand table has none."""
    return lambda p, ctx: iac_value(p, capacity) if str(iac_value(p, billing) or "PROVISIONED") == "PROVISIONED" else None


def _provisioned_api(unit: str):
    return lambda raw: (raw.get("ProvisionedThroughput") or {}).get(unit) \
        if ((raw.get("BillingModeSummary") or {}).get("BillingMode") or "PROVISIONED") == "PROVISIONED" else None


_SCALING = {"tf": ("aws_appautoscaling_target", "aws_appautoscaling_policy", "service_namespace", "resource_id",
                   "scalable_dimension"),
            "cfn": ("AWS::ApplicationAutoScaling::ScalableTarget", "AWS::ApplicationAutoScaling::ScalingPolicy",
                    "ServiceNamespace", "ResourceId", "ScalableDimension")}


def _scaling_resource_id(ctx: Any, value: Any) -> str:
    """``table/NAME`` however the IaC spells it: a string (checkov renders Terraform's interpolation), a Fn::Sub
    naming the table's logical id, or a Fn::Join of its parts. Terraform text left unrendered
    (``${aws_dynamodb_table.x.name}``) keeps its dots and is not substituted."""
    value = clean(one(value))
    if isinstance(value, dict) and len(value) == 1:
        (fn, arg), = value.items()
        if fn == "Fn::Sub" and isinstance(arg, str):
            value = arg
        elif fn == "Fn::Join" and isinstance(arg, list) and len(arg) == 2 and isinstance(arg[1], list):
            return str(arg[0]).join(str(ctx.resolve(part)) for part in arg[1])
    if isinstance(value, str) and "${" in value:  # a Fn::Sub (the template loader keeps its text): ${Logical}
        return re.sub(r"\$\{(\w+)\}", lambda m: str(ctx.resolve({"Ref": m.group(1)})), value)
    return str(value)


def _autoscaled_iac(source: str):
    """The dimensions the IaC's scalable targets for this table scale, each with a scaling policy on it (in
    CloudFormation by ScalingTargetId, or by resource id and dimension as Terraform writes it)."""
    target_type, policy_type, namespace, resource_id, dimension = _SCALING[source]

    def read(props: dict, ctx: Any) -> Any:
        wanted = f"table/{ctx.label}"
        policies = ctx.of_type(policy_type)
        scaled = set()
        for target in ctx.of_type(target_type):
            if iac_value(target, namespace) != "dynamodb" or _scaling_resource_id(ctx, iac_value(target, resource_id)) != wanted:
                continue
            dim = iac_value(target, dimension)
            if any(any(t is target for t in ctx.named(target_type, iac_value(p, "ScalingTargetId"))) or
                   (_scaling_resource_id(ctx, iac_value(p, resource_id)) == wanted and iac_value(p, dimension) == dim)
                   for p in policies):
                scaled.add(str(dim).rsplit(":", 1)[-1])
        return sorted(scaled)
    return read


DYNAMODB = TypeMap(
    model=DynamoDBTable, api_operation="ListTables", api_id="TableName", api_name="TableName", api_arn="TableArn",
    tf_types=("aws_dynamodb_table",), tf_name="name", cfn_types=("AWS::DynamoDB::Table",), cfn_name="TableName",
    fields=(
        Field("status", api="TableStatus", api_call="DescribeTable"),
        Field("attribute_types", "raw", api=_types_api, api_call="DescribeTable",
              tf=lambda p, ctx: {str(get(a, "name")): str(get(a, "type")) for a in ctx.blocks(p, "attribute")},
              cfn=lambda p, ctx: _types_api(p)),
        Field("key_schema", "raw", api_call="DescribeTable",
              api=lambda raw: _key_schema(*_key_names(raw.get("KeySchema")), _types_api(raw)),
              tf=lambda p, ctx: _key_schema(get(p, "hash_key"), get(p, "range_key"),
                                            {str(get(a, "name")): str(get(a, "type")) for a in ctx.blocks(p, "attribute")}),
              cfn=lambda p, ctx: _key_schema(*_key_names(p.get("KeySchema")), _types_api(p))),
        Field("billing_mode", api=lambda raw: (raw.get("BillingModeSummary") or {}).get("BillingMode") or "PROVISIONED",
              api_call="DescribeTable", tf="billing_mode", cfn="BillingMode", default="PROVISIONED",
              note="PROVISIONED unless billing_mode says otherwise"),
        Field("read_capacity", "int", api=_provisioned_api("ReadCapacityUnits"), api_call="DescribeTable",
              tf=_provisioned("billing_mode", "read_capacity"),
              cfn=_provisioned("BillingMode", "ProvisionedThroughput.ReadCapacityUnits")),
        Field("write_capacity", "int", api=_provisioned_api("WriteCapacityUnits"), api_call="DescribeTable",
              tf=_provisioned("billing_mode", "write_capacity"),
              cfn=_provisioned("BillingMode", "ProvisionedThroughput.WriteCapacityUnits")),
        Field("gsis", "raw", api=lambda raw: [_index_api(i) for i in raw.get("GlobalSecondaryIndexes") or []],
              api_call="DescribeTable", tf=_indexes_tf("global_secondary_index"),
              cfn=lambda p, ctx: [_index_api(i) for i in p.get("GlobalSecondaryIndexes") or [] if isinstance(i, dict)]),
        Field("gsi_names", "raw", api=lambda raw: [str(i.get("IndexName")) for i in raw.get("GlobalSecondaryIndexes") or []],
              api_call="DescribeTable"),
        Field("lsis", "raw", api=lambda raw: [_index_api(i) for i in raw.get("LocalSecondaryIndexes") or []],
              api_call="DescribeTable", tf=_indexes_tf("local_secondary_index", lsi=True),
              cfn=lambda p, ctx: [_index_api(i, _key_names(p.get("KeySchema"))[0]) for i in
                                  p.get("LocalSecondaryIndexes") or [] if isinstance(i, dict)]),
        Field("sse", "raw", api=_sse_api, api_call="DescribeTable",
              tf=_sse_iac("server_side_encryption", "enabled", "kms_key_arn"),
              cfn=_sse_iac("SSESpecification", "SSEEnabled", "KMSMasterKeyId")),
        Field("stream", "raw", api_call="DescribeTable",
              api=lambda raw: TableStream(enabled=bool((raw.get("StreamSpecification") or {}).get("StreamEnabled")),
                                          view_type=(raw.get("StreamSpecification") or {}).get("StreamViewType")),
              tf=lambda p, ctx: TableStream(enabled=bool(as_bool(get(p, "stream_enabled"))),
                                            view_type=get(p, "stream_view_type")) if get(p, "stream_enabled") is None
              or as_bool(get(p, "stream_enabled")) is not None
              else Unknown(f"not resolvable statically: {str(get(p, 'stream_enabled'))[:120]}"),
              cfn=lambda p, ctx: TableStream(enabled=bool(iac_value(p, "StreamSpecification.StreamViewType")),
                                             view_type=iac_value(p, "StreamSpecification.StreamViewType"))),
        Field("deletion_protection", "bool", api="DeletionProtectionEnabled", api_call="DescribeTable",
              api_absent="default", tf="deletion_protection_enabled", cfn="DeletionProtectionEnabled", default=False,
              note="deletion protection is off unless configured"),
        Field("table_class", api="TableClassSummary.TableClass", api_call="DescribeTable", api_absent="default",
              tf="table_class", cfn="TableClass", default="STANDARD"),
        Field("pitr", "raw", api=_pitr_api, api_call="DescribeContinuousBackups",
              tf=lambda p, ctx: _pitr(get(p, "point_in_time_recovery", "enabled"),
                                      get(p, "point_in_time_recovery", "recovery_period_in_days")),
              cfn=lambda p, ctx: _pitr(iac_value(p, "PointInTimeRecoverySpecification.PointInTimeRecoveryEnabled"),
                                       iac_value(p, "PointInTimeRecoverySpecification.RecoveryPeriodInDays"))),
        Field("ttl", "raw", api_call="DescribeTimeToLive",
              api=lambda raw: TableTtl(status=(raw.get("TimeToLiveDescription") or {}).get("TimeToLiveStatus", "DISABLED"),
                                       attribute=(raw.get("TimeToLiveDescription") or {}).get("AttributeName")),
              tf=lambda p, ctx: _ttl(get(p, "ttl", "enabled"), get(p, "ttl", "attribute_name"), bool(get(p, "ttl"))),
              cfn=lambda p, ctx: _ttl(iac_value(p, "TimeToLiveSpecification.Enabled"),
                                      iac_value(p, "TimeToLiveSpecification.AttributeName"),
                                      bool(p.get("TimeToLiveSpecification")))),
        Field("replica_regions", "raw", api_call="DescribeTable",
              api=lambda raw: sorted({str(r.get("RegionName")) for r in raw.get("Replicas") or []} -
                                     {str(raw.get("TableArn", "::::").split(":")[3])}),
              tf=lambda p, ctx: sorted({str(get(r, "region_name")) for r in ctx.blocks(p, "replica")}),
              cfn=lambda p, ctx: Defaulted([], "an AWS::DynamoDB::Table has no replicas (a global table is "
                                                "AWS::DynamoDB::GlobalTable)")),
        Field("autoscaled_dimensions", "raw", api_call="DescribeScalableTargets", api=lambda raw: raw["dimensions"],
              tf=_autoscaled_iac("tf"), cfn=_autoscaled_iac("cfn")),
    ),
    finish_tf=_dynamodb_finish("server_side_encryption", "enabled", "kms_key_arn"),
    finish_cfn=_dynamodb_finish("SSESpecification", "SSEEnabled", "KMSMasterKeyId"),
)


def as_single_table(props: dict) -> dict:
    """An AWS::DynamoDB::GlobalTable's properties in AWS::DynamoDB::Table's shape, so the same fields read it:
    what it sets per replica (point-in-time recovery, deletion protection, the KMS key, table class, tags) holds
    for the table only where every replica sets it (the first replica's key, class and tags)."""
    replicas = [r for r in props.get("Replicas") or [] if isinstance(r, dict)]
    view = {k: v for k, v in props.items() if k != "Replicas"}
    if replicas:
        pitr = [iac_value(r, "PointInTimeRecoverySpecification.PointInTimeRecoveryEnabled") for r in replicas]
        if any(v is not None for v in pitr):
            view["PointInTimeRecoverySpecification"] = {"PointInTimeRecoveryEnabled": all(as_bool(v) for v in pitr)}
        protection = [r.get("DeletionProtectionEnabled") for r in replicas]
        if any(v is not None for v in protection):
            view["DeletionProtectionEnabled"] = all(as_bool(v) for v in protection)
        key = iac_value(replicas[0], "SSESpecification.KMSMasterKeyId")
        if key is not None and isinstance(view.get("SSESpecification"), dict):
            view["SSESpecification"] = {**view["SSESpecification"], "KMSMasterKeyId": key}
        for prop in ("TableClass", "Tags"):
            if replicas[0].get(prop) is not None:
                view[prop] = replicas[0][prop]
    return view


def _on_view(where: Any):
    """A field reader of AWS::DynamoDB::Table, applied to a global table's single-table view."""
    if where is None:
        return None
    return (lambda p, ctx: where(as_single_table(p), ctx)) if callable(where) else \
        (lambda p, ctx: iac_value(as_single_table(p), where))


def _global_replicas(props: dict, ctx: Any) -> list[str]:
    """A global table lists every region it lives in, its own included: replicated when there are two or more."""
    regions = sorted({str(iac_value(r, "Region")) for r in props.get("Replicas") or [] if isinstance(r, dict)})
    return regions if len(regions) > 1 else []


_TABLE_FINISH = _dynamodb_finish("SSESpecification", "SSEEnabled", "KMSMasterKeyId")


def _global_finish(props: dict, table: Resource, ctx: Any, declared: Declared) -> None:
    """The table's finish on the single-table view, and the first replica's tags (a global table has none of
    its own), so tag-selected rules and waivers find it."""
    view = as_single_table(props)
    _TABLE_FINISH(view, table, ctx, declared)
    table.tags = table.tags or {str(t.get("Key")): str(ctx.resolve(t.get("Value"))) for t in view.get("Tags") or []
                                if isinstance(t, dict) and t.get("Key") is not None}


# AWS::DynamoDB::GlobalTable, read through the table's own fields (as_single_table).
GLOBAL_TABLE = TypeMap(
    model=DynamoDBTable, cfn_types=("AWS::DynamoDB::GlobalTable",), cfn_name="TableName",
    fields=tuple(replace(f, tf=None, cfn=_global_replicas if f.prop == "replica_regions" else _on_view(f.cfn))
                 for f in DYNAMODB.fields if f.cfn is not None),
    finish_cfn=_global_finish,
)


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
    type_indexes(table)


def type_indexes(table: DynamoDBTable) -> None:
    """Each index key's type, from the table's attribute definitions (where an index's keys are declared)."""
    types = table.attribute_types if isinstance(table.attribute_types, dict) else {}
    for index in [*(table.gsis or []), *(table.lsis or [])]:
        index.partition_key_type = types.get(index.partition_key) if index.partition_key else None
        index.sort_key_type = types.get(index.sort_key) if index.sort_key else None


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


def fetch_autoscaling(calls: AwsCalls, table: DynamoDBTable) -> None:
    """The table's scalable targets that have a scaling policy: DescribeScalableTargets and
    DescribeScalingPolicies once per region for every table."""
    def fetch() -> tuple[list[dict], list[dict]]:
        client = calls.client("application-autoscaling", table.region)
        targets = [t for page in client.get_paginator("describe_scalable_targets").paginate(ServiceNamespace="dynamodb")
                   for t in page.get("ScalableTargets", [])]
        policies = [p for page in client.get_paginator("describe_scaling_policies").paginate(ServiceNamespace="dynamodb")
                    for p in page.get("ScalingPolicies", [])]
        return targets, policies

    targets, policies = calls.once(f"application-autoscaling:dynamodb:{table.region}", fetch)
    wanted = f"table/{table.name}"
    scaled = {t["ScalableDimension"] for t in targets if t.get("ResourceId") == wanted} & \
        {p["ScalableDimension"] for p in policies if p.get("ResourceId") == wanted}
    fill_from_api(DYNAMODB, "DescribeScalableTargets",
                  {"dimensions": sorted(d.rsplit(":", 1)[-1] for d in scaled)}, table)


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
            Family("autoscaling", "application-autoscaling:DescribeScalableTargets",
                   DYNAMODB.read_by("DescribeScalableTargets"), fetch_autoscaling),
        )
    },
)
