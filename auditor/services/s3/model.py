"""S3 buckets as rules see them: versioning, encryption, public access, lifecycle, policy, CORS, logging, Object Lock, the CDN in front."""
from __future__ import annotations

from typing import Any, ClassVar, Optional

from pydantic import Field, model_serializer

from auditor.services.model import Model, Resource



class PublicAccessBlock(Model):
    block_public_acls: bool = False
    ignore_public_acls: bool = False
    block_public_policy: bool = False
    restrict_public_buckets: bool = False
    all_blocked: bool = False

    @classmethod
    def of(cls, **flags: bool) -> "PublicAccessBlock":
        """The four settings as given, and whether all of them block."""
        return cls(**flags, all_blocked=all(flags.values()))

    @classmethod
    def new_bucket_default(cls) -> "PublicAccessBlock":
        """What AWS applies to a new bucket since April 2023: every setting on."""
        return cls.of(block_public_acls=True, ignore_public_acls=True, block_public_policy=True,
                      restrict_public_buckets=True)


class BucketEncryption(Model):
    enabled: bool = False
    algorithm: Optional[str] = None  # AES256, aws:kms, aws:kms:dsse
    kms_key_id: Optional[str] = None
    bucket_key_enabled: Optional[bool] = None


class BucketVersioning(Model):
    status: str = "Disabled"  # Enabled, Suspended, Disabled (never enabled)
    mfa_delete: str = "Disabled"


class LifecycleTransition(Model):
    days: Optional[int] = None
    storage_class: str


class LifecycleRule(Model):
    id: Optional[str] = None
    status: str = "Enabled"
    prefix: str = ""
    transitions: list[LifecycleTransition] = Field(default_factory=list)
    expiration_days: Optional[int] = None
    noncurrent_expiration_days: Optional[int] = None
    abort_incomplete_multipart_days: Optional[int] = None


class BucketLifecycle(Model):
    rules: list[LifecycleRule] = Field(default_factory=list)
    # Smallest enabled transition day per storage class (GLACIER, STANDARD_IA, ...), for simple rules.
    transition_days: dict[str, int] = Field(default_factory=dict)
    expiration_days: Optional[int] = None


class BucketPolicy(Model):
    exists: bool = False
    denies_insecure_transport: bool = False
    allows_public_principal: bool = False
    # Object reads (s3:GetObject) the policy allows: to a CloudFront origin access identity or origin access
    # control ("OAI only access"), and to anyone else.
    grants_reads_to_cdn: bool = False
    grants_reads_to_others: bool = False


class BucketCors(Model):
    configured: bool = False
    rule_count: int = 0
    allowed_origins: list[str] = Field(default_factory=list)


class BucketLogging(Model):
    enabled: bool = False
    target_bucket: Optional[str] = None


class ObjectLock(Model):
    enabled: bool = False
    mode: Optional[str] = None
    retention_days: Optional[int] = None


class CdnBehavior(Model):
    """One cache behavior of a CloudFront distribution, with the origin it routes to."""

    distribution: str
    path_pattern: str = "*"  # "*" for the default behavior
    origin_id: Optional[str] = None
    bucket: Optional[str] = None  # the S3 bucket of that origin, when it is one
    origin_access: Optional[str] = None  # how CloudFront reads that bucket: OAI, OAC or none
    default_ttl: Optional[int] = None  # seconds (the behavior's own, or its cache policy's)
    # Its bounds: MinTTL above 0 caches even what the origin marks Cache-Control no-cache; MaxTTL 0 caches nothing.
    min_ttl: Optional[int] = None
    max_ttl: Optional[int] = None
    cache_policy_id: Optional[str] = None
    viewer_protocol_policy: Optional[str] = None
    # This behavior's fields that could not be read (its cache policy's TTL): a rule on them is error, while
    # the rules on its other fields (HTTPS) still judge it.
    unknown: dict[str, str] = Field(default_factory=dict)

    @model_serializer(mode="wrap")
    def _without_empty(self, handler: Any) -> Any:
        data = handler(self)
        if isinstance(data, dict) and not data.get("unknown"):
            data.pop("unknown", None)
        return data


class BucketCdn(Model):
    """How CloudFront serves a bucket: linked from the distributions whose origins are this bucket."""

    served: bool = False
    distributions: list[str] = Field(default_factory=list)
    behaviors: list[CdnBehavior] = Field(default_factory=list)


class S3Bucket(Resource):
    type: ClassVar[str] = "AWS::S3::Bucket"
    versioning: Optional[BucketVersioning] = None
    encryption: Optional[BucketEncryption] = None
    public_access_block: Optional[PublicAccessBlock] = None
    account_public_access_block: Optional[PublicAccessBlock] = None
    # Bucket-level or account-level block, whichever is stricter per setting.
    effective_public_access_block: Optional[PublicAccessBlock] = None
    lifecycle: Optional[BucketLifecycle] = None
    policy: Optional[BucketPolicy] = None
    cors: Optional[BucketCors] = None
    logging: Optional[BucketLogging] = None
    object_lock: Optional[ObjectLock] = None
    cdn: Optional[BucketCdn] = None  # linked from CloudFront distributions (collectors.cloudfront.link_cdn)
    replication: Optional[bool] = None  # an enabled replication rule copies its objects to another bucket
    intelligent_tiering_configurations: Optional[int] = None  # enabled archive configurations
    # Objects move to S3 Intelligent-Tiering: a lifecycle transition to it, or an enabled configuration.
    intelligent_tiering: Optional[bool] = None
    transfer_acceleration: Optional[str] = None  # Enabled, Suspended, or Disabled (never configured)
    access_points: list[str] = Field(default_factory=list)  # names of the S3 access points on the bucket
