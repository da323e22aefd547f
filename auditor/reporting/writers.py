"""Report documents and the writers for each format, registered by name."""
from __future__ import annotations

import csv
import json
import os
from importlib import resources
from pathlib import Path
from typing import Callable, Optional

from auditor import __version__
from auditor.engine.findings import Finding, RunInfo
from auditor.errors import BadInput
from auditor.history.changes import gone_json, is_gone
from auditor.reporting.asff import write_asff
from auditor.reporting.html import write_html
from auditor.reporting.junit import write_junit
from auditor.reporting.ocsf import write_ocsf
from auditor.reporting.sarif import write_sarif
from auditor.reporting.summary import summarize

SCHEMA_VERSION = 1
SCHEMA_PATH = Path(str(resources.files("auditor") / "schemas" / "report.v1.json"))  # package data


def report_document(run: RunInfo, findings: list[Finding], history: Optional[dict] = None,
                    waivers: Optional[dict] = None, dump: Optional[Callable[[Finding], dict]] = None) -> dict:
    """The report.json contract (schema version 1); ``history`` adds the previous run and the score trend,
    ``waivers`` what the waivers file did (active count, expired and stale waivers). ``dump``: how a finding
    becomes JSON, when the caller knows a faster way than pydantic's (findings read back from the history)."""
    dump = dump or (lambda f: f.model_dump(mode="json"))
    gone = [f for f in findings if is_gone(f)]
    current = [f for f in findings if not is_gone(f)] if gone else findings
    summary = summarize(current, run.status)
    summary["by_change"]["resolved"] += len(gone)  # resolved since the previous run, deletions included
    return {
        "schema_version": SCHEMA_VERSION,
        "tool_version": __version__,
        "run": run.model_dump(mode="json"),
        "summary": summary,
        "history": history or {"previous_run": None, "trend": []},
        "waivers": waivers or {"active": 0, "expired": [], "stale": [], "waived_findings": 0},
        "findings": [dump(f) for f in current],
        # Previous failures whose resource is gone: resolved by deletion, not passes of this run.
        "gone": [gone_json(f) for f in gone],
    }


def write_json(document: dict, path: Path) -> None:
    """Indented for people when small; compact when large, where indentation only costs time and size.
    A large report goes through orjson, a thousand findings at a time: ten times json's speed, and never the
    whole report in memory as text."""
    findings = document["findings"]
    if len(findings) <= 10_000:
        with path.open("w", encoding="utf-8") as handle:
            json.dump(document, handle, indent=1, default=str)
            handle.write("\n")
        return
    import orjson

    def encoded(value) -> bytes:
        try:
            return orjson.dumps(value, default=str)
        except orjson.JSONEncodeError:  # a lone surrogate in a name: json escapes it as \\ud800, orjson refuses
            return json.dumps(value, separators=(",", ":"), default=str).encode()

    head = encoded({k: v for k, v in document.items() if k != "findings"})
    with path.open("wb") as handle:
        handle.write(head[:-1] + b',"findings":[')
        for start in range(0, len(findings), 1000):
            if start:
                handle.write(b",")
            handle.write(encoded(findings[start:start + 1000])[1:-1])
        handle.write(b"]}\n")


CSV_COLUMNS = ("run_id", "target", "account_id", "rule_id", "title", "pack", "control", "severity", "status",
               "change", "first_seen", "resource_type", "resource_id", "resource_name", "resource_region",
               "resource_arn", "property", "expected", "actual", "message", "spec_ref", "remediation",
               "waiver_reason", "waiver_owner", "waiver_expires", "file", "line")


def write_csv(document: dict, path: Path, excel: bool = False) -> None:
    """A row per finding; a failed run, which has none, gets an ``error`` row per reason, so that no one reads
    an empty sheet as a clean account. ``excel``: UTF-8 with a byte order mark, without which Excel reads the
    file as the local code page and garbles "§" and every non-ASCII name."""
    run = document["run"]
    common = {"run_id": run["id"], "target": run["target"], "account_id": run.get("account_id") or ""}
    with path.open("w", newline="", encoding="utf-8-sig" if excel else "utf-8", errors="backslashreplace") as handle:
        writer = csv.writer(handle)
        writer.writerow(CSV_COLUMNS)
        if run["status"] == "failed":
            for reason in run.get("errors") or ["the run failed and recorded no reason"]:
                row = {**common, "status": "error", "resource_type": "auditor:run", "resource_id": run["id"],
                       "resource_name": run["target"], "message": f"run failed: {reason}"}
                writer.writerow([_cell(row.get(c)) for c in CSV_COLUMNS])
        for f in document["findings"]:
            res, waiver, source = f["resource"], f.get("waiver") or {}, f.get("source") or {}
            row = {**common, **f, "resource_type": res["type"], "resource_id": res["id"], "resource_name": res["name"],
                   "resource_region": res["region"], "resource_arn": res.get("arn") or "",
                   "waiver_reason": waiver.get("reason"), "waiver_owner": waiver.get("owner"),
                   "waiver_expires": waiver.get("expires"), "file": source.get("file"),
                   "line": str(source["line"]) if source.get("line") else None}
            writer.writerow([_cell(row.get(c)) for c in CSV_COLUMNS])


def write_excel_csv(document: dict, path: Path) -> None:
    write_csv(document, path, excel=True)


def _cell(value: object) -> str:
    if value is None:
        return ""
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    # A cell opened in a spreadsheet must not run as a formula: resource names are untrusted.
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


# In the order of config.FORMATS, which the --help texts and config.yaml's validation read (a test keeps the two
# lists equal).
WRITERS: dict[str, tuple[str, Callable[[dict, Path], None]]] = {
    "json": ("report.json", write_json),
    "csv": ("report.csv", write_csv),
    "excel": ("report.excel.csv", write_excel_csv),
    "html": ("report.html", write_html),
    "sarif": ("report.sarif", write_sarif),
    "junit": ("report.junit.xml", write_junit),
    "ocsf": ("report.ocsf.json", write_ocsf),
    "asff": ("report.asff.json", write_asff),
}


def render(document: dict, fmt: str) -> bytes:
    """One format rendered to bytes, through the same writer the scan uses (the server and evidence bundles)."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / WRITERS[fmt][0]
        WRITERS[fmt][1](document, path)
        return path.read_bytes()


def check_formats(formats: list[str]) -> list[str]:
    for fmt in formats:
        if fmt not in WRITERS:
            raise BadInput(f"report format {fmt!r} is not available (available: {', '.join(WRITERS)})")
    return formats


def write_atomically(path: Path, write: Callable[[Path], None]) -> Path:
    """``write`` fills a temporary file beside ``path``, which is then renamed into place: a reader (or a full
    disk) never sees half a file. Raises OSError when it cannot be written; no partial file remains."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        write(temporary)
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    return path


def write_report_to(document: dict, fmt: str, path: Path) -> Path:
    """One format to a path of the caller's choosing (``--output-file sarif=results.sarif``), atomically."""
    writer = WRITERS[check_formats([fmt])[0]][1]
    return write_atomically(path, lambda temporary: writer(document, temporary))


def write_reports(document: dict, out_dir: Path, formats: list[str]) -> list[Path]:
    """Each report is written to a temporary file beside its place and renamed into it: a reader (or a full
    disk) never sees half a report. Raises OSError when a report cannot be written; no partial file remains."""
    return [write_report_to(document, fmt, out_dir / WRITERS[fmt][0]) for fmt in check_formats(formats)]
