"""OpenSearch domains: list_domain_names, then describe_domains five at a time (its batch limit)."""
from __future__ import annotations

from typing import Iterable

from auditor.collectors.base import AwsCalls, Collector, Family
from auditor.mappings import from_api
from auditor.mappings.tables import OPENSEARCH
from auditor.resources import OpenSearchDomain, Resource

LISTED = OPENSEARCH.api_properties


def list_domains(calls: AwsCalls, region: str) -> Iterable[Resource]:
    client = calls.client("opensearch", region)
    names = [d["DomainName"] for d in client.list_domain_names().get("DomainNames", [])]
    for start in range(0, len(names), 5):
        answer = client.describe_domains(DomainNames=names[start:start + 5])
        for raw in answer.get("DomainStatusList", []):
            yield domain_from(raw, region, calls.account_id)


def domain_from(raw: dict, region: str, account_id: str) -> OpenSearchDomain:
    domain = from_api(OPENSEARCH, raw, region, account_id)
    assert isinstance(domain, OpenSearchDomain)
    return domain


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
