"""checkov as the IaC parser and as a second opinion: its runners parse Terraform (HCL and plans) and
CloudFormation (YAML, JSON, CDK synth output) and run its own AWS checks, in process, once.

checkov is an optional extra (``pip install auditor[iac]``): it pins an older boto3, which users who only scan
live accounts need not take.
"""
from __future__ import annotations

import contextlib
import copy
import io
import json
import logging
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


from auditor.errors import BadInput
from auditor.yamlfile import check_yaml_tree

CFN_MAX_DEPTH = 200

TERRAFORM_SUFFIXES = (".tf", ".tfvars")
CFN_SUFFIXES = (".yaml", ".yml", ".json", ".template")


@dataclass
class CheckovOutput:
    root: str
    terraform: dict = field(default_factory=dict)  # TFDefinitionKey or file -> parsed blocks (HCL and plans)
    cloudformation: dict = field(default_factory=dict)  # file -> template
    checks: list[Any] = field(default_factory=list)  # checkov Record objects: passed, failed, skipped
    skipped: list[str] = field(default_factory=list)  # files under the path that are neither IaC nor a plan
    var_files: list[Path] = field(default_factory=list)  # the -var-file values checkov rendered with
    # Warnings, errors and tracebacks checkov logged or printed while it ran: kept off the user's stderr.
    messages: int = 0


def _import_checkov():
    try:
        from checkov.cloudformation.runner import Runner as CfnRunner
        from checkov.runner_filter import RunnerFilter
        from checkov.terraform.plan_runner import Runner as PlanRunner
        from checkov.terraform.runner import Runner as TfRunner
    except ImportError:
        raise BadInput("auditor iac needs checkov: pip install 'auditor[iac]' (make test installs it)") from None
    silence_checkov()
    return _as_parsed(TfRunner, "check_tf_definition"), PlanRunner, _as_parsed(CfnRunner, "check_definitions"), RunnerFilter


def _as_parsed(runner_class: type, check_method: str) -> type:
    """A runner that keeps the definitions as parsed and rendered, before its checks run: checkov's checks
    rewrite what they read in place (a ``dynamic`` block merged into the resource a second time), so the model
    auditor judges would otherwise depend on whether checkov's checks ran."""
    def check(self, *args, **kwargs):
        self.parsed_definitions = copy.deepcopy(self.definitions)
        return getattr(runner_class, check_method)(self, *args, **kwargs)

    return type(f"Parsed{runner_class.__name__}", (runner_class,), {check_method: check, "parsed_definitions": None})


def _definitions(runner) -> dict:
    parsed = getattr(runner, "parsed_definitions", None)
    return (parsed if parsed is not None else runner.definitions) or {}


