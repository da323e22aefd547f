"""Bucket policies judged as AWS judges them, for the live scan and the IaC gate alike.

Three questions: is the bucket open to anyone (S3's "meaning of public"), does it refuse every request made
without TLS (AWS Config's ``s3-bucket-ssl-requests-only``, Security Hub S3.5), and who may read its objects.
A policy here is the document as AWS stores it, or as a template writes it: references checkov or CloudFormation
left unresolved (``${aws_s3_bucket.this.arn}/*``, ``Fn::GetAtt``) are read for their shape, since a bucket policy
can only name its own bucket and objects.
"""
from __future__ import annotations

import ipaddress
import json
import re
from fnmatch import fnmatchcase
from typing import Any, Iterable

from auditor.services.s3.model import BucketPolicy

# Condition keys that narrow *who* may use an Allow, as S3 decides a policy is not public ("fixed" values of
# these), with the shape of a value that pins someone down. Any other key (aws:SecureTransport, s3:prefix, a
# date) narrows only *how*, and Principal "*" stays everyone. Kinds:
#   account: a 12-digit account id; id: an organization, VPC, endpoint or service name; path: an organization
#   path whose organization is named; arn: an ARN whose account (or, without one, whose resource) is named;
#   cidr: an address range narrower than /8 (IPv4) or /32 (IPv6); userid: a principal id, or ROLEID:*.
RESTRICTING_CONDITION_KEYS: dict[str, str] = {
    "aws:principalarn": "arn",
    "aws:principalaccount": "account",
    "aws:principalorgid": "id",
    "aws:principalorgpaths": "path",
    "aws:principalservicename": "id",
    "aws:sourcearn": "arn",
    "aws:sourceaccount": "account",
    "aws:sourceowner": "account",
    "aws:sourceorgid": "id",
    "aws:sourceorgpaths": "path",
    "aws:sourcevpc": "id",
    "aws:sourcevpce": "id",
    "aws:vpceaccount": "account",
    "aws:vpceorgid": "id",
    "aws:vpceorgpaths": "path",
    "aws:sourceip": "cidr",
    "aws:userid": "userid",
    "s3:dataaccesspointaccount": "account",
    "s3:dataaccesspointarn": "arn",
    "s3:x-amz-server-side-encryption-aws-kms-key-id": "arn",
}

# Operators under which a fixed value narrows who. Negated operators (StringNotEquals: everyone but), ...IfExists
# (true when the key is absent), ForAllValues: (true for an empty set) and Null narrow nothing.
_NARROWING_OPERATORS = {"stringequals", "stringequalsignorecase", "stringlike", "arnequals", "arnlike", "ipaddress"}
_WILDCARD = re.compile(r"[*?]")
_UNRESOLVED = re.compile(r"\$\{[^}]*\}")
OAI_PRINCIPAL = "arn:aws:iam::cloudfront:user/cloudfront origin access identity "
OBJECT_READ = "s3:getobject"


def parse_policy(text: str) -> BucketPolicy:
    """A policy document (JSON text) as the facts the rules read."""
    try:
        document = json.loads(text)
    except json.JSONDecodeError:
        return BucketPolicy(exists=True)
    statements = statements_of(document)
    reads = [s for s in statements if s.get("Effect") == "Allow" and grants(s, OBJECT_READ)]
    return BucketPolicy(
        exists=True,
        denies_insecure_transport=denies_insecure_transport(statements),
        allows_public_principal=any(allows_public(s) for s in statements),
        grants_reads_to_cdn=any(to_cdn(s) for s in reads),
        grants_reads_to_others=any(not to_cdn(s) for s in reads),
    )


def statements_of(document: Any) -> list[dict]:
    statements = document.get("Statement", []) if isinstance(document, dict) else []
    if isinstance(statements, dict):
        statements = [statements]
    return [s for s in statements if isinstance(s, dict)] if isinstance(statements, list) else []


def _listed(value: Any) -> list:
    return value if isinstance(value, list) else [] if value is None else [value]


def grants(statement: dict, action: str) -> bool:
    """Does the statement's Action (or NotAction) cover ``action``, in any spelling IAM matches
    (``s3:GetObject``, ``s3:GetObject*``, ``s3:Get*``, ``s3:*``, ``*``; case-insensitive)?"""
    if "NotAction" in statement:
        return not any(fnmatchcase(action, str(a).lower()) for a in _listed(statement["NotAction"]))
    return any(fnmatchcase(action, str(a).lower()) for a in _listed(statement.get("Action")))


def is_everyone(principal: Any) -> bool:
    """``"*"``, ``{"AWS": "*"}``, ``{"AWS": ["arn:...:root", "*"]}``: any spelling with a "*" principal."""
    if principal == "*":
        return True
    if isinstance(principal, dict):
        return any(str(v).strip() == "*" for values in principal.values() for v in _listed(values))
    return False


def allows_public(statement: dict) -> bool:
    """An Allow to everyone (or to everyone but someone, by NotPrincipal) that no condition narrows to a fixed
    account, organization, network or source."""
    if statement.get("Effect") != "Allow":
        return False
    if not (is_everyone(statement.get("Principal")) or "NotPrincipal" in statement):
        return False
    return not narrows_who(statement.get("Condition"))


