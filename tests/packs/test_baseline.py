"""The baseline pack on plain data: a passing and a failing resource per rule (tests/packs/cases.py)."""
from __future__ import annotations

from tests.packs.cases import pack_tests

PACK = "baseline"

CASES = {
    "BASE-S3-001": ({"encryption": {"enabled": True}}, {"encryption": {"enabled": False}}),
    "BASE-S3-002": (
        {"effective_public_access_block": {"all_blocked": True}},
        {"effective_public_access_block": {"all_blocked": False}},
    ),
    "BASE-S3-003": ({"policy": {"denies_insecure_transport": True}}, {"policy": {"denies_insecure_transport": False}}),
    "BASE-S3-004": ({"policy": {"allows_public_principal": False}}, {"policy": {"allows_public_principal": True}}),
    "BASE-S3-005": ({"versioning": {"status": "Enabled"}}, {"versioning": {"status": "Enabled-other"}}),
    "BASE-DDB-001": ({"pitr": {"status": "ENABLED"}}, {"pitr": {"status": "OTHER"}}),
    "BASE-DDB-002": ({"deletion_protection": True}, {"deletion_protection": False}),
    "BASE-RDS-001": ({"storage_encrypted": True}, {"storage_encrypted": False}),
    "BASE-RDS-002": ({"publicly_accessible": False}, {"publicly_accessible": True}),
    "BASE-RDS-003": ({"is_read_replica": True}, {"is_read_replica": False, "backup_retention_days": 6}),
    "BASE-RDS-004": ({"deletion_protection": True}, {"deletion_protection": False}),
    "BASE-RDS-005": ({"storage_encrypted": True}, {"storage_encrypted": False}),
    "BASE-RDS-006": ({"backup_retention_days": 7}, {"backup_retention_days": 6}),
    "BASE-RDS-007": ({"deletion_protection": True}, {"deletion_protection": False}),
    "BASE-RDS-008": ({"multi_az": True}, {"multi_az": False}),
    "BASE-CACHE-001": (
        {"at_rest_encryption": True, "transit_encryption": True},
        {"at_rest_encryption": False, "transit_encryption": True},
    ),
    "BASE-CACHE-002": ({"automatic_failover": True}, {"automatic_failover": False}),
    "BASE-CACHE-003": ({"snapshot_retention_days": 1}, {"snapshot_retention_days": 0}),
    "BASE-OS-001": ({"encryption_at_rest": True}, {"encryption_at_rest": False}),
    "BASE-OS-002": (
        {"node_to_node_encryption": True, "enforce_https": True},
        {"node_to_node_encryption": False, "enforce_https": True},
    ),
    "BASE-EFS-001": ({"encrypted": True}, {"encrypted": False}),
    "BASE-EBS-001": ({"encrypted": True}, {"encrypted": False}),
    "BASE-EBS-002": ({"region_encryption_by_default": True}, {"region_encryption_by_default": False}),
    "BASE-EBS-003": ({"volume_type": "gp2-other"}, {"volume_type": "gp2"}),
    "BASE-DAX-001": ({"sse_enabled": True}, {"sse_enabled": False}),
    "BASE-DAX-002": ({"endpoint_encryption": "TLS"}, {"endpoint_encryption": "OTHER"}),
    "BASE-CF-001": (
        {"behaviors": [{"distribution": "E2EXAMPLE", "viewer_protocol_policy": "redirect-to-https"}]},
        {"behaviors": [{"distribution": "E2EXAMPLE", "viewer_protocol_policy": "not-listed"}]},
    ),
    "BASE-SSM-001": ({"parameter_type": "SecureString"}, {"parameter_type": "SecureString-other"}),
    "BASE-SQS-001": ({"encryption": "SSE-SQS"}, {"encryption": "not-listed"}),
    "BASE-SQS-002": ({"dead_letter_target": "x"}, {"is_dead_letter_queue": False}),
}

test_every_rule_has_a_row, test_passes, test_fails = pack_tests(PACK, CASES)