class _Counted(logging.Handler):
    """Counts what checkov logs at WARNING and above (its tracebacks included), for the report."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1


CHECKOV_LOG = _Counted()


def silence_checkov() -> None:
    """checkov logs (and sometimes prints) as it parses; our stderr is one line per problem, so its loggers
    write nowhere but a counter the report shows. What it has to say that matters reaches us as parse results
    or exceptions."""
    for name in [n for n in logging.root.manager.loggerDict if n.split(".")[0] in ("checkov", "bc_jsonpath_ng", "hcl2")]:
        logger = logging.getLogger(name)
        logger.handlers = [CHECKOV_LOG]
        logger.propagate = False
    base = logging.getLogger("checkov")
    base.handlers = [CHECKOV_LOG]
    base.propagate = False


# A check id no checkov check has: with --no-checkov the runners parse and render, and run none of their checks.
NO_CHECKS = "AUDITOR_RUNS_NO_CHECKOV_CHECK"


def is_plan(path: Path) -> bool:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError):
        return False
    return isinstance(data, dict) and ("planned_values" in data or "resource_changes" in data)


def run_checkov(path: Path, var_files: list[Path], with_checks: bool = True) -> CheckovOutput:
    """Parse everything under ``path`` (a directory or one file) and, ``with_checks``, run checkov's checks on
    it. checkov renders variables, Fn::Sub and references while it builds its graph, which happens either way;
    without checks, the filter selects none of them."""
    TfRunner, PlanRunner, CfnRunner, RunnerFilter = _import_checkov()
    path = path.resolve()
    if not path.exists():
        raise BadInput(f"{path}: no such file or directory")
    root = str(path if path.is_dir() else path.parent)
    out = CheckovOutput(root=root, var_files=list(var_files))

    def report_of(runner, framework: str, **kwargs):
        runner_filter = RunnerFilter(framework=[framework], download_external_modules=False,
                                     var_files=[str(v) for v in var_files] or None, show_progress_bar=False,
                                     checks=None if with_checks else [NO_CHECKS])
        logged, printed, root = CHECKOV_LOG.count, io.StringIO(), logging.getLogger()
        root.addHandler(CHECKOV_LOG)  # checkov logs to the root logger too (logging.warning(...))
        try:
            with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(printed), \
                    warnings.catch_warnings(record=True) as warned:
                warnings.simplefilter("always")
                report = runner.run(runner_filter=runner_filter, **kwargs)
        finally:
            root.removeHandler(CHECKOV_LOG)
        silence_checkov()  # loggers created while it ran
        out.messages += (CHECKOV_LOG.count - logged) + len(warned) + \
            sum(1 for line in printed.getvalue().splitlines() if line.strip())
        return report[0] if isinstance(report, list) else report

    if path.is_file():
        suffix = path.suffix.lower()
        if suffix == ".tf":
            check_syntax_hcl(path)
            runner = TfRunner()
            report = report_of(runner, "terraform", root_folder=None, files=[str(path)])
            out.terraform.update(_definitions(runner))
        elif suffix == ".json" and is_plan(path):
            runner = PlanRunner()
            report = report_of(runner, "terraform_plan", root_folder=None, files=[str(path)])
            out.terraform.update(_definitions(runner))
        elif suffix in CFN_SUFFIXES:
            check_syntax_template(path)
            runner = CfnRunner()
            report = report_of(runner, "cloudformation", root_folder=None, files=[str(path)])
            out.cloudformation.update(_definitions(runner))
            if not out.cloudformation:
                raise BadInput(f"{path}:1: not a CloudFormation template (no Resources) nor a Terraform plan")
        else:
            raise BadInput(f"{path}: unknown IaC file type {suffix or '(none)'!r}: expected .tf, a plan .json, "
                           ".yaml/.yml/.json/.template CloudFormation, or a directory")
        out.checks.extend(_records(report))
        return out

    tf_files = [p for p in path.rglob("*.tf") if ".terraform" not in p.parts]
    for tf in tf_files + local_module_files(tf_files):
        check_syntax_hcl(tf)
    if tf_files:
        runner = TfRunner()
        report = report_of(runner, "terraform", root_folder=root)
        out.terraform.update(_definitions(runner))
        out.checks.extend(_records(report))
    candidates = [p for p in path.rglob("*") if p.suffix.lower() in CFN_SUFFIXES and p.is_file()
                  and ".terraform" not in p.parts and not (p.suffix == ".json" and is_plan(p))]
    templates = [p for p in candidates if looks_like_template(p)]
    # Data files beside the IaC (package.json, tsconfig.json with comments, Kubernetes manifests) are not
    # templates: skipped with a note, as checkov itself skips them, never a reason to refuse the gate.
    out.skipped = sorted(str(p.relative_to(path)) for p in candidates if p not in templates)
    for template in templates:
        check_syntax_template(template)
    if templates:
        runner = CfnRunner()
        report = report_of(runner, "cloudformation", root_folder=root)
        out.cloudformation.update(_definitions(runner))
        out.checks.extend(_records(report))
        parsed = {Path(str(k)).resolve() for k in out.cloudformation}
        dropped = [t for t in templates if t.resolve() not in parsed]
        if dropped:  # checkov logs a parse error and goes on: the gate would pass without the template
            raise BadInput(f"{dropped[0]}:1: a CloudFormation template that cannot be read (checkov could not "
                           "parse it)")
    for plan in (p for p in path.rglob("*.json") if is_plan(p)):
        runner = PlanRunner()
        report = report_of(runner, "terraform_plan", root_folder=None, files=[str(plan)])
        out.terraform.update(_definitions(runner))
        out.checks.extend(_records(report))
    if not (out.terraform or out.cloudformation):
        raise BadInput(f"{path}: no Terraform or CloudFormation found")
    return out


def _records(report) -> list:
    return list(report.passed_checks) + list(report.failed_checks) + list(report.skipped_checks)


_TEMPLATE_MARK = re.compile(r'(^|[{,\s])"?(AWSTemplateFormatVersion|Resources)"?\s*:', re.MULTILINE)


def looks_like_template(path: Path) -> bool:
    """A CloudFormation template says so: an AWSTemplateFormatVersion or a Resources section. A file that does
    is checked strictly (a broken template is exit 2 with its line); one that does not is data, not IaC."""
    try:
        head = path.read_text(encoding="utf-8", errors="replace")[:1_000_000]
    except OSError:
        return False
    return _TEMPLATE_MARK.search(head) is not None


_LOCAL_SOURCE = re.compile(r'(?m)^\s*source\s*=\s*"(\.{1,2}/[^"]*)"')


def local_module_files(tf_files: list[Path]) -> list[Path]:
    """The .tf files of local modules outside the scanned folder (``source = "../modules/bucket"``), followed
    through the modules they call: checkov skips one it cannot parse, and its resources would vanish from the
    gate without a word."""
    seen = {p.resolve() for p in tf_files}
    pending, found = list(tf_files), []
    while pending:
        current = pending.pop()
        try:
            text = current.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        for source in _LOCAL_SOURCE.findall(text):
            folder = (current.parent / source).resolve()
            for tf in sorted(folder.glob("*.tf")) if folder.is_dir() else []:
                if tf.resolve() not in seen:
                    seen.add(tf.resolve())
                    found.append(tf)
                    pending.append(tf)
    return found


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


_LONE_SURROGATE = re.compile(r"(?<!\\)\\u[dD][89abAB][0-9a-fA-F]{2}(?!\\u[dD][c-fC-F][0-9a-fA-F]{2})"
                            r"|(?<!\\u[dD][89abAB][0-9a-fA-F]{2})\\u[dD][c-fC-F][0-9a-fA-F]{2}")


def check_syntax_template(path: Path) -> None:
    text = path.read_text(encoding="utf-8", errors="replace")
    if path.suffix.lower() == ".json":
        try:
            json.loads(text)
        except json.JSONDecodeError as exc:
            raise BadInput(f"{path}:{exc.lineno}: invalid JSON: {exc.msg}") from None
        lone = _LONE_SURROGATE.search(text)
        if lone:  # Python's json takes it; no text can hold it, and CloudFormation refuses it
            line = text.count("\n", 0, lone.start()) + 1
            raise BadInput(f"{path}:{line}: invalid JSON: {lone.group(0)} is half of a UTF-16 pair, not a character")
        return

    # Composed only (the tags, !Ref and the like, need no constructor to be checked), and refused, as
    # CloudFormation refuses them, when the template uses anchors and aliases: before checkov expands a bomb.
    check_yaml_tree(text, path, max_depth=CFN_MAX_DEPTH)


def _line_in(text: str):
    import re

    match = re.search(r"line (\d+)", text)
    return int(match.group(1)) if match else None
