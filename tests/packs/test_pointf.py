"""The pointf pack on plain data: a passing and a failing resource per rule (tests/packs/cases.py)."""
from __future__ import annotations

from tests.packs.cases import ABSENT, PRESENT, pack_tests

PACK = "pointf"

CASES = {
    "PTF-RDS-001": (PRESENT, ABSENT),
    "PTF-RDS-002": (
        {"engine": "postgres", "engine_major_version": "15"},
        {"engine": "postgres-other", "engine_major_version": "15"},
    ),
    "PTF-RDS-003": ({"instance_class": "db.t3.micro"}, {"instance_class": "db.t3.micro-other"}),
    "PTF-RDS-004": ({"allocated_storage_gb": 20}, {"allocated_storage_gb": 19}),
    "PTF-RDS-005": ({"backup_retention_days": 30}, {"backup_retention_days": 29}),
    "PTF-RDS-006": ({"multi_az": True}, {"multi_az": False}),
    "PTF-RDS-007": ({"publicly_accessible": False}, {"publicly_accessible": True}),
    "PTF-RDS-008": ({"db_name": "ecommerce"}, {"db_name": "ecommerce-other"}),
    "PTF-RDS-009": ({"in_private_subnets": True}, {"in_private_subnets": False}),
    "PTF-DDB-001": (PRESENT, ABSENT),
    "PTF-DDB-002": (
        {"key_schema": {"partition_key": "session_id", "partition_key_type": "S"}},
        {"key_schema": {"partition_key": "session_id-other", "partition_key_type": "S"}},
    ),
    "PTF-DDB-003": (
        {
            "key_schema": {"partition_key": "user_id", "partition_key_type": "S", "sort_key": "product_id", "sort_key_type": "S"},
        },
        {
            "key_schema": {
                "partition_key": "user_id-other",
                "partition_key_type": "S",
                "sort_key": "product_id",
                "sort_key_type": "S",
            },
        },
    ),
    "PTF-DDB-004": (
        {"key_schema": {"partition_key": "id", "partition_key_type": "S"}},
        {"key_schema": {"partition_key": "id-other", "partition_key_type": "S"}},
    ),
    "PTF-DDB-005": (
        {
            "key_schema": {"partition_key": "order_id", "partition_key_type": "S", "sort_key": "timestamp", "sort_key_type": "S"},
        },
        {
            "key_schema": {
                "partition_key": "order_id-other",
                "partition_key_type": "S",
                "sort_key": "timestamp",
                "sort_key_type": "S",
            },
        },
    ),
    "PTF-DDB-006": (
        {"ttl": {"status": "ENABLED", "attribute": "expires_at"}},
        {"ttl": {"status": "OTHER", "attribute": "expires_at"}},
    ),
    "PTF-DDB-007": (
        {"ttl": {"status": "ENABLED", "attribute": "ttl"}},
        {"ttl": {"status": "OTHER", "attribute": "ttl"}},
    ),
    "PTF-DDB-008": ({"billing_mode": "PAY_PER_REQUEST"}, {"billing_mode": "OTHER"}),
    "PTF-S3-001": (PRESENT, ABSENT),
    "PTF-S3-002": ({"versioning": {"status": "Enabled"}}, {"versioning": {"status": "Enabled-other"}}),
    "PTF-S3-003": ({"versioning": {"status": "Enabled-other"}}, {"versioning": {"status": "Enabled"}}),
    "PTF-S3-004": (
        {"encryption": {"enabled": True, "algorithm": "AES256"}},
        {"encryption": {"enabled": False, "algorithm": "AES256"}},
    ),
    "PTF-S3-005": (
        {"effective_public_access_block": {"all_blocked": True}},
        {"effective_public_access_block": {"all_blocked": False}},
    ),
}

test_every_rule_has_a_row, test_passes, test_fails = pack_tests(PACK, CASES)
