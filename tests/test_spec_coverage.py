"""The traceability matrix: every rule's spec_ref names a section of its spec, every section of the five specs
is accounted for (a rule, or a requirement set aside with a reason), and `auditor spec coverage` shows it, with
each rule's verdict in a run."""
from __future__ import annotations

import json

import pytest

from auditor.reporting.spec_coverage import coverage_matrix
from auditor.rules.load import PackFileSet
from auditor.rules.specdoc import check_spec_refs, parse_spec
from tests.accounts import build_pointf
from tests.conftest import ROOT, run_here

SPECS = ROOT.parent / "shared" / "specs"
SPEC_PACKS = ("serverless-app", "co2-storagestack", "ecommerce-platform", "pointf", "officeless")


@pytest.mark.parametrize("pack_id", SPEC_PACKS)
def test_every_spec_ref_names_a_section_and_every_section_is_accounted_for(pack_id):
    (pack,) = PackFileSet().load([pack_id])
    assert check_spec_refs(pack, [SPECS]) == []
    matrix = coverage_matrix(pack, parse_spec(SPECS / pack.header.spec))
    assert matrix["unplaced"] == []
    assert [s["label"] for s in matrix["sections"] if s["state"] == "gap"] == []
    placed = {r["id"] for s in matrix["sections"] for r in s["rules"]}
    assert placed == {r.id for r in pack.rules}  # every rule sits under the section it quotes
    pending = [n for n in pack.header.not_covered if n.checkable]  # what an AWS API shows and no rule checks yet
    totals = matrix["totals"]
    assert totals["checkable_not_covered"] == len(pending)
    # The headline is rules over every checkable requirement: rules, each partial rule's remainder, what is set
    # aside as checkable, and gap sections (none here) -- never rules over what the pack itself declares.
    partial = [r for r in pack.rules if r.covers == "partial"]
    assert totals["partial"] == len(partial) and all(r.left_out for r in partial)
    assert totals["checkable"] == len(pack.rules) + len(partial) + len(pending) + totals["gaps"]
    assert totals["encoded_share"] == round(100 * len(pack.rules) / totals["checkable"], 1)


def test_a_gap_section_and_a_partial_rule_count_against_the_headline(tmp_path):
    """A spec section nobody encoded or set aside and a rule that checks part of its sentence both lower the
    share: the denominator is every checkable requirement known, not only those the pack declares."""
    spec = tmp_path / "tiny.txt"
    spec.write_text("# Tiny\n\n## 1. Buckets\n\nVersioned and encrypted.\n\n## 2. Tables\n\nPITR on.\n")
    pack_file = tmp_path / "tiny.yaml"
    pack_file.write_text("""pack:
  id: tiny
  title: Tiny
  spec: tiny.txt
rules:
  - id: TINY-S3-001
    title: Buckets are versioned and encrypted
    covers: partial
    left_out: "encryption"
    control: versioning
    severity: high
    spec_ref: "tiny.txt §1"
    remediation: "enable versioning"
    resource: {type: "AWS::S3::Bucket"}
    check: {key: versioning.status, equals: Enabled}
""")
    from auditor.rules.load import load_pack

    matrix = coverage_matrix(load_pack(pack_file), parse_spec(spec))
    totals = matrix["totals"]
    assert totals["gaps"] == 1 and totals["partial"] == 1  # §2 has nothing
    assert totals["checkable"] == 3 and totals["encoded_share"] == 33.3  # 1 rule of (1 + 1 remainder + 1 gap)
    (bucket_row,) = [s for s in matrix["sections"] if s["rules"]]
    assert bucket_row["rules"][0]["left_out"] == "encryption"
    pack_file.write_text(pack_file.read_text().replace('    left_out: "encryption"\n', ""))
    result = run_here("rules", "validate", str(pack_file))
    assert result.code == 2 and "covers: partial needs left_out" in result.stderr and "tiny.yaml:" in result.stderr


