"""The CLI follows the habits of its ecosystem: help on stdout, options before or after the command, run ids as
people name them, --version, completion, --quiet and NO_COLOR, no lock files left, scheduler-friendly exits."""
from __future__ import annotations

import json
import re
from pathlib import Path

from auditor.config import FORMATS
from auditor.reporting.writers import WRITERS
from auditor.rules.pack import SEVERITIES
from tests.accounts import table
from tests.conftest import config_with_parameters, run_here


# An SGR sequence that sets a foreground colour (30-37, 90-97, 38;...): bold and italic are not colours.
COLOUR = re.compile(r"\x1b\[(?:[0-9;]*;)?(?:3[0-8]|9[0-7])(?:;[0-9;]*)?m")


def test_bare_commands_print_their_help_on_stdout_and_exit_0():
    for args in ((), ("rules",)):
        result = run_here(*args)
        assert result.code == 0 and result.stderr == ""
        assert result.stdout.startswith("Usage: auditor") and "Commands:" in result.stdout


def test_help_is_generated_from_the_lists_the_code_uses():
    assert list(FORMATS) == list(WRITERS)
    scan_help = run_here("scan", "--help").stdout.replace("\n", " ")
    text = " ".join(scan_help.split())
    assert "report formats: " + ", ".join(FORMATS) in text
    for severity in SEVERITIES:
        assert severity in text
    for command in ("iac", "report"):
        assert ", ".join(FORMATS) in " ".join(run_here(command, "--help").stdout.split())


def config_with_pack(tmp_path: Path, pack_id: str, header: str, rule_id: str) -> Path:
    """A config.yaml whose rules_dir holds one pack of one versioning rule."""
    extra = tmp_path / "packs"
    extra.mkdir()
    (extra / f"{pack_id}.yaml").write_text(
        f"{header}\nrules:\n  - id: {rule_id}\n    title: t\n    control: versioning\n    severity: low\n"
        "    spec_ref: s\n    remediation: r\n    resource: {type: \"AWS::S3::Bucket\"}\n"
        "    check: {key: versioning.status, equals: Enabled}\n")
    config = tmp_path / "config.yaml"
    config.write_text(f"rules_dir: {extra}\n")
    return config


def test_global_options_before_or_after_the_command(tmp_path):
    config = config_with_pack(tmp_path, "mine", "pack: {id: mine, title: Mine}", "MINE-S3-001")
    before = run_here("--config", str(config), "rules", "list")
    after = run_here("rules", "list", "--config", str(config))
    assert before.code == after.code == 0
    assert "mine" in before.stdout and "mine" in after.stdout and "baseline" in after.stdout
    assert run_here("rules", "list", "--config", str(tmp_path / "nope.yaml")).code == 2


def test_rules_dir_overrides_a_shipped_pack_of_the_same_id(tmp_path):
    config = config_with_pack(tmp_path, "baseline", "pack: {id: baseline, title: Our own baseline, kind: baseline}",
                              "OWN-S3-001")
    shown = run_here("--config", str(config), "rules", "show", "baseline")
    assert "OWN-S3-001" in shown.stdout and "BASE-S3-001" not in shown.stdout


def test_version_and_completion():
    version = run_here("--version")
    assert version.code == 0 and version.stdout.startswith("auditor, version ")
    script = run_here("completion", "bash")
    assert script.code == 0 and "_AUDITOR_COMPLETE" in script.stdout and "complete " in script.stdout


def scan(aws, tmp_path, *extra):
    return run_here("scan", "--pack", "baseline", "--endpoint-url", aws.endpoint, "--db", str(tmp_path / "h.db"),
                   "--out", str(tmp_path / "out"), *extra, endpoint=aws.endpoint)


def test_run_ids_latest_previous_and_prefixes(aws, tmp_path):
    table(aws, "orders", "id")  # no PITR: BASE-DDB-001 fails
    first = scan(aws, tmp_path).report()["run"]["id"]
    second = scan(aws, tmp_path).report()["run"]["id"]
    db = str(tmp_path / "h.db")
    latest = run_here("report", "latest", "--db", db, "--format", "json", "--out", str(tmp_path / "r"))
    assert latest.code == 0 and f"{second}/report.json" in latest.stdout
    diff = json.loads(run_here("diff", "--db", db, "--json").stdout)  # previous -> latest by default
    assert diff["run_a"]["id"] == first and diff["run_b"]["id"] == second
    named = json.loads(run_here("diff", "previous", second[:-2], "--db", db, "--json").stdout)
    assert named["run_b"]["id"] == second
    ambiguous = run_here("report", first[:4], "--db", db)
    assert ambiguous.code == 2 and "ambiguous" in ambiguous.stderr and ambiguous.stderr.count("\n") == 1
    unknown = run_here("report", "zzz", "--db", db)
    assert unknown.code == 2 and "no run 'zzz'" in unknown.stderr


