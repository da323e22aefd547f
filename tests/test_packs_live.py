"""Each pack against a moto account built to its spec: no failure; then each requirement broken in turn fails
exactly the rules that encode it."""
from __future__ import annotations

import pytest

from auditor.rules.load import PackFileSet
from tests.accounts import PACKS, build_officeless, spelled
from tests.conftest import run_here

COMPLIANT = [("serverless-app", "production"), ("serverless-app", "development"), ("co2-storagestack", "production"),
             ("co2-storagestack", "staging"), ("co2-storagestack", "development"), ("pointf", "production"),
             ("officeless", "production")]
BREAKS = [(pack, name) for pack, (_, breaks, _) in PACKS.items() for name in breaks]


def scan(aws, tmp_path, pack, env):
    result = run_here("scan", "--pack", pack, "--env", env, "--endpoint-url", aws.endpoint, "--out", str(tmp_path),
                     "--db", str(tmp_path / "h.db"), "--format", "json", endpoint=aws.endpoint)
    return result, result.report()


# Rules whose verdict moto cannot give: it reports the AWS managed keys it creates (aws/ebs, aws/dynamodb) with
# KeyManager CUSTOMER, an encrypted EFS file system without its KmsKeyId, a distribution's S3 origins without
# their origin access identity, an EKS cluster without its cluster security group, no EKS add-ons (404), no
# member clusters of a replication group (DescribeCacheClusters: CacheClusterNotFound, so no security groups).
# tests/test_collectors.py, tests/test_spec_services.py and tests/test_network.py judge them on the DescribeKey /
# DescribeFileSystems / ListDistributions / DescribeCluster / DescribeAddon / DescribeCacheClusters answers AWS
# documents, passing and failing.
MOTO_CANNOT_SERVE = {"CO2-DDB-009", "OFL-EBS-004", "OFL-EFS-005", "CO2-S3-009", "OFL-EKS-001", "OFL-EFS-007",
                     "OFL-CACHE-003"}


def failing(document):
    return {(f["rule_id"], f["resource"]["name"]) for f in document["findings"]
            if f["status"] == "fail" and f["rule_id"] not in MOTO_CANNOT_SERVE}


@pytest.mark.parametrize("pack, env", COMPLIANT)
def test_account_built_to_spec_passes(aws, tmp_path, pack, env):
    build, _, _ = PACKS[pack]
    build(aws, env)
    result, document = scan(aws, tmp_path, pack, env)
    assert failing(document) == set()
    assert [(f["rule_id"], f["resource"]["name"], f["message"]) for f in document["findings"]
            if f["status"] == "error" and f["rule_id"] not in MOTO_CANNOT_SERVE] == []
    # Only MOTO_CANNOT_SERVE can be off, as above: an error ends 3 (a partial run), else a fail (no OAI) ends 1.
    statuses = {f["status"] for f in document["findings"]}
    assert result.code == (3 if "error" in statuses else 1 if "fail" in statuses else 0), result.stderr
    assert document["summary"]["by_status"]["pass"] >= 8


@pytest.mark.parametrize("pack, name", BREAKS)
def test_each_broken_requirement_fails_its_rule_only(aws, tmp_path, pack, name):
    build, breaks, spelling = PACKS[pack]
    build(aws, "production", skip=breaks[name].skip)
    breaks[name].apply(aws, "production")
    _, document = scan(aws, tmp_path, pack, "production")
    expected = {(rule, spelled(resource, "production", spelling)) for rule, resource in breaks[name].fails}
    assert failing(document) == expected
    for rule_id, _ in expected:
        finding = next(f for f in document["findings"] if f["rule_id"] == rule_id and f["status"] == "fail")
        assert finding["spec_ref"] and finding["remediation"] and finding["message"]


def test_rules_list_shows_six_packs_with_counts_per_control():
    listed = run_here("rules", "list")
    assert listed.code == 0
    for pack in ("baseline", "co2-storagestack", "ecommerce-platform", "officeless", "pointf", "serverless-app"):
        assert pack in listed.stdout
    assert "existence" in listed.stdout and "alarm" in listed.stdout


def test_a_production_only_spec_does_not_judge_staging(aws, tmp_path):
    """Spec 004 describes production (pack header applies_to): a staging scan evaluates none of its rules."""
    build_officeless(aws, "production")
    result, document = scan(aws, tmp_path, "officeless", "staging")
    assert [f for f in document["findings"] if f["pack"] == "officeless"] == []
    assert document["run"]["coverage"]["rules"] == [] and document["summary"]["score"] is None
    _, production = scan(aws, tmp_path, "officeless", "production")
    (pack,) = PackFileSet().load(["officeless"])
    assert len(production["run"]["coverage"]["rules"]) == len(pack.rules) >= 16
