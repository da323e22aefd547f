"""CloudFront distributions, a global service: ListDistributions once (in us-east-1) carries origins and cache
behaviors; a behavior's TTL comes from its cache policy (GetCachePolicy once per policy) where it uses one.

``link_cdn`` then tells each S3 bucket how CloudFront serves it (``S3Bucket.cdn``), live and in IaC alike, so
a spec's "served through CloudFront, cached 24 hours" is a rule on the bucket."""
from __future__ import annotations

import re
from typing import Any, ClassVar, Iterable, Optional

from botocore.exceptions import BotoCoreError, ClientError
from botocore.parsers import ResponseParserError
from pydantic import Field as ModelField

from auditor.aws import why_unreadable
from auditor.services.fetch import AwsCalls, Collector
from auditor.services.fields import Field, TypeMap, Unknown, from_api, iac_value
from auditor.services.model import Resource
from auditor.services.s3.model import BucketCdn, CdnBehavior, S3Bucket
from auditor.services.values import as_int, get


class CloudFrontDistribution(Resource):
    """A CloudFront distribution: its origins and cache behaviors (a global resource, read in us-east-1)."""

    type: ClassVar[str] = "AWS::CloudFront::Distribution"
    enabled: Optional[bool] = None
    behaviors: list[CdnBehavior] = ModelField(default_factory=list)
    origin_buckets: list[str] = ModelField(default_factory=list)


# AWS managed cache policies (their ids are the same in every account) and their (minimum, default, maximum)
# TTL in seconds, as "Use managed cache policies" in the CloudFront Developer Guide lists them; None where a
# bound is not relied on here (the rules on it are then error for that behavior).
MANAGED_CACHE_POLICIES: dict[str, tuple[Optional[int], int, Optional[int]]] = {
    "658327ea-f89d-4fab-a63d-7e88639e58f6": (1, 86400, 31536000),  # Managed-CachingOptimized
    "b2884449-e4de-46a7-ac36-70bc7f1ddd6d": (1, 86400, 31536000),  # Managed-CachingOptimizedForUncompressedObjects
    "4135ea2d-6df8-44a3-9df3-4b5a84be39ad": (0, 0, 0),  # Managed-CachingDisabled
    "08627262-05a9-4f76-9ded-b50ca2e3a84f": (None, 86400, None),  # Managed-Elemental-MediaPackage
    "83da9c7e-98b4-4e11-a168-04f0df8e2c65": (0, 0, 31536000),  # Managed-UseOriginCacheControlHeaders
    "4cc15a8a-d715-48a4-82b8-cc0b614638fe": (0, 0, 31536000),  # Managed-UseOriginCacheControlHeaders-QueryStrings
}


_S3_DOMAIN = re.compile(r"^(?P<bucket>[a-z0-9][a-z0-9.-]*?)\.s3(?:[.-](?:[a-z0-9-]+))?\.amazonaws\.com(?:\.cn)?$")


# A behavior without a cache policy (the legacy cache settings): AWS's defaults for MinTTL, DefaultTTL, MaxTTL.
LEGACY_TTLS = (0, 86400, 31536000)


def bucket_of_domain(domain: Any) -> Optional[str]:
    """The bucket an S3 origin domain names (``images.s3.amazonaws.com``, ``images.s3.eu-west-1.amazonaws.com``);
    None for other origins (a website endpoint or a custom origin)."""
    match = _S3_DOMAIN.match(domain) if isinstance(domain, str) else None
    return match.group("bucket") if match and ".s3-website" not in domain else None


