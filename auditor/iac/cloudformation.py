"""CloudFormation (YAML, JSON, CDK synth output, as checkov parsed it) -> normalized resources.

Property names mostly follow the AWS APIs, so the live collectors' parsers are reused where the shapes agree
(alarms, lifecycle, policies). ``Ref`` and ``Fn::GetAtt`` to resources of the same template are resolved to
their names; other intrinsic functions that checkov could not resolve leave the property unknown.
"""
from __future__ import annotations

import itertools
import json
import re
from typing import Any, Callable

from auditor.services.cloudwatch import CloudWatchAlarm, alarm_from
from auditor.services.fields import TypeMap, read_iac
from auditor.services.model import Resource, SourceLocation
from auditor.services.rds.fetch import CLUSTER_LEVEL
from auditor.services.rds.model import RDSInstance
from auditor.services.rds.table import RDS_INSTANCE
from auditor.services.registry import CFN_TABLES
from auditor.services.s3.fetch import summarize_lifecycle
from auditor.services.s3.model import (
    BucketCors, BucketEncryption, BucketLogging, BucketPolicy, BucketVersioning, LifecycleRule, LifecycleTransition,
    ObjectLock, PublicAccessBlock, S3Bucket,
)
from auditor.services.s3.policy import parse_policy
from auditor.services.values import Declared, as_bool, clean, map_safely, pick

NAME_PROPERTY = {
    **{rtype: table.cfn_name for rtype, table in CFN_TABLES.items()},
    "AWS::S3::Bucket": "BucketName", "AWS::CloudWatch::Alarm": "AlarmName",
    "AWS::ElastiCache::ParameterGroup": None, "AWS::RDS::DBParameterGroup": "DBParameterGroupName",
    "AWS::RDS::DBSubnetGroup": "DBSubnetGroupName",
}
PAB_KEYS = (("BlockPublicAcls", "block_public_acls"), ("IgnorePublicAcls", "ignore_public_acls"),
            ("BlockPublicPolicy", "block_public_policy"), ("RestrictPublicBuckets", "restrict_public_buckets"))


def render(value: Any, params: dict[str, Any], region: str) -> Any:
    """Resolve what needs no deployment: Ref to parameters with defaults and pseudo parameters, Fn::Sub and
    Fn::Join over them. Refs to resources stay, for joins; ${AWS::AccountId} stays, and matches {account_id}."""
    if isinstance(value, list):
        return [render(v, params, region) for v in value]
    if not isinstance(value, dict):
        return value
    if len([k for k in value if not k.startswith("__")]) == 1:
        fn = next(k for k in value if not k.startswith("__"))
        arg = value[fn]
        if fn == "Ref" and isinstance(arg, str) and (arg in params or arg == "AWS::Region"):
            return region if arg == "AWS::Region" else params[arg]
        if fn == "Fn::Sub":
            text, local = (arg[0], render(arg[1], params, region)) if isinstance(arg, list) else (arg, {})
            if isinstance(text, str):
                def sub(match):
                    key = match.group(1)
                    found = local.get(key, params.get(key, region if key == "AWS::Region" else None))
                    return str(found) if isinstance(found, (str, int, float)) else match.group(0)
                return re.sub(r"\$\{([A-Za-z0-9:._-]+)\}", sub, text)
        if fn == "Fn::Join" and isinstance(arg, list) and len(arg) == 2:
            parts = render(arg[1], params, region)
            if isinstance(parts, list) and all(isinstance(p, (str, int, float)) for p in parts):
                return str(arg[0]).join(str(p) for p in parts)
    return {k: render(v, params, region) for k, v in value.items()}


def line_of(path: str, logical_id: str) -> int:
    """The line declaring a resource, where the parser did not keep it (YAML ``Id:`` or JSON ``"Id":``)."""
    try:
        lines = open(path, encoding="utf-8").read().splitlines()
    except OSError:
        return 1
    pattern = re.compile(rf'^\s*"?{re.escape(logical_id)}"?\s*:')
    return next((n for n, text in enumerate(lines, 1) if pattern.match(text)), 1)


