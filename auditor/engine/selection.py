"""Which resources a rule covers: name patterns with placeholders, exclusions and tag selectors."""
from __future__ import annotations

from fnmatch import fnmatchcase

from auditor.rules.conditions import Context, fill_placeholders
from auditor.rules.pack import Rule
from auditor.services.model import Resource


def expand(pattern: str, ctx: Context, region: str) -> str:
    values = ctx.placeholders()
    values["region"] = region
    return fill_placeholders(pattern, values)


def listed(patterns: list[str], ctx: Context) -> list[str]:
    """A name pattern that is one parameter holding a list (``{sensitive_buckets}``: the buckets a team deems
    sensitive) stands for each of its items."""
    names: list[str] = []
    for pattern in patterns:
        value = ctx.params.get(pattern[1:-1]) if pattern.startswith("{") and pattern.endswith("}") else None
        if isinstance(value, list):
            names.extend(str(v) for v in value)
        else:
            names.append(pattern)
    return names


def with_listed_names(rule: Rule, ctx: Context) -> Rule:
    names = listed(rule.resource.names, ctx)
    if names == list(rule.resource.names):
        return rule
    return rule.model_copy(update={"resource": rule.resource.model_copy(update={"names": names})})


def matches_name(rule: Rule, ctx: Context, resource: Resource, regions: list[str]) -> bool:
    """Does the resource's name (or id) match one of the rule's patterns and none of its exclusions?

    A resource whose region is not known yet (an S3 bucket before its location is read) is tried against
    each scanned region, so ``{region}`` in a bucket pattern still works.
    """
    candidates = [resource.region] if resource.region else regions
    names = {resource.name, resource.id}
    for region in candidates:
        included = any(fnmatchcase(n, expand(p, ctx, region)) for p in listed(rule.resource.names, ctx) for n in names)
        excluded = any(fnmatchcase(n, expand(p, ctx, region)) for p in listed(rule.resource.exclude_names, ctx)
                       for n in names)
        if included and not excluded:
            return True
    return False


def matches_tags(rule: Rule, ctx: Context, resource: Resource) -> bool:
    for key, pattern in rule.resource.tags.items():
        value = resource.tags.get(key)
        if value is None or not fnmatchcase(value, expand(pattern, ctx, resource.region)):
            return False
    return True


def selects(rule: Rule, ctx: Context, resource: Resource, regions: list[str]) -> bool:
    return (
        resource.type == rule.resource.type
        and matches_name(rule, ctx, resource, regions)
        and matches_tags(rule, ctx, resource)
    )
