"""Who manages a KMS key: DescribeKey's KeyManager, once per key and run.

A spec that asks for "AWS managed keys" (aws/ebs, aws/elasticfilesystem, aws/dynamodb) is not met by a
customer managed key, though both are "KMS encryption": the collectors of encrypted resources give each its
key's manager as ``kms_key_manager`` ("AWS" or "CUSTOMER"), read here.
"""
from __future__ import annotations

from auditor.services.fetch import AwsCalls, Unreadable


def key_manager(calls: AwsCalls, region: str, key_id: str) -> str:
    def describe() -> str:
        metadata = calls.client("kms", region).describe_key(KeyId=key_id)["KeyMetadata"]
        manager = metadata.get("KeyManager")
        if manager not in ("AWS", "CUSTOMER"):
            raise Unreadable(f"DescribeKey reported no KeyManager for {key_id}")
        return manager

    return calls.once(f"kms:{region}:{key_id}", describe)


def require_key(key_id: object, what: str) -> str:
    """The key an encrypted resource names; its absence from the answer is unknown, not "no key"."""
    if not isinstance(key_id, str) or not key_id:
        raise Unreadable(f"{what} reported encryption but no KmsKeyId")
    return key_id


def encrypted_key_manager(operation: str):
    """The family fetch of ``kms_key_manager`` for a resource that says ``encrypted`` and names its key in
    ``kms_key_id`` as ``operation`` answers it (an EBS volume, an EFS file system); None when not encrypted."""
    def fetch(calls: AwsCalls, resource) -> None:
        resource.kms_key_manager = key_manager(calls, resource.region, require_key(resource.kms_key_id, operation)) \
            if resource.encrypted else None
    return fetch
