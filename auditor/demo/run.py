"""``auditor demo``: moto in process, a drifted ecommerce-platform account, a scan, the reports."""
from __future__ import annotations

import datetime as dt
import os
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from auditor.aws import AwsSettings
from auditor.config import Config
from auditor.demo.ecommerce import DEMO_DRIFTS, DEMO_PARAMETERS, DRIFTS, MOTO_WAIVERS, bucket, build_drifted
from auditor.demo.mockaws import FAKE_CREDENTIALS, MockAccount, REGION, moto_server
from auditor.engine.waivers import Waiver
from auditor.history.store import HistoryStore
from auditor.reporting.console import console, print_scan_summary
from auditor.rules.load import PackFileSet
from auditor.runs.audit import audit
from auditor.runs.scan import ScanRequest

DEMO_PACKS = ["ecommerce-platform", "baseline"]
DEMO_ENV = "production"
# The static-assets bucket is public by design (spec 002 §6.2): the baseline's public-access rule is waived.
DEMO_WAIVERS = [Waiver(id="W-STATIC-PUBLIC", rule="BASE-S3-002", resource="ecommerce-static-assets-*",
                       reason="static assets are public by design (spec 002 §6.2)", owner="platform-team",
                       expires=dt.date(2099, 12, 31)), *(Waiver(**w) for w in MOTO_WAIVERS)]
DEMO_FORMATS = ["html", "json", "csv", "sarif", "junit", "ocsf", "asff"]
# Checks the mock cannot answer (moto lacks the call or the field): against AWS they are judged; here they are
# error, and the demo says so in one line.
MOCK_GAPS = {
    "ECOM-DDB-017": "ListBackupSelections is not in moto",
    "ECOM-CACHE-005": "moto's replication groups have no member clusters to read parameters through",
    "ECOM-CACHE-006": "moto's replication groups have no member clusters to read parameters through",
    "ECOM-RDS-010": "moto does not report Performance Insights",
}


def mock_gaps_line(findings) -> str:
    """One line naming the checks that ended in error because of the mock, and why; empty when there are none."""
    errors = sorted({f.rule_id for f in findings if f.status == "error"})
    if not errors:
        return ""
    reasons: dict[str, list[str]] = {}
    for rule_id in errors:
        reasons.setdefault(MOCK_GAPS.get(rule_id, "see the report"), []).append(rule_id)
    shown = "; ".join(f"{', '.join(ids)}: {why}" for why, ids in reasons.items())
    return f"the mock cannot answer {len(errors)} rule(s), whose checks are error here and judged against AWS: {shown}"


@contextmanager
def dummy_credentials() -> Iterator[None]:
    """The demo must never pick up, or send anywhere, the real credentials of whoever runs it."""
    saved = {k: os.environ.get(k) for k in list(FAKE_CREDENTIALS) + ["AWS_PROFILE", "AWS_SESSION_TOKEN"]}
    os.environ.update(FAKE_CREDENTIALS)
    os.environ.pop("AWS_PROFILE", None)
    os.environ.pop("AWS_SESSION_TOKEN", None)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def run_demo(config: Config, out: Path) -> Path:
    """Two nightly audits of the mock account, with a fix and a new drift in between; returns the history."""
    out_console = console()
    packs = PackFileSet(config.rules_dir).load(DEMO_PACKS)
    db_path = out / "demo.db"
    for stale in (db_path, db_path.with_name("demo.db-wal"), db_path.with_name("demo.db-shm")):
        stale.unlink(missing_ok=True)
    store = HistoryStore(db_path)
    with dummy_credentials(), moto_server() as endpoint:
        aws = MockAccount(endpoint)
        out_console.print(f"mock AWS (moto) on {endpoint}; building the ecommerce-platform {DEMO_ENV} account")
        build_drifted(aws, DEMO_ENV, DEMO_DRIFTS)
        for name in DEMO_DRIFTS:
            out_console.print(f"  drift: {DRIFTS[name].description}")
        settings = AwsSettings(regions=[REGION], endpoint_url=endpoint, max_workers=config.max_workers)
        parameters = {pack: {**DEMO_PARAMETERS.get(pack, {}), **config.parameters.get(pack, {})} for pack in DEMO_PACKS}
        request = ScanRequest("demo", DEMO_ENV, packs, settings, parameters, DEMO_WAIVERS)
        first = audit(request, store, out, DEMO_FORMATS)
        out_console.print(f"first audit: run {first.run.id}, score {first.document['summary']['score']}")
        out_console.print("between the audits: order-documents versioning is resumed (a fix); "
                          "the account-level public access block is switched off and the database-backups bucket "
                          "loses its own (a new drift)")
        aws.s3.put_bucket_versioning(Bucket=bucket("order-documents", DEMO_ENV),
                                     VersioningConfiguration={"Status": "Enabled"})
        DRIFTS["public-backups"].apply(aws, DEMO_ENV)
        second = audit(request, store, out, DEMO_FORMATS)
    print_scan_summary(out_console, second.run, second.findings, second.paths, second.document["waivers"],
                       gone=len(second.document.get("gone", [])))
    gaps = mock_gaps_line(second.findings)
    if gaps:
        out_console.print(gaps, markup=False, soft_wrap=True)
    out_console.print(f"history: {db_path}  (auditor history --db {db_path}; "
                      f"auditor diff {first.run.id} {second.run.id} --db {db_path})")
    return db_path
