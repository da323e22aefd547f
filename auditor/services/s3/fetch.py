"""S3 buckets: one account-wide listing, then one call per bucket per property family the rules read."""
from __future__ import annotations

from typing import Any, Iterable

from auditor.services.fetch import AwsCalls, Collector, Family
from auditor.services.model import Resource
from auditor.services.s3.model import (
    BucketCors, BucketEncryption, BucketLifecycle, BucketLogging, BucketPolicy, BucketVersioning, LifecycleRule,
    LifecycleTransition, ObjectLock, PublicAccessBlock, S3Bucket,
)
from auditor.services.s3.policy import parse_policy


def list_buckets(calls: AwsCalls, region: str) -> Iterable[Resource]:
    """The buckets of one region: ListBuckets filtered by BucketRegion, so no call per bucket to locate it.
    An endpoint that ignores the filter lists a bucket in every region; collect() then locates those."""
    client = calls.client("s3", region)
    for page in client.get_paginator("list_buckets").paginate(BucketRegion=region):
        for entry in page.get("Buckets", []):
            name = entry["Name"]
            yield S3Bucket(
                id=name,
                name=name,
                arn=f"arn:aws:s3:::{name}",
                region=entry.get("BucketRegion") or region,
                account_id=calls.account_id,
            )


def _client(calls: AwsCalls, bucket: Resource) -> Any:
    return calls.client("s3", bucket.region or "us-east-1")


def locate_bucket(calls: AwsCalls, bucket: Resource) -> None:
    answer = calls.client("s3", "us-east-1").get_bucket_location(Bucket=bucket.name)
    # us-east-1 answers None, and very old buckets in eu-west-1 answer "EU".
    constraint = answer.get("LocationConstraint") or "us-east-1"
    bucket.region = "eu-west-1" if constraint == "EU" else constraint


def fetch_tags(calls: AwsCalls, bucket: Resource) -> None:
    answer = _client(calls, bucket).get_bucket_tagging(Bucket=bucket.name)
    bucket.tags = {t["Key"]: t["Value"] for t in answer.get("TagSet", [])}


def fetch_versioning(calls: AwsCalls, bucket: S3Bucket) -> None:
    answer = _client(calls, bucket).get_bucket_versioning(Bucket=bucket.name)
    bucket.versioning = BucketVersioning(
        status=answer.get("Status", "Disabled"), mfa_delete=answer.get("MFADelete", "Disabled")
    )


def fetch_encryption(calls: AwsCalls, bucket: S3Bucket) -> None:
    answer = _client(calls, bucket).get_bucket_encryption(Bucket=bucket.name)
    rules = answer.get("ServerSideEncryptionConfiguration", {}).get("Rules", [])
    if not rules:
        bucket.encryption = BucketEncryption(enabled=False)
        return
    default = rules[0].get("ApplyServerSideEncryptionByDefault", {})
    bucket.encryption = BucketEncryption(
        enabled=bool(default.get("SSEAlgorithm")),
        algorithm=default.get("SSEAlgorithm"),
        kms_key_id=default.get("KMSMasterKeyID"),
        bucket_key_enabled=rules[0].get("BucketKeyEnabled"),
    )


def _pab(config: dict) -> PublicAccessBlock:
    values = {
        "block_public_acls": bool(config.get("BlockPublicAcls")),
        "ignore_public_acls": bool(config.get("IgnorePublicAcls")),
        "block_public_policy": bool(config.get("BlockPublicPolicy")),
        "restrict_public_buckets": bool(config.get("RestrictPublicBuckets")),
    }
    return PublicAccessBlock.of(**values)


def fetch_public_access_block(calls: AwsCalls, bucket: S3Bucket) -> None:
    answer = _client(calls, bucket).get_public_access_block(Bucket=bucket.name)
    bucket.public_access_block = _pab(answer.get("PublicAccessBlockConfiguration", {}))


def fetch_account_public_access_block(calls: AwsCalls, bucket: S3Bucket) -> None:
    def read() -> dict:
        client = calls.client("s3control", bucket.region or "us-east-1")
        return client.get_public_access_block(AccountId=calls.account_id)

    answer = calls.once("s3control:get_public_access_block", read)
    bucket.account_public_access_block = _pab(answer.get("PublicAccessBlockConfiguration", {}))


def fetch_lifecycle(calls: AwsCalls, bucket: S3Bucket) -> None:
    answer = _client(calls, bucket).get_bucket_lifecycle_configuration(Bucket=bucket.name)
    bucket.lifecycle = parse_lifecycle(answer.get("Rules", []))


