"""Faults between auditor and AWS: throttling, 5xx and dropped connections are retried and change nothing;
access denied makes exactly those checks error; an endpoint that dies ends the run failed, in one line."""
from __future__ import annotations

from auditor.demo.ecommerce import build_drifted
from auditor.history.store import HistoryStore
from tests.conftest import config_with_parameters, run_here
from tests.faultproxy import FaultProxy


def scan(endpoint: str, tmp_path, name: str, *config: str):
    return run_here(*config, "scan", "--pack", "ecommerce-platform", "--pack", "baseline", "--env", "production",
                   "--endpoint-url", endpoint, "--out", str(tmp_path / name), "--db", str(tmp_path / f"{name}.db"),
                   "--format", "json", endpoint=endpoint, timeout=600)


def outcome(document) -> set:
    return {(f["rule_id"], f["resource"]["id"], f["status"]) for f in document["findings"]}


def test_throttling_errors_and_dropped_connections_change_nothing(aws, tmp_path):
    build_drifted(aws, "production", ("short-backups", "versioning-suspended", "pitr-off"))
    clean = scan(aws.endpoint, tmp_path, "clean")
    with FaultProxy(aws.endpoint, rate=0.3, seed=11) as proxy:
        faulty = scan(proxy.url, tmp_path, "faulty")
    assert sum(proxy.faults.values()) >= 12, proxy.faults
    assert {"throttle", "error", "drop"} <= set(proxy.faults)
    clean_doc, faulty_doc = clean.report(), faulty.report()
    assert outcome(faulty_doc) == outcome(clean_doc)
    assert faulty.code == clean.code
    assert faulty_doc["run"]["retries"] >= sum(proxy.faults.values()) - 2
    assert clean_doc["run"]["retries"] == 0
    assert faulty_doc["run"]["api_calls"] == clean_doc["run"]["api_calls"]


def test_access_denied_makes_exactly_those_checks_error(aws, tmp_path):
    build_drifted(aws, "production", ())
    clean = outcome(scan(aws.endpoint, tmp_path, "clean").report())
    with FaultProxy(aws.endpoint, deny=lambda service, op: op == "DescribeContinuousBackups") as proxy:
        result = scan(proxy.url, tmp_path, "denied")
    document = result.report()
    denied = {f["rule_id"] for f in document["findings"] if f["status"] == "error" and "AccessDenied" in f["message"]}
    assert denied == {"ECOM-DDB-010"}
    # BASE-DDB-001 reads the same property of the same tables: the spec pack's rule decides, the baseline yields.
    assert {f["status"] for f in document["findings"] if f["rule_id"] == "BASE-DDB-001"} == {"superseded"}
    unaffected = {x for x in clean if x[0] not in denied}
    assert unaffected <= outcome(document)
    assert document["run"]["status"] == "partial"
    assert result.code == 1  # the baseline's public static-assets bucket still fails the gate


def test_endpoint_dying_mid_run_fails_the_run_in_one_line(aws, tmp_path):
    build_drifted(aws, "production", ())
    # Three attempts, not eight: what is tested is the one line and the failed run, not botocore's backoff.
    config = config_with_parameters(tmp_path / "config.yaml", "timeouts:\n  attempts: 3\n")
    with FaultProxy(aws.endpoint, die_after=15) as proxy:
        result = scan(proxy.url, tmp_path, "dies", "--config", str(config))
    assert result.code == 3
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert "endpoint stopped answering" in result.stderr
    (run,) = HistoryStore(tmp_path / "dies.db").runs()
    assert run["status"] == "failed" and "stopped answering" in run["errors"]
