"""IaC against the live account (``auditor scan --iac PATH``): every property the IaC declares whose live value
differs, declared resources the account lacks, and live resources the packs cover that no IaC declares."""
from __future__ import annotations

from fnmatch import fnmatchcase
from typing import Any, Optional

from auditor.engine.findings import Finding, ResourceRef
from auditor.rules.pack import Rule, Selector
from auditor.services.model import Resource
from auditor.services.registry import RESOURCE_MODELS
from auditor.services.values import is_unresolved

PACK = "iac-drift"
IDENTITY = {"id", "name", "arn", "region", "account_id", "unknown", "source", "defaults", "locations", "alarms", "tags"}
# Derived or not comparable (IaC references vs live ARNs, counts the live side computes from other resources).
SKIP = {"kms_key_id", "effective_public_access_block", "account_public_access_block", "member_clusters",
        "read_replica_ids", "replica_source", "status", "attribute_types", "region_encryption_by_default", "lsis",
        # named differently on each side: an IaC address or label against a live id or ARN
        "cdn", "access_points", "mount_target_security_groups", "cluster_security_group_id", "selected_resources",
        "backup_replication_regions", "subnet_ids", "vpc_id"}
# Types whose IaC declaration carries no name the live resource has (a CloudFront distribution is known by the
# id AWS gives it): they cannot be paired, so they are left out of drift rather than reported missing.
UNPAIRED_TYPES = {"AWS::CloudFront::Distribution"}


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """{"versioning": {"status": "Enabled"}} -> {"versioning.status": "Enabled"}; lists stay whole."""
    if isinstance(value, dict) and value:
        out: dict[str, Any] = {}
        for key, item in value.items():
            out.update(flatten(item, f"{prefix}{key}."))
        return out
    return {prefix[:-1]: value}


def declared_glob(resource: Resource) -> str:
    """A declared name with unresolved parts (${...}) as a glob, so it still finds its live twin."""
    import re

    return re.sub(r"\$\{[^}]*\}", "*", resource.name)


def scope_rules(declared: list[Resource]) -> list[Rule]:
    """Synthetic rules that make the collector read every property of the declared resources."""
    by_type: dict[str, list[str]] = {}
    for resource in declared:
        by_type.setdefault(resource.type, []).append(declared_glob(resource))
    return [Rule.model_construct(id=f"IAC-SCOPE-{n:03d}", pack=PACK, resource=Selector(type=rtype, names=names),
                                 condition=None, environments=None)
            for n, (rtype, names) in enumerate(sorted(by_type.items()), 1)]


def all_properties(rtype: str) -> set[str]:
    return set(RESOURCE_MODELS[rtype].model_fields) - IDENTITY


def _live_match(declared: Resource, live: list[Resource]) -> Optional[Resource]:
    pattern = declared_glob(declared)
    exact = [r for r in live if r.type == declared.type and r.name == declared.name]
    if exact:
        return exact[0]
    return next((r for r in live if r.type == declared.type and fnmatchcase(r.name, pattern)), None)


def prune(value: Any) -> Any:
    """Drop unset fields (None, empty) at every depth: the IaC and the API leave different fields unset."""
    if isinstance(value, dict):
        pruned = {k: prune(v) for k, v in value.items()}
        return {k: v for k, v in pruned.items() if v not in (None, [], {}, "")}
    if isinstance(value, list):
        return [prune(v) for v in value]
    return value


def _declared_leaves(resource: Resource) -> dict[str, Any]:
    """The leaves the IaC states itself: no AWS default, nothing unresolved (a reference), nothing unset."""
    data = prune(resource.model_dump(mode="json", exclude=IDENTITY | SKIP))
    leaves = {}
    for prop, value in data.items():
        if prop in resource.defaults or prop in resource.unknown:
            continue
        for path, leaf in flatten({prop: value}).items():
            # lifecycle rules are compared through their summary (transition days, expiration), not rule ids
            if path != "lifecycle.rules" and leaf not in (None, [], {}) and not is_unresolved(leaf):
                leaves[path] = leaf
    return leaves


