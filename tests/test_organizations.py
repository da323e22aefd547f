"""Organization-wide audits against a moto organization: discovery (OUs, exclusions, tags, suspended accounts),
`auditor targets list`, every ACTIVE account audited and recorded once, a broken role failing only its account,
and the Celery executor with a real redis-server and real `auditor worker` processes: the same findings as the
local executor, and a worker killed with SIGKILL mid-task losing nothing."""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from auditor.demo.mockaws import free_port, scan_environment
from auditor.demo.organization import ROLE, build_organization
from auditor.history.store import HistoryStore
from tests.conftest import run_cli
from tests.faultproxy import FaultProxy

pytestmark = pytest.mark.slow  # real redis-server and Celery worker processes

REDIS = shutil.which("redis-server")


def org_config(tmp_path: Path, endpoint: str, *, executor: str = "", **org) -> Path:
    entry = {"name": "acme", "role_name": ROLE, "external_id": "example-external-id", "regions": ["us-east-1"],
             "packs": ["baseline"], "environment": {"tag": "environment"}, "endpoint_url": endpoint, **org}
    config = tmp_path / "config.yaml"
    config.write_text(f"db: {tmp_path / 'history.db'}\nout: {tmp_path / 'reports'}\nformats: [json]\n"
                      f"organizations:\n  - {json.dumps(entry)}\ntargets: []\n{executor}")
    return config


@pytest.fixture
def org(aws):
    return build_organization(aws.endpoint, accounts=6)


def targets_list(config: Path, endpoint: str) -> dict:
    result = run_cli("--config", str(config), "targets", "list", "--json", endpoint=endpoint)
    assert result.code == 0, result.stderr
    return json.loads(result.stdout)


def test_discovery_honours_tags_ous_exclusions_and_status(aws, org, tmp_path):
    listed = targets_list(org_config(tmp_path, aws.endpoint), aws.endpoint)
    (acme,) = listed["organizations"]
    by_id = {a["id"]: a for a in acme["accounts"]}
    tagged_active = org.ids(status="ACTIVE", tagged=True)
    assert sorted(a["id"] for a in acme["accounts"] if a["audited"]) == tagged_active
    untagged = org.ids(status="ACTIVE", tagged=False)[0]
    assert not by_id[untagged]["audited"] and "no 'environment' tag" in by_id[untagged]["why"]
    suspended = org.ids(status="SUSPENDED")[0]
    assert not by_id[suspended]["audited"] and by_id[suspended]["why"].startswith("SUSPENDED")
    staging = org.ids(ou="staging", status="ACTIVE")[0]
    assert by_id[staging]["environment"] == "staging"
    assert {t["name"] for t in listed["targets"]} == {f"acme/{a}" for a in tagged_active}
    assert all(t["role_arn"] == f"arn:aws:iam::{t['name'].split('/')[1]}:role/{ROLE}" for t in listed["targets"])
    # Only the prod OU, recursively (prod-eu is inside it), one account excluded, environment by OU.
    excluded = org.ids(ou="prod")[0]
    config = org_config(tmp_path, aws.endpoint, include_ous=[org.ous["prod"]], exclude_accounts=[excluded],
                        environment={"ous": {org.ous["prod"]: "production"}})
    (acme,) = targets_list(config, aws.endpoint)["organizations"]
    seen = {a["id"]: a for a in acme["accounts"]}
    assert set(seen) == set(org.ids(ou="prod")) | set(org.ids(ou="prod-eu"))
    assert not seen[excluded]["audited"] and "exclude_accounts" in seen[excluded]["why"]
    eu = org.ids(ou="prod-eu", status="ACTIVE")[0]
    assert seen[eu]["audited"] and seen[eu]["ou_path"] == [org.ous["prod"], org.ous["prod-eu"]]
    assert seen[eu]["environment"] == "production" and "OU" in seen[eu]["why"]
    # The human-readable listing says the same, one line per account.
    text = run_cli("--config", str(config), "targets", "list", endpoint=aws.endpoint).stdout
    assert f"acme/{eu}" in text and "exclude_accounts" in text


def scanned_runs(db: Path) -> dict[str, list[dict]]:
    store = HistoryStore(db)
    try:
        runs: dict[str, list[dict]] = {}
        for row in store.runs(limit=10_000):
            runs.setdefault(row["target"], []).append(row)
        return runs
    finally:
        store.close()


def findings_of(db: Path) -> dict[str, set]:
    store = HistoryStore(db)
    try:
        out = {}
        for row in store.runs(limit=10_000):
            out[row["target"]] = {(f.rule_id, f.resource.id, f.status) for f in store.findings(row["id"])}
        return out
    finally:
        store.close()


