"""Outputs other tools take in: OCSF validated with py-ocsf-models (Prowler's library), ASFF imported into a moto
Security Hub with --security-hub, the CSV's columns and its Excel variant, and the signed webhook formats."""
from __future__ import annotations

import csv
import hashlib
import hmac
import json
from pathlib import Path

import pytest
from py_ocsf_models.events.findings.detection_finding import DetectionFinding

from auditor.demo.ecommerce import build_drifted
from tests.conftest import TEST_CONFIG, run_here
from tests.faultproxy import FaultProxy


@pytest.fixture
def scanned(aws, tmp_path):
    """A drifted ecommerce account scanned with a waiver, into every interop format and Security Hub."""
    build_drifted(aws, "production", ("short-backups", "versioning-suspended"))
    aws.session.client("securityhub", region_name="us-east-1", endpoint_url=aws.endpoint).enable_security_hub()
    waivers = tmp_path / "waivers.yaml"
    waivers.write_text("waivers:\n  - rule: ECOM-RDS-007\n    resource: product-db-production\n"
                       "    reason: \"Backups move to AWS Backup in Q3 (§3.3)\"\n    owner: dba@example.com\n"
                       "    expires: 2099-12-31\n")
    result = run_here("scan", "--pack", "ecommerce-platform", "--pack", "baseline", "--env", "production",
                     "--target", "default", "--endpoint-url", aws.endpoint, "--out", str(tmp_path),
                     "--db", str(tmp_path / "h.db"), "--waivers", str(waivers), "--security-hub",
                     "--format", "json,csv,excel,ocsf,asff", endpoint=aws.endpoint)
    assert result.code in (1, 3), result.stderr
    document = result.report()
    return document, tmp_path / document["run"]["id"], result


def test_ocsf_objects_are_valid_detection_findings(scanned):
    document, folder, _ = scanned
    objects = json.loads((folder / "report.ocsf.json").read_text())
    assert len(objects) == len(document["findings"]) > 0
    for obj in objects:
        DetectionFinding.model_validate(obj)  # raises on any field py-ocsf-models does not accept
    by_rule = {(o["metadata"]["event_code"], o["resources"][0]["name"]): o for o in objects}
    waived = by_rule[("ECOM-RDS-007", "product-db-production")]
    assert waived["status_code"] == "WAIVED" and waived["status_id"] == 3  # Suppressed
    assert waived["unmapped"]["waiver"]["owner"] == "dba@example.com"
    failing = next(o for o in objects if o["status_code"] == "FAIL")
    assert failing["class_uid"] == 2004 and failing["type_uid"] == 200400 + failing["activity_id"]
    assert failing["cloud"]["account"]["uid"] == document["run"]["account_id"]
    statuses = {o["status_code"] for o in objects}
    assert {"PASS", "FAIL", "WAIVED"} <= statuses
    # The same rule on the same resource keeps its uid across runs: a consumer updates, it does not duplicate.
    assert len({o["finding_info"]["uid"] for o in objects}) == len(objects)


def test_security_hub_receives_the_findings(scanned, aws):
    document, folder, result = scanned
    assert f"Security Hub: {len(document['findings'])} finding(s) imported" in result.stdout, result.stderr
    hub = aws.session.client("securityhub", region_name="us-east-1", endpoint_url=aws.endpoint)
    found = [f for page in hub.get_paginator("get_findings").paginate() for f in page["Findings"]]
    assert len(found) == len(document["findings"])
    asff = json.loads((folder / "report.asff.json").read_text())
    assert {f["Id"] for f in found} == {f["Id"] for f in asff}
    backups = next(f for f in found if f["GeneratorId"].endswith("/ECOM-RDS-007"))
    assert backups["Compliance"]["Status"] == "FAILED" and backups["Workflow"]["Status"] == "SUPPRESSED"
    assert backups["ProductFields"]["auditor/waiver_owner"] == "dba@example.com"
    assert backups["Resources"][0]["Type"] == "AwsRdsDbInstance"
    statuses = {f["Compliance"]["Status"] for f in found}
    assert {"PASSED", "FAILED"} <= statuses
    # A second scan updates the same findings (stable ids) instead of adding new ones.
    again = run_here("scan", "--pack", "ecommerce-platform", "--pack", "baseline", "--env", "production",
                    "--target", "default", "--endpoint-url", aws.endpoint, "--db", str(folder.parent / "h.db"),
                    "--out", str(folder.parent), "--security-hub", endpoint=aws.endpoint)
    assert "finding(s) imported" in again.stdout, again.stderr
    after = [f for page in hub.get_paginator("get_findings").paginate() for f in page["Findings"]]
    assert len(after) == len(found)


