"""``auditor spec coverage``: the traceability matrix auditors ask for, from spec section to rule to verdict.

For each section of a pack's spec: the rules whose ``spec_ref`` quotes it, the requirements the pack lists as
``not_covered`` there (with the reason), and, given a run, each rule's verdict in it. A section is accounted for
when it, a section above it or one below it has a rule or a not_covered entry; the others are listed as gaps,
so that a requirement nobody encoded or set aside shows up instead of hiding in the prose.
"""
from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Optional

from auditor.engine.findings import Finding
from auditor.rules.pack import Pack
from auditor.rules.specdoc import SpecDocument, split_ref

# A rule's verdict over its findings in one run, the worst first.
VERDICT_ORDER = ("fail", "error", "waived", "pass", "superseded")


def rule_verdicts(findings: list[Finding]) -> dict[str, dict]:
    """Per rule: counts by status and the verdict (its worst status) in one run."""
    counts: dict[str, Counter] = {}
    for finding in findings:
        counts.setdefault(finding.rule_id, Counter())[finding.status] += 1
    return {rule_id: {"verdict": next(s for s in VERDICT_ORDER if c.get(s)), "counts": dict(c)}
            for rule_id, c in counts.items()}


def coverage_matrix(pack: Pack, document: Optional[SpecDocument], verdicts: Optional[dict[str, dict]] = None,
                    run_id: Optional[str] = None) -> dict:
    """The matrix of one pack, as JSON-ready data (the terminal, HTML and server views all render this)."""
    spec = pack.header.spec or ""
    rows: dict[str, dict] = {}
    order: list[str] = []
    unplaced: list[dict] = []

    def row(key: str, label: str, level: int = 2, line: Optional[int] = None, parent: Optional[str] = None) -> dict:
        if key not in rows:
            rows[key] = {"key": key, "label": label, "level": level, "line": line, "parent": parent, "rules": [],
                         "not_covered": [], "state": ""}
            order.append(key)
        return rows[key]

    if document is not None:
        for section in document.sections:
            row(section.key, section.label, section.level, section.line, section.parent)
    for rule in pack.rules:
        judged = (verdicts or {}).get(rule.id, {})
        entry = {"id": rule.id, "title": rule.title, "severity": rule.severity, "control": rule.control,
                 "spec_ref": rule.spec_ref, "spec_conflict": rule.spec_conflict,
                 "verdict": judged.get("verdict", "not evaluated") if verdicts is not None else None,
                 "counts": judged.get("counts", {}),
                 "left_out": rule.left_out if rule.covers == "partial" else None}
        placed = False
        for ref in split_ref(rule.spec_ref)[1]:
            if document is None:  # no spec file at hand: group by the section the ref names, as written
                targets = [row(ref.split(":", 1)[0].strip(), ref.split(":", 1)[0].strip())]
            else:
                targets = [rows[s.key] for s in document.resolve(ref)]
            for target in targets:
                if not any(r["id"] == rule.id for r in target["rules"]):
                    target["rules"].append({**entry, "quote": ref})
                placed = True
        if not placed:
            unplaced.append(entry)
    for item in pack.header.not_covered:
        sections = document.resolve(item.section) if document is not None else []
        targets = [rows[s.key] for s in sections] if sections else [row(item.section, item.section)]
        for target in targets:
            target["not_covered"].append({"requirement": item.requirement, "reason": item.reason,
                                          "checkable": item.checkable})
    _account(rows, order)
    listed = [rows[k] for k in order]
    return {
        "pack": pack.id, "title": pack.header.title, "spec": spec, "spec_found": document is not None,
        "spec_path": str(document.path) if document is not None else None, "run_id": run_id,
        "sections": listed, "unplaced": unplaced,
        "totals": {
            "sections": len(listed),
            "encoded": sum(1 for r in listed if r["rules"]),
            "not_covered_only": sum(1 for r in listed if r["not_covered"] and not r["rules"]),
            # Without the spec file only the sections the rules name are known: gaps cannot be judged (None).
            "gaps": sum(1 for r in listed if r["state"] == "gap") if document is not None else None,
            "rules": len(pack.rules),
            "not_covered": len(pack.header.not_covered),
            # Requirements an AWS API could show that no rule checks yet, and the share of the checkable ones
            # encoded (a rule counted as one requirement, a set-aside entry as one).
            "checkable_not_covered": sum(1 for n in pack.header.not_covered if n.checkable),
            "partial": sum(1 for r in pack.rules if r.covers == "partial"),
            # The headline: rules over every checkable requirement the pack knows of: its rules, the remainder
            # of each partial rule, what it sets aside as checkable, and each gap section (at least one
            # requirement nobody encoded). Unknown (None) without the spec file, where gaps cannot be judged.
            "checkable": None if document is None else (
                len(pack.rules) + sum(1 for r in pack.rules if r.covers == "partial")
                + sum(1 for n in pack.header.not_covered if n.checkable)
                + sum(1 for r in listed if r["state"] == "gap")),
            "encoded_share": None if document is None else _share(
                len(pack.rules), sum(1 for r in pack.rules if r.covers == "partial")
                + sum(1 for n in pack.header.not_covered if n.checkable)
                + sum(1 for r in listed if r["state"] == "gap")),
            "verdicts": dict(Counter(r["verdict"] for r in _unique_rules(listed, unplaced) if r["verdict"])),
        },
    }


