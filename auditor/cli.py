"""The command line: parses, calls the library, prints. Every docstring here is the command's --help."""
from __future__ import annotations

import os
import sqlite3
import sys
import traceback
from pathlib import Path
from contextlib import contextmanager
from typing import Callable, Iterator, Optional

import click

from auditor import __version__
from auditor.config import Config, FAIL_ON, FORMATS, load_config, require_environment
from auditor.errors import AuditorError, BadInput, BadInputs, Interrupted
from auditor.reporting.summary import gate_exit_code
from auditor.rules.load import PackFileSet, load_pack


FORMAT_LIST = ", ".join(FORMATS)
# Options every command takes, before or after its name (`auditor --config x scan` = `auditor scan --config x`).
SETTINGS = {"debug": False}


def _remember(name: str):
    def callback(ctx: click.Context, param: click.Parameter, value):  # noqa: ARG001
        if value is None or value is False:
            return
        ctx.ensure_object(dict)
        ctx.obj[name] = value
        if name == "no_color":
            os.environ["NO_COLOR"] = "1"  # rich and click both honour it
        if name == "debug":
            SETTINGS["debug"] = True
        if name in ("quiet", "verbose"):
            from auditor.reporting import console

            setattr(console.OUTPUT, name, True)
            if name == "verbose":
                import logging

                logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
                for noisy in ("botocore", "urllib3", "apscheduler"):
                    logging.getLogger(noisy).setLevel(logging.WARNING)
    return callback


def global_options(command):
    """--config, --quiet, --verbose, --no-color and --debug, accepted on the group and on every command."""
    for decorator in reversed((
        click.option("--config", "config_path", type=click.Path(path_type=Path), expose_value=False, is_eager=True,
                     callback=_remember("config_path"),
                     help="Path of config.yaml (default: ./config.yaml if present, else built-in defaults)."),
        click.option("-q", "--quiet", is_flag=True, expose_value=False, callback=_remember("quiet"),
                     help="Print only the result line, warnings and errors."),
        click.option("-v", "--verbose", is_flag=True, expose_value=False, callback=_remember("verbose"),
                     help="Also log what auditor does (to stderr)."),
        click.option("--no-color", is_flag=True, expose_value=False, callback=_remember("no_color"),
                     help="No colours (also: the NO_COLOR environment variable)."),
        click.option("--debug", is_flag=True, expose_value=False, callback=_remember("debug"),
                     help="On an unexpected error, print the traceback."),
    )):
        command = decorator(command)
    return command


class AuditorGroup(click.Group):
    """A group whose commands all take the global options, and which prints its help (exit 0) when called
    without a command, as sqlite-utils, checkov and prowler do."""

    def command(self, *args, **kwargs):
        decorator = super().command(*args, **kwargs)
        return lambda f: decorator(global_options(f))

    def group(self, *args, **kwargs):
        kwargs.setdefault("cls", AuditorGroup)
        kwargs.setdefault("invoke_without_command", True)
        decorator = super().group(*args, **kwargs)
        return lambda f: decorator(global_options(_help_without_command(f)))


def _help_without_command(f):
    import functools

    @functools.wraps(f)
    def wrapper(*args, **kwargs):
        ctx = click.get_current_context()
        if ctx.invoked_subcommand is None:
            click.echo(ctx.get_help())
            ctx.exit(0)
        return f(*args, **kwargs)
    return wrapper


@click.group(cls=AuditorGroup, invoke_without_command=True,
             context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110})
@click.version_option(__version__, prog_name="auditor")
@global_options
@click.pass_context
@_help_without_command
def cli(ctx: click.Context) -> None:
    """auditor: does the AWS account still match the architecture we wrote down?

    Packs (shipped inside auditor, plus rules_dir in config.yaml) encode architecture specs; scan judges a live
    account against them, iac judges Terraform and CloudFormation.
    """
    ctx.ensure_object(dict)


def _load(ctx: click.Context) -> Config:
    if "config" not in ctx.obj:
        from auditor.reporting import sarif

        ctx.obj["config"] = load_config(ctx.obj.get("config_path"))
        sarif.configure(ctx.obj["config"].sarif_help_uri)
    return ctx.obj["config"]


def _formats(value: Optional[str]) -> Optional[list[str]]:
    if value is None:
        return None
    return [f.strip() for f in value.split(",") if f.strip()]


@cli.command()
@click.option("--target", help="Target name from config.yaml, whose history the run joins. Without it the scan is "
              "ad hoc: the first target's settings, recorded as adhoc:ACCOUNT/ENV.")
