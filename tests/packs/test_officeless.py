"""The officeless pack on plain data: a passing and a failing resource per rule (tests/packs/cases.py)."""
from __future__ import annotations

from tests.packs.cases import ABSENT, PRESENT, pack_tests

PACK = "officeless"

CASES = {
    "OFL-EBS-001": ({"volume_type": "gp3"}, {"volume_type": "gp3-other"}),
    "OFL-EBS-002": ({"encrypted": True}, {"encrypted": False}),
    "OFL-EBS-004": ({"encrypted": False}, {"encrypted": True, "kms_key_manager": "OTHER"}),
    "OFL-EBS-003": ({"iops": 3000, "throughput_mbps": 125}, {"iops": 2999, "throughput_mbps": 125}),
    "OFL-EKS-001": (
        {"addons": {"aws-ebs-csi-driver": "v1.42.0-eksbuild.1"}},
        {"addons": {"aws-ebs-csi-driver": "v1.42.0-eksbuild.1-other"}},
    ),
    "OFL-EFS-007": ({"in_eks_cluster_security_group": True}, {"in_eks_cluster_security_group": False}),
    "OFL-EFS-001": (PRESENT, ABSENT),
    "OFL-EFS-002": ({"encrypted": True}, {"encrypted": False}),
    "OFL-EFS-005": ({"encrypted": False}, {"encrypted": True, "kms_key_manager": "OTHER"}),
    "OFL-EFS-003": (
        {"performance_mode": "generalPurpose", "throughput_mode": "bursting"},
        {"performance_mode": "generalPurpose-other", "throughput_mode": "bursting"},
    ),
    "OFL-EFS-006": (
        {"access_point_count": 0},
        {"access_point_count": 1, "access_points": [{"id": "fsap-1", "permissions": "700-other"}]},
    ),
    "OFL-EFS-004": ({"mount_target_count": 3, "mount_targets_private": True},
                    {"mount_target_count": 3, "mount_targets_private": False}),
    "OFL-EFS-008": ({"tls_required": True}, {"tls_required": False}),
    "OFL-S3-001": (PRESENT, ABSENT),
    "OFL-S3-002": (
        {"encryption": {"enabled": True, "algorithm": "AES256"}},
        {"encryption": {"enabled": False, "algorithm": "AES256"}},
    ),
    "OFL-S3-003": (
        {"effective_public_access_block": {"all_blocked": True}},
        {"effective_public_access_block": {"all_blocked": False}},
    ),
    "OFL-S3-004": ({"versioning": {"status": "Enabled"}}, {"versioning": {"status": "Enabled-other"}}),
    "OFL-S3-005": ({"policy": {"exists": True, "denies_insecure_transport": True}},
                   {"policy": {"exists": True, "denies_insecure_transport": False}}),
    "OFL-CACHE-001": (PRESENT, ABSENT),
    "OFL-CACHE-002": ({"engine": "valkey"}, {"engine": "valkey-other"}),
    "OFL-CACHE-003": ({"internet_ingress_groups": []}, {"internet_ingress_groups": ["sg-0123456789abcdef0"]}),
}

test_every_rule_has_a_row, test_passes, test_fails = pack_tests(PACK, CASES)
