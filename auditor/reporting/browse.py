"""``auditor rules list`` and ``rules show``: packs and rules as a person reads them."""
from __future__ import annotations

from collections import Counter

import click
import yaml
from rich.table import Table

from auditor.errors import BadInput
from auditor.reporting.console import console
from auditor.rules.load import PackFileSet
from auditor.rules.pack import CONTROLS, Pack


def print_pack_list(packs: list[Pack]) -> None:
    table = Table(title="Rule packs", title_justify="left")
    for column in ("pack", "rules", "rules per control", "spec", "title"):
        table.add_column(column, justify="right" if column == "rules" else "left", overflow="fold")
    for pack in packs:
        counts = Counter(r.control for r in pack.rules)
        per_control = ", ".join(f"{c} {counts[c]}" for c in CONTROLS if counts.get(c))
        table.add_row(pack.id, str(len(pack.rules)), per_control, pack.header.spec or "-", pack.header.title)
    console().print(table)


PRECEDENCE = ("precedence: where a spec pack and a baseline pack judge the same property of the same resource, "
              "the spec pack's verdict stands and the baseline finding is 'superseded' by the spec rule "
              "(shown in the report, outside the score and the gate).")


def show(pack_files: PackFileSet, ident: str) -> None:
    if ident in pack_files.available():
        pack = pack_files.load([ident])[0]
        header = pack.header.model_dump(mode="json", exclude_defaults=False)
        click.echo(yaml.safe_dump({"pack": header}, sort_keys=False, allow_unicode=True, width=110))
        for rule in pack.rules:
            click.echo(f"{rule.id:18} {rule.severity:8} {rule.control:22} {rule.title}")
        click.echo(f"\n{PRECEDENCE}")
        return
    for pack in pack_files.load_all():
        for rule in pack.rules:
            if rule.id == ident:
                data = rule.model_dump(mode="json", exclude={"condition"})
                data["reads"] = sorted(rule.reads)
                data["parameters_used"] = sorted(rule.params_used)
                click.echo(yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=110))
                if rule.baseline:
                    click.echo(f"{rule.id} is a baseline rule. {PRECEDENCE}")
                return
    raise BadInput(f"no rule or pack with id {ident!r} in {pack_files.describe()}")
