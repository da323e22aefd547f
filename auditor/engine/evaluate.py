"""Judge normalized resources against rules: one finding per (rule, resource), no AWS calls.

The live scan and the IaC gate both end here, so one rule judges both alike.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from auditor.engine.findings import Finding, ResourceRef
from auditor.engine.selection import expand, selects, with_listed_names
from auditor.rules.conditions import Context, ERROR, FAIL, NotApplicable, PASS, PLACEHOLDER, evaluate
from auditor.rules.pack import Rule
from auditor.services.model import Resource


@dataclass
class Inventory:
    """What a scan saw: resources, the regions it covered, and the listings that failed (type, region)."""

    resources: list[Resource]
    regions: list[str]
    listing_errors: dict[tuple[str, str], str] = field(default_factory=dict)
    _dumps: dict[int, dict] = field(default_factory=dict, repr=False)

    def forget_dumps(self) -> None:
        """The dicts rules read are needed only while evaluating; a large account should not keep them."""
        self._dumps.clear()

    def data_of(self, resource: Resource) -> dict:
        key = id(resource)
        if key not in self._dumps:
            self._dumps[key] = resource.model_dump(mode="json", exclude={"unknown", "source", "defaults", "locations"})
        return self._dumps[key]


def evaluate_rules(rules: list[Rule], environment: str, contexts: dict[str, Context], inventory: Inventory,
                   blocked: dict[str, str] | None = None) -> list[Finding]:
    """Findings of every rule that applies to the environment; a rule in ``blocked`` (rule id -> reason, e.g. an
    unset required parameter) is one ``error`` finding with that reason instead of a guess."""
    findings: list[Finding] = []
    blocked = blocked or {}
    for rule in rules:
        if not rule.applies_to(environment):
            continue
        if rule.id in blocked:
            findings.append(blocked_finding(rule, blocked[rule.id], inventory.regions[0]))
        else:
            findings.extend(evaluate_rule(rule, contexts[rule.pack], inventory))
    supersede_baseline(findings, {rule.id: rule for rule in rules})
    supersede_where_spec_is_silent(findings, rules, environment, contexts, inventory)
    return findings


def unset_name_finding(rule: Rule, pattern: str, expanded: str, region: str) -> Finding:
    names = ", ".join(f"parameters.{rule.pack}.{n}" for n in PLACEHOLDER.findall(expanded))
    ref = ResourceRef(type=rule.resource.type, id=f"(not evaluated: {pattern})", name=pattern, region=region)
    return _finding(rule, ref, ERROR, None, None, None,
                    f"{pattern} is not judged: set {names} in config.yaml (the rule's other names are judged)")


def blocked_finding(rule: Rule, reason: str, region: str) -> Finding:
    ref = ResourceRef(type=rule.resource.type, id="(not evaluated)", name="(not evaluated)", region=region)
    return _finding(rule, ref, ERROR, None, None, None, reason)


def judged_paths(reads: frozenset) -> frozenset:
    """The property paths a rule judges: a list it quantifies over (``behaviors`` in ``behaviors[].min_ttl``)
    is where the judged fields live, not itself judged, so two rules on different fields of the same list's
    items (TTL bounds, viewer protocol) do not supersede each other."""
    return frozenset(p for p in reads if not any(q.startswith(p + "[].") for q in reads))


def supersede_baseline(findings: list[Finding], rules: dict[str, Rule]) -> None:
    """Where a spec pack and a baseline pack judge the same property of the same resource, the spec pack is the
    authority (it may want a bucket unversioned): the baseline finding becomes ``superseded`` by the spec rule."""
    judged: dict[tuple[str, str, str], list[tuple[str, frozenset]]] = {}
    for f in findings:
        rule = rules.get(f.rule_id)
        if rule is not None and not rule.baseline and rule.reads:
            judged.setdefault((f.resource.type, f.resource.region, f.resource.id), []).append(
                (rule.id, judged_paths(rule.reads)))
    for f in findings:
        rule = rules.get(f.rule_id)
        if rule is None or not rule.baseline:
            continue
        own = judged_paths(rule.reads)
        for spec_rule, reads in judged.get((f.resource.type, f.resource.region, f.resource.id), []):
            if reads & own:
                f.status = "superseded"
                f.superseded_by = spec_rule
                f.message += f" (superseded by {spec_rule}: the spec pack judges {', '.join(sorted(reads & own))})"
                break


def supersede_where_spec_is_silent(findings: list[Finding], rules: list[Rule], environment: str,
                                   contexts: dict[str, Context], inventory: Inventory) -> None:
    """A spec that sets a property for some of its environments leaves it as it is in the others on purpose
    (spec 002: point-in-time recovery in production only): where a spec pack describes this environment and has a
    rule on the same property of the same resource that does not apply here, the baseline yields too."""
    silent = [r for r in rules if not r.baseline and r.reads and r.pack in contexts
              and (r.pack_environments is None or environment in r.pack_environments)]
    if not silent:
        return
    judged = {(f.rule_id, f.resource.type, f.resource.region, f.resource.id) for f in findings}
    by_key = {(r.type, r.region, r.id): r for r in inventory.resources}
    by_id = {r.id: r for r in rules}
    for f in findings:
        rule = by_id.get(f.rule_id)
        if rule is None or not rule.baseline or f.status == "superseded":
            continue
        resource = by_key.get((f.resource.type, f.resource.region, f.resource.id))
        if resource is None:
            continue
        for spec in silent:
            shared = judged_paths(spec.reads) & judged_paths(rule.reads)
            if spec.resource.type != resource.type or not shared or \
                    (spec.id, f.resource.type, f.resource.region, f.resource.id) in judged:
                continue
            if selects(spec, contexts[spec.pack], resource, inventory.regions):
                f.status, f.superseded_by = "superseded", spec.id
                f.message += (f" (superseded by {spec.id}: the spec pack sets {', '.join(sorted(shared))}"
                              f" for {', '.join(spec.environments or ['other environments'])} only and leaves it "
                              f"as it is in {environment})")
                break


def evaluate_rule(rule: Rule, ctx: Context, inventory: Inventory) -> list[Finding]:
    rule = with_listed_names(rule, ctx)
    expanded = {p: expand(p, ctx, inventory.regions[0]) for p in rule.resource.names}
    unfilled = [p for p in rule.resource.names if PLACEHOLDER.search(expanded[p])]
    findings = [unset_name_finding(rule, pattern, expanded[pattern], inventory.regions[0]) for pattern in unfilled]
    if unfilled:  # the names whose parameters are set are judged; each unset one is its own error
        kept = [p for p in rule.resource.names if p not in unfilled]
        rule = rule.model_copy(update={"resource": rule.resource.model_copy(update={"names": kept})})
    selected = [r for r in inventory.resources if selects(rule, ctx, r, inventory.regions)]
    for resource in selected:
        finding = judge(rule, replace(ctx, region=resource.region), resource, inventory.data_of(resource))
        if finding is not None:
            findings.append(finding)
    failed_regions = [region for (rtype, region) in inventory.listing_errors if rtype == rule.resource.type]
    for region in failed_regions:
        reason = inventory.listing_errors[(rule.resource.type, region)]
        findings.append(_finding(rule, ResourceRef(type=rule.resource.type, id=f"{region}/*", name=f"(all in {region})",
                                                   region=region), ERROR, None, None, None,
                                 f"could not list {rule.resource.type} in {region}: {reason}"))
    if rule.resource.required and not failed_regions:
        findings.extend(_missing(rule, ctx, inventory, selected))
    return findings


def judge(rule: Rule, ctx: Context, resource: Resource, data: dict) -> Finding | None:
    """The finding for one resource; None when the rule holds no value for this environment."""
    ref = ResourceRef(**resource.reference())
    if rule.condition is None:
        return _finding(rule, ref, PASS, None, "present", "present", f"{resource.type} {resource.name} exists",
                        resource)
    try:
        outcome = evaluate(rule.condition, data, resource.unknown, ctx)
    except NotApplicable:
        return None
    message = outcome.message
    top = (outcome.property or "").split(".")[0].split("[")[0]
    defaulted = next((p for p in (outcome.property, top) if p in resource.defaults), None)
    if defaulted:
        where = "not set in the IaC" if resource.source is not None else f"not in the {resource.type} answer"
        message += f" ({where}: {resource.defaults[defaulted]})"
    if resource.source is not None and resource.source.note:
        message += f" ({resource.source.note})"
    finding = _finding(rule, ref, outcome.status, outcome.property, outcome.expected, outcome.actual, message, resource)
    if top in resource.locations:
        finding.source = resource.locations[top]
    return finding


def _missing(rule: Rule, ctx: Context, inventory: Inventory, selected: list[Resource]) -> list[Finding]:
    """A required resource the account lacks: an ``existence`` fail per name pattern left unmatched."""
    findings = []
    for pattern in rule.resource.names:
        regions = inventory.regions if "{region}" in pattern else inventory.regions[:1]
        for region in regions:
            single = rule.model_copy(update={"resource": rule.resource.model_copy(update={"names": [pattern]})})
            scoped = [r for r in selected if "{region}" not in pattern or r.region == region]
            if any(selects(single, ctx, r, [region]) for r in scoped):
                continue
            name = expand(pattern, ctx, region)
            ref = ResourceRef(type=rule.resource.type, id=name, name=name, region=region)
            finding = _finding(rule, ref, FAIL, "exists", "present", "absent",
                               f"required {rule.resource.type} {name!r} does not exist")
            finding.control = "existence"
            findings.append(finding)
    return findings


def _finding(rule: Rule, ref: ResourceRef, status: str, prop: str | None, expected: Any, actual: Any, message: str,
             resource: Resource | None = None) -> Finding:
    return Finding(
        rule_id=rule.id,
        pack=rule.pack,
        title=rule.title,
        control=rule.control,
        severity=rule.severity,
        status=status,
        resource=ref,
        property=prop,
        expected=expected,
        actual=actual,
        message=message,
        spec_ref=rule.spec_ref,
        remediation=rule.remediation,
        source=resource.source if resource is not None else None,
        rule_source=rule.location(),
    )
