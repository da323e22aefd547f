"""EKS clusters: version, cluster security group, add-ons."""
from __future__ import annotations

from typing import Any

from auditor.mappings.fields import Field, TypeMap, Unknown, iac_value
from auditor.resources import EKSCluster


def _iac_addons(rtype: str, cluster: str, name: str, version: str):
    def read(props: dict, ctx: Any) -> Any:
        addons = {}
        for _, attrs in ctx.pointing(rtype, cluster):
            if iac_value(attrs, version) is None:
                return Unknown(f"add-on {iac_value(attrs, name)} takes the version AWS picks for the cluster "
                               "(no version in the IaC)")
            addons[str(iac_value(attrs, name))] = str(iac_value(attrs, version))
        return addons
    return read


EKS = TypeMap(
    model=EKSCluster, api_operation="DescribeCluster", api_id="name", api_name="name", api_arn="arn",
    api_tags="tags",  # DescribeCluster answers a map, {"team": "platform"}
    tf_types=("aws_eks_cluster",), tf_name="name", cfn_types=("AWS::EKS::Cluster",), cfn_name="Name",
    fields=(
        Field("version", api="version", tf="version", cfn="Version"),
        # Made by EKS, so an IaC names it by its cluster (and a mount target's reference to it alike: _groups).
        Field("cluster_security_group_id", api="resourcesVpcConfig.clusterSecurityGroupId", api_absent="unknown",
              tf=lambda p, ctx: f"eks-cluster-sg:{ctx.label}", cfn=lambda p, ctx: f"eks-cluster-sg:{ctx.label}"),
        Field("addons", "raw", api_call="ListAddons", api=lambda raw: dict(raw),
              tf=_iac_addons("aws_eks_addon", "cluster_name", "addon_name", "addon_version"),
              cfn=_iac_addons("AWS::EKS::Addon", "ClusterName", "AddonName", "AddonVersion")),
    ),
)
