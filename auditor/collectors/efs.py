"""EFS file systems: describe_file_systems carries encryption, modes, mount targets and tags."""
from __future__ import annotations

from functools import partial

from auditor.collectors.base import AwsCalls, Collector, Family, paginated_listing
from auditor.collectors.kms import key_manager, require_key
from auditor.mappings import from_api
from auditor.mappings.fields import fill_from_api
from auditor.mappings.tables import EFS
from auditor.resources import EFSFileSystem

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


def fetch_mount_target_groups(calls: AwsCalls, fs: EFSFileSystem) -> None:
    client = calls.client("efs", fs.region)
    per_target = []
    for page in client.get_paginator("describe_mount_targets").paginate(FileSystemId=fs.id):
        for target in page.get("MountTargets", []):
            answer = client.describe_mount_target_security_groups(MountTargetId=target["MountTargetId"])
            per_target.append(answer.get("SecurityGroups", []))
    fill_from_api(EFS, "DescribeMountTargetSecurityGroups", {"PerMountTarget": per_target}, fs)


def fetch_key_manager(calls: AwsCalls, fs: EFSFileSystem) -> None:
    fs.kms_key_manager = key_manager(calls, fs.region, require_key(fs.kms_key_id, "DescribeFileSystems")) \
        if fs.encrypted else None


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
    },
    derived={"in_eks_cluster_security_group": ("mount_target_security_groups",)},
)
