"""The ecommerce-platform pack on plain data: a passing and a failing resource per rule (tests/packs/cases.py)."""
from __future__ import annotations

from tests.packs.cases import ABSENT, PRESENT, pack_tests

PACK = "ecommerce-platform"

CASES = {
    "ECOM-RDS-001": (PRESENT, ABSENT),
    "ECOM-RDS-002": (
        {"engine": "postgres", "engine_major_version": "14"},
        {"engine": "postgres-other", "engine_major_version": "14"},
    ),
    "ECOM-RDS-003": ({"instance_class": "db.r6g.2xlarge"}, {"instance_class": "db.r6g.2xlarge-other"}),
    "ECOM-RDS-004": ({"multi_az": True}, {"multi_az": False}),
    "ECOM-RDS-005": ({"storage_type": "gp3"}, {"storage_type": "gp3-other"}),
    "ECOM-RDS-006": ({"allocated_storage_gb": 1000}, {"allocated_storage_gb": 999}),
    "ECOM-RDS-007": ({"backup_retention_days": 35}, {"backup_retention_days": 34}),
    "ECOM-RDS-008": ({"storage_encrypted": True, "kms_key_id": "x"}, {"storage_encrypted": False, "kms_key_id": "x"}),
    "ECOM-RDS-009": ({"read_replica_count": 2}, {"read_replica_count": 1}),
    "ECOM-RDS-023": ({"replicas_cross_az": True}, {"replicas_cross_az": False}),
    "ECOM-RDS-024": ({"backup_replication_regions": ["us-west-2"]}, {"backup_replication_regions": []}),
    "ECOM-RDS-025": ({"in_private_subnets": True}, {"in_private_subnets": False}),
    "ECOM-RDS-026": ({"force_ssl": True}, {"force_ssl": False}),
    "ECOM-RDS-027": ({"internet_ingress_groups": []}, {"internet_ingress_groups": ["sg-0123456789abcdef0"]}),
    "ECOM-RDS-010": (
        {"performance_insights_enabled": True, "performance_insights_retention_days": 7},
        {"performance_insights_enabled": False, "performance_insights_retention_days": 7},
    ),
    "ECOM-RDS-011": ({"parameter_groups": ["custom-postgres14-production"]}, {"parameter_groups": []}),
    "ECOM-RDS-012": ({"publicly_accessible": False}, {"publicly_accessible": True}),
    "ECOM-RDS-013": ({"deletion_protection": True}, {"deletion_protection": False}),
    "ECOM-RDS-014": ({"iam_auth_enabled": True}, {"iam_auth_enabled": False}),
    "ECOM-RDS-015": ({"cloudwatch_logs_exports": ["postgresql"]}, {"cloudwatch_logs_exports": []}),
    "ECOM-RDS-016": (
        {
            "alarms": [
                {
                    "name": "alarm-1",
                    "namespace": "AWS/RDS",
                    "metric_name": "CPUUtilization",
                    "comparison_operator": "GreaterThanThreshold",
                    "threshold": 80,
                    "breach_seconds": 300,
                },
            ],
        },
        {
            "alarms": [
                {
                    "name": "alarm-1",
                    "namespace": "OTHER",
                    "metric_name": "CPUUtilization",
                    "comparison_operator": "GreaterThanThreshold",
                    "threshold": 80,
                    "breach_seconds": 300,
                },
            ],
        },
    ),
    "ECOM-RDS-017": (
        {
            "alarms": [
                {
                    "name": "alarm-1",
                    "namespace": "AWS/RDS",
                    "metric_name": "FreeStorageSpace",
                    "comparison_operator": "LessThanThreshold",
                    "threshold_share_of_storage": 20,
                },
            ],
        },
        {
            "alarms": [
                {
                    "name": "alarm-1",
                    "namespace": "OTHER",
                    "metric_name": "FreeStorageSpace",
                    "comparison_operator": "LessThanThreshold",
                    "threshold_share_of_storage": 20,
                },
            ],
        },
    ),
    "ECOM-RDS-018": (
        {
            "alarms": [
                {
                    "name": "alarm-1",
                    "namespace": "AWS/RDS",
                    "metric_name": "DatabaseConnections",
                    "comparison_operator": "GreaterThanThreshold",
                },
            ],
            "connection_alarm_share": 80,
        },
        {
            "alarms": [
                {
                    "name": "alarm-1",
                    "namespace": "OTHER",
                    "metric_name": "DatabaseConnections",
                    "comparison_operator": "GreaterThanThreshold",
                },
            ],
            "connection_alarm_share": 80,
        },
    ),
    "ECOM-RDS-019": (
        {"is_read_replica": False},
        {
            "is_read_replica": True,
            "alarms": [
                {
                    "name": "alarm-1",
                    "namespace": "OTHER",
                    "metric_name": "ReplicaLag",
                    "comparison_operator": "GreaterThanThreshold",
                    "threshold": 30,
                },
            ],
        },
    ),
    "ECOM-RDS-022": ({"master_password_source": "rds-managed"}, {"master_password_source": "not-listed"}),
    "ECOM-RDS-020": ({"multi_az": False}, {"multi_az": True}),
    "ECOM-RDS-021": ({"read_replica_count": 0}, {"read_replica_count": 1}),
    "ECOM-DDB-001": (PRESENT, ABSENT),
    "ECOM-DDB-002": (
        {"key_schema": {"partition_key": "productId", "partition_key_type": "S"}},
        {"key_schema": {"partition_key": "productId-other", "partition_key_type": "S"}},
    ),
    "ECOM-DDB-003": ({"gsi_names": ["category-index", "brand-index"]}, {"gsi_names": []}),
    "ECOM-DDB-004": (
        {"key_schema": {"partition_key": "userId", "partition_key_type": "S"}},
        {"key_schema": {"partition_key": "userId-other", "partition_key_type": "S"}},
    ),
    "ECOM-DDB-005": (
        {
            "key_schema": {"partition_key": "catalogId", "partition_key_type": "S", "sort_key": "productId", "sort_key_type": "S"},
        },
        {
            "key_schema": {
                "partition_key": "catalogId-other",
                "partition_key_type": "S",
                "sort_key": "productId",
                "sort_key_type": "S",
            },
        },
    ),
    "ECOM-DDB-006": (
        {
            "gsis": [
                {
                    "name": "category-index",
                    "partition_key": "category",
                    "sort_key": "createDate",
                    "projection_type": "ALL",
                },
            ],
            "gsi_names": ["date-index"],
        },
        {
            "gsis": [
                {
                    "name": "category-index-other",
                    "partition_key": "category",
                    "sort_key": "createDate",
                    "projection_type": "ALL",
                },
            ],
            "gsi_names": ["date-index"],
        },
    ),
    "ECOM-DDB-007": (
        {
            "key_schema": {"partition_key": "sessionId", "partition_key_type": "S"},
            "gsi_names": ["userId-index", "expiryTime-index"],
        },
        {
            "key_schema": {"partition_key": "sessionId-other", "partition_key_type": "S"},
            "gsi_names": ["userId-index", "expiryTime-index"],
        },
    ),
    "ECOM-DDB-008": ({"ttl": {"status": "ENABLED"}}, {"ttl": {"status": "OTHER"}}),
    "ECOM-DDB-009": ({"ttl": {"attribute": "expiryTime"}}, {"ttl": {"attribute": "expiryTime-other"}}),
    "ECOM-DDB-010": ({"pitr": {"status": "ENABLED"}}, {"pitr": {"status": "OTHER"}}),
    "ECOM-DDB-011": ({"billing_mode": "PAY_PER_REQUEST"}, {"billing_mode": "OTHER"}),
    "ECOM-DDB-018": ({"billing_mode": "PROVISIONED", "autoscaled_dimensions": ["ReadCapacityUnits", "WriteCapacityUnits"]},
                     {"billing_mode": "PROVISIONED", "autoscaled_dimensions": ["ReadCapacityUnits"]}),
    "ECOM-DDB-019": ({"replica_regions": ["us-west-2"]}, {"replica_regions": []}),
    "ECOM-LOG-001": ({"retention_days": 2557}, {"retention_days": 1827}),
    "ECOM-DDB-012": ({"billing_mode": "PAY_PER_REQUEST"}, {"billing_mode": "OTHER"}),
    "ECOM-DDB-013": ({"sse": {"type": "KMS"}}, {"sse": {"type": "OTHER"}}),
    "ECOM-DDB-014": ({"stream": {"enabled": True}}, {"stream": {"enabled": False}}),
    "ECOM-DDB-015": (PRESENT, ABSENT),
    "ECOM-DDB-016": ({"weekly_retention_days": 90}, {"weekly_retention_days": 89}),
    "ECOM-DDB-017": ({"selected_tables": ["*"]}, {"selected_tables": []}),
    "ECOM-OS-001": (PRESENT, ABSENT),
    "ECOM-OS-002": (
        {"instance_type": "r6g.xlarge.search", "instance_count": 3},
        {"instance_type": "r6g.xlarge.search-other", "instance_count": 3},
    ),
    "ECOM-OS-003": ({"volume_type": "gp3", "volume_size_gb": 500}, {"volume_type": "gp3-other", "volume_size_gb": 500}),
    "ECOM-OS-004": (
        {"dedicated_master_enabled": True, "dedicated_master_type": "m6g.large.search", "dedicated_master_count": 3},
        {"dedicated_master_enabled": False, "dedicated_master_type": "m6g.large.search", "dedicated_master_count": 3},
    ),
    "ECOM-OS-005": ({"dedicated_master_enabled": False}, {"dedicated_master_enabled": True}),
    "ECOM-OS-006": (
        {"zone_awareness_enabled": True, "availability_zone_count": 3},
        {"zone_awareness_enabled": False, "availability_zone_count": 3},
    ),
    "ECOM-OS-007": ({"encryption_at_rest": True}, {"encryption_at_rest": False}),
    "ECOM-OS-008": (
        {"node_to_node_encryption": True, "enforce_https": True},
        {"node_to_node_encryption": False, "enforce_https": True},
    ),
    "ECOM-OS-009": ({"warm_enabled": True}, {"warm_enabled": False}),
    "ECOM-OS-010": ({"cold_storage_enabled": True}, {"cold_storage_enabled": False}),
    "ECOM-S3-001": (PRESENT, ABSENT),
    "ECOM-S3-002": ({"versioning": {"status": "Enabled"}}, {"versioning": {"status": "Enabled-other"}}),
    "ECOM-S3-003": ({"versioning": {"status": "Enabled-other"}}, {"versioning": {"status": "Enabled"}}),
    "ECOM-S3-004": (
        {"lifecycle": {"transition_days": {"STANDARD_IA": 30, "GLACIER": 90}}},
        {"lifecycle": {"transition_days": {"STANDARD_IA": 31, "GLACIER": 90}}},
    ),
    "ECOM-S3-005": (
        {"lifecycle": {"transition_days": {"STANDARD_IA": 30, "GLACIER": 180}}},
        {"lifecycle": {"transition_days": {"STANDARD_IA": 31, "GLACIER": 180}}},
    ),
    "ECOM-S3-006": (
        {"lifecycle": {"transition_days": {"STANDARD_IA": 30, "GLACIER": 60}, "expiration_days": 365}},
        {"lifecycle": {"transition_days": {"STANDARD_IA": 31, "GLACIER": 60}, "expiration_days": 365}},
    ),
    "ECOM-S3-007": (
        {"lifecycle": {"transition_days": {"STANDARD_IA": 30, "GLACIER": 60}}},
        {"lifecycle": {"transition_days": {"STANDARD_IA": 31, "GLACIER": 60}}},
    ),
    "ECOM-S3-008": (
        {"encryption": {"enabled": True, "algorithm": "AES256"}},
        {"encryption": {"enabled": False, "algorithm": "AES256"}},
    ),
    "ECOM-S3-009": ({"encryption": {"algorithm": "aws:kms"}}, {"encryption": {"algorithm": "not-listed"}}),
    "ECOM-S3-010": (
        {"effective_public_access_block": {"all_blocked": True}},
        {"effective_public_access_block": {"all_blocked": False}},
    ),
    "ECOM-S3-019": (
        {"account_public_access_block": {"block_public_acls": True, "ignore_public_acls": True,
                                         "block_public_policy": True, "restrict_public_buckets": True,
                                         "all_blocked": True}},
        {"account_public_access_block": {"block_public_acls": True, "ignore_public_acls": True,
                                         "block_public_policy": True, "restrict_public_buckets": False,
                                         "all_blocked": False}},
    ),
    "ECOM-S3-020": ({"transfer_acceleration": "Enabled"}, {"transfer_acceleration": "Suspended"}),
    "ECOM-S3-021": ({"access_points": ["billing-production"]}, {"access_points": []}),
    "ECOM-S3-011": (
        {"object_lock": {"enabled": True, "mode": "COMPLIANCE"}},
        {"object_lock": {"enabled": False, "mode": "COMPLIANCE"}},
    ),
    "ECOM-S3-012": ({"policy": {"allows_public_principal": False}}, {"policy": {"allows_public_principal": True}}),
    "ECOM-S3-013": (
        {"lifecycle": {"rules": [{"status": "Enabled", "abort_incomplete_multipart_days": 7}]}},
        {"lifecycle": {"rules": [{"status": "Enabled", "transitions": [{"days": 30, "storage_class": "GLACIER"}]}]}},
    ),
    "ECOM-S3-014": (
        {"cdn": {"served": True, "behaviors": [{"distribution": "E2EXAMPLE", "default_ttl": 86400}]}},
        {"cdn": {"served": False, "behaviors": [{"distribution": "E2EXAMPLE", "default_ttl": 86400}]}},
    ),
    "ECOM-CDN-001": (
        {"behaviors": [{"distribution": "E2", "path_pattern": "/api/*", "min_ttl": 0, "max_ttl": 31536000},
                       {"distribution": "E2", "path_pattern": "*", "min_ttl": 1, "max_ttl": 31536000}]},
        {"behaviors": [{"distribution": "E2", "path_pattern": "/api/*", "min_ttl": 1, "max_ttl": 31536000}]},
    ),
    "ECOM-S3-015": (
        {"cdn": {"served": True, "behaviors": [{"distribution": "E2EXAMPLE", "default_ttl": 604800}]}},
        {"cdn": {"served": False, "behaviors": [{"distribution": "E2EXAMPLE", "default_ttl": 604800}]}},
    ),
    "ECOM-S3-016": (
        {"alarms": [{"name": "alarm-1", "metric_names": ["AllRequests"], "uses_anomaly_detection": True}]},
        {"alarms": [{"name": "alarm-1", "metric_names": [], "uses_anomaly_detection": True}]},
    ),
    "ECOM-S3-017": (
        {
            "alarms": [
                {
                    "name": "alarm-1",
                    "metric_names": ["4xxErrors", "5xxErrors"],
                    "comparison_operator": "GreaterThanThreshold",
                    "breach_seconds": 300,
                },
            ],
        },
        {
            "alarms": [
                {
                    "name": "alarm-1",
                    "metric_names": [],
                    "comparison_operator": "GreaterThanThreshold",
                    "breach_seconds": 300,
                },
            ],
        },
    ),
    "ECOM-S3-018": (
        {"replication": False},
        {
            "replication": True,
            "alarms": [{"name": "alarm-1", "metric_names": [], "comparison_operator": "GreaterThanThreshold", "threshold": 900}],
        },
    ),
    "ECOM-CACHE-001": (PRESENT, ABSENT),
    "ECOM-CACHE-002": ({"node_type": "cache.r6g.large"}, {"node_type": "cache.r6g.large-other"}),
    "ECOM-CACHE-003": ({"node_type": "cache.r6g.xlarge"}, {"node_type": "cache.r6g.xlarge-other"}),
    "ECOM-CACHE-004": (
        {"node_count": 3, "nodes_in_distinct_zones": True, "multi_az": True, "automatic_failover": True},
        {"node_count": 3, "nodes_in_distinct_zones": False, "multi_az": True, "automatic_failover": True},
    ),
    "ECOM-CACHE-005": (
        {"parameters": {"maxmemory-policy": "volatile-lru"}},
        {"parameters": {"maxmemory-policy": "volatile-lru-other"}},
    ),
    "ECOM-CACHE-006": (
        {"parameters": {"reserved-memory-percent": "25"}},
        {"parameters": {"reserved-memory-percent": "25-other"}},
    ),
    "ECOM-CACHE-007": ({"snapshot_retention_days": 7}, {"snapshot_retention_days": 6}),
    "ECOM-CACHE-008": ({"at_rest_encryption": True}, {"at_rest_encryption": False}),
    "ECOM-CACHE-009": ({"transit_encryption": True}, {"transit_encryption": False}),
    "ECOM-CACHE-010": ({"engine": "redis"}, {"engine": "redis-other"}),
    "ECOM-CACHE-011": (
        {
            "alarms": [
                {
                    "name": "alarm-1",
                    "namespace": "AWS/ElastiCache",
                    "metric_name": "CacheHitRate",
                    "comparison_operator": "LessThanThreshold",
                    "threshold": 80,
                },
            ],
        },
        {
            "alarms": [
                {
                    "name": "alarm-1",
                    "namespace": "AWS/ElastiCache-other",
                    "metric_name": "CacheHitRate",
                    "comparison_operator": "LessThanThreshold",
                    "threshold": 80,
                },
            ],
        },
    ),
    "ECOM-CACHE-012": (
        {
            "alarms": [
                {
                    "name": "alarm-1",
                    "namespace": "AWS/ElastiCache",
                    "metric_name": "Evictions",
                    "comparison_operator": "GreaterThanThreshold",
                    "breach_seconds": 300,
                },
            ],
        },
        {
            "alarms": [
                {
                    "name": "alarm-1",
                    "namespace": "AWS/ElastiCache-other",
                    "metric_name": "Evictions",
                    "comparison_operator": "GreaterThanThreshold",
                    "breach_seconds": 300,
                },
            ],
        },
    ),
}

test_every_rule_has_a_row, test_passes, test_fails = pack_tests(PACK, CASES)