def test_every_active_account_is_audited_once_and_a_broken_role_fails_only_its_account(aws, org, tmp_path):
    broken = org.ids(status="ACTIVE", tagged=True, drifted=False)[0]
    with FaultProxy(aws.endpoint, deny_body=lambda service, op, body: service == "sts" and op == "AssumeRole"
                    and broken.encode() in body) as proxy:
        config = org_config(tmp_path, proxy.url)
        result = run_cli("--config", str(config), "scan", "--all-targets", endpoint=proxy.url)
    assert result.code == 3, result.stderr  # one account could not be audited
    runs = scanned_runs(tmp_path / "history.db")
    audited = org.ids(status="ACTIVE", tagged=True)
    assert sorted(runs) == sorted(f"acme/{a}" for a in audited) and all(len(r) == 1 for r in runs.values())
    (failed,) = runs[f"acme/{broken}"]
    assert failed["status"] == "failed" and "AccessDenied" in failed["errors"]
    for account in audited:
        if account != broken:
            assert runs[f"acme/{account}"][0]["status"] in ("complete", "partial")
    lines = result.stdout.splitlines()
    assert sum(1 for line in lines if line.startswith("acme/")) == len(audited)
    name = org.accounts[broken]["name"]
    assert any(f"acme/{broken} ({name}): could not audit" in line and "AccessDenied" in line for line in lines)
    total = next(line for line in lines if line.startswith("organization acme:"))
    assert f"{len(audited)} account(s)" in total and "1 failed" in total
    # Each account is judged on its own resources: a drifted one fails versioning and PITR, a clean one does not.
    findings = findings_of(tmp_path / "history.db")
    for account in audited:
        if account == broken:
            continue
        failing = {rule for rule, _, status in findings[f"acme/{account}"] if status == "fail"}
        drifted = org.accounts[account]["drifted"]
        assert ("BASE-S3-005" in failing) == drifted and ("BASE-DDB-001" in failing) == drifted, account
        assert all(resource.startswith((f"data-{account}-", "orders-")) for _, resource, _ in findings[f"acme/{account}"])
        assert f"acme/{account} ({org.accounts[account]['name']}): run" in result.stdout
    # The organization's roll-up: in the terminal by OU, in report --all-targets and on the server's fleet page.
    assert any(line.startswith("  OU prod / prod-eu: ") for line in lines)
    report = run_cli("--config", str(config), "report", "--all-targets", "--format", "json,csv")
    view = json.loads((tmp_path / "reports" / "fleet" / "fleet.json").read_text())
    acme = view["organizations"]["acme"]
    assert len(acme["accounts"]) == len(audited) and acme["failed_runs"] == 1 and report.code == 3
    assert set(acme["by_ou"]) == {"prod", "prod / prod-eu", "staging"}
    assert acme["accounts"][0]["name"] == f"acme/{broken}"  # worst first: the one that could not be audited
    drifted_fail = sum(a["fail"] for a in acme["accounts"])
    assert sum(c["fail"] for c in acme["by_ou"].values()) == drifted_fail > 0
    labels = {a["name"]: a["label"] for a in acme["accounts"]}
    assert all(labels[f"acme/{a}"] == org.accounts[a]["name"] for a in audited)
    from tests.test_serve import TOKEN, get, start

    proc, base = start(tmp_path / "history.db", TOKEN)
    try:
        page = get(f"{base}/")[2].decode()
        assert 'class="org-by-ou" data-organization="acme"' in page and "prod / prod-eu" in page
        assert org.accounts[audited[0]]["name"] in page
    finally:
        proc.terminate()
        proc.communicate(timeout=10)