def test_quiet_no_color_exit_zero_on_findings_and_no_lock_files_left(aws, tmp_path):
    table(aws, "orders", "id")
    quiet = scan(aws, tmp_path, "--quiet", "--fail-on", "medium")
    assert quiet.code == 1
    assert quiet.stdout.count("\n") == 1 and quiet.stdout.startswith("run ") and "2 fail" in quiet.stdout  # PITR and deletion protection
    forced = run_here("scan", "--pack", "baseline", "--endpoint-url", aws.endpoint, "--db", str(tmp_path / "h.db"),
                     "--out", str(tmp_path / "out"), endpoint=aws.endpoint, env={"FORCE_COLOR": "1", "TERM": "xterm"})
    assert COLOUR.search(forced.stdout)
    plain = run_here("scan", "--pack", "baseline", "--no-color", "--endpoint-url", aws.endpoint,
                    "--db", str(tmp_path / "h.db"), "--out", str(tmp_path / "out"), endpoint=aws.endpoint,
                    env={"FORCE_COLOR": "1", "TERM": "xterm"})
    assert not COLOUR.search(plain.stdout)
    by_env = run_here("scan", "--pack", "baseline", "--endpoint-url", aws.endpoint, "--db", str(tmp_path / "h.db"),
                     "--out", str(tmp_path / "out"), endpoint=aws.endpoint,
                     env={"FORCE_COLOR": "1", "TERM": "xterm", "NO_COLOR": "1"})
    assert not COLOUR.search(by_env.stdout)
    lenient = scan(aws, tmp_path, "--fail-on", "medium", "--exit-zero-on-findings")
    assert lenient.code == 0
    assert not [p.name for p in Path(tmp_path).iterdir() if p.name.endswith(".lock")]


def test_schedule_list_and_target(tmp_path):
    config = config_with_parameters(tmp_path / "config.yaml", (
        "targets:\n  - name: nightly\n    schedule: {cron: '0 2 * * *', timezone: Europe/Paris}\n"
        "  - name: weekly\n    schedule: {cron: '0 3 * * 1'}\n  - name: manual\n"))
    listed = run_here("--config", str(config), "schedule", "--list", "--json")
    assert listed.code == 0, listed.stderr
    jobs = {j["target"]: j for j in json.loads(listed.stdout)}
    assert set(jobs) == {"nightly", "weekly"}
    assert len(jobs["nightly"]["next"]) == 3 and all("T02:00:00+01:00" in t or "T02:00:00+02:00" in t
                                                     for t in jobs["nightly"]["next"])
    one = run_here("--config", str(config), "schedule", "--list", "--target", "weekly")
    assert one.code == 0 and one.stdout.startswith("weekly: cron '0 3 * * 1'") and "nightly" not in one.stdout
    unscheduled = run_here("--config", str(config), "schedule", "--list", "--target", "manual")
    assert unscheduled.code == 2 and "has no schedule" in unscheduled.stderr
    assert not (tmp_path / "scheduler.sqlite").exists()  # --list starts nothing


def test_an_unexpected_error_is_one_line_and_exit_3_with_debug_for_the_traceback(monkeypatch, capsys):
    import pytest

    from auditor.reporting import browse as rules_browse
    from auditor.cli import SETTINGS, main

    def broken(packs):
        raise RuntimeError("a bug\nwith a second line")

    monkeypatch.setattr(rules_browse, "print_pack_list", broken)
    with pytest.raises(SystemExit) as exit_info:
        main(["rules", "list"])
    assert exit_info.value.code == 3
    err = capsys.readouterr().err
    assert err == "auditor: unexpected error: RuntimeError: a bug (run with --debug for the traceback)\n"
    with pytest.raises(SystemExit):
        main(["rules", "list", "--debug"])
    assert "Traceback" in capsys.readouterr().err
    SETTINGS["debug"] = False


def test_a_mistaken_target_can_leave_the_history(tmp_path):
    """auditor targets remove NAME: its runs and states go; the other targets keep theirs; an unknown name is
    one line, exit 2."""
    from auditor.history.store import HistoryStore
    from tests.fleet_history import NIGHTS, build_fleet

    db = tmp_path / "fleet.db"
    build_fleet(db)
    result = run_here("targets", "remove", "shop-staging", "--db", str(db))
    assert result.code == 0 and f"removed target shop-staging: {NIGHTS} run(s)" in result.stdout, result.stderr
    store = HistoryStore(db)
    assert store.targets() == ["data-production", "shop-production"]
    staging_states = store.db.execute("SELECT COUNT(*) FROM finding_states WHERE target = 'shop-staging'").fetchone()
    assert staging_states[0] == 0 and len(store.runs(target="shop-production")) == NIGHTS
    again = run_here("targets", "remove", "shop-staging", "--db", str(db))
    assert again.code == 2 and again.stderr.count("\n") == 1
    assert "no target 'shop-staging'" in again.stderr and "data-production, shop-production" in again.stderr


def test_counts_read_as_english_and_piped_tables_keep_names_whole(capsys):
    from rich.table import Table

    from auditor.reporting import console as terminal

    assert terminal.plural(1, "finding") == "1 finding" and terminal.plural(2, "active waiver") == "2 active waivers"
    assert terminal.plural(0, "finding") == "0 findings"
    table = Table("resource", "expected")
    name = "ecommerce-database-backups-production-" + "x" * 60
    table.add_row(name, "a long expected value " * 6)
    terminal.console().print(table)  # stdout is captured here, as when piped to a file or a CI log
    assert name in capsys.readouterr().out  # on one line: at 160 columns it was split mid-name
