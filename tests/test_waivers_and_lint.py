"""Waivers (active, expired, stale, malformed) and the warnings validate gives about specs AWS would refuse."""
from __future__ import annotations

import datetime as dt

from auditor.demo.ecommerce import build_drifted
from auditor.engine.findings import Finding, ResourceRef
from auditor.engine.waivers import Waiver, apply_waivers
from tests.conftest import findings_by, run_here

WAIVERS = """\
waivers:
  - id: W-1
    rule: ECOM-S3-002
    resource: "ecommerce-order-documents-*"
    reason: "migration to a new bucket, ticket OPS-12"
    owner: storage-team
    expires: 2099-01-31
  - id: W-2
    rule: ECOM-RDS-007
    resource: product-db-production
    reason: "backups shortened during a restore test"
    owner: dba-team
    expires: 2020-01-01
  - id: W-3
    rule: ECOM-S3-*
    resource: "no-such-bucket"
    reason: "left over"
    owner: nobody
    expires: 2099-01-01
"""


def test_waivers_in_a_live_scan(aws, tmp_path):
    build_drifted(aws, "production", ("versioning-suspended", "short-backups"))
    waivers = tmp_path / "waivers.yaml"
    waivers.write_text(WAIVERS)
    result = run_here("scan", "--pack", "ecommerce-platform", "--env", "production", "--endpoint-url", aws.endpoint,
                     "--out", str(tmp_path), "--db", str(tmp_path / "h.db"), "--waivers", str(waivers),
                     "--format", "json", endpoint=aws.endpoint)
    document = result.report()
    (waived,) = findings_by(document, rule_id="ECOM-S3-002", resource="ecommerce-order-documents-production")
    assert waived["status"] == "waived"
    assert waived["waiver"]["reason"] == "migration to a new bucket, ticket OPS-12"
    assert waived["waiver"]["waived_status"] == "fail" and waived["actual"] == "Suspended"
    (expired,) = findings_by(document, rule_id="ECOM-RDS-007")
    assert expired["status"] == "fail" and expired["waiver"]["state"] == "expired"
    assert "waiver expired on 2020-01-01" in expired["message"]
    assert [w["id"] for w in document["waivers"]["expired"]] == ["W-2"]
    assert [w["id"] for w in document["waivers"]["stale"]] == ["W-3"]
    assert document["summary"]["by_status"]["waived"] == 1
    assert "stale: W-3" in result.stdout and "expired on 2020-01-01: W-2" in result.stdout
    assert result.code == 1  # the expired waiver no longer hides the high-severity failure
    again = run_here("report", document["run"]["id"], "--format", "json", "--out", str(tmp_path / "again"),
                    "--db", str(tmp_path / "h.db")).report()
    assert findings_by(again, rule_id="ECOM-S3-002", resource="ecommerce-order-documents-production")[0]["waiver"]
    assert again["waivers"]["stale"][0]["id"] == "W-3"


def test_malformed_waivers_name_file_and_line(moto_endpoint, tmp_path):
    waivers = tmp_path / "waivers.yaml"
    waivers.write_text(WAIVERS.replace("    owner: dba-team\n", ""))
    result = run_here("scan", "--pack", "baseline", "--endpoint-url", moto_endpoint, "--waivers", str(waivers),
                     endpoint=moto_endpoint)
    assert result.code == 2 and f"{waivers}:" in result.stderr and "owner: missing" in result.stderr
    waivers.write_text(WAIVERS.replace("2099-01-31", "someday"))
    result = run_here("scan", "--pack", "baseline", "--endpoint-url", moto_endpoint, "--waivers", str(waivers),
                     endpoint=moto_endpoint)
    assert result.code == 2 and f"{waivers}:7:" in result.stderr and "expires" in result.stderr


def test_waiver_matching_unit():
    finding = Finding(rule_id="BASE-S3-002", pack="baseline", title="t", control="public_access_block",
                      severity="high", status="error", message="could not read",
                      resource=ResourceRef(type="AWS::S3::Bucket", id="site", name="site", region="us-east-1"),
                      spec_ref="s", remediation="r")
    waiver = Waiver(rule="BASE-*", resource="site", target="prod-*", reason="public site", owner="web",
                    expires=dt.date(2030, 1, 1))
    summary = apply_waivers([finding], [waiver], target="staging", today=dt.date(2026, 1, 1))
    assert finding.status == "error" and summary["stale"]  # other target: not applied
    summary = apply_waivers([finding], [waiver], target="prod-eu", today=dt.date(2026, 1, 1))
    assert finding.status == "waived" and finding.waiver["waived_status"] == "error" and summary["active"] == 1


def test_validate_warns_about_aws_constraints_and_self_contradictions():
    result = run_here("rules", "validate")
    assert result.code == 0
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    s3_006 = [w for w in warnings if "ECOM-S3-006" in w]
    # §6.1's Standard-IA after 14 days is refused by S3: the rule judges the nearest it allows, and says so
    assert any("spec conflict" in w and "Standard-IA after 14 days" in w and "Standard-IA at 30" in w for w in s3_006)
    assert not any("AWS refuses" in w for w in s3_006)
    assert any("ECOM-S3-007" in w and "spec conflict" in w and "after 7 days" in w for w in warnings)
    assert any("ECOM-DDB-011" in w and "§11.3" in w and "§4.1.1" in w for w in warnings)
    assert not any("ECOM-S3-004" in w for w in warnings)  # 30/90 is what AWS accepts


def test_a_rule_that_can_never_pass_on_aws_is_named_in_validate(tmp_path):
    (tmp_path / "refused.yaml").write_text("""
pack: {id: refused, title: t}
rules:
  - id: REF-S3-001
    title: Logs to Standard-IA after 7 days
    control: lifecycle
    severity: low
    spec_ref: "doc 1"
    remediation: r
    resource: {type: "AWS::S3::Bucket"}
    check: {key: lifecycle.transition_days.STANDARD_IA, equals: 7}
""")
    result = run_here("rules", "validate", str(tmp_path / "refused.yaml"))
    assert result.code == 0
    assert "AWS refuses a transition to STANDARD_IA before 30 days" in result.stderr
    assert "can never pass on AWS" in result.stderr and "spec_conflict" in result.stderr
