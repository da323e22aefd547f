"""The fleet dashboard, target pages, timelines and the findings table, as people use them: in real chromium
(Playwright) against `auditor serve` over a history of three targets with ten runs each."""
from __future__ import annotations

import csv
import json
import os
import re

import pytest

from auditor.history.store import HistoryStore
from auditor.history.timeline import finding_timeline, resource_history
from auditor.reporting.rollup import fleet_view
from tests.conftest import run_cli
from tests.fleet_history import NIGHTS, STORY_BUCKET, TARGETS, build_fleet
from tests.test_serve import CHROMIUM, TOKEN, start

pytestmark = pytest.mark.slow  # Debian's chromium through Playwright

STORY_KEY = f"FLEET-S3-001|AWS::S3::Bucket|us-east-1|{STORY_BUCKET}"
DATE = re.compile(r"2026-11-(\d\d) 02:0\d UTC")


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    db = tmp_path_factory.mktemp("fleet") / "history.db"
    return db, build_fleet(db)


@pytest.fixture(scope="module")
def server(fleet):
    proc, base = start(fleet[0], TOKEN)
    yield base
    proc.terminate()
    proc.communicate(timeout=10)


def test_fleet_view_and_timelines_come_from_the_history(fleet):
    db, ids = fleet
    store = HistoryStore(db, read_only=True)
    try:
        view = fleet_view(store)
        assert [t["name"] for t in view["targets"]][0] == "shop-staging"  # its latest run failed: worst first
        staging = view["targets"][0]
        assert staging["latest"]["status"] == "failed" and staging["stale"] and staging["latest"]["score"] is None
        assert staging["counted_run"] == ids["shop-staging"][-2] and "AccessDenied" in staging["latest"]["errors"][0]
        assert view["totals"]["latest_status"] == {"complete": 2, "partial": 0, "failed": 1, "running": 0}
        assert view["totals"]["by_status"]["fail"] == sum(t["by_status"]["fail"] for t in view["targets"])
        assert view["by_control"]["encryption"]["failing_targets"] == ["data-production"]
        assert all(len(t["trend"]) >= NIGHTS - 1 for t in view["targets"])
        timeline = finding_timeline(store, "shop-production", STORY_KEY)
        assert [(e["event"], e["run_id"]) for e in timeline["events"]] == [
            ("first failed", "shop-production-n03"), ("fixed", "shop-production-n06"),
            ("regressed", "shop-production-n09")]
        assert [s["status"] for s in timeline["runs"]] == ["pass"] * 3 + ["fail"] * 3 + ["pass"] * 3 + ["fail"]
        # On staging the last run failed: it is a step of its own, not a fix and not news.
        staged = finding_timeline(store, "shop-staging", STORY_KEY)
        assert staged["runs"][-1]["status"] == "run failed" and staged["events"][-1]["event"] == "fixed"
        history = resource_history(store, "shop-production", f"AWS::S3::Bucket|us-east-1|{STORY_BUCKET}")
        assert [(c["run_id"], c["property"], c["before"], c["after"]) for c in history["changes"]] == [
            ("shop-production-n03", "versioning.status", "Enabled", "Suspended"),
            ("shop-production-n04", "alarms[orders-archive-4xx].threshold", 20.0, 5.0),  # one field, not the list
            ("shop-production-n06", "versioning.status", "Suspended", "Enabled"),
            ("shop-production-n09", "versioning.status", "Enabled", "Suspended")]
        assert [p["runs"] for p in history["periods"]] == [3, 1, 2, 3, 1]
        cache = resource_history(store, "shop-production", "AWS::DAX::Cluster|us-east-1|cache-1")
        assert cache["changes"] == [] and len(cache["periods"]) == 2  # creating -> available: no change shown
    finally:
        store.close()


def test_report_all_targets_writes_the_roll_up(fleet, tmp_path):
    db, _ = fleet
    result = run_cli("report", "--all-targets", "--db", str(db), "--out", str(tmp_path), "--format", "html,json,csv")
    assert result.code == 3 and "latest run failed for shop-staging" in result.stderr  # never reads as compliant
    folder = tmp_path / "fleet"
    view = json.loads((folder / "fleet.json").read_text())
    assert {t["name"] for t in view["targets"]} == set(TARGETS) and view["totals"]["targets"] == 3
    rows = list(csv.DictReader((folder / "fleet.csv").open(encoding="utf-8")))
    assert [r["section"] for r in rows].count("target") == 3 and {"pack", "control"} <= {r["section"] for r in rows}
    staging = next(r for r in rows if r["name"] == "shop-staging")
    assert staging["status"] == "failed" and staging["score"] == "" and staging["stale"] == "yes"
    page = (folder / "fleet.html").read_text()
    assert page.count('class="card target-card"') == 3 and "uPlot" in page and "<script src" not in page
    assert run_cli("report", "--all-targets", "--db", str(db), "--out", str(tmp_path), "--format", "sarif").code == 2


