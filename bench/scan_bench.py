"""Scan bench: auditor, Prowler and Cloud Custodian on the same moto account, side by side.

    .venv/bin/python bench/scan_bench.py [--sizes 0,200,1000,5000] [--tools auditor,prowler,custodian]

A moto server (subprocess, its access log counting HTTP requests) holds N S3 buckets and N/2 DynamoDB tables,
half compliant and half drifted. Each tool checks the same five things (S3 default encryption, versioning,
bucket public access block, lifecycle present; DynamoDB PITR). Prowler and Custodian live in their own venvs
under bench/.venvs/, made here on first use (Prowler pins an older boto3). For each tool and N: wall time,
peak RSS, HTTP requests, requests per resource, and whether it flagged the same resources as auditor.
Prints a Markdown table for bench/README.md. Not a test: nothing asserts a time.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import boto3

HERE = Path(__file__).resolve().parent
VENVS = HERE / ".venvs"
REGION = "us-east-1"
CREDS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": REGION,
         "AWS_REGION": REGION}

PACK = """\
pack: {id: bench-five, title: The five checks the bench compares}
rules:
  - {id: BENCH-S3-001, title: default encryption, control: encryption, severity: high, spec_ref: bench,
     remediation: enable, resource: {type: "AWS::S3::Bucket"}, check: {key: encryption.enabled, equals: true}}
  - {id: BENCH-S3-002, title: versioning, control: versioning, severity: high, spec_ref: bench,
     remediation: enable, resource: {type: "AWS::S3::Bucket"}, check: {key: versioning.status, equals: Enabled}}
  - {id: BENCH-S3-003, title: public access block, control: public_access_block, severity: high, spec_ref: bench,
     remediation: enable, resource: {type: "AWS::S3::Bucket"}, check: {key: public_access_block.all_blocked, equals: true}}
  - {id: BENCH-S3-004, title: lifecycle, control: lifecycle, severity: medium, spec_ref: bench,
     remediation: add, resource: {type: "AWS::S3::Bucket"}, check: {key: lifecycle.rules, exists: true}}
  - {id: BENCH-DDB-001, title: pitr, control: pitr, severity: high, spec_ref: bench,
     remediation: enable, resource: {type: "AWS::DynamoDB::Table"}, check: {key: pitr.status, equals: ENABLED}}
"""
PROWLER_CHECKS = ["s3_bucket_default_encryption", "s3_bucket_object_versioning", "s3_bucket_level_public_access_block",
                  "s3_bucket_lifecycle_enabled", "dynamodb_tables_pitr_enabled"]
CUSTODIAN = """\
policies:
  - name: s3-no-encryption
    resource: aws.s3
    filters: [{type: bucket-encryption, state: false}]
  - name: s3-no-versioning
    resource: aws.s3
    filters: [{or: [{type: value, key: Versioning.Status, value: absent}, {type: value, key: Versioning.Status, value: Suspended}]}]
  - name: s3-no-public-access-block
    resource: aws.s3
    filters: [{type: check-public-block, BlockPublicAcls: false, IgnorePublicAcls: false, BlockPublicPolicy: false, RestrictPublicBuckets: false}]
  - name: s3-no-lifecycle
    resource: aws.s3
    filters: [{type: value, key: Lifecycle.Rules, value: absent}]
  - name: dynamodb-no-pitr
    resource: aws.dynamodb-table
    filters: [{type: continuous-backup, key: PointInTimeRecoveryDescription.PointInTimeRecoveryStatus, value: DISABLED}]
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Moto:
    """moto server as a subprocess; one access-log line per request."""

    def __init__(self) -> None:
        self.port = free_port()
        self.log = Path(tempfile.mkstemp(prefix="moto-", suffix=".log")[1])
        self.proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
                                     stdout=self.log.open("w"), stderr=subprocess.STDOUT)
        self.url = f"http://127.0.0.1:{self.port}"
        for _ in range(100):
            try:
                urllib.request.urlopen(self.url + "/moto-api/", timeout=1)
                return
            except OSError:
                time.sleep(0.1)

    def requests(self) -> int:
        return len(re.findall(r'"(?:GET|POST|PUT|DELETE|HEAD) ', self.log.read_text(errors="replace")))

    def reset(self) -> None:
        urllib.request.urlopen(urllib.request.Request(self.url + "/moto-api/reset", method="POST"), timeout=30).read()

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=30)


