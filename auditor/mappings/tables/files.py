"""EFS file systems (access points, mount-target security groups) and EBS volumes."""
from __future__ import annotations

from typing import Any

from auditor.iac.values import Declared, as_bool, get
from auditor.mappings.fields import Field, TypeMap, Unknown, iac_value
from auditor.mappings.tables.common import flat, partition_of
from auditor.resources import EBSVolume, EfsAccessPoint, EFSFileSystem, Resource


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


def _region_default_tf(props: dict, ctx: Any) -> Any:
    declared = ctx.of_type("aws_ebs_encryption_by_default")
    if not declared:
        return Unknown("the region's EBS encryption default is not declared in this IaC")
    return bool(as_bool(get(declared[0], "enabled", default=True)))


def _gp3(value: int):
    return lambda r: value if r.volume_type == "gp3" else None


def _ebs_arn(raw: dict, volume: Resource) -> None:
    volume.arn = f"arn:{partition_of(volume.region)}:ec2:{volume.region}:{volume.account_id}:volume/{volume.id}"


def _named_by_tag(props: dict, volume: Resource, ctx: Any, declared: Declared) -> None:
    """An IaC volume's id is its address (it has no name of its own); its name is its Name tag where it has one."""
    volume.name = volume.tags.get("Name") or volume.id


EBS = TypeMap(
    model=EBSVolume, api_operation="DescribeVolumes", api_id="VolumeId",
    api_name=lambda raw: {t["Key"]: t["Value"] for t in raw.get("Tags", [])}.get("Name") or raw["VolumeId"],
    api_tags="Tags", finish_api=_ebs_arn,
    tf_types=("aws_ebs_volume",), cfn_types=("AWS::EC2::Volume",), finish_tf=_named_by_tag, finish_cfn=_named_by_tag,
    fields=(
        Field("volume_type", api="VolumeType", tf="type", cfn="VolumeType", default="gp2", note="gp2 unless type says otherwise"),
        Field("size_gb", "int", api="Size", tf="size", cfn="Size"),
        Field("iops", "int", api="Iops", tf="iops", cfn="Iops", default=_gp3(3000),
              note=lambda r: "3000 IOPS on gp3" if r.volume_type == "gp3" else ""),
        Field("throughput_mbps", "int", api="Throughput", tf="throughput", cfn="Throughput", default=_gp3(125),
              note=lambda r: "125 MB/s on gp3" if r.volume_type == "gp3" else ""),
        Field("region_encryption_by_default", "raw", tf=_region_default_tf,
              cfn=lambda p, ctx: Unknown("the region's EBS encryption default is not part of a template")),
        Field("encrypted", "bool", api="Encrypted", tf="encrypted", cfn="Encrypted",
              default=lambda r: bool(r.region_encryption_by_default),
              note="unencrypted unless encrypted (or the region encrypts by default)"),
        Field("kms_key_id", "ref", api="KmsKeyId", tf="kms_key_id", cfn="KmsKeyId"),
        Field("kms_key_manager", "key_manager", tf="kms_key_id", cfn="KmsKeyId", default="aws/ebs", when="encrypted"),
        Field("state", api="State"),
        Field("attached", "bool", api=lambda raw: bool(raw.get("Attachments"))),
        Field("availability_zone", api="AvailabilityZone", tf="availability_zone", cfn="AvailabilityZone"),
    ),
)
