"""IaC gate bench: a generated Terraform project of N resources, `auditor iac` against checkov alone.

    .venv/bin/python bench/iac_bench.py [--resources 500] [--repeat 3]

Both run as the user runs them, as subprocesses on the same directory; the median wall time of each is
printed with the ratio (target: auditor iac at most 1.5x checkov's own time). Not a test.
"""
from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BUCKET = '''
resource "aws_s3_bucket" "b{n}" {{
  bucket = "bench-data-{n}-production"
}}

resource "aws_s3_bucket_versioning" "b{n}" {{
  bucket = aws_s3_bucket.b{n}.id
  versioning_configuration {{
    status = "{status}"
  }}
}}
'''
TABLE = '''
resource "aws_dynamodb_table" "t{n}" {{
  name         = "bench-table-{n}"
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = "id"
  attribute {{
    name = "id"
    type = "S"
  }}
  point_in_time_recovery {{
    enabled = {pitr}
  }}
}}
'''


def generate(folder: Path, resources: int) -> None:
    """Half buckets (each with its versioning resource), half tables; every other one drifted."""
    parts = []
    for n in range(resources // 3):
        parts.append(BUCKET.format(n=n, status="Enabled" if n % 2 else "Suspended"))
        parts.append(TABLE.format(n=n, pitr="true" if n % 2 else "false"))
    (folder / "main.tf").write_text("".join(parts))


def timed(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--resources", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="auditor-iac-bench-"))
    source = work / "tf"
    source.mkdir()
    generate(source, args.resources)
    bin_dir = Path(sys.executable).parent
    checkov = [str(bin_dir / "checkov"), "-d", str(source), "--framework", "terraform", "--skip-download",
               "-o", "json", "--quiet"]
    auditor = [str(bin_dir / "auditor"), "iac", str(source), "--pack", "baseline", "--out", str(work / "out"),
               "--format", "json,sarif"]
    for command in (checkov, auditor):  # warm the file cache and bytecode once
        timed(command)
    checkov_times = [timed(checkov) for _ in range(args.repeat)]
    auditor_times = [timed(auditor) for _ in range(args.repeat)]
    c, a = statistics.median(checkov_times), statistics.median(auditor_times)
    blocks = (source / "main.tf").read_text().count("resource ")
    print(f"| Terraform blocks | checkov -d (median of {args.repeat}) | auditor iac (median of {args.repeat}) | ratio |")
    print("| --- | --- | --- | --- |")
    print(f"| {blocks} | {c:.2f} s | {a:.2f} s | {a / c:.2f}x |")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
