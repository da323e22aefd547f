"""Bad input and unreachable accounts: one line on stderr naming what is wrong, the documented exit code."""
from __future__ import annotations

import json

import pytest

from auditor.demo.mockaws import free_port
from tests.conftest import run_here


def assert_one_line(result, code, *words):
    assert result.code == code, (result.code, result.stdout, result.stderr)
    assert result.stderr.count("\n") == 1, result.stderr
    assert "Traceback" not in result.stderr
    for word in words:
        assert word in result.stderr, result.stderr


def test_unknown_pack(moto_endpoint):
    result = run_here("scan", "--pack", "nope", "--endpoint-url", moto_endpoint, endpoint=moto_endpoint)
    assert_one_line(result, 2, "unknown pack 'nope'", "ecommerce-platform")


def test_malformed_pack_in_rules_dir(moto_endpoint, tmp_path):
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "broken.yaml").write_text("pack: {id: broken, title: B}\nrules:\n  - id: BRK-001\n    title: x\n")
    config = tmp_path / "config.yaml"
    config.write_text("rules_dir: rules\n")
    result = run_here("--config", str(config), "scan", "--pack", "broken", "--endpoint-url", moto_endpoint,
                     endpoint=moto_endpoint)
    # Every mistake of the rule at once, a line each (control, severity, spec_ref, remediation, resource).
    assert result.code == 2, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 5, result.stderr
    assert all(line.startswith(f"auditor: {rules / 'broken.yaml'}:3: rule BRK-001: ") and line.endswith(": missing")
               for line in lines), result.stderr
    assert "Traceback" not in result.stderr


def test_malformed_config_names_file_line_and_field(tmp_path):
    config = tmp_path / "config.yaml"
    config.write_text("fail_on: high\ntargets:\n  - name: prod\n    enviroment: production\n")
    result = run_here("--config", str(config), "scan")
    assert_one_line(result, 2, f"{config}:4:", "targets.0.enviroment: unknown field")
    config.write_text("targets: [\n")
    assert_one_line(run_here("--config", str(config), "scan"), 2, f"{config}:", "invalid YAML")
    assert_one_line(run_here("--config", str(tmp_path / "absent.yaml"), "scan"), 2, "absent.yaml: no such file")


def test_unknown_environment(moto_endpoint, tmp_path):
    result = run_here("scan", "--env", "qa", "--endpoint-url", moto_endpoint, endpoint=moto_endpoint)
    assert_one_line(result, 2, "unknown environment 'qa'")
    config = tmp_path / "config.yaml"
    config.write_text("targets:\n  - environment: preprod\n")
    assert_one_line(run_here("--config", str(config), "scan"), 2, f"{config}:2:", "unknown environment 'preprod'")


@pytest.mark.parametrize("value, expected", [
    ("critical_tables: {a: 1}", "critical_tables: expected a name or a list of names"),
    ("critical_tables: [1, 2]", "critical_tables: expected a name or a list of names"),  # would name no table
    ("audit_log_retention_days: seven", "audit_log_retention_days: expected a number (the default is 2557)"),
    ("sustained_seconds: true", "sustained_seconds: expected a number")])
def test_a_parameter_of_the_wrong_kind(moto_endpoint, tmp_path, value, expected):
    """A number where the pack wants names (a rule would silently select nothing), or words where it compares
    numbers: one line naming the parameter, exit 2, before anything is judged."""
    config = tmp_path / "config.yaml"
    config.write_text(f"parameters:\n  ecommerce-platform:\n    {value}\n")
    result = run_here("--config", str(config), "scan", "--pack", "ecommerce-platform", "--endpoint-url", moto_endpoint,
                      endpoint=moto_endpoint)
    assert_one_line(result, 2, "config.yaml: parameters.ecommerce-platform.", expected)


def test_unknown_parameter_and_format(moto_endpoint, tmp_path):
    config = tmp_path / "config.yaml"
    config.write_text("parameters:\n  ecommerce-platform:\n    bukcet: x\n")
    result = run_here("--config", str(config), "scan", "--pack", "ecommerce-platform", "--endpoint-url", moto_endpoint,
                     endpoint=moto_endpoint)
    assert_one_line(result, 2, "parameters.ecommerce-platform.bukcet", "no such parameter")
    result = run_here("scan", "--format", "pdf", "--endpoint-url", moto_endpoint, endpoint=moto_endpoint)
    assert_one_line(result, 2, "report format 'pdf'")


