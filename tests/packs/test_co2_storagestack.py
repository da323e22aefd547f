"""The co2-storagestack pack on plain data: a passing and a failing resource per rule (tests/packs/cases.py)."""
from __future__ import annotations

from tests.packs.cases import ABSENT, PRESENT, pack_tests

PACK = "co2-storagestack"

CASES = {
    "CO2-DDB-001": (PRESENT, ABSENT),
    "CO2-DDB-002": (
        {"key_schema": {"partition_key": "cache_key", "partition_key_type": "S"}},
        {"key_schema": {"partition_key": "cache_key-other", "partition_key_type": "S"}},
    ),
    "CO2-DDB-003": (
        {"ttl": {"status": "ENABLED", "attribute": "ttl"}},
        {"ttl": {"status": "OTHER", "attribute": "ttl"}},
    ),
    "CO2-DDB-004": (
        {"gsis": [{"name": "cached-at-index", "partition_key": "cached_at", "partition_key_type": "S",
                   "projection_type": "ALL"}]},
        {"gsis": [{"name": "cached-at-index", "partition_key": "cached_at", "partition_key_type": "N",
                   "projection_type": "ALL"}]},  # an epoch number, not the spec's String
    ),
    "CO2-DDB-005": (
        {"stream": {"enabled": True, "view_type": "NEW_AND_OLD_IMAGES"}},
        {"stream": {"enabled": False, "view_type": "NEW_AND_OLD_IMAGES"}},
    ),
    "CO2-DDB-006": ({"pitr": {"status": "ENABLED"}}, {"pitr": {"status": "OTHER"}}),
    "CO2-DDB-010": ({"pitr": {"status": "OTHER"}}, {"pitr": {"status": "ENABLED", "recovery_period_days": 34}}),
    "CO2-DDB-007": (
        {"billing_mode": "PROVISIONED", "read_capacity": 5, "write_capacity": 5},
        {"billing_mode": "OTHER", "read_capacity": 5, "write_capacity": 5},
    ),
    "CO2-DDB-008": ({"billing_mode": "PAY_PER_REQUEST"}, {"billing_mode": "OTHER"}),
    "CO2-DDB-009": (
        {"sse": {"type": "KMS"}, "kms_key_manager": "AWS"},
        {"sse": {"type": "OTHER"}, "kms_key_manager": "AWS"},
    ),
    "CO2-S3-001": (PRESENT, ABSENT),
    "CO2-S3-002": (
        {"effective_public_access_block": {"all_blocked": True}},
        {"effective_public_access_block": {"all_blocked": False}},
    ),
    "CO2-S3-003": (
        {"encryption": {"enabled": True, "algorithm": "AES256"}},
        {"encryption": {"enabled": False, "algorithm": "AES256"}},
    ),
    "CO2-S3-004": ({"policy": {"denies_insecure_transport": True}}, {"policy": {"denies_insecure_transport": False}}),
    "CO2-S3-005": ({"versioning": {"status": "Enabled"}}, {"versioning": {"status": "Enabled-other"}}),
    "CO2-S3-006": ({"cors": {"configured": True}}, {"cors": {"configured": False}}),
    "CO2-S3-007": (
        {"policy": {"allows_public_principal": False, "grants_reads_to_others": False}},
        {"policy": {"allows_public_principal": True, "grants_reads_to_others": False}},
    ),
    "CO2-S3-009": (
        {"cdn": {"served": True, "behaviors": [{"distribution": "E2EXAMPLE", "origin_access": "OAI"}]}},
        {"cdn": {"served": False, "behaviors": [{"distribution": "E2EXAMPLE", "origin_access": "OAI"}]}},
    ),
    "CO2-S3-010": ({"tags": {"aws-cdk:auto-delete-objects": "true"}}, {"tags": {}}),
    "CO2-S3-011": ({"tags": {}}, {"tags": {"aws-cdk:auto-delete-objects": "true"}}),
    "CO2-S3-008": ({"policy": {"grants_reads_to_cdn": True}}, {"policy": {"grants_reads_to_cdn": False}}),
    "CO2-SSM-001": (PRESENT, ABSENT),
    "CO2-SSM-002": ({"tier": "Standard"}, {"tier": "Standard-other"}),
    "CO2-ALARM-001": (
        {
            "alarms": [
                {
                    "name": "alarm-1",
                    "namespace": "AWS/DynamoDB",
                    "metric_name": "ThrottledRequests",
                    "statistic": "Sum",
                    "period": 300,
                    "evaluation_periods": 1,
                    "comparison_operator": "GreaterThanThreshold",
                    "threshold": 10,
                },
            ],
        },
        {
            "alarms": [
                {
                    "name": "alarm-1",
                    "namespace": "AWS/DynamoDB-other",
                    "metric_name": "ThrottledRequests",
                    "statistic": "Sum",
                    "period": 300,
                    "evaluation_periods": 1,
                    "comparison_operator": "GreaterThanThreshold",
                    "threshold": 10,
                },
            ],
        },
    ),
    "CO2-ALARM-002": (
        {
            "alarms": [
                {
                    "name": "alarm-1",
                    "namespace": "AWS/DynamoDB",
                    "metric_name": "SuccessfulRequestLatency",
                    "extended_statistic": "p99",
                    "comparison_operator": "GreaterThanThreshold",
                    "threshold": 100,
                },
            ],
        },
        {
            "alarms": [
                {
                    "name": "alarm-1",
                    "namespace": "AWS/DynamoDB-other",
                    "metric_name": "SuccessfulRequestLatency",
                    "extended_statistic": "p99",
                    "comparison_operator": "GreaterThanThreshold",
                    "threshold": 100,
                },
            ],
        },
    ),
    "CO2-ALARM-003": (
        {
            "alarms": [
                {
                    "name": "alarm-1",
                    "namespace": "AWS/S3",
                    "metric_names": ["4xxErrors", "AllRequests"],
                    "comparison_operator": "GreaterThanThreshold",
                    "threshold": 5,
                },
            ],
        },
        {
            "alarms": [
                {
                    "name": "alarm-1",
                    "namespace": "OTHER",
                    "metric_names": ["4xxErrors", "AllRequests"],
                    "comparison_operator": "GreaterThanThreshold",
                    "threshold": 5,
                },
            ],
        },
    ),
    "CO2-ALARM-004": (
        {
            "alarms": [
                {
                    "name": "alarm-1",
                    "namespace": "AWS/S3",
                    "metric_names": ["5xxErrors"],
                    "comparison_operator": "GreaterThanThreshold",
                    "threshold": 0,
                },
            ],
        },
        {
            "alarms": [
                {
                    "name": "alarm-1",
                    "namespace": "OTHER",
                    "metric_names": ["5xxErrors"],
                    "comparison_operator": "GreaterThanThreshold",
                    "threshold": 0,
                },
            ],
        },
    ),
}

test_every_rule_has_a_row, test_passes, test_fails = pack_tests(PACK, CASES)