@click.option("--pack", "packs", multiple=True, help="Rule pack id; repeat for several (default: the target's).")
@click.option("--env", "environment", help="production, staging or development (prod, stg, dev accepted).")
@click.option("--region", "regions", multiple=True, help="AWS region; repeat for several.")
@click.option("--profile", help="AWS profile to use.")
@click.option("--role-arn", help="Role to assume in the audited account.")
@click.option("--external-id", help="External id for --role-arn.")
@click.option("--endpoint-url", help="Endpoint for every AWS call: moto server, LocalStack, a VPC endpoint.")
@click.option("--out", type=click.Path(path_type=Path), help="Directory for the reports (default: reports/).")
@click.option("--format", "formats", help=f"Comma-separated report formats: {FORMAT_LIST} (default: config formats).")
@click.option("--fail-on", type=click.Choice(FAIL_ON), help="Lowest severity whose failure fails the gate (exit 1).")
@click.option("--exit-zero-on-findings", is_flag=True,
              help="Exit 0 when findings fail the gate (for schedulers: only an audit that could not be made fails).")
@click.option("--max-workers", type=click.IntRange(1, 256), help="Concurrent API calls (default 16).")
@click.option("--db", type=click.Path(path_type=Path), help="SQLite history file (default: config db, auditor.db).")
@click.option("--waivers", "waivers_path", type=click.Path(path_type=Path), help="Waivers file (default: config waivers).")
@click.option("--iac", "iac_path", type=click.Path(path_type=Path),
              help="Terraform/CloudFormation that builds this account: also report IaC-vs-live drift.")
@click.option("--all-targets", is_flag=True, help="Audit every target of config.yaml, concurrently.")
@click.option("--parallel", type=click.IntRange(1, 64), default=4, show_default=True,
              help="With --all-targets: targets audited at the same time.")
@click.option("--security-hub", is_flag=True,
              help="Import the findings into AWS Security Hub (BatchImportFindings, ASFF) with the scan's credentials; "
                   "an import that fails makes the exit code 3.")
@click.pass_context
def scan(ctx: click.Context, target: Optional[str], packs: tuple[str, ...], environment: Optional[str],
         regions: tuple[str, ...], profile: Optional[str], role_arn: Optional[str], external_id: Optional[str],
         endpoint_url: Optional[str], out: Optional[Path], formats: Optional[str], fail_on: Optional[str],
         exit_zero_on_findings: bool, max_workers: Optional[int], db: Optional[Path], waivers_path: Optional[Path],
         iac_path: Optional[Path], all_targets: bool, parallel: int, security_hub: bool) -> None:
    """Audit a live account against rule packs and write the reports.

    Exit codes: 0 nothing at or above --fail-on failed; 1 findings fail the gate (0 with
    --exit-zero-on-findings); 2 bad input; 3 the audit could not complete, or some checks ended in error while
    nothing failed.
    """
    from auditor.runs.audit import audit
    from auditor.reporting.console import console, print_scan_summary
    from auditor.history.store import HistoryStore
    from auditor.reporting.writers import check_formats
    from auditor.aws import check_regions
    from auditor.runs.scan import ScanRequest
    from auditor.engine.waivers import load_configured_waivers

    config = _load(ctx)
    report_formats = check_formats(_formats(formats) or config.formats)
    if all_targets:
        from auditor.fleet.targets import audit_all, fleet_exit_code, organization_totals, prepare_fleet

        if target or packs or environment or regions or iac_path:
            raise BadInput("--all-targets takes each target's packs, environment and regions from config.yaml")
        if security_hub:
            raise BadInput("--security-hub imports one target's scan: leave out --all-targets, or scan each target")
        fleet, waivers = prepare_fleet(config, waivers_path)
        for problem in fleet.problems:
            click.echo(f"auditor: {problem}", err=True)
        results = audit_all(config, out or config.out, report_formats, fail_on or config.fail_on,
                            Path(db or config.db), waivers, parallel, targets=fleet.targets)
        for result in results:
            click.echo(result.line)
        for line in organization_totals(fleet, results):
            click.echo(line)
        ctx.exit(_findings_ok(fleet_exit_code(results, fleet.problems), exit_zero_on_findings))
    chosen = config.target(target)
    env = require_environment(environment) if environment else chosen.environment
    pack_set = PackFileSet(config.rules_dir).load(list(packs) or chosen.packs)
    settings = config.aws_settings(chosen, regions=check_regions(list(regions)), profile=profile, role_arn=role_arn,
                                   external_id=external_id, endpoint_url=endpoint_url, max_workers=max_workers)
    waivers = load_configured_waivers(waivers_path or config.waivers, config.rules_dir)
    store = HistoryStore(db or config.db)
    # Without --target the scan is ad hoc: it starts from the first target's settings but is recorded under
    # what it scanned (adhoc:ACCOUNT/ENV), never in a configured target's history.
    request = ScanRequest(target, env, pack_set, settings, config.parameters, waivers, iac_path=iac_path)
    with terminal_progress(target or "scan") as on_progress:
        request.on_progress = on_progress
        outcome = audit(request, store, out or config.out, report_formats, keep_runs=config.keep_runs)
    for warning in outcome.warnings:
        click.echo(f"auditor: warning: {warning}", err=True)
    print_scan_summary(console(), outcome.run, outcome.findings, outcome.paths, outcome.document["waivers"],
                       gone=len(outcome.document.get("gone", [])))
    code = _findings_ok(gate_exit_code(outcome.findings, fail_on or config.fail_on, outcome.run.status),
                        exit_zero_on_findings)
    if security_hub:
        from auditor.reporting.asff import import_to_security_hub, security_hub_clients

        imported, problems = import_to_security_hub(outcome.document, security_hub_clients(settings))
        for problem in problems:
            click.echo(f"auditor: {problem}", err=True)
        click.echo(f"Security Hub: {imported} finding(s) imported"
                   + (f", {len(problems)} problem(s)" if problems else ""))
        code = 3 if problems else code
    ctx.exit(code)


