"""OpenSearch domains: list_domain_names, then describe_domains five at a time (its batch limit)."""
from __future__ import annotations

from typing import Iterable

from auditor.collectors.base import AwsCalls, Collector, Family
from auditor.resources import OpenSearchDomain, Resource

LISTED = (
    "engine_version", "instance_type", "instance_count", "dedicated_master_enabled", "dedicated_master_type",
    "dedicated_master_count", "zone_awareness_enabled", "availability_zone_count", "warm_enabled", "warm_type",
    "warm_count", "ebs_enabled", "volume_type", "volume_size_gb", "encryption_at_rest", "kms_key_id",
    "node_to_node_encryption", "enforce_https", "tls_security_policy",
)


def list_domains(calls: AwsCalls, region: str) -> Iterable[Resource]:
    client = calls.client("opensearch", region)
    names = [d["DomainName"] for d in client.list_domain_names().get("DomainNames", [])]
    for start in range(0, len(names), 5):
        answer = client.describe_domains(DomainNames=names[start:start + 5])
        for raw in answer.get("DomainStatusList", []):
            yield domain_from(raw, region, calls.account_id)


def domain_from(raw: dict, region: str, account_id: str) -> OpenSearchDomain:
    cluster = raw.get("ClusterConfig", {})
    ebs = raw.get("EBSOptions", {})
    at_rest = raw.get("EncryptionAtRestOptions", {})
    endpoint = raw.get("DomainEndpointOptions", {})
    zone = cluster.get("ZoneAwarenessConfig") or {}
    return OpenSearchDomain(
        id=raw["DomainName"],
        name=raw["DomainName"],
        arn=raw.get("ARN"),
        region=region,
        account_id=account_id,
        engine_version=raw.get("EngineVersion"),
        instance_type=cluster.get("InstanceType"),
        instance_count=cluster.get("InstanceCount"),
        dedicated_master_enabled=cluster.get("DedicatedMasterEnabled", False),
        dedicated_master_type=cluster.get("DedicatedMasterType"),
        dedicated_master_count=cluster.get("DedicatedMasterCount"),
        zone_awareness_enabled=cluster.get("ZoneAwarenessEnabled", False),
        availability_zone_count=zone.get("AvailabilityZoneCount") if cluster.get("ZoneAwarenessEnabled") else 1,
        warm_enabled=cluster.get("WarmEnabled", False),
        warm_type=cluster.get("WarmType"),
        warm_count=cluster.get("WarmCount"),
        ebs_enabled=ebs.get("EBSEnabled"),
        volume_type=ebs.get("VolumeType"),
        volume_size_gb=ebs.get("VolumeSize"),
        encryption_at_rest=at_rest.get("Enabled", False),
        kms_key_id=at_rest.get("KmsKeyId"),
        node_to_node_encryption=raw.get("NodeToNodeEncryptionOptions", {}).get("Enabled", False),
        enforce_https=endpoint.get("EnforceHTTPS", False),
        tls_security_policy=endpoint.get("TLSSecurityPolicy"),
    )


def fetch_tags(calls: AwsCalls, domain: OpenSearchDomain) -> None:
    answer = calls.client("opensearch", domain.region).list_tags(ARN=domain.arn)
    domain.tags = {t["Key"]: t["Value"] for t in answer.get("TagList", [])}


COLLECTOR = Collector(
    service="opensearch",
    resource_type=OpenSearchDomain,
    list_operation="ListDomainNames",
    list_resources=list_domains,
    listed_properties=LISTED,
    families={"tags": Family("tags", "ListTags", ("tags",), fetch_tags)},
)
