"""What a person reads on the terminal after a scan: counts by control and severity, and the failures."""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Optional

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from auditor.engine.findings import Finding, RunInfo
from auditor.reporting.summary import SEVERITY_RANK, counts_table, failures_by_severity, score, score_text
from auditor.textsafety import terminal_text

def safe(value: object, style: str = "") -> Text:
    """Untrusted text (names, messages, targets) as rich Text: no markup, control characters made visible."""
    return Text(terminal_text(value), style=style)


STATUS_STYLE = {"pass": "green", "fail": "red", "error": "yellow", "waived": "cyan", "superseded": "dim"}


def not_checked_lines(run: RunInfo, findings: list[Finding]) -> list[str]:
    """What a failed or partial run did not check, for people: the reasons, listings, rules and errors."""
    if run.status == "failed":
        return [f"RUN FAILED: {reason}" for reason in (run.errors or ["no reason recorded"])] + [
            "this run proves nothing about compliance: it has no score and no findings"]
    lines = []
    coverage = run.coverage
    if coverage is not None:
        for item in coverage.unlisted:
            lines.append(f"not checked: {item['type']} in {item['region']}: {item['reason']}")
        for item in coverage.rules_not_run:
            lines.append(f"not run: {item['rule_id']}: {item['reason']}")
    errors = sum(1 for f in findings if f.status == "error")
    if errors:
        lines.append(f"not checked: {errors} finding(s) ended in error (outside the score); see the report")
    return lines


class _Output:
    """What --quiet and --verbose asked for (set by the CLI's global options)."""

    quiet = False
    verbose = False


OUTPUT = _Output()


PIPED_WIDTH = 1000


def plural(count: int, noun: str) -> str:
    """``1 finding``, ``2 findings``, ``0 active waivers``."""
    return f"{count} {noun}" + ("" if count == 1 else "s")


def console() -> Console:
    """Rich on a terminal; when piped to a file or CI log, as wide as the content (up to PIPED_WIDTH columns), so a
    table never splits a resource name or a rule id across lines (a log has no width to fit). Rich honours
    NO_COLOR (which --no-color sets) by itself."""
    return Console(highlight=False, width=None if sys.stdout.isatty() else PIPED_WIDTH)


def result_line(run: RunInfo, findings: list[Finding]) -> str:
    """The one line --quiet keeps: the run, its status and its counts."""
    counts = {s: sum(1 for f in findings if f.status == s) for s in ("fail", "error", "pass")}
    value = None if run.status == "failed" else score(findings)
    return (f"run {run.id} {terminal_text(run.target)}: {run.status}, {counts['fail']} fail, {counts['error']} error, "
            f"{counts['pass']} pass, score {score_text(value, run.status)}")


def print_scan_summary(out: Console, run: RunInfo, findings: list[Finding], paths: list[Path],
                       waivers: Optional[dict] = None, limit: int = 40, gone: int = 0) -> None:
    """``gone``: previous failures whose resource this run no longer has (resolved, not passes)."""
    if OUTPUT.quiet:
        click.echo(result_line(run, findings))
        return
    out.print(
        f"[bold]Run {run.id}[/bold]  target {escape(terminal_text(run.target))}  account {run.account_id}  env {run.environment}  "
        f"regions {', '.join(run.regions)}  packs {', '.join(run.packs)}"
    )
    out.print(f"status {run.status}  score {score_text(None if run.status == 'failed' else score(findings), run.status)}  "
              f"API calls {run.api_calls}  retries {run.retries}")
    for line in not_checked_lines(run, findings):
        out.print(safe(line, style="yellow"))
    for item in (run.coverage.spec_conflicts if run.coverage else []):
        out.print(safe(f"spec conflict: {item['rule_id']} judges the pack's reading: {item['conflict']}"))
    changes = {c: sum(1 for f in findings if f.change == c) for c in ("new", "regressed", "resolved")}
    changes["resolved"] += gone
    new_failures = sum(1 for f in findings if f.change == "new" and f.status == "fail")
    out.print(f"since the previous run: {new_failures} new failures, {changes['regressed']} regressed, "
              f"{changes['resolved']} resolved")
    for title, key, order in (("By control", "control", None), ("By severity", "severity", SEVERITY_RANK)):
        rows = counts_table(findings, key)
        keys = sorted(rows, key=lambda k: -order[k]) if order else list(rows)
        table = Table(title=title, title_justify="left")
        table.add_column(key)
        for status in ("pass", "fail", "error", "waived"):
            table.add_column(status, justify="right", style=STATUS_STYLE[status])
        for k in keys:
            table.add_row(k, *(str(rows[k][s]) for s in ("pass", "fail", "error", "waived")))
        out.print(table)
    superseded = sum(1 for f in findings if f.status == "superseded")
    if superseded:
        out.print(f"{superseded} baseline finding(s) superseded by a spec pack's rule on the same property "
                  "(in the report; outside the score and the gate)")
    failed = failures_by_severity(findings)
    if failed:
        table = Table(title=f"Failures and errors ({len(failed)})", title_justify="left")
        for column in ("severity", "status", "change", "rule", "control", "resource", "expected", "actual"):
            table.add_column(column, overflow="fold")
        for f in failed[:limit]:
            table.add_row(f.severity, safe(f.status, style=STATUS_STYLE[f.status]), f.change, f.rule_id, f.control,
                          safe(f.resource.name), safe(_short(f.expected)), safe(_short(f.actual)))
        out.print(table)
        if len(failed) > limit:
            out.print(f"... and {len(failed) - limit} more in the report")
    waivers = waivers or {}
    if waivers.get("waived_findings") or waivers.get("expired") or waivers.get("stale"):
        waived, active = waivers.get("waived_findings", 0), waivers.get("active", 0)
        out.print(f"waivers: {plural(waived, 'finding')} waived by {plural(active, 'active waiver')}")
        for w in waivers.get("expired", []):
            out.print(safe(f"  expired on {w['expires']}: {w['id']} (owner {w['owner']}): no longer applied"))
        for w in waivers.get("stale", []):
            out.print(safe(f"  stale: {w['id']} (owner {w['owner']}) matches no finding: remove it"))
    if OUTPUT.verbose:
        for service, count in sorted(run.api_calls_by_service.items()):
            out.print(f"API calls to {service}: {count}")
    for path in paths:
        out.print(safe(f"report: {path}"))