def _findings_ok(code: int, exit_zero_on_findings: bool) -> int:
    """For a scheduler, findings are the report's business; only an audit that could not be made fails the job."""
    return 0 if code == 1 and exit_zero_on_findings else code


@cli.command()
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--target", help="Target from config.yaml whose packs, environment and region apply (default: first).")
@click.option("--pack", "packs", multiple=True, help="Rule pack id; repeat for several (default: the target's).")
@click.option("--env", "environment", help="production, staging or development.")
@click.option("--region", help="Region the IaC deploys to (default: the target's first).")
@click.option("--account-id", help="Account the IaC deploys to; unset, {account_id} patterns match any.")
@click.option("--var-file", "var_files", multiple=True, type=click.Path(path_type=Path), help="Extra .tfvars file.")
@click.option("--no-checkov", is_flag=True, help="Leave out checkov's own checks (the checkov pack).")
@click.option("--out", type=click.Path(path_type=Path), help="Directory for the reports (default: config out).")
@click.option("--format", "formats", help=f"Comma-separated report formats: {FORMAT_LIST} (default: config formats).")
@click.option("--fail-on", type=click.Choice(FAIL_ON), help="Lowest severity whose failure fails the gate (exit 1).")
@click.option("--waivers", "waivers_path", type=click.Path(path_type=Path), help="Waivers file (default: config waivers).")
@click.option("--baseline", "baseline_path", type=click.Path(path_type=Path),
              help="An earlier report.json: fail only on failures that are new against it (as checkov's --baseline).")
@click.option("--rule", "rule_globs", multiple=True, metavar="GLOB", help="Only rules whose id matches (repeatable).")
@click.option("--skip-rule", "skip_globs", multiple=True, metavar="GLOB", help="Leave out rules whose id matches (repeatable).")
@click.option("--output-file", "output_files", multiple=True, metavar="FORMAT=PATH",
              help="Also write FORMAT to PATH, a name that does not change from run to run (repeatable).")
@click.option("--sarif-root", type=click.Path(path_type=Path),
              help="Folder SARIF URIs are relative to (default: the git repository root, else the working directory).")
@click.pass_context
def iac(ctx: click.Context, path: Path, target: Optional[str], packs: tuple[str, ...], environment: Optional[str],
        region: Optional[str], account_id: Optional[str], var_files: tuple[Path, ...], no_checkov: bool,
        out: Optional[Path], formats: Optional[str], fail_on: Optional[str], waivers_path: Optional[Path],
        baseline_path: Optional[Path], rule_globs: tuple[str, ...], skip_globs: tuple[str, ...],
        output_files: tuple[str, ...], sarif_root: Optional[Path]) -> None:
    """Judge Terraform (HCL directories, `terraform show -json` plans) and CloudFormation (YAML, JSON, CDK synth
    output) with the same packs as the live account; checkov parses and adds its own checks.

    Exit codes as scan: 0 clean, 1 findings fail the gate, 2 bad input (IaC that cannot be parsed, with file and
    line), 3 some checks could not be made while nothing failed.
    """
    from auditor.engine.waivers import load_configured_waivers
    from auditor.reporting.console import print_iac_summary
    from auditor.reporting.writers import check_formats
    from auditor.runs.gate import gate_notes, gate_report, iac_audit, load_baseline

    config = _load(ctx)
    chosen = config.target(target)
    env = require_environment(environment) if environment else chosen.environment
    report_formats = check_formats(_formats(formats) or config.formats)
    pack_set = PackFileSet(config.rules_dir).load(list(packs) or chosen.packs)
    waivers = load_configured_waivers(waivers_path or config.waivers, config.rules_dir)
    extra_outputs = _output_files(output_files)
    known = load_baseline(baseline_path) if baseline_path else set()
    result = iac_audit(path, pack_set, env, config.parameters, waivers, region or chosen.regions[0], account_id,
                       not no_checkov, list(var_files), sarif_root=sarif_root)
    for note in gate_notes(result):
        click.echo(note)
    outcome = gate_report(result, out or config.out, report_formats, fail_on or config.fail_on, known,
                          rule_globs, skip_globs, tuple(extra_outputs))
    print_iac_summary(outcome.findings, outcome.paths, outcome.document)
    click.echo(outcome.decision)
    ctx.exit(outcome.code)