def hover_date(page, chart_selector: str) -> str:
    """Move over a chart and read the date its legend shows (uPlot draws the axes on a canvas)."""
    over = page.locator(f"{chart_selector} .u-over").first
    box = over.bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.5)
    return page.locator(f"{chart_selector} .u-legend .u-series").first.locator(".u-value").text_content()


def visible_statuses(page) -> list[str]:
    return page.locator("#rows tr.finding td:first-child").all_text_contents()


def test_an_auditor_in_chromium(server, fleet, tmp_path):
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail("CI must have Debian's chromium: .ci/run installs it")
        pytest.skip("Debian chromium is not installed")
    from playwright.sync_api import sync_playwright

    db, ids = fleet
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run"])
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        problems: list[str] = []
        page.on("pageerror", lambda e: problems.append(str(e)))
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)

        # Log in through the form; the token never appears in a URL.
        page.goto(f"{server}/targets/shop-production")
        assert "/login?next=" in page.url
        page.fill("#token", "wrong")
        page.click("#login button")
        assert page.locator("#login-problem").is_visible()
        page.fill("#token", TOKEN)
        page.click("#login button")
        assert page.url == f"{server}/targets/shop-production" and TOKEN not in page.url
        assert problems == ["Failed to load resource: the server responded with a status of 401 (Unauthorized)"]
        problems.clear()  # the wrong token's answer was a 401, as it should be
        page.goto(f"{server}/")
        page.screenshot(path=str(tmp_path / "fleet.png"), full_page=True)

        # The fleet: a card per target, worst first, totals, and each card's trend has dates.
        cards = page.locator(".target-card")
        assert cards.count() == 3 and cards.first.get_attribute("data-target") == "shop-staging"
        assert "failed" in cards.first.locator(".latest-status").text_content()
        assert "AccessDenied" in cards.first.text_content()
        assert page.locator("#total-fail").text_content().strip().isdigit()
        production = page.locator('.target-card[data-target="shop-production"]')
        assert production.locator(".card-trend canvas").count() == 1
        # Before any hover the legend shows the latest run's values, never uPlot's "--" placeholders.
        legend = production.locator(".card-trend .u-legend .u-value").all_text_contents()
        assert legend and "--" not in legend and DATE.search(legend[0]), legend
        assert legend[1].replace(".", "", 1).isdigit()  # the latest score
        day = DATE.search(hover_date(page, '.target-card[data-target="shop-production"] .card-trend'))
        assert day and 1 <= int(day.group(1)) <= 10  # a date of one of its runs, 1 to 10 November
        assert page.locator("#fleet-by-control tbody tr").count() == 3

        # The target page: charts with dates, counts by pack and control, and two runs picked for a diff.
        production.locator("h3 a").click()
        page.wait_for_selector("#target-trend canvas")
        assert DATE.search(hover_date(page, "#target-trend"))
        assert page.locator("#target-by-control tbody tr").count() == 3
        page.check('input[name="a"][value="shop-production-n02"]')
        page.check('input[name="b"][value="shop-production-n04"]')
        page.click("#compare")
        assert "From shop-production-n02 to shop-production-n04" in page.locator("h1").text_content()
        regressed = page.locator("table.regressed")
        assert "FLEET-S3-001" in regressed.text_content()  # passed at n02, fails at n04
        assert "Buckets meet the versioning standard" in regressed.text_content()  # the rule's title
        assert regressed.locator("a.timeline").first.get_attribute("href").startswith("/timeline/finding?target=")
        # The changed field of one alarm, as JSON; the cache's creating -> available is left out.
        changes = page.locator("#config-changes tbody tr")
        rows = [changes.nth(i).text_content() for i in range(changes.count())]
        alarm = [r for r in rows if "alarms[orders-archive-4xx].threshold" in r]
        assert len(alarm) == 1 and "20.0" in alarm[0] and "5.0" in alarm[0], rows
        assert not any("creating" in r or "available" in r for r in rows) and not any("[{" in r for r in rows)
        # On a phone (390 px) nothing runs off the side.
        page.set_viewport_size({"width": 390, "height": 800})
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        page.set_viewport_size({"width": 1280, "height": 900})
        page.go_back()

        # The report: filter on two statuses, reload, and the filter holds (it is in the URL).
        page.goto(f"{server}/runs/data-production-n09/report.html")
        page.wait_for_selector("#rows tr.finding")
        page.click("#f-status summary")
        page.check('#f-status input[value="fail"]')
        page.check('#f-status input[value="error"]')
        statuses = visible_statuses(page)
        assert set(statuses) == {"fail", "error"}
        assert "status=error,fail" in page.url
        page.reload()
        page.wait_for_selector("#rows tr.finding")
        assert visible_statuses(page) == statuses
        assert page.is_checked('#f-status input[value="error"]') and page.is_checked('#f-status input[value="fail"]')
        error_row = page.locator("#rows tr.finding", has=page.locator("td.status-error"))
        assert "AccessDenied" in error_row.locator("td.reason").text_content()  # the reason, not "null"
        # Sorting by a header, and searching the ARN.
        page.click('#findings th[data-sort="severity"] button')
        assert page.get_attribute('#findings th[data-sort="severity"]', "aria-sort") == "ascending"
        severities = page.locator("#rows tr.finding td:nth-child(2)").all_text_contents()
        order = ["critical", "high", "medium", "low", "info"]
        assert severities == sorted(severities, key=order.index)
        page.fill("#f-search", "arn:aws:s3:::logs")
        assert set(page.locator("#rows tr.finding td:nth-child(6)").all_text_contents()) == {"logs"}
        page.fill("#f-search", "")

        # From a finding to its timeline, and on to its resource's configuration history.
        page.locator("#rows tr.finding", has_text=STORY_BUCKET).first.click()
        page.click("text=this finding's timeline")
        events = page.locator("#events li").all_text_contents()
        assert [e.split(" in run ")[0] for e in events] == ["first failed", "fixed", "regressed"]
        page.screenshot(path=str(tmp_path / "timeline.png"), full_page=True)
        page.click("text=configuration history")
        changes = page.locator("#config-changes tbody tr")
        assert changes.count() == 4 and "versioning.status" in changes.first.text_content()
        assert "Suspended" in changes.first.text_content()

        # 390 px wide: nothing overflows the page.
        page.set_viewport_size({"width": 390, "height": 844})
        for path in ("/", "/targets/shop-production", "/runs/data-production-n09/report.html#status=fail,error"):
            page.goto(server + path)
            page.wait_for_timeout(200)
            assert page.evaluate("document.documentElement.scrollWidth") <= 390, path
        page.screenshot(path=str(tmp_path / "report-390.png"), full_page=True)
        page.set_viewport_size({"width": 1280, "height": 900})

        # Log out: the session ends, and the pages ask for the login again.
        page.goto(f"{server}/")
        page.click("#logout")
        assert "/login" in page.url
        page.goto(f"{server}/")
        assert "/login" in page.url
        assert problems == []
        browser.close()


