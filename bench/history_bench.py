"""History and report bench: a year of nightly runs of 100,000 findings each.

    .venv/bin/python bench/history_bench.py [--nights 365] [--findings 100000] [--churn 0.005]

Writes the runs through the real HistoryStore (one transaction each, as a scan does), with ``churn`` of the
findings changing status every night, then measures on the last night: rendering HTML and JSON, the HTML's
size, headless chromium opening it and applying a filter, ``diff`` between the last two runs, and the size of
the database. Prints a Markdown table for bench/README.md. Not a test: nothing here asserts a time.
"""
from __future__ import annotations

import argparse
import os
import random
import resource
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from auditor.engine.findings import Finding, ResourceRef, RunInfo  # noqa: E402
from auditor.history.changes import annotate_changes, priors_of  # noqa: E402
from auditor.history.diff import diff_runs  # noqa: E402
from auditor.history.store import HistoryStore  # noqa: E402
from auditor.reporting.html import write_html  # noqa: E402
from auditor.reporting.rerender import stored_document  # noqa: E402
from auditor.reporting.summary import summarize  # noqa: E402
from auditor.reporting.writers import write_json  # noqa: E402
from auditor.services.s3.model import S3Bucket  # noqa: E402

RULES = 50
CONTROLS = ["encryption", "versioning", "lifecycle", "public_access_block", "pitr", "backup", "alarm", "capacity"]
SEVERITIES = ["critical", "high", "medium", "low", "info"]


def make_findings(count: int, rng: random.Random) -> list[Finding]:
    resources = count // RULES
    out = []
    for r in range(RULES):
        rule_id = f"BENCH-S3-{r:03d}"
        for n in range(resources):
            failing = rng.random() < 0.2
            out.append(Finding(
                rule_id=rule_id, pack="bench", title=f"Bench rule {r}", control=CONTROLS[r % len(CONTROLS)],
                severity=SEVERITIES[r % len(SEVERITIES)], status="fail" if failing else "pass",
                resource=ResourceRef(type="AWS::S3::Bucket", id=f"bucket-{n:06d}", arn=f"arn:aws:s3:::bucket-{n:06d}",
                                     name=f"bucket-{n:06d}", region="us-east-1"),
                property="versioning.status", expected="Enabled", actual="Suspended" if failing else "Enabled",
                message=f"versioning.status is {'Suspended' if failing else 'Enabled'!r}, expected == 'Enabled'",
                spec_ref="bench.txt §1", remediation="aws s3api put-bucket-versioning ..."))
    return out


def churn(findings: list[Finding], share: float, rng: random.Random) -> list[Finding]:
    out = []
    for f in findings:
        if rng.random() < share:
            failing = f.status != "fail"
            f = f.model_copy(update={"status": "fail" if failing else "pass",
                                     "actual": "Suspended" if failing else "Enabled"})
        out.append(f)
    return out


def buckets(count: int, night: int) -> list[S3Bucket]:
    return [S3Bucket(id=f"bucket-{n:06d}", name=f"bucket-{n:06d}", region="us-east-1",
                     tags={"night": str(night)} if n == 0 else {}) for n in range(count)]


def timed(fn, *args):
    start = time.perf_counter()
    value = fn(*args)
    return value, time.perf_counter() - start


