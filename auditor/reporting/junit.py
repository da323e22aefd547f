"""JUnit XML for CI test tabs: a suite per pack, a test case per (rule, resource); fail and error as such."""
from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from xml.etree import ElementTree as ET

from auditor.textsafety import xml_text


def junit_tree(document: dict) -> ET.ElementTree:
    by_pack: dict[str, list[dict]] = defaultdict(list)
    for f in document["findings"]:
        by_pack[f["pack"]].append(f)
    run = document["run"]
    root = ET.Element("testsuites", name=f"auditor {run['target']} {run['id']}", time=_seconds(run))
    totals = defaultdict(int)
    if run["status"] == "failed":
        # A run that could not complete is never a green test tab: one error test case per reason.
        suite = ET.SubElement(root, "testsuite", name="auditor run", timestamp=run["started_at"])
        reasons = run.get("errors") or ["the run failed and recorded no reason"]
        for reason in reasons:
            case = ET.SubElement(suite, "testcase", classname=f"auditor.run.{run['target']}", name=f"audit of {run['target']}")
            ET.SubElement(case, "error", message=reason, type="audit-failed").text = (
                f"run {run['id']} of {run['target']} failed: {reason}\nNo check was made: this run proves nothing.")
        for key, value in (("tests", len(reasons)), ("failures", 0), ("errors", len(reasons)), ("skipped", 0)):
            suite.set(key, str(value))
            totals[key] += value
    for pack, findings in sorted(by_pack.items()):
        suite = ET.SubElement(root, "testsuite", name=pack, timestamp=run["started_at"], time=_seconds(run))
        if run.get("default_source") is not None:
            suite.set("file", _where(run, {"file": run["default_source"]}).rsplit(":", 1)[0])
        counts = defaultdict(int)
        for f in findings:
            resource = f["resource"]
            case = ET.SubElement(suite, "testcase", classname=f"{pack}.{f['rule_id']}",
                                 name=f"{resource['type']} {resource['name']} ({resource['region']})", time="0")
            at = f"at: {_where(run, f['source'])}\n" if f.get("source") else ""
            detail = (f"{at}{f['message']}\nexpected: {json.dumps(f['expected'], default=str)}\n"
                      f"actual: {json.dumps(f['actual'], default=str)}\nspec: {f['spec_ref']}\nfix: {f['remediation']}")
            if f["status"] == "fail":
                ET.SubElement(case, "failure", message=f["message"], type=f["severity"]).text = detail
                counts["failures"] += 1
            elif f["status"] == "error":
                ET.SubElement(case, "error", message=f["message"], type="could-not-check").text = detail
                counts["errors"] += 1
            elif f["status"] == "waived":
                reason = (f.get("waiver") or {}).get("reason", "waived")
                ET.SubElement(case, "skipped", message=f"waived: {reason}")
                counts["skipped"] += 1
            elif f["status"] == "superseded":
                ET.SubElement(case, "skipped", message=f"superseded by {f.get('superseded_by')}: the spec pack judges it")
                counts["skipped"] += 1
        suite.set("tests", str(len(findings)))
        for key in ("failures", "errors", "skipped"):
            suite.set(key, str(counts[key]))
            totals[key] += counts[key]
        totals["tests"] += len(findings)
    for key in ("tests", "failures", "errors"):  # Jenkins' junit-10.xsd has no `skipped` on <testsuites>
        root.set(key, str(totals[key]))
    return ET.ElementTree(root)


def _seconds(run: dict) -> str:
    """The run's duration in seconds, as JUnit's `time` (0 when it did not finish)."""
    import datetime as dt

    if not run.get("finished_at"):
        return "0"
    parse = lambda text: dt.datetime.strptime(text[:19], "%Y-%m-%dT%H:%M:%S")  # noqa: E731
    return f"{max(0.0, (parse(run['finished_at']) - parse(run['started_at'])).total_seconds()):.3f}"


def _where(run: dict, source: dict) -> str:
    """FILE:LINE of an IaC finding, relative to the repository root as the SARIF is."""
    prefix = run.get("source_prefix") or ""
    file = f"{prefix}/{source['file']}" if prefix else source["file"]
    return f"{file}:{source.get('line') or 1}"


def _well_formed(root: ET.Element) -> None:
    """Resource names are untrusted: characters XML 1.0 forbids would make the file unreadable to every CI."""
    for element in root.iter():
        for key, value in element.attrib.items():
            element.set(key, xml_text(value))
        if element.text:
            element.text = xml_text(element.text)


def write_junit(document: dict, path: Path) -> None:
    tree = junit_tree(document)
    _well_formed(tree.getroot())
    ET.indent(tree)
    tree.write(path, encoding="utf-8", xml_declaration=True)
