"""``auditor demo``: moto in process, a drifted ecommerce-platform account, a scan, the reports."""
from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from auditor.aws import AwsSettings
from auditor.config import Config
from auditor.console import console, print_scan_summary
from auditor.demo.ecommerce import DEMO_DRIFTS, DRIFTS, build_drifted
from auditor.demo.mockaws import FAKE_CREDENTIALS, REGION, MockAccount, moto_server
from auditor.reporting.writers import report_document, write_reports
from auditor.rules.pack import PackFileSet
from auditor.scan import ScanRequest, run_scan

DEMO_PACKS = ["ecommerce-platform", "baseline"]
DEMO_ENV = "production"


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


def run_demo(config: Config, out: Path) -> None:
    out_console = console()
    packs = PackFileSet(config.rules_dir).load(DEMO_PACKS)
    with dummy_credentials(), moto_server() as endpoint:
        out_console.print(f"mock AWS (moto) on {endpoint}; building the ecommerce-platform {DEMO_ENV} account")
        build_drifted(MockAccount(endpoint), DEMO_ENV, DEMO_DRIFTS)
        for name in DEMO_DRIFTS:
            out_console.print(f"  drift: {DRIFTS[name].description}")
        settings = AwsSettings(regions=[REGION], endpoint_url=endpoint, max_workers=config.max_workers)
        result = run_scan(ScanRequest("demo", DEMO_ENV, packs, settings, {}))
    paths = write_reports(report_document(result.run, result.findings), out / result.run.id, ["json", "csv"])
    print_scan_summary(out_console, result.run, result.findings, paths)