def parse_lifecycle(raw_rules: list[dict]) -> BucketLifecycle:
    rules = []
    for raw in raw_rules:
        filt = raw.get("Filter", {}) or {}
        prefix = raw.get("Prefix") or filt.get("Prefix") or filt.get("And", {}).get("Prefix") or ""
        expiration = raw.get("Expiration", {}) or {}
        rules.append(
            LifecycleRule(
                id=raw.get("ID"),
                status=raw.get("Status", "Enabled"),
                prefix=prefix,
                transitions=[
                    LifecycleTransition(days=t.get("Days"), storage_class=t["StorageClass"])
                    for t in raw.get("Transitions", [])
                    if t.get("StorageClass")
                ],
                expiration_days=expiration.get("Days"),
                noncurrent_expiration_days=(raw.get("NoncurrentVersionExpiration") or {}).get("NoncurrentDays"),
                abort_incomplete_multipart_days=(raw.get("AbortIncompleteMultipartUpload") or {}).get(
                    "DaysAfterInitiation"
                ),
            )
        )
    return summarize_lifecycle(rules)


def summarize_lifecycle(rules: list[LifecycleRule]) -> BucketLifecycle:
    """Add the earliest enabled transition per storage class and expiration, which most specs talk about."""
    transition_days: dict[str, int] = {}
    expirations = []
    for rule in rules:
        if rule.status != "Enabled":
            continue
        for t in rule.transitions:
            if t.days is not None:
                transition_days[t.storage_class] = min(t.days, transition_days.get(t.storage_class, t.days))
        if rule.expiration_days is not None:
            expirations.append(rule.expiration_days)
    return BucketLifecycle(
        rules=rules, transition_days=transition_days, expiration_days=min(expirations) if expirations else None
    )


def fetch_policy(calls: AwsCalls, bucket: S3Bucket) -> None:
    answer = _client(calls, bucket).get_bucket_policy(Bucket=bucket.name)
    bucket.policy = parse_policy(answer.get("Policy") or "{}")


def fetch_cors(calls: AwsCalls, bucket: S3Bucket) -> None:
    answer = _client(calls, bucket).get_bucket_cors(Bucket=bucket.name)
    rules = answer.get("CORSRules", [])
    origins = sorted({o for r in rules for o in r.get("AllowedOrigins", [])})
    bucket.cors = BucketCors(configured=bool(rules), rule_count=len(rules), allowed_origins=origins)


def fetch_logging(calls: AwsCalls, bucket: S3Bucket) -> None:
    answer = _client(calls, bucket).get_bucket_logging(Bucket=bucket.name)
    enabled = answer.get("LoggingEnabled") or {}
    bucket.logging = BucketLogging(enabled=bool(enabled), target_bucket=enabled.get("TargetBucket"))


def fetch_replication(calls: AwsCalls, bucket: S3Bucket) -> None:
    answer = _client(calls, bucket).get_bucket_replication(Bucket=bucket.name)
    rules = answer["ReplicationConfiguration"].get("Rules", [])
    bucket.replication = any(r.get("Status") == "Enabled" for r in rules)


def fetch_acceleration(calls: AwsCalls, bucket: S3Bucket) -> None:
    """GetBucketAccelerateConfiguration: no Status in the answer means it was never configured."""
    answer = _client(calls, bucket).get_bucket_accelerate_configuration(Bucket=bucket.name)
    bucket.transfer_acceleration = answer.get("Status") or "Disabled"


def fetch_access_points(calls: AwsCalls, bucket: S3Bucket) -> None:
    """The account's access points in the bucket's region (s3control ListAccessPoints, once per region)."""
    region = bucket.region or "us-east-1"

    def read() -> list[dict]:
        client, token, points = calls.client("s3control", region), None, []
        while True:  # no paginator: a NextToken
            answer = client.list_access_points(AccountId=calls.account_id, **({"NextToken": token} if token else {}))
            points.extend(answer.get("AccessPointList", []))
            token = answer.get("NextToken")
            if not token:
                return points

    points = calls.once(f"s3control:ListAccessPoints:{region}", read)
    bucket.access_points = sorted(p["Name"] for p in points if p.get("Bucket") == bucket.name)


def fetch_object_lock(calls: AwsCalls, bucket: S3Bucket) -> None:
    answer = _client(calls, bucket).get_object_lock_configuration(Bucket=bucket.name)
    config = answer.get("ObjectLockConfiguration", {})
    retention = (config.get("Rule") or {}).get("DefaultRetention") or {}
    days = retention.get("Days") or (retention.get("Years") and retention["Years"] * 365)
    bucket.object_lock = ObjectLock(
        enabled=config.get("ObjectLockEnabled") == "Enabled", mode=retention.get("Mode"), retention_days=days
    )