def test_bad_arguments_are_one_line_exit_2():
    assert_one_line(run_here("scan", "--fail-on", "urgent"), 2, "--fail-on")
    assert_one_line(run_here("scann"), 2, "No such command")


def test_unreachable_endpoint_is_exit_3():
    url = f"http://127.0.0.1:{free_port()}"
    result = run_here("scan", "--pack", "baseline", "--endpoint-url", url, endpoint=url)
    assert_one_line(result, 3, "endpoint unreachable", url)


def test_missing_credentials_is_exit_3(moto_endpoint):
    env = {"AWS_ACCESS_KEY_ID": None, "AWS_SECRET_ACCESS_KEY": None, "AWS_EC2_METADATA_DISABLED": "true"}
    result = run_here("scan", "--pack", "baseline", "--endpoint-url", moto_endpoint, endpoint=moto_endpoint, env=env)
    assert_one_line(result, 3, "no AWS credentials")


def test_unknown_profile_is_bad_input(moto_endpoint):
    result = run_here("scan", "--profile", "nosuch", "--endpoint-url", moto_endpoint, endpoint=moto_endpoint)
    assert_one_line(result, 2, "profile 'nosuch'")


def test_a_template_checkov_cannot_read_stops_the_gate_beside_valid_terraform(tmp_path):
    """A lone \\ud800 escape: Python's json takes it, checkov's parser drops the file with a log line, and the
    gate used to pass on main.tf alone (exit 0). Every IaC file the gate cannot read is exit 2, one line."""
    (tmp_path / "main.tf").write_text('resource "aws_s3_bucket" "b" {\n  bucket = "acme-b"\n}\n')
    (tmp_path / "storage.json").write_text(
        '{"AWSTemplateFormatVersion": "2010-09-09",\n "Resources": {"B": {"Type": "AWS::S3::Bucket",\n'
        '  "Properties": {"BucketName": "acme-\\ud800"}}}}\n')
    result = run_here("iac", str(tmp_path), "--pack", "baseline", "--env", "production", "--no-checkov")
    assert result.code == 2 and result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert "storage.json:3: invalid JSON: \\ud800 is half of a UTF-16 pair" in result.stderr


def test_any_template_checkov_drops_is_bad_input(tmp_path, monkeypatch):
    """Whatever else makes checkov's parser give up on a template (it logs and goes on), the gate refuses."""
    import pytest

    from auditor.errors import BadInput
    from auditor.iac import checkov_run

    (tmp_path / "stack.yaml").write_text("AWSTemplateFormatVersion: '2010-09-09'\nResources:\n"
                                         "  B: {Type: AWS::S3::Bucket}\n")
    monkeypatch.setattr(checkov_run, "_definitions", lambda runner: {})
    with pytest.raises(BadInput, match="stack.yaml:1: a CloudFormation template that cannot be read"):
        checkov_run.run_checkov(tmp_path, [], with_checks=False)


def test_a_config_of_organizations_only_invents_no_default_target(tmp_path):
    """organizations: and no targets: used to add the `default` target, and --all-targets audited whatever
    account the shell was signed in to beside the organization."""
    from auditor.config import load_config

    org = {"name": "acme", "role_name": "OrganizationAccountAccessRole", "regions": ["us-east-1"],
           "packs": ["baseline"]}
    only_orgs = tmp_path / "orgs.yaml"
    only_orgs.write_text("organizations:\n  - " + json.dumps(org) + "\n")
    assert load_config(only_orgs).targets == []
    nothing = tmp_path / "empty.yaml"
    nothing.write_text("db: history.db\n")
    assert [t.name for t in load_config(nothing).targets] == ["default"]  # a config naming no account at all
    result = run_here("--config", str(only_orgs), "scan", "--pack", "baseline")
    assert result.code == 2 and "lists no targets" in result.stderr and result.stderr.count("\n") == 1


def test_a_visibility_timeout_below_the_task_limit_is_bad_config(tmp_path):
    config = tmp_path / "config.yaml"
    config.write_text("executor:\n  type: celery\n  broker_url: redis://127.0.0.1:1/0\n"
                      "  task_time_limit_seconds: 3900\n  visibility_timeout_seconds: 600\n")
    result = run_here("--config", str(config), "scan", "--all-targets")
    assert result.code == 2 and result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert "config.yaml" in result.stderr and "visibility_timeout_seconds (600) must exceed" in result.stderr
