"""DAX clusters: the model, its field table, and the live fetch (one paginated DescribeClusters per region
carries what the rules read; tags by ListTags)."""
from __future__ import annotations

from functools import partial
from typing import ClassVar, Optional

from auditor.services.fetch import AwsCalls, Collector, Family, paginated_listing
from auditor.services.fields import Field, TypeMap, from_api, read_path
from auditor.services.model import Resource


class DAXCluster(Resource):
    """A DynamoDB Accelerator cluster: the read cache in front of DynamoDB tables."""

    type: ClassVar[str] = "AWS::DAX::Cluster"
    node_type: Optional[str] = None
    node_count: Optional[int] = None
    sse_enabled: Optional[bool] = None
    endpoint_encryption: Optional[str] = None  # TLS or NONE
    status: Optional[str] = None


DAX = TypeMap(
    model=DAXCluster, api_operation="DescribeClusters", api_id="ClusterName", api_name="ClusterName",
    api_arn="ClusterArn", tf_types=("aws_dax_cluster",), tf_name="cluster_name",
    cfn_types=("AWS::DAX::Cluster",), cfn_name="ClusterName",
    fields=(
        Field("node_type", api="NodeType", tf="node_type", cfn="NodeType"),
        Field("node_count", "int", api="TotalNodes", tf="replication_factor", cfn="ReplicationFactor"),
        Field("sse_enabled", "bool", api=lambda raw: read_path(raw, "SSEDescription.Status") in ("ENABLED", "ENABLING"),
              tf="server_side_encryption.enabled", cfn="SSESpecification.SSEEnabled", default=False,
              note="no encryption at rest unless enabled"),
        Field("endpoint_encryption", api="ClusterEndpointEncryptionType", tf="cluster_endpoint_encryption_type",
              cfn="ClusterEndpointEncryptionType", default="NONE", note="a plaintext endpoint unless TLS",
              api_absent="default"),
        Field("status", api="Status"),
    ),
)


def fetch_tags(calls: AwsCalls, cluster: DAXCluster) -> None:
    answer = calls.client("dax", cluster.region).list_tags(ResourceName=cluster.arn)
    cluster.tags = {t["Key"]: t["Value"] for t in answer.get("Tags", [])}


COLLECTOR = Collector(
    service="dax",
    resource_type=DAXCluster,
    list_operation="DescribeClusters",
    list_resources=paginated_listing("dax", "describe_clusters", "Clusters", partial(from_api, DAX)),
    listed_properties=DAX.api_properties,
    families={"tags": Family("tags", "ListTags", ("tags",), fetch_tags)},
)