def _finding(rule_id: str, control: str, severity: str, resource: Resource, prop: Optional[str], expected: Any,
             actual: Any, message: str, remediation: str, iac_path: str, status: str = "fail") -> Finding:
    return Finding(rule_id=rule_id, pack=PACK, title={"IAC-DRIFT-001": "Live configuration differs from the IaC",
                                                     "IAC-DRIFT-002": "A resource the IaC declares is missing",
                                                     "IAC-DRIFT-003": "A live resource no IaC declares"}[rule_id],
                   control=control, severity=severity, status=status,
                   resource=ResourceRef(**resource.reference()), property=prop, expected=expected, actual=actual,
                   message=message, spec_ref=f"IaC at {iac_path}", remediation=remediation, source=resource.source)


def iac_drift(declared: list[Resource], live: list[Resource], covered: list[Resource], iac_path: str,
              listing_errors: Optional[dict[tuple[str, str], str]] = None) -> list[Finding]:
    """Drift findings; what the live side could not read (a listing denied: ``listing_errors``, (type, region)
    -> reason; a property family denied: the twin's ``unknown``) is ``error`` with the reason, never "missing
    from the account" and never silence."""
    findings = []
    declared = [r for r in declared if r.type not in UNPAIRED_TYPES]
    matched: set[int] = set()
    unlisted: dict[str, str] = {}
    for (rtype, region), reason in sorted((listing_errors or {}).items()):
        unlisted.setdefault(rtype, f"{rtype} could not be listed in {region}: {reason}")
    for resource in declared:
        where = f"{resource.source.file}:{resource.source.line}" if resource.source else iac_path
        twin = _live_match(resource, live)
        if twin is None and resource.type in unlisted:
            findings.append(_finding("IAC-DRIFT-002", "existence", "high", resource, "exists", "present", None,
                                     f"{resource.type} {resource.name} (declared at {where}) cannot be compared: "
                                     f"{unlisted[resource.type]}",
                                     "Grant the scan the listing permission (SecurityAudit covers it) and scan again.",
                                     iac_path, status="error"))
            continue
        if twin is None:
            findings.append(_finding("IAC-DRIFT-002", "existence", "high", resource, "exists", "present", "absent",
                                     f"{resource.type} {resource.name} is declared at {where} but not in the account",
                                     "Apply the IaC (terraform apply / aws cloudformation deploy), or remove the declaration.",
                                     iac_path))
            continue
        matched.add(id(twin))
        live_data = flatten(prune(twin.model_dump(mode="json", exclude=IDENTITY | SKIP)))
        unread: set[str] = set()
        for path, value in sorted(_declared_leaves(resource).items()):
            top = path.split(".")[0]
            if top in twin.unknown:
                if top not in unread:  # one error per property the live side could not read
                    unread.add(top)
                    ref = resource.model_copy(update={"id": twin.id, "name": twin.name, "arn": twin.arn,
                                                      "region": twin.region})
                    findings.append(_finding("IAC-DRIFT-001", "configuration", "medium", ref, top, value, None,
                                             f"{top} is declared at {where} but could not be read live: "
                                             f"{twin.unknown[top]}",
                                             "Grant the scan the read permission for it and scan again.", iac_path,
                                             status="error"))
                continue
            actual = live_data.get(path)
            if actual != value and not (isinstance(value, (int, float)) and isinstance(actual, (int, float))
                                        and float(actual) == float(value)):
                ref = resource.model_copy(update={"id": twin.id, "name": twin.name, "arn": twin.arn, "region": twin.region})
                findings.append(_finding("IAC-DRIFT-001", "configuration", "medium", ref, path, value, actual,
                                         f"{path} is declared {value!r} at {where}, live it is {actual!r}",
                                         "Apply the IaC to undo the manual change, or update the IaC to match.",
                                         iac_path))
    declared_types = {r.type for r in declared}
    for resource in covered:
        if id(resource) in matched or resource.type not in declared_types:
            continue
        findings.append(Finding(
            rule_id="IAC-DRIFT-003", pack=PACK, title="A live resource no IaC declares", control="configuration",
            severity="info", status="fail", resource=ResourceRef(**resource.reference()), property=None,
            expected="declared in IaC", actual="unmanaged",
            message=f"{resource.type} {resource.name} matches the packs' patterns but no IaC under {iac_path} declares it",
            spec_ref=f"IaC at {iac_path}", remediation="Import it into the IaC (terraform import) or delete it."))
    return findings
