"""Hostile-size inputs: pack loading at 5 and 50 MB, and the Terraform companion join at 2,500 and 12,500 buckets.

    .venv/bin/python bench/inputs_bench.py [--pack-mb 5 50] [--buckets 2500 12500]

Pack loading is the whole of `load_pack` (parse in C, one walk, pydantic per rule, condition parsing and type
checks). The join is `terraform_resources` on definitions shaped like checkov's (each bucket with versioning,
encryption and public-access-block companions), so checkov's own parsing time is left out. Both should grow
linearly. Not a test.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from auditor.iac.terraform import terraform_resources  # noqa: E402
from auditor.rules.load import load_pack  # noqa: E402

RULE = """  - id: BENCH-R{n:06d}-001
    title: "Bucket {n} is versioned and encrypted, as section {n} of the bench spec says"
    control: versioning
    severity: medium
    spec_ref: "bench.txt §{n} Buckets: versioning enabled, encryption AES256, public access blocked"
    remediation: "aws s3api put-bucket-versioning --bucket bench-{n}-{{env}} --versioning-configuration Status=Enabled"
    resource: {{type: "AWS::S3::Bucket", names: ["bench-{n}-{{env}}", "bench-{n}-archive-{{env}}"]}}
    check:
      all:
        - {{key: versioning.status, equals: Enabled}}
        - {{key: encryption.algorithm, in: [AES256, "aws:kms"]}}
        - {{key: effective_public_access_block.all_blocked, equals: true}}
"""


def pack_of_size(megabytes: float, folder: Path) -> Path:
    header = "pack:\n  id: bench\n  title: Bench pack\nrules:\n"
    size = len(RULE.format(n=0))
    count = int(megabytes * 1024 * 1024 / size)
    path = folder / f"bench-{megabytes:g}mb.yaml"
    with path.open("w") as handle:
        handle.write(header)
        for n in range(count):
            handle.write(RULE.format(n=n))
    return path


def terraform_definitions(buckets: int) -> dict:
    resources = []
    for n in range(buckets):
        ref = f"${{aws_s3_bucket.b{n}.id}}"
        resources.append({"aws_s3_bucket": {f"b{n}": {"bucket": [f"bench-{n}-production"],
                                                       "__address__": f"aws_s3_bucket.b{n}", "__start_line__": 1}}})
        resources.append({"aws_s3_bucket_versioning": {f"b{n}": {
            "bucket": [ref], "versioning_configuration": [{"status": ["Enabled"]}],
            "__address__": f"aws_s3_bucket_versioning.b{n}", "__start_line__": 5}}})
        resources.append({"aws_s3_bucket_server_side_encryption_configuration": {f"b{n}": {
            "bucket": [ref], "rule": [{"apply_server_side_encryption_by_default": [{"sse_algorithm": ["AES256"]}]}],
            "__address__": f"aws_s3_bucket_server_side_encryption_configuration.b{n}", "__start_line__": 11}}})
        resources.append({"aws_s3_bucket_public_access_block": {f"b{n}": {
            "bucket": [ref], "block_public_acls": [True], "block_public_policy": [True], "ignore_public_acls": [True],
            "restrict_public_buckets": [True], "__address__": f"aws_s3_bucket_public_access_block.b{n}",
            "__start_line__": 19}}})
    return {"/bench/main.tf": {"resource": resources}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pack-mb", type=float, nargs="*", default=[5, 50])
    parser.add_argument("--buckets", type=int, nargs="*", default=[2500, 12500])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for megabytes in args.pack_mb:
            path = pack_of_size(megabytes, Path(tmp))
            started = time.perf_counter()
            pack = load_pack(path)
            elapsed = time.perf_counter() - started
            print(f"pack {path.stat().st_size / 1e6:.1f} MB, {len(pack.rules)} rules: loaded in {elapsed:.1f} s")
    for buckets in args.buckets:
        definitions = terraform_definitions(buckets)
        started = time.perf_counter()
        resources = terraform_resources(definitions, "/bench", "us-east-1")
        elapsed = time.perf_counter() - started
        versioned = sum(1 for r in resources if getattr(r, "versioning", None) and r.versioning.status == "Enabled")
        print(f"terraform join, {buckets} buckets with 3 companions each: {elapsed:.2f} s "
              f"({versioned} joined to their versioning)")


if __name__ == "__main__":
    main()