def test_security_hub_import_failure_is_exit_3_with_the_reason(aws, tmp_path):
    """Security Hub denies the import: the scan's reports stand, the reason is one line, and the exit code is 3."""
    build_drifted(aws, "production", ())
    with FaultProxy(aws.endpoint, deny=lambda service, operation: service == "securityhub") as proxy:
        result = run_here("scan", "--pack", "baseline", "--env", "production", "--endpoint-url", proxy.url,
                         "--out", str(tmp_path), "--db", str(tmp_path / "h.db"), "--security-hub",
                         "--exit-zero-on-findings", endpoint=proxy.url)
    assert result.code == 3, result.stderr
    assert "Security Hub in us-east-1: BatchImportFindings failed" in result.stderr and "AccessDenied" in result.stderr
    assert "Traceback" not in result.stderr and "Security Hub: 0 finding(s) imported" in result.stdout


def test_csv_columns_and_the_excel_variant(scanned):
    document, folder, _ = scanned
    raw = (folder / "report.excel.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and not (folder / "report.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader((folder / "report.excel.csv").open(encoding="utf-8-sig")))
    assert len(rows) == len(document["findings"])
    assert {"account_id", "target", "run_id", "title", "waiver_reason", "waiver_owner", "waiver_expires", "file",
            "line"} <= set(rows[0])
    waived = next(r for r in rows if r["rule_id"] == "ECOM-RDS-007" and r["resource_name"] == "product-db-production")
    assert waived["waiver_reason"] == "Backups move to AWS Backup in Q3 (§3.3)"  # "§" intact through the BOM
    assert waived["waiver_owner"] == "dba@example.com" and waived["waiver_expires"] == "2099-12-31"
    assert {r["run_id"] for r in rows} == {document["run"]["id"]} and rows[0]["target"] == "default"
    assert rows[0]["account_id"] == document["run"]["account_id"] and all(r["title"] for r in rows)


def test_iac_csv_rows_carry_file_and_line(tmp_path):
    main = tmp_path / "main.tf"
    main.write_text('resource "aws_s3_bucket" "logs" {\n  bucket = "logs"\n}\n')
    result = run_here("iac", str(tmp_path), "--pack", "baseline", "--no-checkov", "--out", str(tmp_path / "out"),
                     "--format", "csv,ocsf")
    folder = next(p for p in (tmp_path / "out").iterdir() if p.is_dir())
    rows = list(csv.DictReader((folder / "report.csv").open(encoding="utf-8")))
    assert rows and all(r["file"].endswith("main.tf") and r["line"] == "1" for r in rows), result.stderr
    for obj in json.loads((folder / "report.ocsf.json").read_text()):
        DetectionFinding.model_validate(obj)


@pytest.mark.parametrize("fmt", ["slack", "teams", "json"])
def test_webhook_formats_are_signed_and_link_the_server(aws, tmp_path, webhook, fmt):
    url, received = webhook
    build_drifted(aws, "production", ("short-backups",))
    config = tmp_path / "config.yaml"
    config.write_text(TEST_CONFIG.read_text() + f"""
db: {tmp_path / 'h.db'}
out: {tmp_path / 'reports'}
server:
  base_url: https://auditor.example.com/
scheduler:
  webhook_url: {url}
  webhook_format: {fmt}
targets:
  - name: shop
    packs: [ecommerce-platform]
    endpoint_url: {aws.endpoint}
    schedule: {{cron: "0 2 * * *"}}
""")
    secret = "s3cret-for-hmac"
    result = run_here("--config", str(config), "schedule", "--once", endpoint=aws.endpoint,
                     env={"AUDITOR_WEBHOOK_SECRET": secret})
    assert result.code in (1, 3), result.stderr
    (headers, body), = received
    timestamp = headers["X-Auditor-Timestamp"]
    expected = "sha256=" + hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(headers["X-Auditor-Signature-256"], expected)
    assert secret not in result.stderr and secret.encode() not in body
    message = json.loads(body)
    run_id = latest_run_id(tmp_path / "h.db")
    link = f"https://auditor.example.com/runs/{run_id}/report.html"
    assert str(tmp_path) not in body.decode()  # no path on the scanning machine
    if fmt == "slack":
        assert "new failure" in message["text"] and message["blocks"][0]["type"] == "header"
        assert message["blocks"][-1]["elements"][0]["url"] == link
        assert "ECOM-RDS-007" in message["blocks"][1]["text"]["text"]
    elif fmt == "teams":
        card = message["attachments"][0]["content"]
        assert message["attachments"][0]["contentType"] == "application/vnd.microsoft.card.adaptive"
        assert card["type"] == "AdaptiveCard" and card["actions"][0]["url"] == link
        assert any("ECOM-RDS-007" in fact["title"] for fact in card["body"][2]["facts"])
    else:
        assert message["url"] == link and any(f["rule_id"] == "ECOM-RDS-007" for f in message["failures"])


def latest_run_id(db: Path) -> str:
    from auditor.history.store import HistoryStore

    store = HistoryStore(db)
    try:
        (row,) = store.runs()
        return row["id"]
    finally:
        store.close()


def test_slack_text_escapes_untrusted_names():
    from auditor.fleet.notify import slack_escape

    assert slack_escape("<!channel> & <https://evil|x>") == "&lt;!channel&gt; &amp; &lt;https://evil|x&gt;"
