"""EFS file systems (access points, mount targets, the file system policy): the models, the field table, and the
live fetch (DescribeFileSystems carries encryption, modes, mount targets and tags; access points, backup policy,
mount-target groups and subnets, and the policy are families)."""
from __future__ import annotations

import json
from functools import partial
from typing import Any, ClassVar, Optional

from pydantic import Field as ModelField

from auditor.services.common import flat
from auditor.services.fetch import AwsCalls, Collector, Family, Unreadable, paginated_listing
from auditor.services.fields import Defaulted, Field, TypeMap, Unknown, fill_from_api, from_api, iac_value
from auditor.services.kms import encrypted_key_manager
from auditor.services.model import Model, Resource
from auditor.services.network import public_subnets, subnets_private_iac
from auditor.services.s3.policy import grants, is_everyone, only_insecure_transport, statements_of
from auditor.services.values import Declared, clean, get, unresolved_policy_part


class EfsAccessPoint(Model):
    """An EFS access point: the directory it roots clients in, and how it creates it."""

    id: str
    path: Optional[str] = None
    permissions: Optional[str] = None  # the octal mode it creates the root directory with, e.g. "700"


class EFSFileSystem(Resource):
    type: ClassVar[str] = "AWS::EFS::FileSystem"
    encrypted: Optional[bool] = None
    kms_key_id: Optional[str] = None
    kms_key_manager: Optional[str] = None  # AWS (aws/elasticfilesystem) or CUSTOMER; None when not encrypted
    performance_mode: Optional[str] = None
    throughput_mode: Optional[str] = None
    mount_target_count: Optional[int] = None
    backup_policy: Optional[str] = None  # ENABLED, DISABLED, ...
    access_points: list[EfsAccessPoint] = ModelField(default_factory=list)
    access_point_count: Optional[int] = None
    mount_target_security_groups: list[list[str]] = ModelField(default_factory=list)  # per mount target
    # Every mount target is in an EKS cluster's security group (linked: collectors.eks.link_cluster_security_groups).
    in_eks_cluster_security_group: Optional[bool] = None
    # No mount target's subnet routes to an internet gateway.
    mount_targets_private: Optional[bool] = None
    # The file system policy denies every client that does not use TLS (aws:SecureTransport false).
    tls_required: Optional[bool] = None


def denies_mounts_without_tls(statements: list[dict]) -> bool:
    """What the console's "Enforce in-transit encryption for all clients" writes: a Deny for every principal,
    on every EFS client action (``*``, ``elasticfilesystem:*`` or at least ClientMount), whose only condition is
    ``aws:SecureTransport = false``."""
    return any(s.get("Effect") == "Deny" and is_everyone(s.get("Principal")) and
               grants(s, "elasticfilesystem:clientmount") and only_insecure_transport(s.get("Condition"))
               for s in statements)


def _tls_from_document(document: Any) -> Any:
    if isinstance(document, str):
        try:
            document = json.loads(document)
        except json.JSONDecodeError:
            return Unknown(f"the file system policy is not JSON ({document[:60]})")
    document = clean(document)
    unresolved = unresolved_policy_part(document)
    if unresolved is not None:
        return Unknown(f"the file system policy is not resolved in the IaC ({unresolved})")
    return denies_mounts_without_tls(statements_of(document))


_NO_POLICY = "no file system policy: any client in the security groups may mount without TLS"


def _tls_tf(props: dict, ctx: Any) -> Any:
    policies = ctx.pointing("aws_efs_file_system_policy", "file_system_id")
    return _tls_from_document(ctx.document(get(policies[0][1], "policy"))) if policies else Defaulted(False, _NO_POLICY)


def _tls_cfn(props: dict, ctx: Any) -> Any:
    document = props.get("FileSystemPolicy")
    return _tls_from_document(document) if document else Defaulted(False, _NO_POLICY)


def _mount_targets_private_iac(source: str, rtype: str, attribute: str, subnet: str):
    def read(props: dict, ctx: Any) -> Any:
        targets = ctx.pointing(rtype, attribute)
        if not targets:
            return Unknown("no mount target is declared in the IaC")
        return subnets_private_iac(source, ctx, [iac_value(attrs, subnet) for _, attrs in targets])
    return read


def _efs_name(raw: dict) -> Any:
    tags = {t.get("Key"): t.get("Value") for t in raw.get("Tags") or []}
    return raw.get("Name") or tags.get("Name") or raw.get("FileSystemId")


def _efs_backup_tf(props: dict, ctx: Any) -> Any:
    policy = ctx.pointing("aws_efs_backup_policy", "file_system_id")
    return str(get(policy[0], "backup_policy", "status")) if policy else "DISABLED"


def _access_points(rows: Any, ident: str, path: str, permissions: str) -> list[EfsAccessPoint]:
    return [EfsAccessPoint(id=str(iac_value(r, ident)), path=iac_value(r, path),
                           permissions=None if iac_value(r, permissions) is None else str(iac_value(r, permissions)))
            for r in rows or [] if isinstance(r, dict)]


