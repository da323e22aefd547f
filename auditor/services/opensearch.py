"""OpenSearch domains (and legacy Elasticsearch ones, read as their twin): the model, the field table, and the
live fetch (ListDomainNames, then DescribeDomains five at a time, its batch limit)."""
from __future__ import annotations

from typing import Any, ClassVar, Iterable, Optional

from auditor.services.fetch import AwsCalls, Collector, Family
from auditor.services.fields import Field, TypeMap, from_api, iac_value, read_path
from auditor.services.model import Resource
from auditor.services.values import as_bool, get


class OpenSearchDomain(Resource):
    type: ClassVar[str] = "AWS::OpenSearchService::Domain"
    engine_version: Optional[str] = None
    instance_type: Optional[str] = None
    instance_count: Optional[int] = None
    dedicated_master_enabled: Optional[bool] = None
    dedicated_master_type: Optional[str] = None
    dedicated_master_count: Optional[int] = None
    zone_awareness_enabled: Optional[bool] = None
    availability_zone_count: Optional[int] = None
    warm_enabled: Optional[bool] = None
    warm_type: Optional[str] = None
    warm_count: Optional[int] = None
    cold_storage_enabled: Optional[bool] = None  # ClusterConfig.ColdStorageOptions (needs UltraWarm)
    ebs_enabled: Optional[bool] = None
    volume_type: Optional[str] = None
    volume_size_gb: Optional[int] = None
    encryption_at_rest: Optional[bool] = None
    kms_key_id: Optional[str] = None
    node_to_node_encryption: Optional[bool] = None
    enforce_https: Optional[bool] = None
    tls_security_policy: Optional[str] = None


def _zone_count_api(raw: dict) -> Any:
    return read_path(raw, "ClusterConfig.ZoneAwarenessConfig.AvailabilityZoneCount") \
        if read_path(raw, "ClusterConfig.ZoneAwarenessEnabled") else 1


def _zone_count_iac(enabled: str, count: str):
    def read(props: dict, ctx: Any) -> Any:
        return iac_value(props, count) if as_bool(iac_value(props, enabled)) else 1
    return read


def _legacy_version(current: str, legacy: str):
    """aws_elasticsearch_domain / AWS::Elasticsearch::Domain give the bare version; the API says Elasticsearch_X."""
    def read(props: dict, ctx: Any) -> Any:
        version = get(props, current)
        if version is None and get(props, legacy) is not None:
            return f"Elasticsearch_{get(props, legacy)}"
        return version
    return read


_CFN_CLUSTER = "ClusterConfig|ElasticsearchClusterConfig"