def _short(value: object, width: int = 60) -> str:
    text = "unset" if value is None else str(value)
    return text if len(text) <= width else text[: width - 1] + "…"


def print_history(rows: list[dict], as_json: bool) -> None:
    if as_json:
        keep = ("id", "target", "environment", "started_at", "finished_at", "status", "score", "api_calls")
        click.echo(json.dumps([{**{k: r.get(k) for k in keep}, "score": None if r["status"] == "failed" else r["score"],
                                "errors": json.loads(r.get("errors") or "[]"),
                                "coverage": json.loads(r["coverage"]) if r.get("coverage") else None}
                               for r in rows], indent=1))
        return
    table = Table(title="Runs, newest first", title_justify="left")
    for column in ("run", "target", "env", "started", "status", "score", "pass", "fail", "error", "reason"):
        table.add_column(column, overflow="fold")
    for r in rows:
        counts = json.loads(r["summary"])["by_status"] if r.get("summary") else {}
        errors = json.loads(r.get("errors") or "[]")
        shown = "" if r["score"] is None or r["status"] == "failed" else str(r["score"])
        table.add_row(r["id"], safe(r["target"]), r["environment"], r["started_at"], r["status"], shown,
                      *(str(counts.get(s, "")) for s in ("pass", "fail", "error")),
                      safe(_short("; ".join(errors), 80) if errors else ""))
    console().print(table)


def print_diff(diff: dict, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(diff, indent=1, default=str))
        return
    out = console()
    out.print(f"from {diff['run_a']['id']} ({diff['run_a']['started_at']}) "
              f"to {diff['run_b']['id']} ({diff['run_b']['started_at']})")
    for title, key in (("New failures", "new_failures"), ("Regressed", "regressed"), ("Fixed", "fixed")):
        items = diff[key]
        out.print(f"[bold]{title}: {len(items)}[/bold]")
        for item in items:
            out.print(safe(f"  {item['severity']:8} {item['rule_id']:16} {item['resource']['name']}: {item['message']}"))
    out.print(f"still failing: {diff['still_failing']}")
    if diff.get("not_compared"):
        out.print(f"[bold]Not compared: {len(diff['not_compared'])}[/bold] (only one of the runs evaluated them)")
        for item in diff["not_compared"]:
            out.print(safe(f"  {item['rule_id']:16} {item['resource']['name']}: {item['why']}"))
    changes = diff["configuration_changes"]
    out.print(f"[bold]Configuration changes: {len(changes)}[/bold]")
    for change in changes:
        out.print(safe(f"  {change['resource']['type']} {change['resource']['name']}: {change['property']}: "
                       f"{_short(change['before'])} -> {_short(change['after'])}"))
    for title, key in (("Resources added", "resources_added"), ("Resources removed", "resources_removed")):
        if diff[key]:
            out.print(f"[bold]{title}: {len(diff[key])}[/bold]")
            for r in diff[key]:
                out.print(safe(f"  {r['type']} {r['id']} ({r['region']})"))


def print_iac_summary(findings: list[Finding], paths: list[Path], document: dict) -> None:
    """For people reading a CI log: what fails, grouped by file and line, then the counts and the reports."""
    out = console()
    if OUTPUT.quiet:
        counts = document["summary"]["by_status"]
        click.echo(f"{counts['fail']} failed, {counts['error']} could not be checked, {counts['pass']} passed; "
                   f"score {score_text(document['summary']['score'], document['run']['status'])}")
        return
    by_file: dict[str, list[Finding]] = {}
    for f in findings:
        if f.status in ("fail", "error"):
            by_file.setdefault(f.source.file if f.source else "(not declared anywhere)", []).append(f)
    for file in sorted(by_file):
        out.print(safe(file, style="bold"))
        for f in sorted(by_file[file], key=lambda f: ((f.source.line or 0) if f.source else 0, f.rule_id)):
            line = f":{f.source.line}" if f.source and f.source.line else ""
            out.print(safe(f"  {line:6} {f.status.upper():5} {f.severity:8} {f.rule_id:14} {f.resource.name}: {f.message}",
                           style=STATUS_STYLE[f.status]))
    counts = document["summary"]["by_status"]
    for item in (document["run"].get("coverage") or {}).get("spec_conflicts", []):
        out.print(safe(f"spec conflict: {item['rule_id']} judges the pack's reading: {item['conflict']}"))
    out.print(f"{counts['fail']} failed, {counts['error']} could not be checked, {counts['pass']} passed, "
              f"{counts['waived']} waived; score {document['summary']['score']}")
    for path in paths:
        out.print(safe(f"report: {path}"))
