"""Hostile inputs, malformed answers, hung calls: one clear line and the documented exit code, the rest of the
audit kept. Faults come from the fault-injecting proxy; hostile files are made here."""
from __future__ import annotations

import json
import time
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest

from auditor.history.store import HistoryStore
from tests.accounts import table
from tests.conftest import config_with_parameters, findings_by, run_cli
from tests.faultproxy import FaultProxy


def scan(endpoint, tmp_path, *extra, config=None, name="run"):
    prefix = ("--config", str(config)) if config else ()
    return run_cli(*prefix, "scan", "--pack", "baseline", "--env", "production", "--endpoint-url", endpoint,
                   "--db", str(tmp_path / f"{name}.db"), "--out", str(tmp_path / name), "--format", "json,junit",
                   *extra, endpoint=endpoint, timeout=180)


def one_line(result, code):
    assert result.code == code, (result.code, result.stdout[-1500:], result.stderr)
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr, result.stderr


def test_a_malformed_answer_is_that_familys_error_and_the_audit_goes_on(aws, tmp_path):
    table(aws, "orders", "id")
    with FaultProxy(aws.endpoint, rewrite=lambda service, op, path, body: b"{}" if op == "DescribeContinuousBackups"
                    else None) as proxy:
        result = scan(proxy.url, tmp_path, "--fail-on", "low")
    assert proxy.faults["rewritten"] >= 1
    assert "Traceback" not in result.stderr and result.code == 1  # the rest still fails the gate
    document = result.report()
    (pitr,) = findings_by(document, rule_id="BASE-DDB-001", resource="orders")
    assert pitr["status"] == "error"
    assert "DescribeContinuousBackups answer could not be read (KeyError" in pitr["message"]
    (protection,) = findings_by(document, rule_id="BASE-DDB-002", resource="orders")
    assert protection["status"] == "fail"  # read by another call, judged as usual
    assert document["run"]["status"] == "partial"


def test_a_region_that_refuses_the_credentials_is_that_regions_error(aws, tmp_path):
    table(aws, "orders", "id")
    refusal = (400, {"Content-Type": "application/x-amz-json-1.0"},
               b'{"__type":"UnrecognizedClientException","message":"The security token included in the request is invalid."}')
    ec2_refusal = (401, {"Content-Type": "text/xml"}, b"<Response><Errors><Error><Code>AuthFailure</Code><Message>"
                   b"AWS was not able to validate the provided access credentials</Message></Error></Errors></Response>")

    def answer(service, op, region):
        if region == "ap-east-1" and service != "sts":
            return refusal if service == "dynamodb" else ec2_refusal
        return None

    with FaultProxy(aws.endpoint, answer=answer) as proxy:
        result = scan(proxy.url, tmp_path, "--region", "us-east-1", "--region", "ap-east-1", "--fail-on", "low")
    assert "Traceback" not in result.stderr
    document = result.report()
    assert document["run"]["status"] == "partial"
    assert findings_by(document, rule_id="BASE-DDB-001", resource="orders")[0]["status"] == "fail"  # us-east-1 audited
    refused = [u for u in document["run"]["coverage"]["unlisted"] if u["region"] == "ap-east-1"]
    by_type = {u["type"]: u["reason"] for u in refused}
    assert "refused the credentials for dynamodb:ListTables (UnrecognizedClientException)" in by_type["AWS::DynamoDB::Table"]
    assert "(AuthFailure)" in by_type["AWS::RDS::DBInstance"]
    assert not [u for u in document["run"]["coverage"]["unlisted"] if u["region"] == "us-east-1"]
    assert result.code == 1


def test_a_hung_call_is_an_error_for_what_it_would_have_read(aws, tmp_path):
    aws.s3.create_bucket(Bucket="logs-bucket")
    config = config_with_parameters(tmp_path / "config.yaml", "timeouts: {read_seconds: 1, attempts: 2}\n")
    started = time.monotonic()
    with FaultProxy(aws.endpoint, hang=lambda service, op, method, path: service == "s3" and "policy" in path
                    and method == "GET") as proxy:
        result = scan(proxy.url, tmp_path, config=config)
    elapsed = time.monotonic() - started
    assert proxy.faults["hung"] >= 1 and elapsed < 60
    document = result.report()
    hung = [f for f in findings_by(document, resource="logs-bucket") if f["property"] and f["property"].startswith("policy")]
    assert hung and all(f["status"] == "error" and "did not answer in time" in f["message"] for f in hung)
    versioning = findings_by(document, rule_id="BASE-S3-005", resource="logs-bucket")
    assert versioning[0]["status"] == "fail"  # the rest of the bucket is judged
    assert document["run"]["status"] == "partial"