def _iac_access_points(rtype: str, attribute: str, ident: str, path: str, permissions: str):
    """The access points the IaC declares on this file system; none declared is not "none": the EFS CSI driver
    makes them at run time, per PersistentVolumeClaim."""
    def read(props: dict, ctx: Any) -> Any:
        found = ctx.pointing(rtype, attribute)
        if not found:
            return Unknown("no access point is declared in the IaC (the EFS CSI driver makes them at run time)")
        return [EfsAccessPoint(id=name, path=iac_value(attrs, path),
                               permissions=None if iac_value(attrs, permissions) is None else str(iac_value(attrs, permissions)))
                for name, attrs in found]
    return read


EFS = TypeMap(
    model=EFSFileSystem, api_operation="DescribeFileSystems", api_id="FileSystemId", api_name=_efs_name,
    api_arn="FileSystemArn", api_tags="Tags",
    tf_types=("aws_efs_file_system",), tf_name=lambda a: get(a, "tags", "Name") or get(a, "creation_token"),
    cfn_types=("AWS::EFS::FileSystem",), cfn_tags="FileSystemTags",
    cfn_name=lambda p: {t.get("Key"): t.get("Value") for t in p.get("FileSystemTags") or [] if isinstance(t, dict)}.get("Name"),
    fields=(
        Field("encrypted", "bool", api="Encrypted", tf="encrypted", cfn="Encrypted", default=False,
              note="unencrypted unless encrypted"),
        Field("kms_key_id", "ref", api="KmsKeyId", tf="kms_key_id", cfn="KmsKeyId"),
        Field("kms_key_manager", "key_manager", tf="kms_key_id", cfn="KmsKeyId", default="aws/elasticfilesystem",
              when="encrypted"),
        Field("performance_mode", api="PerformanceMode", tf="performance_mode", cfn="PerformanceMode",
              default="generalPurpose", note="generalPurpose"),
        Field("throughput_mode", api="ThroughputMode", tf="throughput_mode", cfn="ThroughputMode", default="bursting",
              note="bursting", api_absent="default"),
        Field("mount_target_count", "int", api="NumberOfMountTargets",
              tf=lambda p, ctx: len(ctx.pointing("aws_efs_mount_target", "file_system_id")),
              cfn=lambda p, ctx: len(ctx.pointing("AWS::EFS::MountTarget", "FileSystemId"))),
        Field("backup_policy", tf=_efs_backup_tf, cfn=lambda p, ctx: get(p, "BackupPolicy", "Status") or "DISABLED"),
        Field("access_points", "raw", api_call="DescribeAccessPoints",
              api=lambda raw: _access_points(raw.get("AccessPoints"), "AccessPointId", "RootDirectory.Path",
                                             "RootDirectory.CreationInfo.Permissions"),
              tf=_iac_access_points("aws_efs_access_point", "file_system_id", "", "root_directory.path",
                                    "root_directory.creation_info.permissions"),
              cfn=_iac_access_points("AWS::EFS::AccessPoint", "FileSystemId", "", "RootDirectory.Path",
                                     "RootDirectory.CreationInfo.Permissions")),
        Field("mount_target_security_groups", "raw", api_call="DescribeMountTargetSecurityGroups",
              api=lambda raw: [list(groups) for groups in raw.get("PerMountTarget", [])],
              tf=lambda p, ctx: [_groups(ctx, attrs.get("security_groups")) for _, attrs in
                                 ctx.pointing("aws_efs_mount_target", "file_system_id")],
              cfn=lambda p, ctx: [_groups(ctx, attrs.get("SecurityGroups")) for _, attrs in
                                  ctx.pointing("AWS::EFS::MountTarget", "FileSystemId")]),
        Field("mount_targets_private", "raw", api_call="DescribeMountTargets", api=lambda raw: raw["private"],
              tf=_mount_targets_private_iac("tf", "aws_efs_mount_target", "file_system_id", "subnet_id"),
              cfn=_mount_targets_private_iac("cfn", "AWS::EFS::MountTarget", "FileSystemId", "SubnetId")),
        Field("tls_required", "raw", api_call="DescribeFileSystemPolicy", api=lambda raw: _tls_from_document(raw["Policy"]),
              tf=_tls_tf, cfn=_tls_cfn),
    ),
    finish_tf=lambda props, fs, ctx, d: _count_access_points(fs, d),
    finish_cfn=lambda props, fs, ctx, d: _count_access_points(fs, d),
)


