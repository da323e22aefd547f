"""EKS clusters: ListClusters, then DescribeCluster each (version, the cluster security group EKS made); the
add-ons and their versions (ListAddons, DescribeAddon each) are a family.

``link_cluster_security_groups`` tells each EFS file system whether its mount targets are in an EKS cluster's
security group, live and in IaC alike.
"""
from __future__ import annotations

from typing import Iterable

from auditor.collectors.base import AwsCalls, Collector, Family
from auditor.mappings import from_api
from auditor.mappings.fields import fill_from_api
from auditor.mappings.tables import EKS
from auditor.resources import EFSFileSystem, EKSCluster, Resource

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