def test_past_the_target_deadline_what_is_unread_is_error(aws, tmp_path):
    for n in range(6):
        table(aws, f"t{n}", "id")
    config = config_with_parameters(tmp_path / "config.yaml", "timeouts: {target_deadline_seconds: 0.001}\n")
    result = scan(aws.endpoint, tmp_path, config=config)
    assert "Traceback" not in result.stderr and result.code == 3
    document = result.report()
    assert document["run"]["status"] == "partial"
    errors = [f for f in document["findings"] if f["status"] == "error"]
    assert errors and all("deadline" in f["message"] for f in errors)


@pytest.mark.parametrize("kind", ["config", "pack", "waivers"])
def test_an_alias_bomb_is_refused_before_it_expands(tmp_path, kind):
    bomb = ['a: &a ["x","x","x","x","x","x","x","x","x"]']
    for level in range(1, 10):
        bomb.append(f"l{level}: &l{level} [" + ",".join([f"*{'a' if level == 1 else f'l{level - 1}'}"] * 9) + "]")
    path = tmp_path / f"{kind}.yaml"
    path.write_text("\n".join(bomb) + "\n")
    args = {"config": ("--config", str(path), "rules", "list"), "pack": ("rules", "validate", str(path)),
            "waivers": ("scan", "--pack", "baseline", "--waivers", str(path), "--endpoint-url", "http://127.0.0.1:9")}[kind]
    started = time.monotonic()
    result = run_cli(*args, timeout=60)
    assert time.monotonic() - started < 30
    one_line(result, 2)
    assert f"{path}:1:" in result.stderr and "aliases" in result.stderr


def test_deep_nesting_and_impossible_dates_name_the_line(tmp_path):
    deep = tmp_path / "deep.yaml"
    deep.write_text("pack: {id: deep, title: D}\nrules:\n  - id: DEEP-S3-001\n    check: " + "{not: " * 80 +
                    "{key: versioning.status, equals: Enabled}" + "}" * 80 + "\n")
    one_line(run_cli("rules", "validate", str(deep)), 2)
    waivers = tmp_path / "waivers.yaml"
    waivers.write_text("waivers:\n  - rule: BASE-S3-002\n    reason: r\n    owner: o\n    expires: 2027-02-30\n")
    result = run_cli("scan", "--pack", "baseline", "--waivers", str(waivers), "--endpoint-url", "http://127.0.0.1:9")
    one_line(result, 2)
    assert f"{waivers}:5: waivers.0.expires:" in result.stderr


def test_a_backtracking_pattern_cannot_hang_a_scan(tmp_path):
    from auditor.rules.conditions import Context, Leaf, evaluate

    started = time.monotonic()
    outcome = evaluate(Leaf("name", "matches", "(a+)+b"), {"name": "a" * 50000 + "!"}, {}, Context("production", "prod"))
    assert outcome.status == "fail" and time.monotonic() - started < 2
    pack = tmp_path / "p.yaml"
    pack.write_text("pack: {id: p, title: P}\nrules:\n  - id: P-S3-001\n    title: t\n    control: versioning\n"
                    "    severity: low\n    spec_ref: s\n    remediation: r\n    resource: {type: \"AWS::S3::Bucket\"}\n"
                    "    check: {key: name, matches: '(a)\\1'}\n")
    result = run_cli("rules", "validate", str(pack))
    one_line(result, 2)
    assert f"{pack}:10:" in result.stderr and "RE2" in result.stderr


