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

from jinja2 import Environment, FileSystemLoader, select_autoescape

from auditor.reporting.summary import SEVERITY_RANK

TEMPLATES = Path(str(resources.files("auditor") / "templates"))  # package data
ROW_FIELDS = ("rule", "status", "change", "type", "name", "id", "region", "property", "expected", "actual",
              "message", "first_seen", "source", "waiver")


def environment() -> Environment:
    return Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html", "j2"]),
                       trim_blocks=True, lstrip_blocks=True)


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


def compact_findings(findings: list[dict]) -> dict:
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
        ])
    return {"fields": list(ROW_FIELDS), "strings": table.strings, "rules": rules, "rows": rows}


def trend_points(trend: list[dict], width: int = 320, height: int = 60) -> dict:
    """Polyline points for the score (0-100) and failure counts of the last runs."""
    if not trend:
        return {"score": "", "fail": "", "runs": 0}
    step = width / max(1, len(trend) - 1)
    worst = max(1, max(t.get("fail", 0) for t in trend))

    def y(value: float, top: float) -> float:
        return round(height - (value / top) * (height - 4) - 2, 1)

    score = " ".join(f"{round(i * step, 1)},{y(t['score'] or 0, 100)}" for i, t in enumerate(trend))
    fail = " ".join(f"{round(i * step, 1)},{y(t.get('fail', 0), worst)}" for i, t in enumerate(trend))
    return {"score": score, "fail": fail, "runs": len(trend), "width": width, "height": height, "worst": worst}


def render_html(document: dict) -> str:
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
        trend=trend_points(document["history"].get("trend", [])),
        data=compact_findings(findings),
    )


def write_html(document: dict, path: Path) -> None:
    path.write_text(render_html(document), encoding="utf-8", errors="backslashreplace")  # lone surrogates: escaped
