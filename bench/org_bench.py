"""Organization bench: a simulated AWS Organization on a moto server, audited with the local executor and with
1, 2 and 4 Celery worker processes against a real redis-server.

    .venv/bin/python bench/org_bench.py [--accounts 50 200 500] [--workers 0 1 2 4] [--buckets 2 --tables 1]

Each member account is reached by AssumeRole (moto keeps accounts apart), holds a few buckets and tables, every
third is drifted, and one has a broken role (AccessDenied on its AssumeRole, through a fault proxy). For each
size and executor it records accounts per minute, API calls per account, the coordinator's peak RSS and the
time to the first recorded result, then checks that every audited account has exactly one run in the history,
with the findings a single-account scan of it gives. Prints a Markdown table for bench/README.md. Not a test:
nothing here asserts a time. ``--workers 0`` is the local executor (threads in the coordinator).
"""
from __future__ import annotations

import argparse
import json
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from auditor.demo.mockaws import free_port, reset, scan_environment  # noqa: E402
from auditor.demo.organization import ROLE, build_organization  # noqa: E402
from tests.faultproxy import FaultProxy  # noqa: E402


def start_moto() -> tuple[object, str]:
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    reset(endpoint)  # moto's backends are this process's: an earlier size's organization would still be there
    return server, endpoint


