"""EBS volumes: the model, its field table, and the live fetch (DescribeVolumes per region, and the region's
encryption-by-default setting)."""
from __future__ import annotations

from functools import partial
from typing import Any, ClassVar, Optional

from auditor.services.common import partition_of
from auditor.services.fetch import AwsCalls, Collector, Family, paginated_listing
from auditor.services.fields import Field, TypeMap, Unknown, from_api
from auditor.services.model import Resource
from auditor.services.values import Declared, as_bool, get
from auditor.services.kms import encrypted_key_manager


class EBSVolume(Resource):
    type: ClassVar[str] = "AWS::EC2::Volume"
    volume_type: Optional[str] = None
    size_gb: Optional[int] = None
    iops: Optional[int] = None
    throughput_mbps: Optional[int] = None
    encrypted: Optional[bool] = None
    kms_key_id: Optional[str] = None
    state: Optional[str] = None
    attached: Optional[bool] = None
    availability_zone: Optional[str] = None
    kms_key_manager: Optional[str] = None  # AWS (aws/ebs) or CUSTOMER; None when not encrypted
    # Region-wide "EBS encryption by default" setting, which new volumes inherit.
    region_encryption_by_default: Optional[bool] = None


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


LISTED = ("tags", *EBS.api_properties)


def fetch_region_default(calls: AwsCalls, volume: EBSVolume) -> None:
    def read() -> bool:
        return bool(calls.client("ec2", volume.region).get_ebs_encryption_by_default()["EbsEncryptionByDefault"])

    volume.region_encryption_by_default = calls.once(f"ec2:{volume.region}:ebs_encryption_by_default", read)


fetch_key_manager = encrypted_key_manager("DescribeVolumes")


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