@pytest.fixture
def redis_url(tmp_path):
    if REDIS is None:
        if os.environ.get("CI"):
            pytest.fail("CI must have redis-server: .ci/run installs it")
        pytest.skip("redis-server is not installed")
    port = free_port()
    proc = subprocess.Popen([REDIS, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                             "--requirepass", "s3cret-broker-pass", "--dir", str(tmp_path)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    import redis

    client = redis.Redis(host="127.0.0.1", port=port, password="s3cret-broker-pass")
    for _ in range(100):
        try:
            client.ping()
            break
        except redis.ConnectionError:
            time.sleep(0.05)
    yield f"redis://:s3cret-broker-pass@127.0.0.1:{port}/0"
    proc.terminate()
    proc.wait(timeout=10)


def celery_executor(url: str, **extra) -> str:
    # A short visibility timeout, so a killed worker's task is redelivered within the test; the time limit stays
    # below it (a config where it does not is refused: a running audit would go to a second worker), and far
    # above one account's scan even on a loaded 2-core machine running the suite on both cores.
    settings = {"type": "celery", "broker_url": url, "visibility_timeout_seconds": 24, "result_timeout_seconds": 120,
                "task_time_limit_seconds": 22, **extra}
    return "executor:\n" + "".join(f"  {k}: {json.dumps(v)}\n" for k, v in settings.items())


def held_first_assume_role(account: str, seconds: float):
    """A FaultProxy delay holding the first AssumeRole into ``account`` for ``seconds`` (its scan is in flight
    meanwhile); the counter says how many AssumeRoles into it were seen."""
    seen = Counter()

    def hold(service, operation, body):
        if service == "sts" and operation == "AssumeRole" and account.encode() in body:
            seen[account] += 1
            return seconds if seen[account] == 1 else 0
        return 0
    return seen, hold


def start_worker(config: Path, endpoint: str, log: Path) -> subprocess.Popen:
    env = scan_environment(endpoint)
    return subprocess.Popen([sys.executable, "-m", "auditor", "--config", str(config), "worker", "--concurrency", "1"],
                            env=env, stdout=log.open("w"), stderr=subprocess.STDOUT, start_new_session=True)


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


def test_celery_executor_gives_the_local_findings_and_survives_a_killed_worker(aws, org, tmp_path, redis_url):
    local_dir, celery_dir = tmp_path / "local", tmp_path / "celery"
    local_dir.mkdir()
    celery_dir.mkdir()
    assert run_cli("--config", str(org_config(local_dir, aws.endpoint)), "scan", "--all-targets",
                   endpoint=aws.endpoint).code == 1  # drifted accounts fail the gate
    # The SIGKILL'd worker: the first AssumeRole into this account is held, and the worker dies while it waits.
    slow = org.ids(status="ACTIVE", tagged=True)[-1]
    assume_calls, hold = held_first_assume_role(slow, 12)

    with FaultProxy(aws.endpoint, delay=hold) as proxy:
        config = org_config(celery_dir, proxy.url, executor=celery_executor(redis_url))
        first = start_worker(config, proxy.url, celery_dir / "worker-1.log")
        coordinator = subprocess.Popen([sys.executable, "-m", "auditor", "--config", str(config), "scan",
                                        "--all-targets"], env=scan_environment(proxy.url), stdout=subprocess.PIPE,
                                       stderr=subprocess.PIPE, text=True)
        second = None
        try:
            deadline = time.time() + 90
            while assume_calls[slow] == 0 and time.time() < deadline:
                time.sleep(0.2)
            assert assume_calls[slow] == 1, (celery_dir / "worker-1.log").read_text()[-2000:]
            os.killpg(first.pid, signal.SIGKILL)  # mid-task: its message was never acknowledged
            first.wait(timeout=10)
            second = start_worker(config, proxy.url, celery_dir / "worker-2.log")
            out, err = coordinator.communicate(timeout=240)
        finally:
            for proc in (first, second):
                if proc is not None:
                    stop(proc)
            if coordinator.poll() is None:
                coordinator.kill()
    assert coordinator.returncode == 1, out + err
    assert assume_calls[slow] == 2  # redelivered to the second worker, scanned there
    runs = scanned_runs(celery_dir / "history.db")
    assert all(len(r) == 1 for r in runs.values())  # recorded once each
    assert runs[f"acme/{slow}"][0]["status"] in ("complete", "partial")
    assert findings_of(celery_dir / "history.db") == findings_of(local_dir / "history.db")
    # The broker's password is in no log line, report or history row.
    password = "s3cret-broker-pass"
    assert password not in out + err
    assert password not in (celery_dir / "worker-2.log").read_text()
    assert not any(password in p.read_text(errors="replace") for p in (celery_dir / "reports").rglob("*.json"))
    assert password.encode() not in (celery_dir / "history.db").read_bytes()


def test_a_result_that_never_comes_ends_the_run_failed(aws, org, tmp_path, redis_url):
    """No worker at all: each account's run ends failed with the reason, never hangs, never reads compliant."""
    keep = org.ids(status="ACTIVE", tagged=True)[0]
    config = org_config(tmp_path, aws.endpoint, exclude_accounts=[a for a in org.ids() if a != keep],
                        executor=celery_executor(redis_url, result_timeout_seconds=3))
    result = run_cli("--config", str(config), "scan", "--all-targets", endpoint=aws.endpoint, timeout=60)
    assert result.code == 3
    (only,) = [r for rs in scanned_runs(tmp_path / "history.db").values() for r in rs]
    assert only["status"] == "failed" and "no result from the Celery workers within 3 s" in only["errors"]
    assert "s3cret-broker-pass" not in result.stdout + result.stderr + only["errors"]


def test_the_scheduler_audits_a_scheduled_organization(aws, org, tmp_path):
    """`auditor schedule` is the coordinator of the Kubernetes example: --once discovers and audits the whole
    organization, each account its own run."""
    config = org_config(tmp_path, aws.endpoint, schedule={"cron": "0 2 * * *", "timezone": "Europe/Paris"})
    listed = run_cli("--config", str(config), "schedule", "--list", "--json", endpoint=aws.endpoint)
    assert listed.code == 0 and "org:acme" in listed.stdout, listed.stderr
    result = run_cli("--config", str(config), "schedule", "--once", "--exit-zero-on-findings", endpoint=aws.endpoint)
    assert result.code == 0, result.stderr
    runs = scanned_runs(tmp_path / "history.db")
    assert sorted(runs) == sorted(f"acme/{a}" for a in org.ids(status="ACTIVE", tagged=True))
    assert "organization acme: " in result.stderr


def test_bad_organization_and_executor_config_is_one_line_and_exit_2(aws, tmp_path):
    both = org_config(tmp_path, aws.endpoint, environment={"tag": "environment", "value": "production"})
    result = run_cli("--config", str(both), "targets", "list", endpoint=aws.endpoint)
    assert result.code == 2 and "config.yaml:" in result.stderr and "exactly one of tag, ous or value" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
    no_broker = org_config(tmp_path, aws.endpoint, executor="executor:\n  type: celery\n  broker_url_env: null\n")
    result = run_cli("--config", str(no_broker), "scan", "--all-targets", endpoint=aws.endpoint)
    assert result.code == 2 and "needs broker_url" in result.stderr and "Traceback" not in result.stderr
    # moto holds no organization here: listing it fails, and says why, with exit 3.
    unlisted = run_cli("--config", str(org_config(tmp_path, aws.endpoint)), "targets", "list", endpoint=aws.endpoint)
    assert unlisted.code == 3 and "organization acme: could not list its accounts" in unlisted.stderr
    assert "AWSOrganizationsNotInUseException" in unlisted.stderr and "Traceback" not in unlisted.stderr


def durable_redis(port: int, folder: Path) -> subprocess.Popen:
    """redis-server as a deployment keeps it: an append-only file, so a restart keeps queued and unacknowledged
    tasks and stored results."""
    proc = subprocess.Popen([REDIS, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "yes",
                             "--appendfsync", "always", "--requirepass", "s3cret-broker-pass", "--dir", str(folder)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    import redis

    client = redis.Redis(host="127.0.0.1", port=port, password="s3cret-broker-pass")
    for _ in range(200):
        try:
            client.ping()
            return proc
        except redis.ConnectionError:
            time.sleep(0.05)
    raise AssertionError("redis-server did not start")


def test_a_broker_restart_of_five_seconds_is_waited_out(aws, org, tmp_path):
    """redis-server stops while an account's scan is in flight and comes back 5 s later on the same port: the
    worker and the coordinator reconnect within broker_outage_seconds, and every account is audited once."""
    if REDIS is None:
        pytest.skip("redis-server is not installed")
    port, folder = free_port(), tmp_path / "redis"
    folder.mkdir()
    broker = durable_redis(port, folder)
    url = f"redis://:s3cret-broker-pass@127.0.0.1:{port}/0"
    slow = org.ids(status="ACTIVE", tagged=True)[-1]
    held, hold = held_first_assume_role(slow, 8)

    worker = coordinator = None
    try:
        with FaultProxy(aws.endpoint, delay=hold) as proxy:
            config = org_config(tmp_path, proxy.url, executor=celery_executor(url, broker_outage_seconds=40))
            worker = start_worker(config, proxy.url, tmp_path / "worker.log")
            coordinator = subprocess.Popen([sys.executable, "-m", "auditor", "--config", str(config), "scan",
                                            "--all-targets"], env=scan_environment(proxy.url),
                                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            deadline = time.time() + 90
            while held[slow] == 0 and time.time() < deadline:
                time.sleep(0.2)
            assert held[slow] == 1, (tmp_path / "worker.log").read_text()[-2000:]
            broker.terminate()  # the scan of `slow` is in flight, others may be queued
            broker.wait(timeout=10)
            time.sleep(5)
            broker = durable_redis(port, folder)
            out, err = coordinator.communicate(timeout=240)
    finally:
        if worker is not None:
            stop(worker)
        if coordinator is not None and coordinator.poll() is None:
            coordinator.kill()
        broker.terminate()
        broker.wait(timeout=10)
    assert coordinator.returncode == 1, out + err + (tmp_path / "worker.log").read_text()[-3000:]
    runs = scanned_runs(tmp_path / "history.db")
    assert sorted(runs) == sorted(f"acme/{a}" for a in org.ids(status="ACTIVE", tagged=True))
    assert all(len(r) == 1 and r[0]["status"] in ("complete", "partial") for r in runs.values()), runs
