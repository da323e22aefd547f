"""Rule packs: the shipped packs load; a malformed pack fails before any API call, naming file, line, rule, field."""
from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from auditor.errors import BadInput
from auditor.rules.load import PackFileSet, load_pack
from auditor.rules.pack import builtin_packs_dir
from tests.conftest import run_here

GOOD = """\
pack:
  id: tiny
  title: A tiny pack
  parameters:
    days: {default: 7}
rules:
  - id: TINY-S3-001
    title: Buckets are versioned
    control: versioning
    severity: high
    spec_ref: "tiny.txt §1"
    remediation: "aws s3api put-bucket-versioning ..."
    resource: {type: "AWS::S3::Bucket", names: ["data-{env}"]}
    check: {key: versioning.status, equals: Enabled}
"""


def write(tmp_path: Path, text: str, name: str = "tiny.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def test_shipped_packs_load_with_unique_ids():
    packs = PackFileSet(builtin_packs_dir()).load_all()
    ids = {p.id for p in packs}
    assert {"ecommerce-platform", "baseline"} <= ids
    for pack in packs:
        for rule in pack.rules:
            assert rule.spec_ref and rule.remediation and rule.title


def test_every_ecommerce_rule_traces_to_spec_002():
    pack = load_pack(builtin_packs_dir() / "ecommerce-platform.yaml")
    assert all(r.spec_ref.startswith("002_98504e00127c41d3.txt §") for r in pack.rules)
    assert len(pack.rules) >= 50


@pytest.mark.parametrize("old, new, line, words", [
    ("equals: Enabled}", "equalz: Enabled}", 14, "TINY-S3-001: check.equalz: unknown operator"),
    ("key: versioning.status", "key: versoning.status", 14, "unknown property 'versoning'"),
    ("severity: high", "severity: urgent", 10, "TINY-S3-001: severity: 'urgent' is not one of"),
    ("control: versioning", "control: versions", 9, "control:"),
    ("AWS::S3::Bucket", "AWS::S3::Bukket", 13, "unknown resource type 'AWS::S3::Bukket'"),
    ("id: TINY-S3-001", "id: tiny-1", 7, "must look like ECOM-S3-003"),
    ('    spec_ref: "tiny.txt §1"\n', "", 7, "TINY-S3-001: spec_ref: missing"),
    ("check: {key", "chek: {key", 14, "chek: unknown field"),
    ("equals: Enabled}", "equals: {param: nodays}}", 14, "parameter 'nodays' is not declared"),
])
def test_malformed_pack_names_file_line_rule_and_field(tmp_path, old, new, line, words):
    path = write(tmp_path, GOOD.replace(old, new))
    with pytest.raises(BadInput) as caught:
        load_pack(path)
    message = str(caught.value)
    assert message.startswith(f"{path}:{line}:"), message
    assert words in message


def test_invalid_yaml_names_the_line(tmp_path):
    path = write(tmp_path, GOOD.replace("    control: versioning", "    control: [versioning"))
    with pytest.raises(BadInput, match=rf"^{path}:\d+: invalid YAML"):
        load_pack(path)


def test_pack_folder_with_rule_files(tmp_path):
    folder = tmp_path / "tiny"
    folder.mkdir()
    header, rules = GOOD.split("rules:\n")
    (folder / "pack.yaml").write_text(header)
    (folder / "s3.yaml").write_text("rules:\n" + rules)
    pack = PackFileSet(tmp_path).load(["tiny"])[0]
    assert [r.id for r in pack.rules] == ["TINY-S3-001"]


def test_unknown_pack_lists_the_known_ones():
    with pytest.raises(BadInput, match="unknown pack 'nope'.*baseline"):
        PackFileSet(builtin_packs_dir()).load(["nope"])


def test_cli_rules_list_show_validate(tmp_path):
    listed = run_here("rules", "list")
    assert listed.code == 0
    assert "ecommerce-platform" in listed.stdout and "baseline" in listed.stdout
    shown = run_here("rules", "show", "ECOM-S3-004")
    assert shown.code == 0 and "lifecycle.transition_days.GLACIER" in shown.stdout and "spec_ref" in shown.stdout
    assert run_here("rules", "show", "ecommerce-platform").stdout.count("ECOM-") >= 50
    assert run_here("rules", "validate").code == 0
    good = write(tmp_path, GOOD)
    ok = run_here("rules", "validate", str(good))
    assert ok.code == 0 and "tiny: 1 rules OK" in ok.stdout
    bad = write(tmp_path, GOOD.replace("equals: Enabled}", "equalz: Enabled}"), "bad.yaml")
    failed = run_here("rules", "validate", str(bad))
    assert failed.code == 2
    assert failed.stderr.count("\n") == 1 and "Traceback" not in failed.stderr
    assert f"{bad}:14: rule TINY-S3-001: check.equalz" in failed.stderr
    missing = run_here("rules", "show", "NOPE-001")
    assert missing.code == 2 and "no rule or pack" in missing.stderr


def test_a_pack_with_three_mistakes_gets_three_errors_in_one_run(tmp_path):
    path = write(tmp_path, GOOD + """\
  - id: TINY-S3-002
    title: Encrypted
    control: encryption
    severity: High
    spec_ref: "tiny.txt §2"
    remediation: "x"
    resource: {type: "AWS::S3::Bucket", names: ["{archive_bkt}"]}
    check: {key: encryption.enabled, equals: "yes"}
  - id: TINY-S3-003
    title: Versioned, as a number
    control: versioning
    severity: low
    spec_ref: "tiny.txt §3"
    remediation: "x"
    resource: {type: "AWS::S3::Bucket"}
    check: {key: encryption.enabled, gte: 1}
""")
    result = run_here("rules", "validate", str(path))
    assert result.code == 2 and "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 3, result.stderr
    assert lines[0].startswith(f"auditor: {path}:22: rule TINY-S3-002: check.equals: encryption.enabled is bool")
    assert lines[1].startswith(f"auditor: {path}:21: rule TINY-S3-002: resource.names: unknown placeholder {{archive_bkt}}")
    assert lines[2].startswith(f"auditor: {path}:30: rule TINY-S3-003: check.gte: encryption.enabled is bool")
    # `severity: High` is not among them: severities are read case-insensitively.


def test_required_parameter_has_no_default_and_blocks_its_rules(tmp_path):
    path = write(tmp_path, GOOD.replace("days: {default: 7}", "days: {default: 7}\n    bucket: {required: true, "
                                        "description: \"tiny §1 names no bucket\"}").replace("data-{env}", "{bucket}"))
    pack = load_pack(path)
    assert pack.blocked_rules({}) == {"TINY-S3-001": "set parameters.tiny.bucket in config.yaml (tiny §1 names no bucket)"}
    assert pack.blocked_rules({"bucket": "data-{env}"}) == {}
    with pytest.raises(BadInput, match="a required parameter has no default"):
        load_pack(write(tmp_path, GOOD.replace("days: {default: 7}", "days: {default: 7, required: true}"), "x.yaml"))