def narrows_who(condition: Any) -> bool:
    if not isinstance(condition, dict):
        return False
    for operator, clause in condition.items():
        op = str(operator).lower()
        if op.startswith("forallvalues:") or op.endswith("ifexists"):
            continue
        if op.removeprefix("foranyvalue:") not in _NARROWING_OPERATORS or not isinstance(clause, dict):
            continue
        for key, value in clause.items():
            kind = RESTRICTING_CONDITION_KEYS.get(str(key).lower())
            values = _listed(value)
            if kind and values and all(is_fixed(kind, v) for v in values):
                return True
    return False


def is_fixed(kind: str, value: Any) -> bool:
    """Does one condition value pin someone down? A wildcard where the who is named (``arn:aws:iam::*``,
    ``o-*``, ``0.0.0.0/0``) restricts nothing; an unresolved template reference is taken as written by the
    template's author to a fixed value."""
    text = _UNRESOLVED.sub("REF", _flatten(value)).strip()
    if not text:
        return False
    if kind == "account":
        return text == "REF" or bool(re.fullmatch(r"\d{12}", text))
    if kind == "id":
        return not _WILDCARD.search(text)
    if kind == "path":
        org = text.split("/")[0]
        return not _WILDCARD.search(org) and org != ""
    if kind == "userid":
        head, _, tail = text.partition(":")
        return not _WILDCARD.search(head) and (tail in ("", "*") or not _WILDCARD.search(tail))
    if kind == "cidr":
        try:
            network = ipaddress.ip_network(text, strict=False)
        except ValueError:
            return text == "REF"
        return network.prefixlen >= (8 if network.version == 4 else 32)
    if kind == "arn":
        parts = text.split(":", 5)
        if len(parts) < 6:
            return text == "REF"
        account, resource = parts[4], parts[5]
        if account:
            return not _WILDCARD.search(account)
        return not _WILDCARD.search(resource) and resource != ""
    return False


def denies_insecure_transport(statements: Iterable[dict]) -> bool:
    """TLS-only, as AWS Config and Security Hub S3.5 judge it: Deny statements on ``aws:SecureTransport = false``
    for every principal, on every S3 action (``s3:*`` or ``*``), that together cover the bucket and all its
    objects. A Deny of ``s3:GetObject`` alone, or one narrowed by another condition, leaves requests over plain
    HTTP allowed."""
    covered: set[str] = set()
    for statement in statements:
        if statement.get("Effect") != "Deny" or not is_everyone(statement.get("Principal")):
            continue
        if not any(str(a).lower() in ("*", "s3:*") for a in _listed(statement.get("Action"))):
            continue
        if not only_insecure_transport(statement.get("Condition")):
            continue
        for resource in _listed(statement.get("Resource")):
            covered |= resource_scope(resource)
    return {"bucket", "objects"} <= covered


def only_insecure_transport(condition: Any) -> bool:
    if not isinstance(condition, dict) or len(condition) != 1:
        return False
    (operator, clause), = condition.items()
    if str(operator).lower() not in ("bool", "boolifexists") or not isinstance(clause, dict) or len(clause) != 1:
        return False
    (key, value), = clause.items()
    return str(key).lower() == "aws:securetransport" and all(str(v).lower() == "false" for v in _listed(value))


def resource_scope(resource: Any) -> set[str]:
    """What a Resource entry of a bucket policy covers: the bucket itself, all its objects, both, or neither (a
    prefix of the objects). Template references are read for their shape: ``${aws_s3_bucket.x.arn}/*``."""
    text = _UNRESOLVED.sub("REF", _flatten(resource)).strip()
    rest = re.sub(r"^arn:[^:]*:s3:::", "", text)
    if rest in ("*", ""):
        return {"bucket", "objects"} if rest == "*" else set()
    if "/" not in rest:
        return {"bucket", "objects"} if rest.endswith("*") else {"bucket"}
    head, _, tail = rest.partition("/")
    return {"objects"} if tail == "*" else set()


def _flatten(value: Any) -> str:
    """A CloudFormation Resource (``Fn::Sub``, ``Fn::Join``, ``Fn::GetAtt``, ``Ref``) as a string with ${...}
    where a reference stands."""
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)  # an account id YAML read as a number
    if isinstance(value, dict) and len(value) == 1:
        (fn, arg), = value.items()
        if fn == "Fn::Sub":
            return _flatten(arg[0] if isinstance(arg, list) and arg else arg)
        if fn == "Fn::Join" and isinstance(arg, list) and len(arg) == 2 and isinstance(arg[1], list):
            return str(arg[0]).join(_flatten(p) for p in arg[1])
        if fn in ("Fn::GetAtt", "Ref"):
            return "${ref}"
    return ""  # an intrinsic this cannot read (Fn::If, Fn::ImportValue): it covers nothing and pins nobody


def to_cdn(statement: dict) -> bool:
    """Every principal of the statement is a CloudFront origin access identity (its IAM user ARN or canonical
    user) or, for origin access control, the CloudFront service limited to a distribution by aws:SourceArn."""
    principal = statement.get("Principal")
    if not isinstance(principal, dict) or set(principal) - {"AWS", "CanonicalUser", "Service"}:
        return False
    aws, services = _listed(principal.get("AWS")), _listed(principal.get("Service"))
    if any(not (str(a).lower().startswith(OAI_PRINCIPAL) or "aws_cloudfront_origin_access_identity." in str(a))
           for a in aws):
        return False
    if services:
        keys = {str(k).lower() for clause in (statement.get("Condition") or {}).values() if isinstance(clause, dict)
                for k in clause}
        if any(str(s).lower() != "cloudfront.amazonaws.com" for s in services) or "aws:sourcearn" not in keys:
            return False
    return bool(aws or services or principal.get("CanonicalUser"))
