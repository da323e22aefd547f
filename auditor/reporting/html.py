"""The HTML report: one self-contained file rendered from templates/ with autoescape on.

Findings are embedded once as compact JSON (a string table plus rows of indexes) and the page renders only
the visible page of rows, so a run of 100,000 findings stays a file a browser opens. Resource names, tags and
alarm descriptions are untrusted: they reach the page only as JSON (``tojson`` escapes ``<``, ``>``, ``&``)
and are put into the DOM with ``textContent``.
"""
from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

from functools import lru_cache

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from auditor.reporting.summary import SEVERITY_RANK

TEMPLATES = Path(str(resources.files("auditor") / "templates"))  # package data
STATIC = Path(str(resources.files("auditor") / "static"))  # vendored uPlot and our chart helpers
ROW_FIELDS = ("rule", "status", "change", "type", "name", "id", "region", "property", "expected", "actual",
              "message", "first_seen", "source", "waiver", "arn")


@lru_cache(maxsize=1)
def chart_assets() -> dict:
    """uPlot and charts.js, inlined: a report opens with no network and no file beside it. Our own files, read
    from the package, never user input: safe to mark as such."""
    js = "\n".join((STATIC / name).read_text(encoding="utf-8") for name in ("uPlot.iife.min.js", "charts.js"))
    return {"js": Markup(js), "css": Markup((STATIC / "uPlot.min.css").read_text(encoding="utf-8"))}


def environment() -> Environment:
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html", "j2"]),
                      trim_blocks=True, lstrip_blocks=True)
    env.globals["assets"] = chart_assets()
    return env


class StringTable:
    """Each distinct string stored once; rows hold indexes. Most values (types, statuses, messages) repeat."""

    def __init__(self) -> None:
        self.strings: list[str] = []
        self.index: dict[str, int] = {}

    def __call__(self, value: Any) -> int:
        text = value if isinstance(value, str) else json.dumps(value, default=str)
        if text not in self.index:
            self.index[text] = len(self.strings)
            self.strings.append(text)
        return self.index[text]


def compact_findings(findings: list[dict], links: dict | None = None) -> dict:
    """``links``: URL prefixes of a finding's and a resource's timeline, when the report is served (a file
    opened from disk has no history behind it)."""
    table = StringTable()
    rules: dict[str, list] = {}
    rows = []
    for f in findings:
        if f["rule_id"] not in rules:
            rules[f["rule_id"]] = [f["pack"], f.get("title", ""), f["control"], f["severity"], f["spec_ref"],
                                   f["remediation"]]
        res = f["resource"]
        source = f.get("source")
        rows.append([
            table(f["rule_id"]), table(f["status"]), table(f["change"]), table(res["type"]), res["name"],
            0 if res["id"] == res["name"] else res["id"], table(res["region"]), table(f.get("property") or ""),
            table(f["expected"]), table(f["actual"]), table(f["message"]), table(f.get("first_seen") or ""),
            table(f"{source['file']}:{source.get('line') or 1}") if source else -1,
            table(f["waiver"]) if f.get("waiver") else -1,
            _arn(res),
        ])
    return {"fields": list(ROW_FIELDS), "strings": table.strings, "rules": rules, "rows": rows, "links": links}


def _arn(res: dict):
    """0: no ARN; 1: the S3 ARN of the bucket's name (most rows of a large account); else the ARN itself."""
    arn = res.get("arn")
    if not arn:
        return 0
    return 1 if arn == f"arn:aws:s3:::{res['name']}" else arn


def render_html(document: dict, links: dict | None = None) -> str:
    findings = document["findings"]
    changed = [f for f in findings if f["change"] in ("regressed", "resolved") or
               (f["change"] == "new" and f["status"] == "fail" and document["history"].get("previous_run"))]
    changed.sort(key=lambda f: (f["change"], -SEVERITY_RANK[f["severity"]], f["rule_id"]))
    return environment().get_template("report.html.j2").render(
        doc=document,
        run=document["run"],
        summary=document["summary"],
        severities=list(SEVERITY_RANK)[::-1],
        changed=changed[:50],
        changed_total=len(changed),
        trend_rows=document["history"].get("trend", []),
        links=links,
        data=compact_findings(findings, links),
    )


def write_html(document: dict, path: Path) -> None:
    path.write_text(render_html(document), encoding="utf-8", errors="backslashreplace")  # lone surrogates: escaped