class Template:
    """All resources of the scanned templates, by logical id, to resolve Ref and GetAtt between them."""

    def __init__(self, definitions: dict, root: str, region: str):
        self.region = region
        self.resources: dict[str, tuple[str, dict, str, int]] = {}
        for path, template in definitions.items():
            params = {}
            for name, param in (template.get("Parameters") or {}).items():
                if isinstance(param, dict):  # checkov nests a parameter's fields under Properties
                    default = param.get("Default", (param.get("Properties") or {}).get("Default"))
                    if default is not None:
                        params[name] = default
            for logical_id, body in (template.get("Resources") or {}).items():
                if isinstance(body, dict) and isinstance(body.get("Type"), str):
                    file = str(path)[len(root.rstrip("/")) + 1:] if str(path).startswith(root.rstrip("/") + "/") else str(path)
                    line = body.get("__startline__") or line_of(str(path), logical_id)
                    self.resources[logical_id] = (body["Type"], render(body.get("Properties") or {}, params, region),
                                                  file, int(line))

    def name(self, logical_id: str) -> str:
        rtype, props, _, _ = self.resources[logical_id]
        key = NAME_PROPERTY.get(rtype)
        value = key(props) if callable(key) else props.get(key) if key else None
        # A name with ${AWS::AccountId} left in it still matches {account_id} patterns.
        return value if isinstance(value, str) and value else logical_id

    def resolve(self, value: Any) -> Any:
        """Ref / GetAtt to a resource of the templates -> its name (or the logical id when it has none)."""
        value = clean(value)
        if isinstance(value, dict) and len(value) == 1:
            (fn, arg), = value.items()
            if fn == "Ref" and isinstance(arg, str) and arg in self.resources:
                return self.name(arg)
            if fn == "Fn::GetAtt":
                target = arg[0] if isinstance(arg, list) else str(arg).split(".")[0]
                if target in self.resources:
                    return self.name(target)
        return value

    def refers_to(self, value: Any, logical_id: str) -> bool:
        value = clean(value)
        if isinstance(value, dict) and len(value) == 1:
            (fn, arg), = value.items()
            target = arg[0] if isinstance(arg, list) else str(arg).split(".")[0] if fn == "Fn::GetAtt" else arg
            return fn in ("Ref", "Fn::GetAtt") and target == logical_id
        return isinstance(value, str) and value == self.name(logical_id)

    def declares_key(self, value: Any) -> bool:
        """A Ref or GetAtt to a KMS key or alias of this template (customer managed by definition)."""
        value = clean(value)
        if isinstance(value, dict) and len(value) == 1:
            (fn, arg), = value.items()
            target = (arg[0] if isinstance(arg, list) else str(arg).split(".")[0]) if fn == "Fn::GetAtt" else arg
            return fn in ("Ref", "Fn::GetAtt") and isinstance(target, str) and \
                self.resources.get(target, ("",))[0] in ("AWS::KMS::Key", "AWS::KMS::Alias", "AWS::KMS::ReplicaKey")
        return False

    def of_type(self, rtype: str) -> list[tuple[str, dict]]:
        return [(lid, props) for lid, (t, props, _, _) in self.resources.items() if t == rtype]


# Which template property a normalized property comes from, to point a finding at its line.
PROPERTY_LINES = {
    "versioning": "VersioningConfiguration", "encryption": "BucketEncryption",
    "public_access_block": "PublicAccessBlockConfiguration", "effective_public_access_block": "PublicAccessBlockConfiguration",
    "lifecycle": "LifecycleConfiguration", "cors": "CorsConfiguration",
    "intelligent_tiering": "IntelligentTieringConfigurations", "replication": "ReplicationConfiguration", "object_lock": "ObjectLockConfiguration",
    "transfer_acceleration": "AccelerateConfiguration",
    "ttl": "TimeToLiveSpecification", "pitr": "PointInTimeRecoverySpecification", "sse": "SSESpecification",
    "stream": "StreamSpecification", "key_schema": "KeySchema", "gsis": "GlobalSecondaryIndexes",
    "gsi_names": "GlobalSecondaryIndexes",
}


def _base(template: Template, logical_id: str, cls: type[Resource], tags_property: str = "Tags") -> Resource:
    _, props, file, line = template.resources[logical_id]
    name = template.name(logical_id)
    tags = {t.get("Key"): t.get("Value") for t in props.get(tags_property) or [] if isinstance(t, dict)}
    resource = cls(id=name, name=name, region=template.region, tags={str(k): str(v) for k, v in tags.items()},
                   source=SourceLocation(file=file, line=line))
    for prop, key in PROPERTY_LINES.items():
        value = props.get(key)
        first = value[0] if isinstance(value, list) and value else value
        if isinstance(first, dict) and first.get("__startline__"):
            resource.locations[prop] = SourceLocation(file=file, line=int(first["__startline__"]))
    return resource