def cdn_behaviors(distribution: str, origins: list[dict], default: Any, ordered: list[dict], keys: dict[str, str],
                  ctx: Any = None, policy_ttl: Any = None) -> list[CdnBehavior]:
    """Each cache behavior with the origin it routes to; ``keys`` names the fields in the source's spelling.
    ``policy_ttl(policy)`` gives the TTL of a cache policy the source itself holds (IaC); live, a policy not
    managed by AWS is read afterwards (GetCachePolicy)."""
    by_id: dict[str, dict] = {}
    for origin in origins:
        domain = iac_value(origin, keys["domain"])
        bucket = bucket_of_domain(domain)
        if bucket is None and ctx is not None and ctx.type_of(domain) in ("aws_s3_bucket", "AWS::S3::Bucket"):
            bucket = ctx.resolve(domain)
        oac, oai = iac_value(origin, keys["oac"]), iac_value(origin, keys["oai"])
        access = "OAC" if oac else "OAI" if oai else "none" if bucket else None
        by_id[str(iac_value(origin, keys["id"]))] = {"bucket": bucket, "access": access}
    out = []
    for raw, pattern in [(default, "*")] + [(b, None) for b in ordered]:
        if not isinstance(raw, dict):
            continue
        target = str(iac_value(raw, keys["target"]))
        policy = iac_value(raw, keys["policy"])
        ttls: Any = tuple(iac_value(raw, keys[k]) for k in ("min_ttl", "ttl", "max_ttl"))
        unknown = {}
        if policy:
            ttls = MANAGED_CACHE_POLICIES.get(policy) if isinstance(policy, str) else None
            if ttls is None and policy_ttl is not None:
                ttls = policy_ttl(policy)
                if isinstance(ttls, Unknown):
                    unknown = {k: ttls.reason for k in ("min_ttl", "default_ttl", "max_ttl")}
                    ttls = None
        elif policy_ttl is not None:  # IaC: the AWS defaults of a behavior without a cache policy
            ttls = tuple(LEGACY_TTLS[i] if v is None else v for i, v in enumerate(ttls))
        low, ttl, high = ttls or (None, None, None)
        if policy and ttls is not None:  # a managed policy's bound not relied on here
            unknown.update({k: f"the {k} of the managed cache policy {policy} is not known"
                            for k, v in (("min_ttl", low), ("max_ttl", high)) if v is None})
        origin = by_id.get(target, {})
        out.append(CdnBehavior(unknown=unknown,
            distribution=distribution, path_pattern=str(pattern or iac_value(raw, keys["path"])), origin_id=target,
            bucket=origin.get("bucket"), origin_access=origin.get("access"),
            cache_policy_id=str(ctx.resolve(policy) if ctx is not None else policy) if policy else None,
            default_ttl=as_int(ttl), min_ttl=as_int(low), max_ttl=as_int(high),
            viewer_protocol_policy=iac_value(raw, keys["viewer"])))
    return out


_API_KEYS = {"domain": "DomainName", "id": "Id", "oac": "OriginAccessControlId", "oai": "S3OriginConfig.OriginAccessIdentity",
             "target": "TargetOriginId", "policy": "CachePolicyId", "ttl": "DefaultTTL", "min_ttl": "MinTTL",
             "max_ttl": "MaxTTL", "path": "PathPattern", "viewer": "ViewerProtocolPolicy"}


_TF_KEYS = {"domain": "domain_name", "id": "origin_id", "oac": "origin_access_control_id",
            "oai": "s3_origin_config.origin_access_identity", "target": "target_origin_id", "policy": "cache_policy_id",
            "ttl": "default_ttl", "min_ttl": "min_ttl", "max_ttl": "max_ttl", "path": "path_pattern",
            "viewer": "viewer_protocol_policy"}


def _api_behaviors(raw: dict) -> list[CdnBehavior]:
    return cdn_behaviors(raw.get("Id", ""), (raw.get("Origins") or {}).get("Items") or [], raw.get("DefaultCacheBehavior"),
                         (raw.get("CacheBehaviors") or {}).get("Items") or [], _API_KEYS)


def _policy_ttl(ctx: Any, policy_type: str, ttl_paths: tuple[str, str, str]):
    """The (MinTTL, DefaultTTL, MaxTTL) of a cache policy the same IaC declares (the bounds it leaves out take
    AWS's defaults: 0 and a year); Unknown for one it does not (a data source)."""
    def ttl(policy: Any) -> Any:
        declared = ctx.named(policy_type, policy)
        values = [iac_value(declared[0], path) if declared else None for path in ttl_paths]
        if as_int(values[1]) is None:
            return Unknown(f"the TTL of cache policy {str(policy)[:80]} is not in this IaC")
        return (values[0] if values[0] is not None else 0, values[1],
                values[2] if values[2] is not None else LEGACY_TTLS[2])
    return ttl


def _iac_behaviors(origins: str, default: str, ordered: str, keys: dict[str, str], policy_type: str,
                   ttl_path: tuple[str, str, str], config: str = ""):
    def read(props: dict, ctx: Any) -> Any:
        root = iac_value(props, config) or {} if config else props
        many = (lambda key: ctx.blocks(root, key)) if not config else (lambda key: root.get(key) or [])
        return cdn_behaviors(ctx.label, many(origins), get(root, default) if not config else root.get(default),
                             many(ordered), keys, ctx, _policy_ttl(ctx, policy_type, ttl_path))
    return read


def _origin_buckets(raw: Any, dist: Resource) -> None:
    assert isinstance(dist, CloudFrontDistribution)
    dist.origin_buckets = sorted({b.bucket for b in dist.behaviors if b.bucket})


