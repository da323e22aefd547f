"""EBS volumes: describe_volumes per region, and the region's encryption-by-default setting."""
from __future__ import annotations

from functools import partial

from auditor.collectors.base import AwsCalls, Collector, Family, paginated_listing
from auditor.collectors.kms import key_manager, require_key
from auditor.mappings import from_api
from auditor.mappings.tables import EBS
from auditor.resources import EBSVolume

LISTED = ("tags", *EBS.api_properties)


def fetch_region_default(calls: AwsCalls, volume: EBSVolume) -> None:
    def read() -> bool:
        return bool(calls.client("ec2", volume.region).get_ebs_encryption_by_default()["EbsEncryptionByDefault"])

    volume.region_encryption_by_default = calls.once(f"ec2:{volume.region}:ebs_encryption_by_default", read)


def fetch_key_manager(calls: AwsCalls, volume: EBSVolume) -> None:
    volume.kms_key_manager = key_manager(calls, volume.region, require_key(volume.kms_key_id, "DescribeVolumes")) \
        if volume.encrypted else None


COLLECTOR = Collector(
    service="ec2",
    resource_type=EBSVolume,
    list_operation="DescribeVolumes",
    list_resources=paginated_listing("ec2", "describe_volumes", "Volumes", partial(from_api, EBS)),
    listed_properties=LISTED,
    families={
        "region_encryption_by_default": Family(
            "region_encryption_by_default", "GetEbsEncryptionByDefault", ("region_encryption_by_default",),
            fetch_region_default),
        "kms_key_manager": Family("kms_key_manager", "DescribeKey", ("kms_key_manager",), fetch_key_manager),
    },
)
