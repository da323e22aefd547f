"""EKS clusters: ListClusters, then DescribeCluster each (version, the cluster security group EKS made); the
add-ons and their versions (ListAddons, DescribeAddon each) are a family.

``link_cluster_security_groups`` tells each EFS file system whether its mount targets are in an EKS cluster's
security group, live and in IaC alike."""
from __future__ import annotations

from typing import Any, ClassVar, Iterable, Optional

from pydantic import Field as ModelField

from auditor.services.efs import EFSFileSystem
from auditor.services.fetch import AwsCalls, Collector, Family
from auditor.services.fields import Field, TypeMap, Unknown, fill_from_api, from_api, iac_value
from auditor.services.model import Resource


class EKSCluster(Resource):
    """An EKS cluster: its Kubernetes version, the security group EKS made for it, and its add-ons."""

    type: ClassVar[str] = "AWS::EKS::Cluster"
    version: Optional[str] = None
    cluster_security_group_id: Optional[str] = None
    addons: dict[str, str] = ModelField(default_factory=dict)  # add-on name -> version (e.g. aws-ebs-csi-driver)


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


TYPE = EKSCluster.type


def list_clusters(calls: AwsCalls, region: str) -> Iterable[Resource]:
    client = calls.client("eks", region)
    for page in client.get_paginator("list_clusters").paginate():
        for name in page.get("clusters", []):
            yield from_api(EKS, client.describe_cluster(name=name)["cluster"], region, calls.account_id)


def fetch_addons(calls: AwsCalls, cluster: EKSCluster) -> None:
    client = calls.client("eks", cluster.region)
    versions = {}
    for page in client.get_paginator("list_addons").paginate(clusterName=cluster.name):
        for name in page.get("addons", []):
            addon = client.describe_addon(clusterName=cluster.name, addonName=name)["addon"]
            versions[addon["addonName"]] = addon.get("addonVersion", "")
    fill_from_api(EKS, "ListAddons", versions, cluster)


def link_cluster_security_groups(resources: list[Resource], listing_error: str | None = None) -> None:
    """Every mount target of a file system in the security group of one of the account's EKS clusters?"""
    clusters = [r for r in resources if isinstance(r, EKSCluster)]
    unknown = listing_error or next((c.unknown["cluster_security_group_id"] for c in clusters
                                     if "cluster_security_group_id" in c.unknown), None)
    groups = {c.cluster_security_group_id for c in clusters if c.cluster_security_group_id}
    for fs in (r for r in resources if isinstance(r, EFSFileSystem)):
        if "mount_target_security_groups" in fs.unknown:
            fs.mark_unknown("in_eks_cluster_security_group", fs.unknown["mount_target_security_groups"])
        elif unknown:
            fs.mark_unknown("in_eks_cluster_security_group", f"the EKS clusters could not be read: {unknown}")
        else:
            per_target = fs.mount_target_security_groups
            fs.in_eks_cluster_security_group = bool(per_target) and all(set(g) & groups for g in per_target)


COLLECTOR = Collector(
    service="eks",
    resource_type=EKSCluster,
    list_operation="ListClusters",
    list_resources=list_clusters,
    listed_properties=EKS.api_properties,
    families={"addons": Family("addons", "ListAddons", EKS.read_by("ListAddons"), fetch_addons)},
)