def start_redis(work: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    proc = subprocess.Popen([shutil.which("redis-server"), "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                             "--appendonly", "no", "--dir", str(work)], stdout=subprocess.DEVNULL)
    time.sleep(0.5)
    return proc, f"redis://127.0.0.1:{port}/0"


def write_config(work: Path, endpoint: str, broker: str | None, exclude: list[str]) -> Path:
    org = {"name": "bench", "role_name": ROLE, "regions": ["us-east-1"], "packs": ["baseline"],
           "environment": {"tag": "environment"}, "endpoint_url": endpoint, "exclude_accounts": exclude}
    text = (f"db: {work / 'history.db'}\nout: {work / 'reports'}\nformats: [json]\nmax_workers: 16\n"
            f"organizations:\n  - {json.dumps(org)}\ntargets: []\n")
    if broker:
        text += (f"executor:\n  type: celery\n  broker_url: {broker}\n  visibility_timeout_seconds: 600\n"
                 "  result_timeout_seconds: 3600\n  max_in_flight: 1024\n")
    path = work / "config.yaml"
    path.write_text(text)
    return path


def finished_runs(db: Path) -> int:
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1) as conn:
            return conn.execute("SELECT count(*) FROM runs WHERE finished_at IS NOT NULL").fetchone()[0]
    except sqlite3.Error:
        return 0


def audit(work: Path, endpoint: str, broker: str | None, workers: int, parallel: int) -> dict:
    config = write_config(work, endpoint, broker, [])
    env = scan_environment(endpoint)
    pool = [subprocess.Popen([sys.executable, "-m", "auditor", "--config", str(config), "worker", "--concurrency", "1",
                              "--loglevel", "WARNING"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            for _ in range(workers)]
    time.sleep(3 if workers else 0)  # the workers connect before the clock starts
    start = time.perf_counter()
    # Output to files, not pipes: a pipe nobody reads while the coordinator runs fills at 64 KiB (a line an
    # account: about 300 accounts) and blocks it.
    out_file, err_file = (work / "coordinator.out").open("w+"), (work / "coordinator.err").open("w+")
    proc = subprocess.Popen(["/usr/bin/time", "-f", "PEAK_RSS_KB %M", sys.executable, "-m", "auditor", "--config",
                             str(config), "scan", "--all-targets", "--parallel", str(parallel)], env=env,
                            stdout=out_file, stderr=err_file, text=True)
    first = None
    while proc.poll() is None:
        if first is None and finished_runs(work / "history.db"):
            first = time.perf_counter() - start
        time.sleep(0.2)
    wall = time.perf_counter() - start
    out, err = (work / "coordinator.out").read_text(), (work / "coordinator.err").read_text()
    for w in pool:
        w.terminate()
    for w in pool:
        w.wait(timeout=60)
    peak = next((int(line.split()[1]) for line in err.splitlines() if line.startswith("PEAK_RSS_KB")), 0)
    return {"wall": wall, "first": first or wall, "peak_mb": peak / 1024, "stdout": out, "stderr": err}


def history_check(db: Path, audited: list[str]) -> tuple[int, int, dict[str, set]]:
    """Runs per account (each must be 1), API calls in all, and each account's findings."""
    from auditor.history.store import HistoryStore

    store = HistoryStore(db)
    try:
        rows = store.runs(limit=100_000)
        per_target: dict[str, int] = {}
        findings = {}
        for row in rows:
            per_target[row["target"]] = per_target.get(row["target"], 0) + 1
            findings[row["target"]] = {(f.rule_id, f.resource.id, f.status) for f in store.findings(row["id"])}
        calls = sum(r["api_calls"] or 0 for r in rows)
        once = sum(1 for t in audited if per_target.get(f"bench/{t}") == 1)
        return once, calls, findings
    finally:
        store.close()


def single_scan(work: Path, endpoint: str, account: str, environment: str) -> set:
    """The findings of one account scanned alone (--role-arn), to compare with what the fleet run recorded."""
    db = work / "single.db"
    subprocess.run([sys.executable, "-m", "auditor", "scan", "--pack", "baseline", "--env", environment,
                    "--endpoint-url", endpoint, "--role-arn", f"arn:aws:iam::{account}:role/{ROLE}",
                    "--db", str(db), "--out", str(work / "single"), "--format", "json"],
                   env=scan_environment(endpoint), capture_output=True, check=False)
    from auditor.history.store import HistoryStore

    store = HistoryStore(db)
    try:
        (row,) = store.runs(limit=1)
        return {(f.rule_id, f.resource.id, f.status) for f in store.findings(row["id"])}
    finally:
        store.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--accounts", type=int, nargs="+", default=[50, 200, 500])
    parser.add_argument("--workers", type=int, nargs="+", default=[0, 1, 2, 4])
    parser.add_argument("--buckets", type=int, default=2)
    parser.add_argument("--tables", type=int, default=1)
    parser.add_argument("--parallel", type=int, default=4, help="local executor: accounts at once")
    args = parser.parse_args()
    rows = []
    for size in args.accounts:
        server, endpoint = start_moto()  # one organization per size, audited by each executor in turn
        try:
            t0 = time.perf_counter()
            org = build_organization(endpoint, accounts=size, drift_every=3, suspended=1, untagged=0,
                                     buckets=args.buckets, tables=args.tables)
            built = time.perf_counter() - t0
            audited = org.ids(status="ACTIVE", tagged=True)
            broken = audited[len(audited) // 2]
            reference = None
            for workers in args.workers:
                work = Path(tempfile.mkdtemp(prefix=f"org-bench-{size}-{workers}-"))
                redis_proc, broker = start_redis(work) if workers else (None, None)
                try:
                    with FaultProxy(endpoint, deny_body=lambda s, op, body: s == "sts" and op == "AssumeRole"
                                    and broken.encode() in body) as proxy:
                        result = audit(work, proxy.url, broker, workers, args.parallel)
                    once, calls, findings = history_check(work / "history.db", audited)
                    if reference is None:
                        sample = next(a for a in audited if a != broken)
                        reference = (sample, single_scan(work, endpoint, sample, org.accounts[sample]["environment"]))
                    same = findings.get(f"bench/{reference[0]}") == reference[1]
                    per_minute = len(audited) / result["wall"] * 60
                    rows.append((str(size), "local" if workers == 0 else f"celery x{workers}",
                                 f"{result['wall']:.1f} s", f"{per_minute:.0f}",
                                 f"{calls / max(1, len(audited)):.1f}", f"{result['peak_mb']:.0f} MB",
                                 f"{result['first']:.1f} s", f"{once}/{len(audited)}", "yes" if same else "NO",
                                 f"{built:.0f} s"))
                    print(" | ".join(rows[-1]), file=sys.stderr, flush=True)
                finally:
                    if redis_proc:
                        redis_proc.terminate()
                    shutil.rmtree(work, ignore_errors=True)
        finally:
            server.stop()
    print("| accounts | executor | wall time | accounts/min | API calls/account | coordinator peak RSS | "
          "first result | runs recorded once | = single-account scan | building the org |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for row in rows:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