OPENSEARCH = TypeMap(
    model=OpenSearchDomain, api_operation="DescribeDomains", api_id="DomainName", api_name="DomainName", api_arn="ARN",
    tf_types=("aws_opensearch_domain", "aws_elasticsearch_domain"), tf_name="domain_name",
    cfn_types=("AWS::OpenSearchService::Domain", "AWS::Elasticsearch::Domain"), cfn_name="DomainName",
    fields=(
        Field("engine_version", api="EngineVersion", tf=_legacy_version("engine_version", "elasticsearch_version"),
              cfn=_legacy_version("EngineVersion", "ElasticsearchVersion")),
        Field("instance_type", api="ClusterConfig.InstanceType", tf="cluster_config.instance_type",
              cfn=f"{_CFN_CLUSTER}.InstanceType"),
        Field("instance_count", "int", api="ClusterConfig.InstanceCount", tf="cluster_config.instance_count",
              cfn=f"{_CFN_CLUSTER}.InstanceCount", default=1, note="one data node"),
        Field("dedicated_master_enabled", "bool", api="ClusterConfig.DedicatedMasterEnabled",
              tf="cluster_config.dedicated_master_enabled", cfn=f"{_CFN_CLUSTER}.DedicatedMasterEnabled",
              default=False, note="no dedicated masters", api_absent="default"),
        Field("dedicated_master_type", api="ClusterConfig.DedicatedMasterType", tf="cluster_config.dedicated_master_type",
              cfn=f"{_CFN_CLUSTER}.DedicatedMasterType"),
        Field("dedicated_master_count", "int", api="ClusterConfig.DedicatedMasterCount",
              tf="cluster_config.dedicated_master_count", cfn=f"{_CFN_CLUSTER}.DedicatedMasterCount"),
        Field("zone_awareness_enabled", "bool", api="ClusterConfig.ZoneAwarenessEnabled",
              tf="cluster_config.zone_awareness_enabled", cfn=f"{_CFN_CLUSTER}.ZoneAwarenessEnabled",
              default=False, note="zone awareness off", api_absent="default"),
        Field("availability_zone_count", "int", api=_zone_count_api,
              tf=_zone_count_iac("cluster_config.zone_awareness_enabled",
                                 "cluster_config.zone_awareness_config.availability_zone_count"),
              cfn=_zone_count_iac(f"{_CFN_CLUSTER}.ZoneAwarenessEnabled",
                                  f"{_CFN_CLUSTER}.ZoneAwarenessConfig.AvailabilityZoneCount"),
              default=lambda r: 2 if r.zone_awareness_enabled else 1,
              note=lambda r: "two AZs with zone awareness" if r.zone_awareness_enabled else ""),
        Field("warm_enabled", "bool", api="ClusterConfig.WarmEnabled", tf="cluster_config.warm_enabled",
              cfn=f"{_CFN_CLUSTER}.WarmEnabled", default=False, note="UltraWarm off", api_absent="default"),
        Field("warm_type", api="ClusterConfig.WarmType", tf="cluster_config.warm_type", cfn=f"{_CFN_CLUSTER}.WarmType"),
        Field("warm_count", "int", api="ClusterConfig.WarmCount", tf="cluster_config.warm_count",
              cfn=f"{_CFN_CLUSTER}.WarmCount"),
        Field("cold_storage_enabled", "bool", api="ClusterConfig.ColdStorageOptions.Enabled",
              tf="cluster_config.cold_storage_options.enabled", cfn=f"{_CFN_CLUSTER}.ColdStorageOptions.Enabled",
              default=False, note="cold storage off", api_absent="default"),
        Field("ebs_enabled", "bool", api="EBSOptions.EBSEnabled", tf="ebs_options.ebs_enabled", cfn="EBSOptions.EBSEnabled"),
        Field("volume_type", api="EBSOptions.VolumeType", tf="ebs_options.volume_type", cfn="EBSOptions.VolumeType"),
        Field("volume_size_gb", "int", api="EBSOptions.VolumeSize", tf="ebs_options.volume_size", cfn="EBSOptions.VolumeSize"),
        Field("encryption_at_rest", "bool", api="EncryptionAtRestOptions.Enabled", tf="encrypt_at_rest.enabled",
              cfn="EncryptionAtRestOptions.Enabled", default=False, note="no encryption at rest unless enabled",
              api_absent="default"),
        Field("kms_key_id", "ref", api="EncryptionAtRestOptions.KmsKeyId", tf="encrypt_at_rest.kms_key_id",
              cfn="EncryptionAtRestOptions.KmsKeyId"),
        Field("node_to_node_encryption", "bool", api="NodeToNodeEncryptionOptions.Enabled",
              tf="node_to_node_encryption.enabled", cfn="NodeToNodeEncryptionOptions.Enabled", default=False,
              note="node-to-node encryption off", api_absent="default"),
        Field("enforce_https", "bool", api="DomainEndpointOptions.EnforceHTTPS", tf="domain_endpoint_options.enforce_https",
              cfn="DomainEndpointOptions.EnforceHTTPS", default=False, note="HTTPS not enforced", api_absent="default"),
        Field("tls_security_policy", api="DomainEndpointOptions.TLSSecurityPolicy",
              tf="domain_endpoint_options.tls_security_policy", cfn="DomainEndpointOptions.TLSSecurityPolicy"),
    ),
)


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