def chromium_open_and_filter(path: Path) -> tuple[float, float]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run"])
        page = browser.new_page()
        start = time.perf_counter()
        page.goto(path.as_uri())
        page.wait_for_selector("#rows tr.finding")
        opened = time.perf_counter() - start
        start = time.perf_counter()
        page.click("#f-status summary")
        page.check('#f-status input[value="fail"]')
        page.locator("#rows tr.finding td.status-fail").first.wait_for()
        filtered = time.perf_counter() - start
        browser.close()
    return opened, filtered


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--nights", type=int, default=365)
    parser.add_argument("--findings", type=int, default=100_000)
    parser.add_argument("--churn", type=float, default=0.005)
    parser.add_argument("--dir", type=Path, default=None)
    args = parser.parse_args()
    rng = random.Random(7)
    work = args.dir or Path(tempfile.mkdtemp(prefix="auditor-bench-"))
    store = HistoryStore(work / "history.db")
    findings = make_findings(args.findings, rng)
    resource_count = args.findings // RULES
    start_day = datetime(2025, 11, 21, 2, 0, tzinfo=timezone.utc)
    previous: list[Finding] | None = None
    save_times = []
    run_ids = []
    for night in range(args.nights):
        started = (start_day + timedelta(days=night)).strftime("%Y-%m-%dT%H:%M:%SZ")
        run = RunInfo(id=f"night-{night:03d}", target="bench", regions=["us-east-1"], environment="production",
                      packs=["bench"], started_at=started, finished_at=started, status="complete")
        current = [f.model_copy() for f in churn(findings, args.churn if night else 0, rng)]
        findings = current
        t0 = time.perf_counter()
        store.begin_run(run)
        annotated = annotate_changes(current, priors_of(previous) if previous else None, started)
        store.finish_run(run, [f for f in annotated if f.actual != "absent" or f.change != "resolved"],
                         buckets(resource_count, night), summarize(annotated))
        save_times.append(time.perf_counter() - t0)
        previous = current
        run_ids.append(run.id)
        if night % 30 == 0:
            print(f"night {night}: saved in {save_times[-1]:.2f}s", file=sys.stderr)
    last, before = run_ids[-1], run_ids[-2]
    # as a scan renders: the findings are in memory
    from auditor.history.context import history_context
    from auditor.reporting.writers import report_document
    memory_doc, t_doc = timed(report_document, store.run(last), annotated, history_context(store, store.run(last)))
    _, t_mem_html = timed(write_html, memory_doc, work / "scan-report.html")
    _, t_mem_json = timed(write_json, memory_doc, work / "scan-report.json")
    del memory_doc
    # as `auditor report RUN_ID` renders: the findings come back from the history
    document, t_load = timed(stored_document, store, last)
    html_path, json_path = work / "report.html", work / "report.json"
    _, t_html = timed(write_html, document, html_path)
    _, t_json = timed(write_json, document, json_path)
    diff, t_diff = timed(diff_runs, store, before, last)
    # as the user runs it: a fresh process, the default formats (html, json)
    import subprocess

    _, t_cli = timed(lambda: subprocess.run([sys.executable, "-m", "auditor", "report", last, "--db",
                                             str(work / "history.db"), "--out", str(work / "cli"), "--format",
                                             "html,json"], check=True, capture_output=True))
    store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db_size = os.path.getsize(work / "history.db")
    opened = filtered = float("nan")
    if Path("/usr/bin/chromium").exists():
        opened, filtered = chromium_open_and_filter(html_path)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    rows = [
        ("nights stored", f"{args.nights} x {args.findings:,} findings, {args.churn:.1%} churn a night", ""),
        ("saving one night (median)", f"{sorted(save_times)[len(save_times) // 2]:.2f} s", ""),
        ("scan: report document + HTML + JSON from memory", f"{t_doc + t_mem_html + t_mem_json:.2f} s "
         f"({t_doc:.2f} + {t_mem_html:.2f} + {t_mem_json:.2f})", "< 5 s"),
        ("auditor report: load run and previous from history", f"{t_load:.2f} s", ""),
        ("auditor report: HTML", f"{t_html:.2f} s", ""),
        ("auditor report: JSON", f"{t_json:.2f} s", ""),
        ("`auditor report RUN_ID` as a command (html, json)", f"{t_cli:.2f} s", "< 5 s"),
        ("HTML size", f"{html_path.stat().st_size / 1e6:.1f} MB", "< 20 MB"),
        ("JSON size", f"{json_path.stat().st_size / 1e6:.1f} MB", ""),
        ("chromium: open", f"{opened:.2f} s", "< 3 s (open + filter)"),
        ("chromium: filter status=fail", f"{filtered:.2f} s", ""),
        ("diff of the last two runs", f"{t_diff:.2f} s ({len(diff['new_failures'])} new, "
                                      f"{len(diff['regressed'])} regressed, {len(diff['fixed'])} fixed)", "< 1 s"),
        ("database size", f"{db_size / 1e6:.0f} MB", "< 2 GB"),
        ("peak RSS of this script", f"{peak:.0f} MB", ""),
    ]
    print("| measure | figure | target |\n| --- | --- | --- |")
    for row in rows:
        print(f"| {row[0]} | {row[1]} | {row[2]} |")
    print(f"\n(work directory: {work})", file=sys.stderr)


if __name__ == "__main__":
    main()