def _groups(ctx: Any, value: Any) -> list[str]:
    """An IaC mount target's security groups; the security group EKS makes for a cluster of the IaC (a reference
    to its ``cluster_security_group_id``) is named ``eks-cluster-sg:CLUSTER``, as the cluster's own field is."""
    out = []
    for group in flat(value):
        text = str(group)
        if ctx.type_of(group) in ("aws_eks_cluster", "AWS::EKS::Cluster") and \
                ("cluster_security_group_id" in text or "ClusterSecurityGroupId" in text):
            out.append(f"eks-cluster-sg:{ctx.resolve(group)}")
        else:
            out.append(str(ctx.resolve(group)))
    return out


def _count_access_points(fs: Resource, declared: Declared) -> None:
    assert isinstance(fs, EFSFileSystem)
    if "access_points" in declared.unknown:
        declared.unknown["access_point_count"] = declared.unknown["access_points"]
    else:
        fs.access_point_count = len(fs.access_points)


LISTED = ("tags", *EFS.api_properties)


def fetch_backup_policy(calls: AwsCalls, fs: EFSFileSystem) -> None:
    answer = calls.client("efs", fs.region).describe_backup_policy(FileSystemId=fs.id)
    fs.backup_policy = answer.get("BackupPolicy", {}).get("Status", "DISABLED")


def fetch_access_points(calls: AwsCalls, fs: EFSFileSystem) -> None:
    client = calls.client("efs", fs.region)
    points = []
    for page in client.get_paginator("describe_access_points").paginate(FileSystemId=fs.id):
        fill_from_api(EFS, "DescribeAccessPoints", page, fs)
        points.extend(fs.access_points)
    fs.access_points = points
    fs.access_point_count = len(points)


def _mount_targets(calls: AwsCalls, fs: EFSFileSystem) -> list[dict]:
    """DescribeMountTargets once per file system, for the families that read its answer."""
    def fetch() -> list[dict]:
        paginator = calls.client("efs", fs.region).get_paginator("describe_mount_targets")
        return [t for page in paginator.paginate(FileSystemId=fs.id) for t in page.get("MountTargets", [])]
    return calls.once(f"efs:DescribeMountTargets:{fs.region}:{fs.id}", fetch)


def fetch_mount_target_groups(calls: AwsCalls, fs: EFSFileSystem) -> None:
    client = calls.client("efs", fs.region)
    per_target = []
    for target in _mount_targets(calls, fs):
        answer = client.describe_mount_target_security_groups(MountTargetId=target["MountTargetId"])
        per_target.append(answer.get("SecurityGroups", []))
    fill_from_api(EFS, "DescribeMountTargetSecurityGroups", {"PerMountTarget": per_target}, fs)


def fetch_mount_target_subnets(calls: AwsCalls, fs: EFSFileSystem) -> None:
    """Private subnets: no mount target's subnet routes to an internet gateway (DescribeRouteTables per region)."""
    targets = _mount_targets(calls, fs)
    if not targets:
        raise Unreadable("the file system has no mount target")
    public = public_subnets(calls, fs.region, targets[0].get("VpcId"), [t["SubnetId"] for t in targets])
    fill_from_api(EFS, "DescribeMountTargets", {"private": not public}, fs)


def fetch_policy(calls: AwsCalls, fs: EFSFileSystem) -> None:
    answer = calls.client("efs", fs.region).describe_file_system_policy(FileSystemId=fs.id)
    fill_from_api(EFS, "DescribeFileSystemPolicy", {"Policy": answer.get("Policy") or "{}"}, fs)


fetch_key_manager = encrypted_key_manager("DescribeFileSystems")


COLLECTOR = Collector(
    service="efs",
    resource_type=EFSFileSystem,
    list_operation="DescribeFileSystems",
    list_resources=paginated_listing("efs", "describe_file_systems", "FileSystems", partial(from_api, EFS)),
    listed_properties=LISTED,
    families={
        "backup_policy": Family("backup_policy", "DescribeBackupPolicy", ("backup_policy",), fetch_backup_policy,
                                ("PolicyNotFound",), lambda fs: setattr(fs, "backup_policy", "DISABLED")),
        "kms_key_manager": Family("kms_key_manager", "DescribeKey", ("kms_key_manager",), fetch_key_manager),
        "access_points": Family("access_points", "DescribeAccessPoints", ("access_points", "access_point_count"),
                                fetch_access_points),
        "mount_target_security_groups": Family(
            "mount_target_security_groups", "DescribeMountTargetSecurityGroups",
            EFS.read_by("DescribeMountTargetSecurityGroups"), fetch_mount_target_groups),
        "mount_target_subnets": Family("mount_target_subnets", "DescribeMountTargets",
                                       EFS.read_by("DescribeMountTargets"), fetch_mount_target_subnets),
        "policy": Family("policy", "DescribeFileSystemPolicy", EFS.read_by("DescribeFileSystemPolicy"), fetch_policy,
                         ("PolicyNotFound",), lambda fs: setattr(fs, "tls_required", False)),
    },
    derived={"in_eks_cluster_security_group": ("mount_target_security_groups",)},
)