def _output_files(values: tuple[str, ...]) -> list[tuple[str, Path]]:
    """--output-file FORMAT=PATH, checked before anything runs."""
    out = []
    for value in values:
        fmt, sep, target = value.partition("=")
        if not sep or not target or fmt not in FORMATS:
            raise BadInput(f"--output-file {value!r}: expected FORMAT=PATH with FORMAT one of {FORMAT_LIST}")
        out.append((fmt, Path(target)))
    return out


@contextmanager
def terminal_progress(label: str) -> Iterator[Optional[Callable[[int, int], None]]]:
    """A progress bar of property reads on a terminal; nothing when the output is a file or a CI log."""
    if not sys.stdout.isatty():
        yield None
        return
    from auditor.fleet.targets import progress_display

    display = progress_display()
    task = display.add_task(label, total=None)
    with display:
        yield lambda done, total: display.update(task, completed=done, total=total)


def _store(config: Config, db: Optional[Path]):
    from auditor.history.store import HistoryStore

    path = db or config.db
    if not Path(path).exists():
        raise BadInput(f"{path}: no history yet (run auditor scan first, or pass --db)")
    return HistoryStore(path)


db_option = click.option("--db", type=click.Path(path_type=Path), help="SQLite history file (default: config db).")


@cli.command()
@click.option("--target", help="Only runs of this target.")
@click.option("--limit", type=click.IntRange(1, 100000), default=20, show_default=True, help="How many runs.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@db_option
@click.pass_context
def history(ctx: click.Context, target: Optional[str], limit: int, as_json: bool, db: Optional[Path]) -> None:
    """List runs from the history, newest first."""
    from auditor.reporting.console import print_history

    rows = _store(_load(ctx), db).runs(target, limit)
    print_history(rows, as_json)


RUN_REF_HELP = "a run id, a unique prefix of one, latest, or previous (the run before the latest)"


@cli.command()
@click.argument("run_a", default="previous")
@click.argument("run_b", default="latest")
@click.option("--target", help="latest and previous (and prefixes) among this target's runs.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
@db_option
@click.pass_context
def diff(ctx: click.Context, run_a: str, run_b: str, target: Optional[str], as_json: bool, db: Optional[Path]) -> None:
    """What became non-compliant, what was fixed, what regressed, and what changed in resource configuration
    between RUN_A (before; default previous) and RUN_B (after; default latest). Each is a run id, a unique
    prefix of one, latest, or previous."""
    from auditor.reporting.console import print_diff
    from auditor.history.diff import diff_runs

    store = _store(_load(ctx), db)
    print_diff(diff_runs(store, store.resolve_run_id(run_a, target), store.resolve_run_id(run_b, target)), as_json)


@cli.command()
@click.argument("run_id", default="latest")
@click.option("--target", help="latest and previous (and prefixes) among this target's runs.")
@click.option("--format", "formats", default="html,json", show_default=True,
              help=f"Comma-separated formats: {FORMAT_LIST}.")
@click.option("--out", type=click.Path(path_type=Path), help="Directory (default: config out); files go to OUT/RUN_ID/.")
@click.option("--all-targets", is_flag=True,
              help="The fleet roll-up instead of one run: every target's latest run, totals, by pack and by control, "
                   "as OUT/fleet/fleet.html, fleet.json, fleet.csv (formats html, json, csv, excel).")
@db_option
@click.pass_context
def report(ctx: click.Context, run_id: str, target: Optional[str], formats: str, out: Optional[Path],
           all_targets: bool, db: Optional[Path]) -> None:
    """Render a stored run (RUN_ID: a run id, a unique prefix, latest or previous; default latest) again, in
    any format. A run that failed is rendered as failed (no score, its reasons in every format) and exits 3: it
    proves nothing about compliance. With --all-targets, the fleet roll-up; it exits 3 when a target's latest
    run failed."""
    from auditor.reporting.rerender import render_stored_run

    config = _load(ctx)
    store = _store(config, db)
    if all_targets:
        from auditor.reporting.rollup import write_fleet_reports

        if target or run_id != "latest":
            raise BadInput("--all-targets reports every target's latest run: leave out RUN_ID and --target")
        view, paths = write_fleet_reports(store, (out or config.out) / "fleet", _formats(formats) or ["html", "json"])
        for path in paths:
            click.echo(f"report: {path}")
        failed = [t["name"] for t in view["targets"] if t["latest"]["status"] == "failed"]
        if failed:
            click.echo(f"auditor: latest run failed for {', '.join(failed)}", err=True)
            ctx.exit(3)
        return
    run_id = store.resolve_run_id(run_id, target)
    for path in render_stored_run(store, run_id, out or config.out, _formats(formats) or ["json"]):
        click.echo(f"report: {path}")
    run = store.run(run_id)
    if run.status == "running":
        click.echo(f"auditor: run {run_id} is still running: its report is written when it finishes", err=True)
        ctx.exit(3)
    if run.status == "failed":
        click.echo(f"auditor: run {run_id} failed: {'; '.join(run.errors) or 'no reason recorded'}", err=True)
        ctx.exit(3)


@cli.group()
def rules() -> None:
    """Browse and validate rule packs."""


@rules.command("list")
@click.pass_context
def rules_list(ctx: click.Context) -> None:
    """List the packs with their rule counts per control."""
    from auditor.reporting.browse import print_pack_list

    config = _load(ctx)
    print_pack_list(PackFileSet(config.rules_dir).load_all())


@rules.command("show")
@click.argument("rule_id")
@click.pass_context
def rules_show(ctx: click.Context, rule_id: str) -> None:
    """Show one rule (by id, e.g. ECOM-S3-003) or one pack (by pack id)."""
    from auditor.reporting.browse import show

    config = _load(ctx)
    show(PackFileSet(config.rules_dir), rule_id)


@rules.command("properties")
@click.argument("resource_type", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def rules_properties(resource_type: Optional[str], as_json: bool) -> None:
    """List every property a rule can read on RESOURCE_TYPE (e.g. AWS::S3::Bucket), with its type and the API
    call that fills it; without RESOURCE_TYPE, the resource types. Generated from the models and collectors."""
    from auditor.reporting.catalog import print_properties

    print_properties(resource_type, as_json)


@rules.command("validate")
@click.argument("path", required=False, type=click.Path(path_type=Path))
@click.option("--specs", "specs_dir", type=click.Path(path_type=Path, file_okay=False),
              help="Folder holding the spec files, to check that each spec_ref names a section (default: "
                   "config.yaml's specs_dir, then ./specs).")
@click.pass_context
def rules_validate(ctx: click.Context, path: Optional[Path], specs_dir: Optional[Path]) -> None:
    """Validate a pack file or folder (default: every pack in rules_dir). Errors name file, line, rule and field
    (exit 2), and a spec_ref that names no section of its spec (when the spec file is at hand); warnings name
    rules that follow a spec into what AWS refuses, or where the spec contradicts itself (exit 0)."""
    config = _load(ctx)
    if path is None:
        packs = PackFileSet(config.rules_dir).load_all()
    elif path.is_dir() and not (path / "pack.yaml").exists():
        packs = PackFileSet(path).load_all()
    else:
        if not path.exists():
            raise BadInput(f"{path}: no such file")
        packs = [load_pack(path)]
    from auditor.rules.lint import lint_pack

    from auditor.reporting.spec_coverage import spec_folders
    from auditor.rules.specdoc import check_spec_refs

    folders = spec_folders(specs_dir, config.specs_dir, (config.path or Path("config.yaml")).resolve().parent)
    problems = [problem for pack in packs for problem in check_spec_refs(pack, folders)]
    if problems:
        raise BadInputs(problems)
    for pack in packs:
        click.echo(f"{pack.id}: {len(pack.rules)} rules OK ({', '.join(str(f) for f in pack.files)})")
        for warning in lint_pack(pack):
            click.echo(f"warning: {warning}", err=True)


@cli.group()
def spec() -> None:
    """Trace the architecture specs to the rules that encode them."""


@spec.command("coverage")
@click.argument("packs", nargs=-1)
@click.option("--run", "run_ref", help="Show each rule's verdict in this run (an id, a prefix, latest, previous).")
@click.option("--target", help="With no --run: the latest run of this target.")
@click.option("--db", type=click.Path(path_type=Path), help="History database (default: config.yaml's db).")
@click.option("--specs", "specs_dir", type=click.Path(path_type=Path, file_okay=False),
              help="Folder holding the spec files (default: config.yaml's specs_dir, then ./specs).")
@click.option("--format", "formats", default="table", show_default=True, help="table, json, html (comma-separated).")
@click.option("--out", type=click.Path(path_type=Path), help="Folder for spec-coverage.json/.html (default: config's out).")
@click.option("--fail-on-gaps", is_flag=True, help="Exit 1 when a section has no rule and nothing set aside, or a "
              "spec_ref names no section.")
@click.pass_context
def spec_coverage(ctx: click.Context, packs: tuple[str, ...], run_ref: Optional[str], target: Optional[str],
                  db: Optional[Path], specs_dir: Optional[Path], formats: str, out: Optional[Path],
                  fail_on_gaps: bool) -> None:
    """The traceability matrix: for each section of a pack's spec, the rules that encode it (with their
    verdicts in a run), the requirements set aside (with why) and the gaps. Default: every pack with a spec."""
    from auditor.reporting.spec_coverage import coverage_formats, coverage_of, print_matrix, spec_folders, write_coverage

    config = _load(ctx)
    wanted = coverage_formats(formats)
    if specs_dir is not None and not specs_dir.is_dir():
        raise BadInput(f"--specs {specs_dir}: not a folder")
    pack_files = PackFileSet(config.rules_dir)
    loaded = pack_files.load(list(packs)) if packs else [p for p in pack_files.load_all() if p.header.spec]
    folders = spec_folders(specs_dir, config.specs_dir, (config.path or Path("config.yaml")).resolve().parent)
    matrices = coverage_of(loaded, folders, db or config.db, run_ref, target)
    for matrix in matrices:
        if not matrix["spec_found"]:
            click.echo(f"note: {matrix['spec']} not found in {', '.join(str(f) for f in folders)}: sections as the "
                       "rules name them, gaps not judged (give the specs' folder with --specs DIR or specs_dir in "
                       "config.yaml)", err=True)
    if "table" in wanted:
        for matrix in matrices:
            print_matrix(matrix)
    for path in write_coverage(matrices, out or config.out, wanted):
        click.echo(f"report: {path}")
    unjudged = [m["spec"] for m in matrices if m["totals"]["gaps"] is None]
    if fail_on_gaps and unjudged:
        raise BadInput(f"--fail-on-gaps: gaps cannot be judged without {', '.join(unjudged)} (give its folder with "
                       "--specs DIR)")
    if fail_on_gaps and any(m["totals"]["gaps"] or m["unplaced"] for m in matrices):
        ctx.exit(1)


@cli.command()
@click.option("--once", is_flag=True, help="Run every scheduled target once, then exit (for a CronJob or timer).")
@click.option("--target", help="Only this scheduled target.")
@click.option("--list", "list_only", is_flag=True, help="Print the next fire times of each job and exit; starts nothing.")
@click.option("--exit-zero-on-findings", is_flag=True, help="With --once: findings do not fail the job (exit 0).")
@click.option("--json", "as_json", is_flag=True, help="With --list: print JSON.")
@click.pass_context
def schedule(ctx: click.Context, once: bool, target: Optional[str], list_only: bool, exit_zero_on_findings: bool,
             as_json: bool) -> None:
    """Run the nightly audits of config.yaml (targets[].schedule) in the foreground with APScheduler.

    Jobs persist beside the history, coalesce missed runs into one catch-up audit, and never audit one target
    twice at once. SIGTERM or SIGINT lets running audits finish, then exits. With --once: exit 0 when clean,
    1 when findings fail the gate (0 with --exit-zero-on-findings), 3 when an audit could not complete.
    """
    import json
    import logging

    from auditor.fleet.scheduler import run_forever, run_once, upcoming

    config = _load(ctx)
    if list_only:
        jobs = upcoming(config, target)
        if as_json:
            click.echo(json.dumps(jobs, indent=1))
        for job in jobs if not as_json else []:
            click.echo(f"{job['target']}: cron {job['cron']!r} ({job['timezone']}); next: {', '.join(job['next'])}")
        ctx.exit(0)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("apscheduler", "botocore", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    ctx.exit(run_once(config, target, exit_zero_on_findings) if once else run_forever(config, target))


@cli.command()
@click.argument("shell", type=click.Choice(["bash", "zsh", "fish"]))
def completion(shell: str) -> None:
    """Print the shell completion script (click's): e.g. `eval "$(auditor completion bash)"` in ~/.bashrc."""
    from click.shell_completion import get_completion_class

    complete = get_completion_class(shell)(cli, {}, "auditor", "_AUDITOR_COMPLETE")
    click.echo(complete.source())


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind (loopback unless told).")
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True, help="Port to listen on.")
@click.option("--cookie-secure", is_flag=True,
              help="Mark the session cookie Secure (automatic when the request came over HTTPS or X-Forwarded-Proto: https).")
@click.option("--specs", "specs_dir", type=click.Path(path_type=Path, file_okay=False),
              help="Folder holding the spec files, for the /spec pages (default: config.yaml's specs_dir, then ./specs).")
@db_option
@click.pass_context
def serve(ctx: click.Context, host: str, port: int, cookie_secure: bool, specs_dir: Optional[Path],
          db: Optional[Path]) -> None:
    """Serve the history read-only: the fleet, targets and runs, each report, diffs, timelines, signed evidence
    bundles and a JSON API. Every route but /healthz and /login needs the token of AUDITOR_TOKEN (a bearer header,
    or the session the /login form starts); with none set, one is made and printed."""

    from auditor.server.app import serve as run_server

    from auditor.reporting.spec_coverage import spec_folders

    config = _load(ctx)
    folders = spec_folders(specs_dir, config.specs_dir, (config.path or Path("config.yaml")).resolve().parent)
    db_path = Path(db or config.db)
    key = config.evidence.signing_key if db is None else None  # --db: the key beside that history
    run_server(db_path, host, port, os.environ.get("AUDITOR_TOKEN"), lambda line: click.echo(line),
               cookie_secure or config.server.cookie_secure, config.rules_dir, tuple(folders),
               config.server.session_hours, key)


@cli.command()
@click.argument("bundle", type=click.Path(path_type=Path))
@click.option("--public-key", type=click.Path(path_type=Path),
              help="PEM public key the bundle must be signed with (the .pub beside the server's signing key). "
                   "Without it, the key shipped in the bundle is used: that proves integrity, not who signed.")
@click.pass_context
def verify(ctx: click.Context, bundle: Path, public_key: Optional[Path]) -> None:
    """Check an evidence bundle: the Ed25519 signature over its manifest, every file's SHA-256, and that no file
    was added or left out. Exit 0 when it verifies, 1 when it does not (each problem on a line), 2 bad input."""
    from auditor.reporting.evidence import verify_bundle

    verdict = verify_bundle(bundle, public_key)
    for problem in verdict.problems:
        click.echo(f"auditor: {bundle}: {problem}", err=True)
    if not verdict.ok:
        click.echo(f"{bundle}: NOT verified ({len(verdict.problems)} problem(s))")
        ctx.exit(1)
    click.echo(f"{bundle}: verified: run {verdict.run_id}, {verdict.files} files, signed by {verdict.signer}")


@cli.group()
def targets() -> None:
    """What --all-targets audits: the configured targets and the accounts of each organization."""


@targets.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.pass_context
def targets_list(ctx: click.Context, as_json: bool) -> None:
    """List the targets --all-targets would audit, and each organization account with why it is audited or not
    (suspended, excluded, no environment). Asks AWS Organizations; audits nothing. Exit 3 when an organization
    cannot be listed."""
    import json as json_module

    from auditor.fleet.targets import fleet_of

    config = _load(ctx)
    fleet = fleet_of(config)
    listed = [{"name": t.name, "label": t.label, "environment": t.environment, "packs": t.packs,
               "regions": t.regions, "role_arn": t.role_arn} for t in fleet.targets]
    orgs = [{"name": d.organization, "api_calls": d.api_calls, "accounts": [a.as_dict() for a in d.accounts]}
            for d in fleet.discoveries]
    if as_json:
        click.echo(json_module.dumps({"targets": listed, "organizations": orgs, "problems": fleet.problems}, indent=1))
    else:
        for t in fleet.targets:
            label = f" ({t.label})" if t.label else ""
            click.echo(f"{t.name}{label}: {t.environment}, packs {', '.join(t.packs)}, regions {', '.join(t.regions)}")
        for d in fleet.discoveries:
            click.echo(f"organization {d.organization}: {len(d.audited)} of {len(d.accounts)} account(s) audited "
                       f"({d.api_calls} API calls)")
            for a in d.accounts:
                mark = f"{d.organization}/{a.id}" if a.audited else f"  {a.id}"
                click.echo(f"  {mark} {a.name}: {'audited' if a.audited else 'not audited'}: {a.why}")
    for problem in fleet.problems:
        click.echo(f"auditor: {problem}", err=True)
    if fleet.problems:
        ctx.exit(3)


@targets.command("remove")
@click.argument("name")
@db_option
@click.pass_context
def targets_remove(ctx: click.Context, name: str, db: Optional[Path]) -> None:
    """Remove every run of target NAME from the history (a target added by mistake, or retired), so it leaves
    `auditor history`, the reports of the fleet and the server's fleet page. Exit 2 when the history has no such
    target. A target still in config.yaml is audited again by the next --all-targets: remove it there too."""
    config = _load(ctx)
    store = _store(config, db)
    known = store.targets()
    if name not in known:
        raise BadInput(f"no target {name!r} in {store.path} (targets: {', '.join(known) or 'none'})")
    removed = store.forget_target(name)
    click.echo(f"removed target {name}: {removed} run(s) and their findings")
    if any(t.name == name for t in config.targets):
        click.echo(f"note: {name} is still a target in {config.path or 'config'}: the next --all-targets audits it "
                   "again unless it is removed there")


@cli.command()
@click.option("--concurrency", type=click.IntRange(1, 64), default=2, show_default=True,
              help="Worker processes: accounts scanned at once on this machine.")
@click.option("--loglevel", type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"]), default="INFO", show_default=True)
@click.pass_context
def worker(ctx: click.Context, concurrency: int, loglevel: str) -> None:
    """A Celery worker for `executor: celery`: takes one target's scan at a time per process from the broker in
    config.yaml (executor.broker_url, or the variable executor.broker_url_env names), scans it with this
    machine's AWS credentials, and returns the findings to the coordinator, which records them."""
    from auditor.fleet.distributed import make_app, redacted_url, run_worker

    config = _load(ctx)
    broker = config.executor.broker()
    if not broker:
        raise BadInput(f"{config.path or 'config'}: auditor worker needs executor.broker_url "
                       f"(or ${config.executor.broker_url_env})")
    executor = config.executor.model_copy(update={"broker_url": broker})
    app = make_app(executor)
    app.auditor_rules_dir = config.rules_dir
    click.echo(f"auditor worker: {concurrency} process(es) on {redacted_url(broker)}", err=True)
    run_worker(app, concurrency, loglevel=loglevel)


@cli.command()
@click.option("--out", type=click.Path(path_type=Path), default=Path("reports"), show_default=True,
              help="Directory for the reports.")
@click.pass_context
def demo(ctx: click.Context, out: Path) -> None:
    """Audit a mock account (moto, in process) built from the ecommerce-platform spec with deliberate drift.

    Needs no AWS account and no credentials.
    """
    import importlib.util

    if importlib.util.find_spec("moto") is None:
        raise BadInput("auditor demo needs moto, which the base install leaves out: pip install 'auditor[demo]' "
                       "(in a checkout: make demo)")
    from auditor.demo import run_demo

    config = _load(ctx)
    run_demo(config, out)


def main(argv: Optional[list[str]] = None) -> None:
    """Entry point: one line on stderr and the documented exit code for every error, never a traceback."""
    try:
        code = cli.main(args=argv, prog_name="auditor", standalone_mode=False)
    except click.exceptions.Exit as exc:
        code = exc.exit_code
    except click.UsageError as exc:
        message = exc.format_message().replace("\n", " ")
        click.echo(f"auditor: {message}", err=True)
        code = 2
    except click.Abort:
        click.echo("auditor: aborted", err=True)
        code = 130
    except BadInputs as exc:
        for problem in exc.problems:
            click.echo(f"auditor: {problem}", err=True)
        code = exc.exit_code
    except AuditorError as exc:
        click.echo(f"auditor: {exc}", err=True)
        code = exc.exit_code
    except KeyboardInterrupt:
        click.echo("auditor: interrupted", err=True)
        code = 130
    except Interrupted as exc:
        click.echo(f"auditor: stopped: {exc}", err=True)
        code = 143
    except sqlite3.Error as exc:
        click.echo(f"auditor: history database error: {exc}", err=True)
        code = 3
    except OSError as exc:  # a file that cannot be written (a full disk, a read-only folder)
        where = f"{exc.filename}: " if exc.filename else ""
        click.echo(f"auditor: {where}{exc.strerror or exc}", err=True)
        code = 3
    except Exception as exc:  # noqa: BLE001  a bug is one line and exit 3, never exit 1 ("findings failed")
        if SETTINGS["debug"]:
            traceback.print_exc()
        first = (str(exc).splitlines() or [""])[0][:300]
        click.echo(f"auditor: unexpected error: {type(exc).__name__}: {first} (run with --debug for the traceback)",
                   err=True)
        code = 3
    sys.exit(code or 0)


if __name__ == "__main__":
    main()
