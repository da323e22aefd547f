"""How the IaC gate reads Terraform and CloudFormation nobody here wrote: per folder, the resources judged, the
findings by status, the errors and what caused them, and whether checkov's checks change any verdict.

    python bench/realworld_iac.py PATH [PATH ...] [--pack baseline] [--env production]

The folders are public modules' examples and AWS sample templates fetched by hand (their code is not committed
here; bench/README.md says which and records the figures).
"""
from __future__ import annotations

import argparse
import collections
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from auditor.rules.load import load_pack  # noqa: E402
from auditor.rules.pack import builtin_packs_dir  # noqa: E402
from auditor.runs.gate import iac_audit  # noqa: E402


def verdicts(path: Path, packs: list, env: str, with_checkov: bool):
    result = iac_audit(path, packs, env, {}, [], "us-east-1", None, with_checkov, [])
    return result, {(f.rule_id, f.resource.id): f for f in result.findings if f.pack != "checkov"}


def cause(message: str) -> str:
    """An error's cause, coarsely: the first words after 'could not be read:'."""
    text = message.split("could not be read:", 1)[-1].strip()
    return re.sub(r"[:(].*", "", text)[:60] or text[:60]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("paths", nargs="+", type=Path)
    parser.add_argument("--pack", default="baseline")
    parser.add_argument("--env", default="production")
    args = parser.parse_args()
    packs = [load_pack(builtin_packs_dir() / f"{args.pack}.yaml")]
    for path in args.paths:
        result, without = verdicts(path, packs, args.env, False)
        _, with_checks = verdicts(path, packs, args.env, True)
        statuses = collections.Counter(f.status for f in without.values())
        errors = collections.Counter(cause(f.message) for f in without.values() if f.status == "error")
        differ = sorted(k for k in set(without) | set(with_checks)
                        if (without.get(k) and without[k].status) != (with_checks.get(k) and with_checks[k].status))
        judged = sorted({getattr(f.source, "address", None) or f.resource.id for f in without.values() if f.source})
        print(f"{path}: {len(judged)} resource(s) judged, findings {dict(sorted(statuses.items()))}, "
              f"differ with checkov's checks: {len(differ)}")
        for address in judged:
            print(f"  judged: {address}")
        for reason, count in errors.most_common():
            print(f"  error x{count}: {reason}")
        for key in differ:
            print(f"  differs: {key}")
        skipped = getattr(result.run.coverage, "iac_skipped", [])
        for item in skipped:
            print(f"  skipped: {item['address']} ({item['type']})")


if __name__ == "__main__":
    main()