def test_a_quote_naming_a_subsection_lands_there():
    (pack,) = PackFileSet().load(["pointf"])
    matrix = coverage_matrix(pack, parse_spec(SPECS / pack.header.spec))
    by_label = {s["label"]: s for s in matrix["sections"]}
    assert [r["id"] for r in by_label["Table 2: Carts"]["rules"]] == ["PTF-DDB-003", "PTF-DDB-006"]
    assert [r["id"] for r in by_label["Bucket 3: Analytics Results"]["rules"]] == ["PTF-S3-003"]


def test_spec_coverage_prints_the_matrix_for_all_five_packs(tmp_path):
    result = run_here("spec", "coverage", "--specs", str(SPECS), "--format", "table,json,html", "--out", str(tmp_path),
                     "--fail-on-gaps")
    assert result.code == 0, result.stderr
    for pack_id in SPEC_PACKS:
        assert f"{pack_id}: " in result.stdout and " 0 gaps" in result.stdout
    document = json.loads((tmp_path / "spec-coverage.json").read_text())
    assert [m["pack"] for m in document["packs"]] == sorted(SPEC_PACKS)
    html = (tmp_path / "spec-coverage.html").read_text()
    assert "ECOM-RDS-007" in html and "§3.1.1 Production Environment" in html


def test_spec_coverage_shows_each_rules_verdict_in_a_run(aws, tmp_path):
    build_pointf(aws, "production")
    db = tmp_path / "h.db"
    scan = run_here("scan", "--pack", "pointf", "--env", "production", "--endpoint-url", aws.endpoint,
                   "--out", str(tmp_path), "--db", str(db), "--format", "json", endpoint=aws.endpoint)
    assert scan.code in (0, 1), scan.stderr
    result = run_here("spec", "coverage", "pointf", "--specs", str(SPECS), "--run", "latest", "--db", str(db),
                     "--format", "json", "--out", str(tmp_path))
    (matrix,) = json.loads((tmp_path / "spec-coverage.json").read_text())["packs"]
    verdicts = {r["id"]: r["verdict"] for s in matrix["sections"] for r in s["rules"]}
    assert verdicts["PTF-RDS-001"] == "pass" and set(verdicts.values()) <= {"pass", "fail", "error"}
    assert matrix["run_id"] and matrix["totals"]["verdicts"]["pass"] >= 10
    assert result.code == 0


def test_a_spec_ref_naming_no_section_is_bad_input(tmp_path):
    pack = (ROOT / "auditor" / "packs" / "pointf.yaml").read_text().replace(
        "§2 RDS PostgreSQL: Backup Retention 30 days", "§9 Backups: Retention 30 days")
    (tmp_path / "pointf.yaml").write_text(pack)
    result = run_here("rules", "validate", str(tmp_path / "pointf.yaml"), "--specs", str(SPECS))
    assert result.code == 2 and "Traceback" not in result.stderr
    assert "pointf.yaml:" in result.stderr and "'§9 Backups: Retention 30 days' names no section" in result.stderr


def test_without_the_spec_file_the_matrix_follows_the_refs_and_says_so(tmp_path):
    result = run_here("spec", "coverage", "serverless-app", "--specs", str(tmp_path), "--format", "table")
    assert result.code == 0 and "not found" in result.stderr and "SRV-" in result.stdout
    assert "gaps cannot be judged without the spec file" in result.stdout and " 0 gaps" not in result.stdout
    assert "--specs DIR" in result.stderr
    result = run_here("spec", "coverage", "serverless-app", "--specs", str(tmp_path), "--format", "json", "--out",
                      str(tmp_path / "out"))
    (matrix,) = json.loads((tmp_path / "out" / "spec-coverage.json").read_text())["packs"]
    assert matrix["spec_found"] is False and matrix["totals"]["gaps"] is None  # not 0: unknown
    failing = run_here("spec", "coverage", "serverless-app", "--specs", str(tmp_path), "--fail-on-gaps")
    assert failing.code == 2 and "gaps cannot be judged without" in failing.stderr