def test_reports_stay_valid_and_inert_with_hostile_names(tmp_path, capsys):
    from auditor.reporting.console import print_scan_summary
    from auditor.engine.findings import Finding, ResourceRef, RunInfo
    from auditor.reporting.writers import report_document, write_reports
    from rich.console import Console

    hostile = "evil\x1b[31m\x00\x07-\ud800-\u0085"
    finding = Finding(rule_id="BASE-S3-001", pack="baseline", title="t", control="encryption", severity="high",
                      status="fail", resource=ResourceRef(type="AWS::S3::Bucket", id=hostile, name=hostile, region="us-east-1"),
                      property="encryption.enabled", expected=True, actual=False, message=f"{hostile} is not encrypted",
                      spec_ref="s", remediation="r")
    run = RunInfo(id="r1", target=hostile, regions=["us-east-1"], environment="production", packs=["baseline"],
                  started_at="2026-12-01T00:00:00Z", finished_at="2026-12-01T00:00:01Z")
    paths = write_reports(report_document(run, [finding]), tmp_path, ["json", "csv", "html", "sarif", "junit"])
    junit = ET.parse(tmp_path / "report.junit.xml").getroot()  # well-formed
    assert "\\x1b" in junit.find(".//failure").get("message")
    assert json.loads((tmp_path / "report.json").read_text())["findings"][0]["resource"]["name"] == hostile
    assert "\\ud800" in (tmp_path / "report.csv").read_text(encoding="utf-8")
    (tmp_path / "report.html").read_text(encoding="utf-8")
    assert not list(tmp_path.glob(".*.tmp"))  # written through temporary files, renamed into place
    out = Console(record=True, width=200, force_terminal=False)
    print_scan_summary(out, run, [finding], paths)
    printed = out.export_text()
    assert "\x1b" not in printed and "\x00" not in printed and "\x07" not in printed and "\\x1b" in printed


def test_a_report_that_cannot_be_written_makes_the_run_partial_with_exit_3(aws, tmp_path):
    table(aws, "orders", "id")
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the reports folder should be")
    result = run_cli("scan", "--pack", "baseline", "--endpoint-url", aws.endpoint, "--db", str(tmp_path / "h.db"),
                     "--out", str(blocker), endpoint=aws.endpoint)
    one_line(result, 3)
    assert "reports could not be written" in result.stderr
    (run,) = HistoryStore(tmp_path / "h.db").runs()
    assert run["status"] == "partial" and "reports could not be written" in run["errors"]


def test_server_survives_hostile_credentials_and_queries(tmp_path):
    import urllib.request

    from tests.test_serve import start

    db = tmp_path / "h.db"
    HistoryStore(db).close()
    db.chmod(0o444)
    before = db.stat().st_mtime_ns

    def status(url, headers=None):
        request = urllib.request.Request(url, headers=headers or {})
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:
                return answer.status, dict(answer.headers)
        except urllib.error.HTTPError as exc:
            return exc.code, dict(exc.headers)

    proc, base = start(db, "sekret")
    try:
        # Header values travel as latin-1; these are not the token, so 401, never 500.
        assert status(f"{base}/api/runs", {"Authorization": "Bearer s\u00e9kret".encode().decode("latin-1")})[0] == 401
        assert status(f"{base}/api/runs", {"Cookie": "auditor_session=\u00e9\u00e9".encode().decode("latin-1")})[0] == 401
        hostile = urllib.request.Request(f"{base}/login", data=b"token=%E2%98%83%ED%9F%BF%FF&next=%00", method="POST",
                                         headers={"Origin": base})
        try:
            urllib.request.urlopen(hostile, timeout=10)
            raise AssertionError("a hostile token logged in")
        except urllib.error.HTTPError as exc:
            assert exc.code == 401
        auth = {"Authorization": "Bearer sekret"}
        assert status(f"{base}/api/runs?limit=abc", auth)[0] == 400
        assert status(f"{base}/api/runs?limit=99999999999999999999", auth)[0] == 400  # out of range, said so
        assert status(f"{base}/", auth)[0] == 200  # a read-only history serves
    finally:
        proc.terminate()
        proc.communicate(timeout=10)
    assert db.stat().st_mtime_ns == before