def provision(url: str, n: int) -> dict[str, set]:
    """N buckets and N/2 tables; odd ones drifted. Returns the resources each check must flag."""
    kw = dict(endpoint_url=url, region_name=REGION, aws_access_key_id="testing", aws_secret_access_key="testing")
    s3, ddb = boto3.client("s3", **kw), boto3.client("dynamodb", **kw)
    flagged: dict[str, set] = {"s3": set(), "dynamodb": set()}

    def bucket(i: int) -> None:
        name = f"bench-{i:05d}"
        s3.create_bucket(Bucket=name)
        if i % 2:
            flagged["s3"].add(name)
            return
        s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
        s3.put_bucket_encryption(Bucket=name, ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]})
        s3.put_public_access_block(Bucket=name, PublicAccessBlockConfiguration={
            "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True, "RestrictPublicBuckets": True})
        s3.put_bucket_lifecycle_configuration(Bucket=name, LifecycleConfiguration={"Rules": [
            {"ID": "ia", "Status": "Enabled", "Filter": {}, "Transitions": [{"Days": 30, "StorageClass": "STANDARD_IA"}]}]})

    def table(i: int) -> None:
        name = f"bench-{i:05d}"
        ddb.create_table(TableName=name, KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                         AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST")
        if i % 2:
            flagged["dynamodb"].add(name)
        else:
            ddb.update_continuous_backups(TableName=name, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True})

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(bucket, range(n)))
        list(pool.map(table, range(n // 2)))
    return flagged


def run_measured(command: list[str], env: dict, cwd: Path) -> tuple[float, float, int]:
    """Wall time, peak RSS (MB, the process and the children it waited for) and exit code."""
    start = time.perf_counter()
    proc = subprocess.Popen(command, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    return time.perf_counter() - start, usage.ru_maxrss / 1024, os.waitstatus_to_exitcode(status)


def tool_env(url: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(CREDS, AWS_ENDPOINT_URL=url, AWS_CONFIG_FILE=os.devnull, AWS_SHARED_CREDENTIALS_FILE=os.devnull)
    return env


def ensure_venv(name: str, package: str) -> Path:
    venv = VENVS / name
    if not (venv / "bin" / "python").exists():
        print(f"installing {package} into {venv} (once)", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(venv / "bin" / "pip"), "install", "-q", package], check=True)
    return venv


def run_auditor(url: str, work: Path) -> tuple[float, float, set]:
    rules = work / "rules"
    rules.mkdir(exist_ok=True)
    (rules / "bench-five.yaml").write_text(PACK)
    (work / "config.yaml").write_text(f"rules_dir: {rules}\nformats: [json]\nkeep_runs: 1\n")
    out = work / "auditor-out"
    seconds, rss, _ = run_measured([str(Path(sys.executable).parent / "auditor"), "--config", str(work / "config.yaml"),
                                    "scan", "--pack", "bench-five", "--endpoint-url", url, "--out", str(out),
                                    "--db", str(work / "bench.db")], tool_env(url), work)
    report = json.loads(next(out.rglob("report.json")).read_text())
    flagged = {f["resource"]["name"] for f in report["findings"] if f["status"] == "fail"}
    shutil.rmtree(out, ignore_errors=True)
    return seconds, rss, flagged


def run_prowler(url: str, work: Path) -> tuple[float, float, set]:
    venv = ensure_venv("prowler", "prowler")
    out = work / "prowler-out"
    seconds, rss, _ = run_measured([str(venv / "bin" / "prowler"), "aws", "-f", REGION, "--checks", *PROWLER_CHECKS,
                                    "-M", "json-ocsf", "-o", str(out), "--no-banner", "--ignore-exit-code-3"],
                                   tool_env(url), work)
    flagged = set()
    for file in out.rglob("*.ocsf.json"):
        for item in json.loads(file.read_text() or "[]"):
            if item.get("status_code") == "FAIL":
                flagged.add(item["resources"][0].get("name") or item["resources"][0]["uid"].split(":")[-1].split("/")[-1])
    shutil.rmtree(out, ignore_errors=True)
    return seconds, rss, flagged


def run_custodian(url: str, work: Path) -> tuple[float, float, set]:
    venv = ensure_venv("custodian", "c7n")
    policies = work / "policies.yml"
    policies.write_text(CUSTODIAN)
    out = work / "custodian-out"
    cache = work / f"fresh-{time.time_ns()}.cache"  # its cache lives 15 minutes: a fresh one per run
    seconds, rss, _ = run_measured([str(venv / "bin" / "custodian"), "run", "--dryrun", "-s", str(out), "-f",
                                    str(cache), "-r", REGION, str(policies)], tool_env(url), work)
    flagged = set()
    for file in out.rglob("resources.json"):
        for item in json.loads(file.read_text() or "[]"):
            flagged.add(item.get("Name") or item.get("TableName"))
    shutil.rmtree(out, ignore_errors=True)
    return seconds, rss, flagged


TOOLS = {"auditor": run_auditor, "prowler": run_prowler, "custodian": run_custodian}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="0,200,1000,5000")
    parser.add_argument("--tools", default="auditor,prowler,custodian")
    args = parser.parse_args()
    moto = Moto()
    work = Path(tempfile.mkdtemp(prefix="auditor-scan-bench-"))
    rows = ["| N buckets (+N/2 tables) | tool | wall time | peak RSS | HTTP requests | requests per resource | same flagged as auditor |",
            "| --- | --- | --- | --- | --- | --- | --- |"]
    try:
        for n in (int(x) for x in args.sizes.split(",")):
            moto.reset()
            expected = provision(moto.url, n)
            expected_all = expected["s3"] | expected["dynamodb"]
            reference = None
            for tool in args.tools.split(","):
                before = moto.requests()
                seconds, rss, flagged = TOOLS[tool](moto.url, work)
                requests = moto.requests() - before
                resources = n + n // 2
                same = "-" if reference is None else ("yes" if flagged == reference else
                                                      f"no ({len(flagged ^ reference)} differ)")
                if tool == "auditor":
                    reference = flagged
                    same = "yes (reference)" if flagged == expected_all else f"no: {len(flagged ^ expected_all)} off"
                rows.append(f"| {n} | {tool} | {seconds:.1f} s | {rss:.0f} MB | {requests} | "
                            f"{requests / resources if resources else float('nan'):.2f} | {same} |")
                print(rows[-1], file=sys.stderr)
    finally:
        moto.stop()
        shutil.rmtree(work, ignore_errors=True)
    print("\n".join(rows))


if __name__ == "__main__":
    main()