def s3_bucket(t: Template, lid: str) -> S3Bucket:
    d = Declared()
    props = t.resources[lid][1]
    bucket = _base(t, lid, S3Bucket)
    status = (props.get("VersioningConfiguration") or {}).get("Status")
    bucket.versioning = BucketVersioning(status=pick(d, "versioning", status, "str", default="Disabled",
                                                     note="versioning is off until configured") or "Disabled")
    rules = ((props.get("BucketEncryption") or {}).get("ServerSideEncryptionConfiguration") or [])
    if rules:
        default = rules[0].get("ServerSideEncryptionByDefault") or {}
        algorithm = pick(d, "encryption", default.get("SSEAlgorithm"), "str")
        # A key chosen by a condition (!If) is not known statically: encryption is then unknown, not a crash.
        bucket.encryption = BucketEncryption(enabled=bool(algorithm), algorithm=algorithm,
                                             kms_key_id=pick(d, "encryption", t.resolve(default.get("KMSMasterKeyID")), "str"),
                                             bucket_key_enabled=as_bool(rules[0].get("BucketKeyEnabled")))
    else:
        bucket.encryption = BucketEncryption(enabled=True, algorithm="AES256")
        d.default("encryption", "SSE-S3 (AES256) applies to every new bucket since January 2023")
    pab = props.get("PublicAccessBlockConfiguration")
    if pab is not None:
        values = {ours: bool(as_bool(pab.get(theirs))) for theirs, ours in PAB_KEYS}
        bucket.public_access_block = PublicAccessBlock.of(**values)
    else:
        bucket.public_access_block = PublicAccessBlock.new_bucket_default()
        d.default("public_access_block", "new buckets block all public access since April 2023")
        d.default("effective_public_access_block", "new buckets block all public access since April 2023")
    bucket.account_public_access_block = PublicAccessBlock()
    d.default("account_public_access_block", "no account-level block unless configured")
    bucket.effective_public_access_block = bucket.public_access_block.model_copy()
    lifecycle = []
    for raw in (props.get("LifecycleConfiguration") or {}).get("Rules") or []:
        transitions = list(raw.get("Transitions") or [])
        if raw.get("Transition"):
            transitions.append(raw["Transition"])
        lifecycle.append(LifecycleRule(
            id=raw.get("Id"), status=str(raw.get("Status", "Enabled")), prefix=str(raw.get("Prefix") or ""),
            transitions=[LifecycleTransition(days=pick(d, "lifecycle", x.get("TransitionInDays"), "int"),
                                             storage_class=str(x.get("StorageClass"))) for x in transitions],
            expiration_days=pick(d, "lifecycle", raw.get("ExpirationInDays"), "int")))
    bucket.lifecycle = summarize_lifecycle(lifecycle)
    if not lifecycle:
        d.default("lifecycle", "no lifecycle rules unless configured")
    copies = [r for r in (props.get("ReplicationConfiguration") or {}).get("Rules") or [] if isinstance(r, dict)]
    bucket.replication = any(str(r.get("Status")) == "Enabled" for r in copies)
    if not copies:
        d.default("replication", "no replication unless configured")
    tiering = [c for c in props.get("IntelligentTieringConfigurations") or [] if isinstance(c, dict)]
    bucket.intelligent_tiering_configurations = sum(1 for c in tiering if str(c.get("Status")) == "Enabled")
    bucket.intelligent_tiering = "INTELLIGENT_TIERING" in bucket.lifecycle.transition_days or \
        bool(bucket.intelligent_tiering_configurations)
    policies = [p for _, p in t.of_type("AWS::S3::BucketPolicy") if t.refers_to(p.get("Bucket"), lid)]
    if policies:
        bucket.policy = parse_policy(json.dumps(clean(policies[0].get("PolicyDocument") or {}), default=str))
    else:
        bucket.policy = BucketPolicy()
        d.default("policy", "no bucket policy unless configured")
    cors = (props.get("CorsConfiguration") or {}).get("CorsRules") or []
    bucket.cors = BucketCors(configured=bool(cors), rule_count=len(cors),
                             allowed_origins=sorted({str(o) for r in cors for o in r.get("AllowedOrigins") or []}))
    if not cors:
        d.default("cors", "no CORS rules unless configured")
    logging = props.get("LoggingConfiguration")
    bucket.logging = BucketLogging(enabled=bool(logging),
                                   target_bucket=t.resolve(logging.get("DestinationBucketName")) if logging else None)
    lock = (props.get("ObjectLockConfiguration") or {}).get("Rule", {}).get("DefaultRetention") or {}
    years = pick(d, "object_lock", lock.get("Years"), "int") if lock.get("Years") is not None else None
    bucket.object_lock = ObjectLock(enabled=as_bool(props.get("ObjectLockEnabled")) is True, mode=lock.get("Mode"),
                                    retention_days=pick(d, "object_lock", lock.get("Days"), "int") if lock.get("Days")
                                    else (years * 365 if years else None))
    status = (props.get("AccelerateConfiguration") or {}).get("AccelerationStatus")
    bucket.transfer_acceleration = pick(d, "transfer_acceleration", status, "str") if status else "Disabled"
    if status is None:
        d.default("transfer_acceleration", "Transfer Acceleration is off unless configured")
    bucket.access_points = sorted(str(p.get("Name") or other) for other, p in t.of_type("AWS::S3::AccessPoint")
                                  if t.refers_to(p.get("Bucket"), lid))
    d.apply(bucket)
    return bucket