def test_the_session_cookie_is_secure_when_asked(tmp_path):
    import os
    import subprocess
    import sys
    import urllib.request

    from auditor.demo.mockaws import free_port

    db = tmp_path / "h.db"
    HistoryStore(db).close()
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "auditor", "serve", "--db", str(db), "--port", str(port),
                             "--cookie-secure"], env={**os.environ, "AUDITOR_TOKEN": "sekret"},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1).read()
                break
            except OSError:
                time.sleep(0.1)

        class NoRedirect(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, *args, **kwargs):
                return None

        opener = urllib.request.build_opener(NoRedirect)
        try:
            opener.open(urllib.request.Request(f"http://127.0.0.1:{port}/login", data=b"token=sekret", method="POST",
                                               headers={"Origin": f"http://127.0.0.1:{port}"}), timeout=10)
            raise AssertionError("expected a redirect")
        except urllib.error.HTTPError as exc:
            cookie = exc.headers["set-cookie"].lower()
        assert "secure" in cookie and "httponly" in cookie and "samesite=strict" in cookie
    finally:
        proc.terminate()
        proc.communicate(timeout=10)


def test_cloudformation_with_aliases_is_refused_before_checkov(tmp_path):
    template = tmp_path / "stack.yaml"
    template.write_text("AWSTemplateFormatVersion: '2010-09-09'\nResources:\n  A: &a\n    Type: AWS::S3::Bucket\n"
                        "  B: *a\n")
    result = run_cli("iac", str(template), "--pack", "baseline", "--format", "json", "--out", str(tmp_path / "o"))
    one_line(result, 2)
    assert f"{template}:3:" in result.stderr and "aliases" in result.stderr


def test_no_checkov_runs_none_of_checkovs_checks(tmp_path):
    fixture = Path(__file__).parent / "fixtures" / "iac" / "pointf" / "terraform" / "compliant"
    result = run_cli("iac", str(fixture), "--pack", "pointf", "--env", "production", "--no-checkov", "--format", "json",
                     "--out", str(tmp_path))
    assert result.stderr == "", result.stderr  # nothing of checkov's logging
    (report,) = Path(tmp_path).glob("*/report.json")
    document = json.loads(report.read_text())
    assert "checkov" not in {f["pack"] for f in document["findings"]}


def test_hostile_terraform_names_and_bad_json_templates(tmp_path):
    infra = tmp_path / "infra"
    infra.mkdir()
    (infra / "main.tf").write_text('resource "aws_s3_bucket" "b" {\n  bucket = "evil-\\ud800-\\u001b[31m"\n}\n')
    result = run_cli("iac", str(infra), "--pack", "baseline", "--no-checkov", "--format", "json,csv,junit,html,sarif",
                     "--out", str(tmp_path / "out"))
    assert result.code in (0, 1, 3) and result.stderr == "", result.stderr
    assert "\x1b" not in result.stdout
    (folder,) = (tmp_path / "out").iterdir()
    ET.parse(folder / "report.junit.xml")
    names = {f["resource"]["name"] for f in json.loads((folder / "report.json").read_text())["findings"]}
    assert names == {"evil-\\ud800-\x1b[31m"}  # the lone surrogate escaped once, at the source
    bad = tmp_path / "stack.json"
    bad.write_text('{"AWSTemplateFormatVersion": "2010-09-09", "Resources": {"A": {"Type": "AWS::S3::Bucket", '
                   '"Properties": {"BucketName": "a\\q"}}}}')
    result = run_cli("iac", str(bad), "--pack", "baseline", "--out", str(tmp_path / "out2"))
    one_line(result, 2)
    assert f"{bad}:1: invalid JSON: Invalid \\escape" in result.stderr


def test_a_run_read_while_it_is_written_is_read_again_once_finished(tmp_path):
    import urllib.request

    from auditor.engine.findings import RunInfo
    from tests.test_serve import start

    db = tmp_path / "h.db"
    store = HistoryStore(db)
    run = RunInfo(id="20261201T000000Z-aaaaaa", target="shop", regions=["us-east-1"], environment="production",
                  packs=["baseline"], started_at="2026-12-01T00:00:00Z")
    store.begin_run(run)  # in progress: stored as failed until it finishes, read as running while this process lives
    proc, base = start(db, "sekret")

    def status() -> str:
        request = urllib.request.Request(f"{base}/api/runs/{run.id}", headers={"Authorization": "Bearer sekret"})
        with urllib.request.urlopen(request, timeout=10) as answer:
            return json.loads(answer.read())["run"]["status"]

    try:
        assert status() == "running"
        run.finished_at = "2026-12-01T00:00:05Z"
        run.status = "complete"
        store.finish_run(run, [], [], {"score": None, "by_status": {}})
        assert status() == "complete"
    finally:
        proc.terminate()
        proc.communicate(timeout=10)
        store.close()
