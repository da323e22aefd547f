"""``auditor iac PATH``: the pull-request gate. The IaC that would build the account becomes the same normalized
resources a live scan collects, the same rules judge them, and checkov's own checks come alongside as the
``checkov`` pack. Findings carry the file and line."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from auditor.engine.evaluate import Inventory, evaluate_rules
from auditor.engine.findings import Coverage, Finding, ResourceRef, RunInfo, utc_now
from auditor.engine.plan import blocked_rules, contexts_for, new_run_id, spec_conflicts_of
from auditor.engine.waivers import Waiver, apply_waivers
from auditor.iac.checkov_run import CheckovOutput, run_checkov
from auditor.iac.load import iac_resources, skipped_resources
from auditor.iac.terraform import MODELS as TF_MODELS, relative
from auditor.rules.pack import Pack, iter_rules
from auditor.services.model import Resource, SourceLocation

TF_TO_CFN = {rtype: model.type for rtype, model in TF_MODELS.items()}
CONTROL_WORDS = (("point in time", "pitr"), ("versioning", "versioning"), ("in transit", "encryption_in_transit"),
                 ("tls", "encryption_in_transit"), ("https", "encryption_in_transit"), ("encrypt", "encryption"),
                 ("kms", "encryption"), ("public", "public_access_block"), ("backup", "backup"),
                 ("retention", "backup"), ("deletion protection", "deletion_protection"),
                 ("multi-az", "high_availability"), ("multi az", "high_availability"), ("failover", "high_availability"),
                 ("lifecycle", "lifecycle"), ("alarm", "alarm"))


@dataclass
class IacResult:
    run: RunInfo
    findings: list[Finding]
    resources: list[Resource]
    waivers: dict
    skipped: list[str] = field(default_factory=list)  # files under the path that are not IaC


def sarif_root_of(path: Path) -> Path:
    """The folder SARIF URIs are relative to: the git repository holding ``path``, else the working directory
    (GitHub code scanning resolves them against the repository root)."""
    import subprocess

    folder = path.resolve() if path.resolve().is_dir() else path.resolve().parent
    try:
        top = subprocess.run(["git", "-C", str(folder), "rev-parse", "--show-toplevel"], capture_output=True,
                             text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return Path.cwd()
    return Path(top.stdout.strip()) if top.returncode == 0 and top.stdout.strip() else Path.cwd()


def main_file(out: CheckovOutput) -> Optional[str]:
    """Where a resource the IaC lacks would be declared: main.tf at the root, else the first file parsed."""
    root = Path(out.root)
    if (root / "main.tf").exists():
        return "main.tf"
    files = sorted({relative(str(getattr(k, "file_path", k)), out.root) for k in list(out.terraform) + list(out.cloudformation)})
    return files[0] if files else None


def iac_audit(path: Path, packs: list[Pack], environment: str, parameters: dict, waivers: list[Waiver],
              region: str, account_id: Optional[str], with_checkov: bool, var_files: list[Path],
              target: Optional[str] = None, sarif_root: Optional[Path] = None) -> IacResult:
    run = RunInfo(id=new_run_id(), target=target or f"iac:{path}", account_id=account_id, regions=[region],
                  environment=environment, packs=[p.id for p in packs] + (["checkov"] if with_checkov else []),
                  started_at=utc_now())
    out = run_checkov(path, var_files, with_checks=with_checkov)
    prefix = os.path.relpath(out.root, (sarif_root or sarif_root_of(path)).resolve())
    run.source_prefix = "" if prefix == "." else Path(prefix).as_posix()
    run.default_source = main_file(out)
    readings = iac_resources(out, region, variants=True)
    resources = iac_resources(out, region)
    # An account id the IaC cannot know statically (a data source) matches {account_id} patterns.
    contexts = contexts_for(packs, environment, account_id or "*", parameters)
    # A rule on an account-wide setting no template holds is not run on IaC: listed with its reason, no finding.
    live_only = [r for r in iter_rules(packs) if r.live_only]
    rules = [r for r in iter_rules(packs) if not r.live_only]
    blocked = blocked_rules(packs, parameters)
    findings = merge_conditional(evaluate_rules(rules, environment, contexts, Inventory(resources=readings,
                                                                                        regions=[region]), blocked),
                                 readings)
    run.coverage = Coverage(rules=[r.id for r in rules if r.applies_to(environment) and r.id not in blocked],
                            rules_not_run=[{"rule_id": r.id, "reason": blocked[r.id]} for r in rules
                                           if r.id in blocked and r.applies_to(environment)] +
                            [{"rule_id": r.id, "reason": f"judged by live scans only: {r.live_only}"} for r in live_only
                             if r.applies_to(environment)],
                            spec_conflicts=spec_conflicts_of(rules, environment),
                            iac_skipped=skipped_resources(out, {r.resource.type for r in rules}),
                            checkov_messages=out.messages)
    if with_checkov:
        findings.extend(checkov_findings(out, region))
    waiver_summary = apply_waivers(findings, waivers, run.target)
    for f in findings:
        f.first_seen = run.started_at
    run.finished_at = utc_now()
    run.status = "partial" if any(f.status == "error" for f in findings) else "complete"
    return IacResult(run, findings, resources, waiver_summary, out.skipped)


def merge_conditional(findings: list[Finding], readings: list[Resource]) -> list[Finding]:
    """One finding per rule and resource from the readings of a resource under its CloudFormation conditions:
    the same status under every choice is that status; otherwise error, saying which choice gives which."""
    conditional = {(r.type, r.region, r.id) for r in readings if r.source is not None and r.source.note}
    out: list[Finding] = []
    groups: dict[str, list[Finding]] = {}
    for f in findings:
        if (f.resource.type, f.resource.region, f.resource.id) in conditional:
            if f.key not in groups:
                groups[f.key] = []
                out.append(f)
            groups[f.key].append(f)
        else:
            out.append(f)
    for i, f in enumerate(out):
        group = groups.get(f.key) if (f.resource.type, f.resource.region, f.resource.id) in conditional else None
        if not group:
            continue
        notes = [_note_of(g.message) for g in group]
        merged = group[0].model_copy(deep=True)
        merged.message = group[0].message.replace(f" ({notes[0]})", "") if notes[0] else group[0].message
        if len({g.status for g in group}) > 1:
            merged.status, merged.actual = "error", None
            merged.message = "depends on CloudFormation conditions: " + _which_choice(group, notes)
        out[i] = merged
    return out


def _note_of(message: str) -> str:
    start = message.rfind(" (when ")
    return message[start + 2:-1] if start >= 0 and message.endswith(")") else ""


def _which_choice(group: list[Finding], notes: list[str]) -> str:
    """Which choice gives which status, by the one condition that decides it where there is one."""
    choices = [dict(part.rsplit(" is ", 1) for part in note.removeprefix("when ").split(", ") if " is " in part)
               for note in notes]
    for name in sorted(set().union(*choices)):
        by_value: dict[str, set[str]] = {}
        for finding, choice in zip(group, choices):
            by_value.setdefault(choice.get(name, "?"), set()).add(finding.status)
        if all(len(statuses) == 1 for statuses in by_value.values()):
            return "; ".join(f"{statuses.pop()} when {name} is {value}" for value, statuses in sorted(by_value.items(), reverse=True))
    return "; ".join(f"{g.status} {note}" for g, note in zip(group, notes))


def checkov_findings(out: CheckovOutput, region: str) -> list[Finding]:
    findings = []
    for record in out.checks:
        result = record.check_result.get("result")
        status = {"PASSED": "pass", "FAILED": "fail", "SKIPPED": "waived"}.get(getattr(result, "name", str(result)))
        if status is None:
            continue
        tf_type, _, name = record.resource.partition(".")
        rtype = TF_TO_CFN.get(tf_type) or (tf_type if tf_type.startswith("AWS::") else f"Terraform::Resource::{tf_type}")
        file = relative(str(record.file_abs_path or record.file_path), out.root)
        line = record.file_line_range[0] if record.file_line_range else 1
        control = _control(record)
        finding = Finding(
            rule_id=record.check_id, pack="checkov", title=record.check_name, control=control,
            severity=_severity(record), status=status,
            resource=ResourceRef(type=rtype, id=record.resource, name=name or record.resource, region=region),
            property=", ".join(record.check_result.get("evaluated_keys") or []) or None,
            expected="check passes", actual=status, message=f"checkov {record.check_id}: {record.check_name}",
            spec_ref=f"checkov {record.check_id}", remediation=record.guideline or f"See checkov policy {record.check_id}",
            source=SourceLocation(file=file, line=line))
        if status == "waived":
            finding.waiver = {"id": f"checkov:skip={record.check_id}", "state": "active", "owner": "inline comment",
                              "reason": record.check_result.get("suppress_comment") or "checkov:skip", "expires": None,
                              "waived_status": "fail"}
        findings.append(finding)
    return findings


# checkov's own check categories, where one names a control of ours; others fall to the name's words.
CATEGORY_CONTROLS = {"ENCRYPTION": "encryption", "BACKUP_AND_RECOVERY": "backup"}


def _control(record: Any) -> str:
    """The control of a checkov check: from words in its name (CKV_AWS_21 "versioning", CKV_AWS_157 "Multi-AZ"),
    which are narrower than its category; else from its category (checkov's metadata); else configuration."""
    text = f"{record.check_name}".lower()
    by_words = next((c for word, c in CONTROL_WORDS if word in text), None)
    if by_words:
        return by_words
    for category in _categories(record.check_id):
        if category in CATEGORY_CONTROLS:
            return CATEGORY_CONTROLS[category]
    return "configuration"


def _categories(check_id: str) -> list[str]:
    """The categories checkov's registries give a check (empty for one they do not know)."""
    from checkov.cloudformation.checks.resource.registry import cfn_registry
    from checkov.terraform.checks.resource.registry import resource_registry

    for registry in (resource_registry, cfn_registry):
        check = registry.get_check_by_id(check_id) if hasattr(registry, "get_check_by_id") else None
        if check is not None:
            return [getattr(c, "name", str(c)) for c in getattr(check, "categories", ()) or ()]
    return []


def _severity(record: Any) -> str:
    severity = getattr(record, "severity", None)
    name = str(getattr(severity, "name", severity or "")).lower()
    return name if name in ("critical", "high", "medium", "low", "info") else "medium"


# --- adopting the gate step by step ------------------------------------------------------------------------


def select_rules(findings: list[Finding], include: tuple[str, ...], exclude: tuple[str, ...]) -> list[Finding]:
    """--rule / --skip-rule: globs on rule ids (ours and checkov's)."""
    from fnmatch import fnmatchcase

    return [f for f in findings
            if (not include or any(fnmatchcase(f.rule_id, g) for g in include))
            and not any(fnmatchcase(f.rule_id, g) for g in exclude)]


def load_baseline(path: Path) -> set[str]:
    """The failures of an earlier report.json (this gate's or a scan's), as finding keys."""
    import json

    from auditor.errors import BadInput

    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
        return {f"{f['rule_id']}|{f['resource']['type']}|{f['resource']['region']}|{f['resource']['id']}"
                for f in document["findings"] if f["status"] in ("fail", "waived")}
    except FileNotFoundError:
        raise BadInput(f"{path}: no such baseline report") from None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise BadInput(f"{path}: not an auditor report.json ({type(exc).__name__}: {exc})") from None


def mark_baseline(findings: list[Finding], known: set[str]) -> int:
    """Failures the baseline already had are ``unchanged`` and do not gate; the others are ``new``."""
    count = 0
    for f in findings:
        if f.status == "fail" and f.key in known:
            f.change = "unchanged"
            count += 1
    return count


def gate_decision(findings: list[Finding], fail_on: str, run_status: str) -> tuple[int, str]:
    """The exit code and the line that states it: what fails the gate (spec packs and checkov counted apart),
    what is below the threshold, what is known from the baseline, what could not be checked."""
    from auditor.reporting.summary import SEVERITY_RANK, gate_exit_code

    gating = [f for f in findings if f.change != "unchanged" or f.status != "fail"]
    code = gate_exit_code(gating, fail_on, run_status)
    threshold = SEVERITY_RANK.get(fail_on, 99)
    failing = [f for f in gating if f.status == "fail"]
    above = [f for f in failing if SEVERITY_RANK[f.severity] >= threshold]
    below = len(failing) - len(above)
    known = sum(1 for f in findings if f.status == "fail" and f.change == "unchanged")
    errors = sum(1 for f in findings if f.status == "error")
    spec = sum(1 for f in above if f.pack != "checkov")
    extras = [f"{below} below {fail_on}" if below else "", f"{known} known from the baseline" if known else "",
              f"{errors} could not be checked" if errors else ""]
    tail = "; ".join(e for e in extras if e)
    if code == 1:
        rules = ", ".join(sorted({f.rule_id for f in above})[:6]) + (" ..." if len({f.rule_id for f in above}) > 6 else "")
        line = (f"gate: FAILED: {len(above)} failure(s) at or above {fail_on} (spec packs {spec}, checkov "
                f"{len(above) - spec}): {rules}")
    elif code == 3:
        line = f"gate: INCOMPLETE: nothing at or above {fail_on} failed, but the checks were not all made"
    else:
        line = f"gate: PASSED: no failure at or above {fail_on}" + (" (--fail-on none)" if fail_on == "none" else "")
    return code, line + (f"; {tail}" if tail else "")


def gate_notes(result: IacResult) -> list[str]:
    """What the gate did not judge, one line each: files that are neither a template nor a plan, and declared
    resources of types auditor does not model."""
    notes = []
    if result.skipped:
        shown = ", ".join(result.skipped[:5]) + (f" and {len(result.skipped) - 5} more" if len(result.skipped) > 5 else "")
        notes.append(f"note: skipped {len(result.skipped)} file(s) that are neither a template nor a plan: {shown}")
    unmodelled = result.run.coverage.iac_skipped if result.run.coverage else []
    if unmodelled:
        shown = ", ".join(f"{s['address']} ({s['type']})" for s in unmodelled[:5])
        more = f" and {len(unmodelled) - 5} more" if len(unmodelled) > 5 else ""
        notes.append(f"note: {len(unmodelled)} resource(s) of a type auditor does not model were not judged: "
                     f"{shown}{more}")
    return notes


@dataclass
class GateOutcome:
    findings: list[Finding]
    document: dict
    paths: list[Path]
    code: int
    decision: str


def gate_report(result: IacResult, out_dir: Path, formats: list[str], fail_on: str, known: set[str],
                include: tuple[str, ...] = (), exclude: tuple[str, ...] = (),
                extra_outputs: tuple[tuple[str, Path], ...] = ()) -> GateOutcome:
    """After the gate's audit: the rules chosen (--rule/--skip-rule), the baseline's failures marked
    ``unchanged``, the reports written (in the run's folder, and any --output-file), and the decision."""
    from auditor.reporting.writers import report_document, write_report_to, write_reports

    findings = select_rules(result.findings, include, exclude)
    mark_baseline(findings, known)
    document = report_document(result.run, findings, None, result.waivers)
    paths = write_reports(document, out_dir / result.run.id, formats)
    paths += [write_report_to(document, fmt, target) for fmt, target in extra_outputs]
    code, decision = gate_decision(findings, fail_on, result.run.status)
    return GateOutcome(findings, document, paths, code, decision)
