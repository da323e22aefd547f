"""checkov as the IaC parser and as a second opinion: its runners parse Terraform (HCL and plans) and
CloudFormation (YAML, JSON, CDK synth output) and run its own AWS checks, in process, once.

checkov is an optional extra (``pip install auditor[iac]``): it pins an older boto3, which users who only scan
live accounts need not take.
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from auditor.errors import BadInput

TERRAFORM_SUFFIXES = (".tf", ".tfvars")
CFN_SUFFIXES = (".yaml", ".yml", ".json", ".template")


@dataclass
class CheckovOutput:
    root: str
    terraform: dict = field(default_factory=dict)  # TFDefinitionKey or file -> parsed blocks (HCL and plans)
    cloudformation: dict = field(default_factory=dict)  # file -> template
    checks: list[Any] = field(default_factory=list)  # checkov Record objects: passed, failed, skipped


def _import_checkov():
    try:
        from checkov.cloudformation.runner import Runner as CfnRunner
        from checkov.runner_filter import RunnerFilter
        from checkov.terraform.plan_runner import Runner as PlanRunner
        from checkov.terraform.runner import Runner as TfRunner
    except ImportError:
        raise BadInput("auditor iac needs checkov: pip install 'auditor[iac]' (make test installs it)") from None
    logging.getLogger("checkov").setLevel(logging.ERROR)
    return TfRunner, PlanRunner, CfnRunner, RunnerFilter


def is_plan(path: Path) -> bool:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError):
        return False
    return isinstance(data, dict) and ("planned_values" in data or "resource_changes" in data)


def run_checkov(path: Path, var_files: list[Path]) -> CheckovOutput:
    """Parse everything under ``path`` (a directory or one file) and run checkov's checks on it. The checks
    always run: checkov renders variables, Fn::Sub and references while it builds the graph they need."""
    TfRunner, PlanRunner, CfnRunner, RunnerFilter = _import_checkov()
    path = path.resolve()
    if not path.exists():
        raise BadInput(f"{path}: no such file or directory")
    root = str(path if path.is_dir() else path.parent)
    out = CheckovOutput(root=root)

    def report_of(runner, framework: str, **kwargs):
        runner_filter = RunnerFilter(framework=[framework], download_external_modules=False,
                                     var_files=[str(v) for v in var_files] or None, show_progress_bar=False)
        report = runner.run(runner_filter=runner_filter, **kwargs)
        return report[0] if isinstance(report, list) else report

    if path.is_file():
        suffix = path.suffix.lower()
        if suffix == ".tf":
            check_syntax_hcl(path)
            runner = TfRunner()
            report = report_of(runner, "terraform", root_folder=None, files=[str(path)])
            out.terraform.update(runner.definitions or {})
        elif suffix == ".json" and is_plan(path):
            runner = PlanRunner()
            report = report_of(runner, "terraform_plan", root_folder=None, files=[str(path)])
            out.terraform.update(runner.definitions or {})
        elif suffix in CFN_SUFFIXES:
            check_syntax_template(path)
            runner = CfnRunner()
            report = report_of(runner, "cloudformation", root_folder=None, files=[str(path)])
            out.cloudformation.update(runner.definitions or {})
            if not out.cloudformation:
                raise BadInput(f"{path}:1: not a CloudFormation template (no Resources) nor a Terraform plan")
        else:
            raise BadInput(f"{path}: unknown IaC file type {suffix or '(none)'!r}: expected .tf, a plan .json, "
                           ".yaml/.yml/.json/.template CloudFormation, or a directory")
        out.checks.extend(_records(report))
        return out

    tf_files = [p for p in path.rglob("*.tf") if ".terraform" not in p.parts]
    for tf in tf_files:
        check_syntax_hcl(tf)
    if tf_files:
        runner = TfRunner()
        report = report_of(runner, "terraform", root_folder=root)
        out.terraform.update(runner.definitions or {})
        out.checks.extend(_records(report))
    templates = [p for p in path.rglob("*") if p.suffix.lower() in CFN_SUFFIXES and p.is_file()
                 and ".terraform" not in p.parts and not (p.suffix == ".json" and is_plan(p))]
    for template in templates:
        check_syntax_template(template)
    if templates:
        runner = CfnRunner()
        report = report_of(runner, "cloudformation", root_folder=root)
        out.cloudformation.update(runner.definitions or {})
        out.checks.extend(_records(report))
    for plan in (p for p in path.rglob("*.json") if is_plan(p)):
        runner = PlanRunner()
        report = report_of(runner, "terraform_plan", root_folder=None, files=[str(plan)])
        out.terraform.update(runner.definitions or {})
        out.checks.extend(_records(report))
    if not (out.terraform or out.cloudformation):
        raise BadInput(f"{path}: no Terraform or CloudFormation found")
    return out


def _records(report) -> list:
    return list(report.passed_checks) + list(report.failed_checks) + list(report.skipped_checks)


def check_syntax_hcl(path: Path) -> None:
    """checkov skips a file it cannot parse; the gate must refuse it instead, naming the line."""
    import hcl2

    try:
        hcl2.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise BadInput(f"{path}: not UTF-8 text ({exc.reason})") from None
    except Exception as exc:  # lark raises several unrelated exception types; each carries the position
        line = getattr(exc, "line", None) or _line_in(str(exc))
        raise BadInput(f"{path}:{line or 1}: invalid HCL: {str(exc).splitlines()[0][:160]}") from None


def check_syntax_template(path: Path) -> None:
    text = path.read_text(encoding="utf-8", errors="replace")
    if path.suffix.lower() == ".json":
        try:
            json.loads(text)
        except json.JSONDecodeError as exc:
            raise BadInput(f"{path}:{exc.lineno}: invalid JSON: {exc.msg}") from None
        return

    class Loader(yaml.SafeLoader):
        pass

    Loader.add_multi_constructor("!", lambda loader, suffix, node: None)  # CloudFormation short forms
    try:
        yaml.load(text, Loader=Loader)  # noqa: S506 - SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise BadInput(f"{path}:{mark.line + 1 if mark else 1}: invalid YAML: {exc.problem or exc.context}") from None


def _line_in(text: str):
    import re

    match = re.search(r"line (\d+)", text)
    return int(match.group(1)) if match else None