def db_instance(t: Template, lid: str) -> RDSInstance:
    """A standalone instance is read by its table; an Aurora member names its cluster (DBClusterIdentifier)."""
    p = t.resources[lid][1]
    if p.get("DBClusterIdentifier") is None:
        db = table_mapper(RDS_INSTANCE)(t, lid)
        assert isinstance(db, RDSInstance)
        return db
    return _cluster_member(t, lid, _base(t, lid, RDSInstance), Declared(), p)


def _cluster_member(t: Template, lid: str, db: RDSInstance, d: Declared, p: dict) -> RDSInstance:
    """An Aurora instance: its class, engine and monitoring; storage, backups and protection come from its
    cluster (collectors.rds.defer_to_clusters, after every template is read)."""
    db.engine = pick(d, "engine", p.get("Engine"), "str")
    db.instance_class = pick(d, "instance_class", p.get("DBInstanceClass"), "str")
    db.storage_type = "aurora"
    d.unknown["allocated_storage_gb"] = "Aurora storage grows with the data: an Aurora instance has no allocated size"
    db.publicly_accessible = pick(d, "publicly_accessible", p.get("PubliclyAccessible"), "bool", default=False,
                                  note="not publicly accessible unless configured")
    db.performance_insights_enabled = pick(d, "performance_insights_enabled", p.get("EnablePerformanceInsights"),
                                           "bool", default=False, note="Performance Insights off unless enabled")
    retention = p.get("PerformanceInsightsRetentionPeriod")
    db.performance_insights_retention_days = (pick(d, "performance_insights_retention_days", retention, "int")
                                              if retention is not None else (7 if db.performance_insights_enabled else None))
    group = t.resolve(p.get("DBParameterGroupName"))
    db.parameter_groups = [str(group)] if group else []
    cluster = t.resolve(p.get("DBClusterIdentifier"))
    if isinstance(cluster, str) and cluster:
        db.cluster_id = cluster
    else:
        for prop in CLUSTER_LEVEL:
            d.unresolved(prop, cluster)
    d.apply(db)
    return db


def metric_alarm(t: Template, lid: str) -> CloudWatchAlarm:
    p = clean(t.resources[lid][1])
    alarm = _base(t, lid, CloudWatchAlarm)
    raw = dict(p)
    raw["AlarmName"] = alarm.name
    raw["Dimensions"] = [{"Name": x.get("Name"), "Value": str(t.resolve(x.get("Value")))} for x in p.get("Dimensions") or []]
    for query in raw.get("Metrics") or []:
        metric = (query.get("MetricStat") or {}).get("Metric") or {}
        metric["Dimensions"] = [{"Name": x.get("Name"), "Value": str(t.resolve(x.get("Value")))}
                                for x in metric.get("Dimensions") or []]
    for key in ("Threshold", "Period", "EvaluationPeriods", "DatapointsToAlarm"):
        if isinstance(raw.get(key), str):
            raw[key] = float(raw[key]) if key == "Threshold" else int(raw[key])
    alarm.alarm = alarm_from(raw)
    if raw.get("TreatMissingData") is None:
        alarm.defaults["alarm.treat_missing_data"] = "AWS default: TreatMissingData missing"
    return alarm


