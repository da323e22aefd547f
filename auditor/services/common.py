"""What several tables share."""
from __future__ import annotations

from typing import Any

from auditor.services.model import Resource


def major_version(resource: Resource) -> None:
    """engine_major_version from engine_version ("14.9" -> "14")."""
    version = getattr(resource, "engine_version", None)
    resource.engine_major_version = version.split(".")[0] if isinstance(version, str) and version else None


def flat(value: Any) -> list:
    while isinstance(value, list) and len(value) == 1 and isinstance(value[0], list):
        value = value[0]
    return value if isinstance(value, list) else [] if value is None else [value]


def partition_of(region: str) -> str:
    """The ARN partition of a region (aws-cn for cn-north-1, aws-us-gov for us-gov-west-1)."""
    return "aws-cn" if region.startswith("cn-") else "aws-us-gov" if region.startswith("us-gov-") else "aws"