def _share(encoded: int, pending: int) -> Optional[float]:
    return round(100.0 * encoded / (encoded + pending), 1) if encoded + pending else None


def _unique_rules(rows: list[dict], unplaced: list[dict]) -> list[dict]:
    seen: dict[str, dict] = {}
    for row in rows:
        for rule in row["rules"]:
            seen.setdefault(rule["id"], rule)
    for rule in unplaced:
        seen.setdefault(rule["id"], rule)
    return list(seen.values())


def _account(rows: dict[str, dict], order: list[str]) -> None:
    """encoded / not covered / below (a subsection has entries) / above (a parent has) / gap."""
    children: dict[Optional[str], list[str]] = {}
    for key in order:
        children.setdefault(rows[key]["parent"], []).append(key)

    def below(key: str) -> bool:
        return any(rows[c]["rules"] or rows[c]["not_covered"] or below(c) for c in children.get(key, []))

    def above(key: str) -> bool:
        parent = rows[key]["parent"]
        return parent is not None and parent in rows and (bool(rows[parent]["rules"] or rows[parent]["not_covered"])
                                                          or above(parent))

    for key in order:
        row = rows[key]
        if row["rules"]:
            row["state"] = "encoded"
        elif row["not_covered"]:
            row["state"] = "not covered"
        elif below(key):
            row["state"] = "see below"
        elif above(key):
            row["state"] = "see above"
        else:
            row["state"] = "gap"


def matrix_for(pack: Pack, folders: list[Path], findings: Optional[list[Finding]] = None,
               run_id: Optional[str] = None) -> dict:
    """The matrix of one pack from its spec file (found in ``folders``; without it, sections as the rules name
    them) and, given a run's findings, each rule's verdict in it."""
    from auditor.rules.specdoc import find_spec, parse_spec

    path = find_spec(pack.header.spec or "", folders)
    verdicts = rule_verdicts([f for f in findings if f.pack == pack.id]) if findings is not None else None
    return coverage_matrix(pack, parse_spec(path) if path else None, verdicts, run_id)


def spec_folders(extra: Optional[Path], configured: Optional[Path], base: Path) -> list[Path]:
    """Where spec files are looked for: --specs, then config.yaml's specs_dir, then ./specs beside it."""
    return [p for p in (extra, configured, base / "specs") if p is not None]