class CfnContext:
    """What a mapping table's functions may ask of the template around one resource (fields.References)."""

    def __init__(self, template: Template, logical_id: str):
        self.template, self.logical_id = template, logical_id
        self.label = template.name(logical_id)  # how findings name the resource

    def resolve(self, value: Any) -> Any:
        return self.template.resolve(value)

    def declares_key(self, value: Any) -> bool:
        return self.template.declares_key(value)

    def pointing(self, rtype: str, attribute: str) -> list[tuple[str, dict]]:
        """The resources of ``rtype`` whose ``attribute`` refers to this one, with their names."""
        return [(self.template.name(other), props) for other, props in self.template.of_type(rtype)
                if other != self.logical_id and self.template.refers_to(props.get(attribute), self.logical_id)]

    def named(self, rtype: str, value: Any) -> list[dict]:
        return [props for other, props in self.template.of_type(rtype) if self.template.refers_to(value, other)]

    @staticmethod
    def document(value: Any) -> Any:
        """A policy document: CloudFormation writes it inline."""
        return value

    def pointing_at(self, target: Any, rtype: str, attribute: str) -> list[dict]:
        """The resources of ``rtype`` whose ``attribute`` refers to the resource ``target`` refers to."""
        value = clean(target)
        if isinstance(value, dict) and len(value) == 1:
            (fn, arg), = value.items()
            lid = (arg[0] if isinstance(arg, list) else str(arg).split(".")[0]) if fn == "Fn::GetAtt" else arg
            if fn in ("Ref", "Fn::GetAtt") and lid in self.template.resources:
                return [p for _, p in self.template.of_type(rtype) if self.template.refers_to(p.get(attribute), lid)]
        return [p for _, p in self.template.of_type(rtype) if clean(p.get(attribute)) == value]

    @staticmethod
    def blocks(props: dict, key: str) -> list[dict]:
        value = props.get(key) or []
        return [v for v in (value if isinstance(value, list) else [value]) if isinstance(v, dict)]

    def type_of(self, value: Any) -> Any:
        """The resource type a Ref or GetAtt names (None for anything else)."""
        value = clean(value)
        if isinstance(value, dict) and len(value) == 1:
            (fn, arg), = value.items()
            target = (arg[0] if isinstance(arg, list) else str(arg).split(".")[0]) if fn == "Fn::GetAtt" else arg
            if fn in ("Ref", "Fn::GetAtt") and isinstance(target, str) and target in self.template.resources:
                return self.template.resources[target][0]
        return None

    def of_type(self, rtype: str) -> list[dict]:
        return [props for _, props in self.template.of_type(rtype)]


def table_mapper(table: TypeMap) -> Callable[[Template, str], Resource]:
    """The CloudFormation reader of a tabled resource type: its name, tags and fields, then its finish hook."""
    def read(t: Template, lid: str) -> Resource:
        d = Declared()
        props, file = t.resources[lid][1], t.resources[lid][2]
        resource = _base(t, lid, table.model, table.cfn_tags)
        context = CfnContext(t, lid)
        read_iac(table, "cfn", props, resource, d, context, file=file)
        if table.finish_cfn:
            table.finish_cfn(props, resource, context, d)
        d.apply(resource)
        return resource
    return read


MAPPERS: dict[str, Callable[[Template, str], Resource]] = {
    **{rtype: table_mapper(table) for rtype, table in CFN_TABLES.items()},
    "AWS::S3::Bucket": s3_bucket,
    "AWS::RDS::DBInstance": db_instance,
    "AWS::CloudWatch::Alarm": metric_alarm,
}
MODELS: dict[str, type[Resource]] = {
    **{rtype: table.model for rtype, table in CFN_TABLES.items()},
    "AWS::S3::Bucket": S3Bucket, "AWS::CloudWatch::Alarm": CloudWatchAlarm,
}


MAX_CONDITIONS = 3  # per resource: 2^3 readings at most; past that, Fn::If stays unresolved (unknown)


