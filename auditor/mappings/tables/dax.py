"""DAX clusters."""
from __future__ import annotations

from auditor.mappings.fields import Field, TypeMap, read_path
from auditor.resources import DAXCluster


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
