"""CloudFront distributions, a global service: ListDistributions once (in us-east-1) carries origins and cache
behaviors; a behavior's TTL comes from its cache policy (GetCachePolicy once per policy) where it uses one.

``link_cdn`` then tells each S3 bucket how CloudFront serves it (``S3Bucket.cdn``), live and in IaC alike, so
a spec's "served through CloudFront, cached 24 hours" is a rule on the bucket.
"""
from __future__ import annotations

from typing import Iterable

from botocore.exceptions import BotoCoreError, ClientError
from botocore.parsers import ResponseParserError

from auditor.aws import why_unreadable
from auditor.collectors.base import AwsCalls, Collector
from auditor.mappings import from_api
from auditor.mappings.tables import CLOUDFRONT
from auditor.resources import BucketCdn, CloudFrontDistribution, Resource, S3Bucket

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
            behavior.default_ttl = answer["CachePolicy"]["CachePolicyConfig"]["DefaultTTL"]
        except (ClientError, BotoCoreError, ResponseParserError) as exc:
            behavior.unknown["default_ttl"] = why_unreadable(exc, "cloudfront:GetCachePolicy")


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