def cloudformation_resources(definitions: dict, root: str, region: str, variants: bool = False) -> list[Resource]:
    """Each resource of each template. A resource whose properties choose by ``Fn::If`` is read once per
    combination of its conditions: with ``variants`` each reading is returned (its source note names the
    choice, and the gate merges their findings); without, one resource whose properties the readings disagree
    on are unknown, naming the condition."""
    # Each template is its own stack: its Refs are its own, and two templates may use the same logical id.
    out: list[Resource] = []
    for path in sorted(definitions, key=str):
        template = Template({path: definitions[path]}, root, region)
        for lid, (rtype, props, file, line) in list(template.resources.items()):
            if rtype not in MAPPERS:
                continue
            readings = []
            for choice in conditional_choices(props):
                template.resources[lid] = (rtype, choose(props, choice) if choice else props, file, line)
                resource = map_safely(MAPPERS[rtype], template, lid, lid, file, line, MODELS[rtype])
                if choice and resource.source is not None:
                    resource.source.note = "when " + describe_choice(choice)
                readings.append(resource)
            template.resources[lid] = (rtype, props, file, line)
            out.extend(readings if variants or len(readings) == 1 else [merge_readings(readings)])
    return out


def conditional_choices(props: Any) -> list[dict[str, bool]]:
    """Every combination of the Fn::If conditions the properties use; [{}] when none, or too many."""
    names = sorted(set(_conditions_in(props)))
    if not names or len(names) > MAX_CONDITIONS:
        return [{}]
    return [dict(zip(names, values)) for values in itertools.product([True, False], repeat=len(names))]


def _conditions_in(value: Any) -> list[str]:
    if isinstance(value, list):
        return [name for item in value for name in _conditions_in(item)]
    if not isinstance(value, dict):
        return []
    found = []
    branches = value.get("Fn::If")
    if isinstance(branches, list) and len(branches) == 3 and isinstance(branches[0], str):
        found.append(branches[0])
    return found + [name for key, item in value.items() for name in _conditions_in(item)]


_NO_VALUE = object()


def choose(value: Any, choice: dict[str, bool]) -> Any:
    """The properties as CloudFormation deploys them under ``choice``: each Fn::If replaced by its branch, and a
    branch of ``AWS::NoValue`` leaving the property out."""
    if isinstance(value, list):
        return [v for v in (choose(item, choice) for item in value) if v is not _NO_VALUE]
    if not isinstance(value, dict):
        return value
    branches = value.get("Fn::If")
    if isinstance(branches, list) and len(branches) == 3 and branches[0] in choice:
        picked = branches[1] if choice[branches[0]] else branches[2]
        if isinstance(picked, dict) and picked.get("Ref") == "AWS::NoValue":
            return _NO_VALUE
        return choose(picked, choice)
    return {k: v for k, v in ((k, choose(item, choice)) for k, item in value.items()) if v is not _NO_VALUE}


def describe_choice(choice: dict[str, bool]) -> str:
    return ", ".join(f"{name} is {'true' if value else 'false'}" for name, value in choice.items())


_IDENTITY = {"id", "name", "arn", "region", "account_id", "unknown", "source", "defaults", "locations", "tags"}


def merge_readings(readings: list[Resource]) -> Resource:
    """One resource from its readings under each combination of conditions: a property they agree on keeps its
    value; one they disagree on is unknown, naming the conditions (IaC drift and resources.json read this)."""
    merged = readings[0].model_copy(deep=True)
    merged.source = readings[0].source.model_copy(update={"note": None}) if readings[0].source else None
    names = sorted({n for r in readings for n in (r.source.note or "").removeprefix("when ").split(", ") if n})
    conditions = sorted({n.rsplit(" is ", 1)[0] for n in names})
    for prop in type(merged).model_fields:
        if prop in _IDENTITY:
            continue
        values = [r.model_dump(include={prop}).get(prop) for r in readings]
        reasons = [r.unknown.get(prop) for r in readings]
        if all(v == values[0] for v in values) and all(x == reasons[0] for x in reasons):
            continue
        setattr(merged, prop, None)
        merged.defaults.pop(prop, None)
        merged.unknown[prop] = f"depends on CloudFormation condition(s) {', '.join(conditions)} (Fn::If)"
    return merged