CLOUDFRONT = TypeMap(
    model=CloudFrontDistribution, api_operation="ListDistributions", api_id="Id", api_name="Id", api_arn="ARN",
    tf_types=("aws_cloudfront_distribution",), cfn_types=("AWS::CloudFront::Distribution",),
    fields=(
        Field("enabled", "bool", api="Enabled", tf="enabled", cfn="DistributionConfig.Enabled"),
        Field("behaviors", "raw", api=_api_behaviors,
              tf=_iac_behaviors("origin", "default_cache_behavior", "ordered_cache_behavior", _TF_KEYS,
                                "aws_cloudfront_cache_policy", ("min_ttl", "default_ttl", "max_ttl")),
              cfn=_iac_behaviors("Origins", "DefaultCacheBehavior", "CacheBehaviors", _API_KEYS,
                                 "AWS::CloudFront::CachePolicy", ("CachePolicyConfig.MinTTL", "CachePolicyConfig.DefaultTTL",
                                                                  "CachePolicyConfig.MaxTTL"), config="DistributionConfig")),
    ),
    finish_api=_origin_buckets,
    finish_tf=lambda props, dist, ctx, d: _origin_buckets(None, dist),
    finish_cfn=lambda props, dist, ctx, d: _origin_buckets(None, dist),
)


REGION = "us-east-1"


TYPE = CloudFrontDistribution.type


def list_distributions(calls: AwsCalls, region: str) -> Iterable[Resource]:
    client = calls.client("cloudfront", region)
    out = []
    for page in client.get_paginator("list_distributions").paginate():
        for raw in (page.get("DistributionList") or {}).get("Items") or []:
            distribution = from_api(CLOUDFRONT, raw, region, calls.account_id)
            assert isinstance(distribution, CloudFrontDistribution)
            _policy_ttls(calls, distribution)
            out.append(distribution)
    return out


def _policy_ttls(calls: AwsCalls, distribution: CloudFrontDistribution) -> None:
    """Behaviors with a cache policy of the account take its DefaultTTL (the table already gave the AWS managed
    policies theirs); one that cannot be read leaves that behavior's TTL unknown, and nothing else."""
    for behavior in distribution.behaviors:
        policy = behavior.cache_policy_id
        if behavior.default_ttl is not None or not policy:
            continue
        try:
            answer = calls.once(f"cloudfront:GetCachePolicy:{policy}",
                                lambda: calls.client("cloudfront", REGION).get_cache_policy(Id=policy))
            config = answer["CachePolicy"]["CachePolicyConfig"]
            behavior.default_ttl = config["DefaultTTL"]
            behavior.min_ttl, behavior.max_ttl = config.get("MinTTL"), config.get("MaxTTL")
            behavior.unknown = {k: v for k, v in behavior.unknown.items() if k not in ("min_ttl", "max_ttl")}
        except (ClientError, BotoCoreError, ResponseParserError) as exc:
            for key in ("default_ttl", "min_ttl", "max_ttl"):
                behavior.unknown[key] = why_unreadable(exc, "cloudfront:GetCachePolicy")


def link_cdn(resources: list[Resource], listing_error: str | None = None) -> None:
    """Give each bucket the behaviors of the enabled distributions whose origin it is; unknown when the
    distributions could not be listed or one of their TTLs could not be read."""
    distributions = [r for r in resources if isinstance(r, CloudFrontDistribution)]
    for bucket in (r for r in resources if isinstance(r, S3Bucket)):
        # A distribution whose TTLs could not be read leaves unknown only the buckets it serves.
        unknown = listing_error or next((d.unknown["behaviors"] for d in distributions
                                         if "behaviors" in d.unknown and bucket.name in d.origin_buckets), None)
        if unknown:
            bucket.mark_unknown("cdn", f"CloudFront distributions could not be read: {unknown}")
            continue
        behaviors = [b for d in distributions if d.enabled is not False for b in d.behaviors if b.bucket == bucket.name]
        bucket.cdn = BucketCdn(served=bool(behaviors), distributions=sorted({b.distribution for b in behaviors}),
                               behaviors=behaviors)
        source = next((d.source for d in distributions if bucket.name in d.origin_buckets and d.source), None)
        if source is not None:
            bucket.locations["cdn"] = source


COLLECTOR = Collector(
    service="cloudfront",
    resource_type=CloudFrontDistribution,
    list_operation="ListDistributions",
    list_resources=list_distributions,
    listed_properties=CLOUDFRONT.api_properties,
    global_region=REGION,
)