def print_matrix(matrix: dict) -> None:
    """The terminal view: one row per section, the rules (with verdicts) and what is set aside."""
    from rich.markup import escape
    from rich.table import Table

    from auditor.reporting.console import console

    totals = matrix["totals"]
    found = "" if matrix["spec_found"] else " (spec file not found: sections as the rules name them; gaps not judged)"
    table = Table(title=f"{matrix['pack']}: {matrix['spec']}{found}", title_justify="left")
    for column in ("section", "state", "rules", "not covered (why)"):
        table.add_column(column, overflow="fold")
    for row in matrix["sections"]:
        rules = ", ".join(r["id"] + (" (partial)" if r.get("left_out") else "") + (f" {r['verdict']}" if r["verdict"] else "")
                          for r in row["rules"])
        aside = "; ".join(f"{n['requirement']} ({n['reason']}{'; checkable, to do' if n['checkable'] else ''})"
                          for n in row["not_covered"])
        indent = "  " * max(0, row["level"] - 2)
        state = "[bold red]gap[/]" if row["state"] == "gap" else escape(row["state"])
        table.add_row(escape(indent + row["label"]), state, escape(rules), escape(aside))
    console().print(table)
    verdicts = ", ".join(f"{k} {v}" for k, v in sorted(totals["verdicts"].items()))
    share = (f"{totals['encoded_share']} % of {totals['checkable']} checkable requirements encoded"
             if totals["encoded_share"] is not None else "share of the checkable requirements not judged without the spec")
    console().print(f"{matrix['pack']}: {share} ({totals['rules']} rules of which {totals['partial']} partial, "
                    f"{totals['checkable_not_covered']} checkable set aside, {totals['gaps'] or 0} gap sections); "
                    f"{totals['not_covered']} requirements set aside in all; "
                    f"{totals['sections']} sections: {totals['encoded']} encoded, {totals['not_covered_only']} only set "
                    "aside, " + (f"{totals['gaps']} gaps" if totals["gaps"] is not None else
                                 "gaps cannot be judged without the spec file")
                    + (f"; run {matrix['run_id']}: {verdicts}" if matrix["run_id"] else ""),
                    markup=False, highlight=False)
    if matrix["unplaced"]:
        console().print(f"{matrix['pack']}: spec_ref names no section: {', '.join(r['id'] for r in matrix['unplaced'])}",
                        markup=False)


def render_html(matrices: list[dict]) -> str:
    from auditor.reporting.html import environment

    return environment().get_template("spec_coverage.html.j2").render(matrices=matrices)


COVERAGE_FORMATS = ("table", "json", "html")


def coverage_formats(formats: str) -> list[str]:
    """``--format table,json``: each one known, or bad input naming it."""
    from auditor.errors import BadInput

    wanted = [f.strip() for f in formats.split(",") if f.strip()]
    for fmt in wanted:
        if fmt not in COVERAGE_FORMATS:
            raise BadInput(f"spec coverage: format {fmt!r} is not available (available: {', '.join(COVERAGE_FORMATS)})")
    return wanted


def coverage_of(packs: list[Pack], folders: list[Path], db: Optional[Path] = None, run_ref: Optional[str] = None,
                target: Optional[str] = None) -> list[dict]:
    """The matrices of packs that cite a spec; with a run (``run_ref``, or the latest of ``target``), each rule's
    verdict in it, read from the history at ``db`` (read-only)."""
    from auditor.errors import BadInput
    from auditor.history.store import HistoryStore

    without = [p.id for p in packs if not p.header.spec]
    if without:
        raise BadInput(f"pack {without[0]} cites no spec (its header has no 'spec:')")
    findings, run_id = None, None
    if run_ref or target:
        store = HistoryStore(db, read_only=True)
        run_id = store.resolve_run_id(run_ref or "latest", target)
        findings = store.findings(run_id)
    return [matrix_for(pack, folders, findings, run_id) for pack in packs]


def write_coverage(matrices: list[dict], folder: Path, wanted: list[str]) -> list[Path]:
    """spec-coverage.json and .html in ``folder`` (those asked for), each written atomically."""
    import json

    from auditor.reporting.writers import write_atomically

    paths = []
    if "json" in wanted:
        text = json.dumps({"packs": matrices}, indent=1) + "\n"
        paths.append(write_atomically(folder / "spec-coverage.json", lambda p: p.write_text(text, encoding="utf-8")))
    if "html" in wanted:
        page = render_html(matrices)
        paths.append(write_atomically(folder / "spec-coverage.html", lambda p: p.write_text(page, encoding="utf-8")))
    return paths