def test_printing_a_report_prints_every_matching_row(tmp_path):
    """A report of 260 findings, 160 of them failing: the screen shows a page of 100, the PDF all 160."""
    if not CHROMIUM.exists():
        pytest.skip("Debian chromium is not installed")
    from playwright.sync_api import expect, sync_playwright
    from pypdf import PdfReader

    from auditor.engine.findings import Finding, ResourceRef, RunInfo
    from auditor.reporting.html import write_html
    from auditor.reporting.writers import report_document

    findings = [Finding(rule_id=f"PRINT-{n:03d}", pack="print", title="Printed", control="versioning",
                        severity="high", status="fail" if n < 160 else "pass",
                        resource=ResourceRef(type="AWS::S3::Bucket", id=f"b{n}", arn=None, name=f"b{n}",
                                             region="us-east-1"),
                        message="m", spec_ref="s", remediation="r") for n in range(260)]
    run = RunInfo(id="print-run", target="t", regions=["us-east-1"], environment="production", packs=["print"],
                  started_at="2026-11-01T02:00:00Z", finished_at="2026-11-01T02:00:00Z")
    path = tmp_path / "report.html"
    write_html(report_document(run, findings), path)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page()
        page.goto(path.as_uri() + "#status=fail")
        page.wait_for_selector("#rows tr.finding")
        assert page.locator("#rows tr.finding").count() == 100 and page.locator("#shown-count").text_content() == "160"
        page.emulate_media(media="print")  # what printing does: the print stylesheet applies, the rows are built
        expect(page.locator("#print-rows tr.finding")).to_have_count(160, timeout=10000)
        assert page.locator("#print-rows tr.finding").count() == 160 and not page.locator("#rows").is_visible()
        pdf = tmp_path / "report.pdf"
        page.pdf(path=str(pdf))
        browser.close()
    text = "".join(page_.extract_text() for page_ in PdfReader(str(pdf)).pages)
    printed = {f"PRINT-{n}" for n in re.findall(r"PRINT-\s*(\d{3})", text)}  # a narrow cell may wrap the id
    assert printed == {f"PRINT-{n:03d}" for n in range(160)}