def effective_public_access_block(bucket: S3Bucket) -> None:
    """A setting is in force when the bucket or the account sets it."""
    if "effective_public_access_block" in bucket.unknown:
        return
    own, account = bucket.public_access_block, bucket.account_public_access_block
    if own is None or account is None:
        return
    merged = {k: getattr(own, k) or getattr(account, k) for k in
              ("block_public_acls", "ignore_public_acls", "block_public_policy", "restrict_public_buckets")}
    bucket.effective_public_access_block = PublicAccessBlock.of(**merged)


def fetch_intelligent_tiering(calls: AwsCalls, bucket: S3Bucket) -> None:
    client, token, enabled = _client(calls, bucket), None, 0
    while True:  # no paginator: a continuation token, as ListObjectsV2 has
        answer = client.list_bucket_intelligent_tiering_configurations(
            Bucket=bucket.name, **({"ContinuationToken": token} if token else {}))
        enabled += sum(1 for c in answer.get("IntelligentTieringConfigurationList", []) if c.get("Status") == "Enabled")
        token = answer.get("NextContinuationToken")
        if not answer.get("IsTruncated") or not token:
            break
    bucket.intelligent_tiering_configurations = enabled


def uses_intelligent_tiering(bucket: S3Bucket) -> None:
    """A lifecycle rule moves objects to INTELLIGENT_TIERING, or an archive configuration is enabled."""
    if "intelligent_tiering" in bucket.unknown or bucket.lifecycle is None:
        return
    by_lifecycle = "INTELLIGENT_TIERING" in bucket.lifecycle.transition_days
    bucket.intelligent_tiering = by_lifecycle or bool(bucket.intelligent_tiering_configurations)


def finish(bucket: Resource) -> None:
    assert isinstance(bucket, S3Bucket)
    effective_public_access_block(bucket)
    uses_intelligent_tiering(bucket)


def _set(attr: str, value_factory: Any) -> Any:
    return lambda resource: setattr(resource, attr, value_factory())


COLLECTOR = Collector(
    service="s3",
    resource_type=S3Bucket,
    list_operation="ListBuckets",
    list_resources=list_buckets,
    locate=Family("region", "GetBucketLocation", ("region",), locate_bucket),
    families={
        f.name: f
        for f in (
            Family("tags", "GetBucketTagging", ("tags",), fetch_tags, ("NoSuchTagSet", "NoSuchTagSetError"),
                   _set("tags", dict)),
            Family("versioning", "GetBucketVersioning", ("versioning",), fetch_versioning),
            Family("encryption", "GetBucketEncryption", ("encryption",), fetch_encryption,
                   ("ServerSideEncryptionConfigurationNotFoundError",),
                   _set("encryption", lambda: BucketEncryption(enabled=False))),
            Family("public_access_block", "GetPublicAccessBlock", ("public_access_block",), fetch_public_access_block,
                   ("NoSuchPublicAccessBlockConfiguration",), _set("public_access_block", PublicAccessBlock)),
            Family("account_public_access_block", "s3control:GetPublicAccessBlock", ("account_public_access_block",),
                   fetch_account_public_access_block, ("NoSuchPublicAccessBlockConfiguration",),
                   _set("account_public_access_block", PublicAccessBlock)),
            Family("lifecycle", "GetBucketLifecycleConfiguration", ("lifecycle",), fetch_lifecycle,
                   ("NoSuchLifecycleConfiguration",), _set("lifecycle", BucketLifecycle)),
            Family("policy", "GetBucketPolicy", ("policy",), fetch_policy, ("NoSuchBucketPolicy",),
                   _set("policy", BucketPolicy)),
            Family("cors", "GetBucketCors", ("cors",), fetch_cors, ("NoSuchCORSConfiguration",), _set("cors", BucketCors)),
            Family("logging", "GetBucketLogging", ("logging",), fetch_logging),
            Family("object_lock", "GetObjectLockConfiguration", ("object_lock",), fetch_object_lock,
                   ("ObjectLockConfigurationNotFoundError",), _set("object_lock", ObjectLock)),
            Family("replication", "GetBucketReplication", ("replication",), fetch_replication,
                   ("ReplicationConfigurationNotFoundError",), _set("replication", lambda: False)),
            Family("intelligent_tiering_configurations", "ListBucketIntelligentTieringConfigurations",
                   ("intelligent_tiering_configurations",), fetch_intelligent_tiering),
            Family("transfer_acceleration", "GetBucketAccelerateConfiguration", ("transfer_acceleration",),
                   fetch_acceleration),
            Family("access_points", "s3control:ListAccessPoints", ("access_points",), fetch_access_points),
        )
    },
    derived={"effective_public_access_block": ("public_access_block", "account_public_access_block"),
             "intelligent_tiering": ("lifecycle", "intelligent_tiering_configurations")},
    finish=finish,
)
