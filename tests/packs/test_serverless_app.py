"""The serverless-app pack on plain data: a passing and a failing resource per rule (tests/packs/cases.py)."""
from __future__ import annotations

from tests.packs.cases import ABSENT, PRESENT, pack_tests

PACK = "serverless-app"

CASES = {
    "SRV-DDB-001": (PRESENT, ABSENT),
    "SRV-DDB-002": (
        {"key_schema": {"partition_key": "userId", "partition_key_type": "S"}},
        {"key_schema": {"partition_key": "userId-other", "partition_key_type": "S"}},
    ),
    "SRV-DDB-003": (
        {
            "key_schema": {"partition_key": "taskId", "partition_key_type": "S", "sort_key": "userId", "sort_key_type": "S"},
        },
        {
            "key_schema": {"partition_key": "taskId-other", "partition_key_type": "S", "sort_key": "userId", "sort_key_type": "S"},
        },
    ),
    "SRV-DDB-004": (
        {"gsis": [{"name": "status-createdAt", "partition_key": "status", "sort_key": "createdAt",
                   "partition_key_type": "S", "sort_key_type": "N"}]},
        {"gsis": [{"name": "status-createdAt", "partition_key": "status", "sort_key": "createdAt",
                   "partition_key_type": "N", "sort_key_type": "S"}]},  # a numeric status code
    ),
    "SRV-DDB-005": ({"billing_mode": "PAY_PER_REQUEST"}, {"billing_mode": "OTHER"}),
    "SRV-S3-001": (PRESENT, ABSENT),
    "SRV-S3-002": (
        {"lifecycle": {"transition_days": {"STANDARD_IA": 30, "GLACIER": 90}}},
        {"lifecycle": {"transition_days": {"STANDARD_IA": 31, "GLACIER": 90}}},
    ),
    "SRV-S3-003": ({"lifecycle": {"expiration_days": 365}}, {"lifecycle": {"transition_days": {"GLACIER": 30}}}),
    "SRV-S3-004": ({"intelligent_tiering": True}, {"intelligent_tiering": False}),
    "SRV-CACHE-001": (PRESENT, ABSENT),
    "SRV-CACHE-002": ({"engine": "redis"}, {"engine": "redis-other"}),
    "SRV-CACHE-003": ({"node_type": "cache.t3.micro"}, {"node_type": "cache.t3.micro-other"}),
}

test_every_rule_has_a_row, test_passes, test_fails = pack_tests(PACK, CASES)
