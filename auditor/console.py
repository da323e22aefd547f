"""What a person reads on the terminal after a scan: counts by control and severity, and the failures."""
from __future__ import annotations

import sys
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from auditor.findings import Finding, RunInfo
from auditor.reporting.summary import SEVERITY_RANK, counts_table, failures_by_severity, score

STATUS_STYLE = {"pass": "green", "fail": "red", "error": "yellow", "waived": "cyan"}


def console() -> Console:
    """Rich on a terminal; plain and wide enough not to fold tables when piped to a file or CI log."""
    return Console(highlight=False, width=None if sys.stdout.isatty() else 160)


def print_scan_summary(out: Console, run: RunInfo, findings: list[Finding], paths: list[Path], limit: int = 40) -> None:
    out.print(
        f"[bold]Run {run.id}[/bold]  target {escape(run.target)}  account {run.account_id}  env {run.environment}  "
        f"regions {', '.join(run.regions)}  packs {', '.join(run.packs)}"
    )
    out.print(f"status {run.status}  score {score(findings)}  API calls {run.api_calls}  retries {run.retries}")
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
    failed = failures_by_severity(findings)
    if failed:
        table = Table(title=f"Failures and errors ({len(failed)})", title_justify="left")
        for column in ("severity", "status", "rule", "control", "resource", "expected", "actual"):
            table.add_column(column, overflow="fold")
        for f in failed[:limit]:
            table.add_row(f.severity, Text(f.status, style=STATUS_STYLE[f.status]), f.rule_id, f.control,
                          Text(f.resource.name), Text(_short(f.expected)), Text(_short(f.actual)))
        out.print(table)
        if len(failed) > limit:
            out.print(f"... and {len(failed) - limit} more in the report")
    for path in paths:
        out.print(f"report: {path}")


def _short(value: object, width: int = 60) -> str:
    text = "unset" if value is None else str(value)
    return text if len(text) <= width else text[: width - 1] + "…"
