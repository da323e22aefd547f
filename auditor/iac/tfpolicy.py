"""Terraform's ``aws_iam_policy_document`` data source, rendered as the JSON policy AWS receives.

Bucket and file system policies are most often written this way (``policy = data.aws_iam_policy_document.x.json``,
terraform-aws-modules/s3-bucket's deny-insecure-transport policy among them); checkov keeps the data block's
statements but not the ``.json`` it would produce, so the policy's readers would otherwise see a reference.
"""
from __future__ import annotations

import re
from typing import Any, Optional

from auditor.services.common import flat
from auditor.services.values import blocks, get, one

DOCUMENT_REF = re.compile(r'^\$?\{?(?P<prefix>(?:module\.[\w-]+(?:\[[^\]]*\])?\.)*)data\.aws_iam_policy_document\.'
                          r'(?P<name>[\w-]+)(?:\[[^\]]*\])?\.json\}?$')

# Attributes that merge other documents in: their statements are not in this block.
_MERGED = ("source_policy_documents", "override_policy_documents", "source_json", "override_json")


def _principals(rows: list[dict]) -> Any:
    """``principals { type = "*" identifiers = ["*"] }`` is the policy's ``"Principal": "*"``."""
    out: dict[str, list] = {}
    for row in rows:
        kind = str(one(get(row, "type")))
        identifiers = [str(i) for i in flat(get(row, "identifiers"))]
        if kind == "*" and identifiers == ["*"]:
            return "*"
        out.setdefault(kind, []).extend(identifiers)
    return out


def render_document(attrs: dict) -> Optional[dict]:
    """The policy document one data block makes; None where part of it is not in the block as checkov gives it
    (merged documents, or a ``dynamic "statement"`` it leaves unexpanded: never "no such statement")."""
    if any(flat(attrs.get(key)) for key in _MERGED) or attrs.get("dynamic"):
        return None
    statements = []
    for row in blocks(attrs, "statement"):
        statement: dict[str, Any] = {"Effect": str(one(get(row, "effect")) or "Allow")}
        if get(row, "sid") is not None:
            statement["Sid"] = str(one(get(row, "sid")))
        for key, name in (("actions", "Action"), ("not_actions", "NotAction"), ("resources", "Resource"),
                          ("not_resources", "NotResource")):
            if get(row, key) is not None:
                statement[name] = [str(v) for v in flat(get(row, key))]
        for key, name in (("principals", "Principal"), ("not_principals", "NotPrincipal")):
            if blocks(row, key):
                statement[name] = _principals(blocks(row, key))
        conditions: dict[str, dict] = {}
        for condition in blocks(row, "condition"):
            values = [str(v).lower() if isinstance(v, bool) else str(v) for v in flat(get(condition, "values"))]
            conditions.setdefault(str(one(get(condition, "test"))), {})[str(one(get(condition, "variable")))] = values
        if conditions:
            statement["Condition"] = conditions
        statements.append(statement)
    return {"Version": "2012-10-17", "Statement": statements}


def policy_documents(definitions: dict) -> dict[str, Optional[dict]]:
    """Every aws_iam_policy_document of the definitions by address (``module.m.data.aws_iam_policy_document.x``);
    a for_each or count over one renders the same statements for each key."""
    documents: dict[str, Optional[dict]] = {}
    for definition in definitions.values():
        for entry in definition.get("data", []) if isinstance(definition, dict) else []:
            for name, attrs in (entry.get("aws_iam_policy_document") or {}).items():
                if isinstance(attrs, dict):
                    # checkov's address of a data block leaves out "data." (module.m.aws_iam_policy_document.x)
                    address = str(one(attrs.get("__address__")) or f"aws_iam_policy_document.{name}")
                    address = re.sub(r"(^|\.)(?:data\.)?aws_iam_policy_document\.", r"\1data.aws_iam_policy_document.", address)
                    documents[re.sub(r"\[[^\]]*\]$", "", address)] = render_document(attrs)
    return documents


def document_for(reference: Any, prefix: str, documents: dict[str, Optional[dict]]) -> Optional[dict]:
    """The rendered document a ``data.aws_iam_policy_document.NAME.json`` reference (from a block whose module
    prefix is ``prefix``) names; None if it names none, or one that cannot be rendered."""
    match = DOCUMENT_REF.match(reference) if isinstance(reference, str) else None
    if not match:
        return None
    address = f"data.aws_iam_policy_document.{match.group('name')}"
    return documents.get(prefix + match.group("prefix") + address) or documents.get(address)
