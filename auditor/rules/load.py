"""Loading packs: finding pack files (built in, ``rules_dir``), reading and checking each one (every mistake of a
file at once, a line each naming the file, line, rule and field), and rule ids unique across packs."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

from pydantic import ValidationError

from auditor.errors import BadInput, BadInputs
from auditor.rules.conditions import ConditionError, condition_keys, parse_condition, placeholders_in
from auditor.rules.pack import BUILT_IN_PLACEHOLDERS, Pack, PackHeader, Rule, builtin_packs_dir
from auditor.rules.properties import UnknownProperty, check_condition_paths, check_condition_types
from auditor.services.registry import RESOURCE_MODELS
from auditor.yamlfile import YamlDocument, explain_errors, load_yaml


class PackFileSet:
    """Where packs live: ``<dir>/<id>.yaml`` or ``<dir>/<id>/``, in config.yaml's ``rules_dir`` first (which adds
    packs, or overrides a shipped one of the same id), then in the packs shipped with auditor."""

    def __init__(self, rules_dir: Optional[Path] = None, builtin: bool = True):
        self.rules_dir = Path(rules_dir) if rules_dir is not None else None
        self.dirs = [d for d in (self.rules_dir, builtin_packs_dir() if builtin else None) if d is not None]

    def describe(self) -> str:
        return " and ".join(str(d) for d in self.dirs)

    @staticmethod
    def _ids_in(folder: Path) -> set[str]:
        if not folder.is_dir():
            return set()
        ids = {p.stem for p in folder.glob("*.yaml")}
        return ids | {p.name for p in folder.iterdir() if p.is_dir() and (p / "pack.yaml").exists()}

    def available(self) -> list[str]:
        return sorted(set().union(*(self._ids_in(d) for d in self.dirs)))

    def path_of(self, pack_id: str) -> Path:
        for folder in self.dirs:
            for candidate in (folder / f"{pack_id}.yaml", folder / pack_id):
                if candidate.exists():
                    return candidate
        known = ", ".join(self.available()) or "none"
        raise BadInput(f"unknown pack {pack_id!r} (packs in {self.describe()}: {known})")

    def load(self, pack_ids: list[str]) -> list["Pack"]:
        packs = [load_pack(self.path_of(pack_id)) for pack_id in pack_ids]
        check_unique_ids(packs)
        return packs

    def load_all(self) -> list["Pack"]:
        return self.load(self.available())


def check_unique_ids(packs: list[Pack]) -> None:
    seen: dict[str, str] = {}  # rule id -> pack: one pass, linear in the number of rules
    for pack in packs:
        for rule in pack.rules:
            if rule.id in seen:
                raise BadInput(f"rule id {rule.id} is defined in both pack {seen[rule.id]} and pack {pack.id}")
            seen[rule.id] = pack.id


def load_pack(path: Path) -> Pack:
    """Load and validate one pack, from a file or a folder."""
    path = Path(path)
    if path.is_dir():
        header_doc = load_yaml(path / "pack.yaml")
        rule_docs = [header_doc] + [load_yaml(p) for p in sorted(path.glob("*.yaml")) if p.name != "pack.yaml"]
    else:
        header_doc = load_yaml(path)
        rule_docs = [header_doc]
    header = _load_header(header_doc)
    rules: list[Rule] = []
    problems: list[str] = []
    for doc in rule_docs:
        try:
            rules.extend(_load_rules(doc, header))
        except BadInputs as exc:
            problems.extend(exc.problems)
    seen: dict[str, Rule] = {}
    for rule in rules:
        if rule.id in seen:
            problems.append(f"{rule.where}: rule {rule.id}: id: used twice in pack {header.id} (first at {seen[rule.id].where})")
        seen.setdefault(rule.id, rule)
    if problems:
        raise BadInputs(problems)
    return Pack(header=header, rules=rules, files=[d.path for d in rule_docs])


def _load_header(doc: YamlDocument) -> PackHeader:
    data = doc.data
    if not isinstance(data, dict) or "pack" not in data:
        raise BadInput(f"{doc.where(())}: a pack file starts with a 'pack:' header (id, title, ...)")
    try:
        header = PackHeader.model_validate(data["pack"])
    except ValidationError as exc:
        raise BadInputs(explain_errors(doc, exc, ("pack",))) from None
    problems = []
    allowed = BUILT_IN_PLACEHOLDERS | set(header.parameters)
    for name, param in header.parameters.items():
        where = doc.where(("pack", "parameters", name))
        if param.required and param.default is not None:
            problems.append(f"{where}: parameters.{name}: a required parameter has no default (config.yaml sets it)")
        for placeholder in sorted(placeholders_in(param.default) - allowed):
            problems.append(f"{where}: parameters.{name}: unknown placeholder {{{placeholder}}} "
                            f"(built in: {', '.join(sorted(BUILT_IN_PLACEHOLDERS))}; parameters: {', '.join(sorted(header.parameters)) or 'none'})")
    if problems:
        raise BadInputs(problems)
    return header


def _load_rules(doc: YamlDocument, header: PackHeader) -> list[Rule]:
    data = doc.data if isinstance(doc.data, dict) else {}
    unknown_sections = set(data) - {"pack", "rules"}
    if unknown_sections:
        section = sorted(unknown_sections)[0]
        raise BadInput(f"{doc.where((section,))}: unknown section {section!r} (a pack file has 'pack' and 'rules')")
    raw_rules = data.get("rules") or []
    if not isinstance(raw_rules, list):
        raise BadInput(f"{doc.where(('rules',))}: 'rules' must be a list")
    rules = []
    problems: list[str] = []
    for index, raw in enumerate(raw_rules):
        loc = ("rules", index)
        rule_id = raw.get("id") if isinstance(raw, dict) else None
        try:
            rule = Rule.model_validate(raw)
        except ValidationError as exc:
            problems.extend(explain_errors(doc, exc, loc, f"rule {rule_id}: " if rule_id else ""))
            continue
        rule.pack = header.id
        rule.where = doc.where(loc)
        if rule.environments is None and header.applies_to is not None:
            rule.environments = list(header.applies_to)
        rule.baseline = header.kind == "baseline"
        rule.pack_environments = list(header.applies_to) if header.applies_to is not None else None
        rule_problems = _with_condition(doc, loc, rule, header) + _check_placeholders(doc, loc, rule, header)
        if rule_problems:
            problems.extend(rule_problems)
        else:
            rules.append(rule)
    if problems:
        raise BadInputs(problems)
    return rules


def _with_condition(doc: YamlDocument, loc: tuple, rule: Rule, header: PackHeader) -> list[str]:
    """Parse the rule's check and check its paths and value types against the resource model; the problems."""
    model = RESOURCE_MODELS[rule.resource.type]
    if rule.check is None:
        if not rule.resource.required:
            return [f"{doc.where(loc)}: rule {rule.id}: check: missing (only a rule with resource.required may omit it)"]
        return []
    try:
        rule.condition = parse_condition(rule.check, set(header.parameters))
        check_condition_paths(rule.condition, model)
    except ConditionError as exc:
        field = ".".join(str(p) for p in ("check",) + exc.path)
        return [f"{doc.where(loc + ('check',) + exc.path)}: rule {rule.id}: {field}: {exc}"]
    except UnknownProperty as exc:
        return [f"{doc.where(loc + ('check',))}: rule {rule.id}: check: {exc} on {rule.resource.type}"]
    defaults = {name: p.default for name, p in header.parameters.items()}
    problems = []
    for path, message in check_condition_types(rule.condition, model, defaults):
        field = ".".join(str(p) for p in ("check",) + path)
        problems.append(f"{doc.where(loc + ('check',) + path)}: rule {rule.id}: {field}: {message}")
    rule.reads = frozenset(condition_keys(rule.condition))
    return problems


def _check_placeholders(doc: YamlDocument, loc: tuple, rule: Rule, header: PackHeader) -> list[str]:
    """Every ``{name}`` must be built in or a parameter: an undefined one would be looked up literally."""
    allowed = BUILT_IN_PLACEHOLDERS | set(header.parameters)
    used: set[str] = set()
    problems = []
    fields = [(("resource", "names"), rule.resource.names), (("resource", "exclude_names"), rule.resource.exclude_names),
              (("resource", "tags"), list(rule.resource.tags.values())), (("check",), rule.check)]
    for field, value in fields:
        found = placeholders_in(value)
        used |= found
        for name in sorted(found - allowed):
            problems.append(f"{doc.where(loc + field)}: rule {rule.id}: {'.'.join(field)}: unknown placeholder {{{name}}} "
                            f"(built in: {', '.join(sorted(BUILT_IN_PLACEHOLDERS))}; "
                            f"parameters: {', '.join(sorted(header.parameters)) or 'none'})")
    used |= _params_of(rule.check)
    # A parameter may itself hold placeholders of other parameters ({bucket_prefix}-logs).
    pending = list(used & set(header.parameters))
    while pending:
        name = pending.pop()
        for inner in placeholders_in(header.parameters[name].default) & set(header.parameters):
            if inner not in used:
                used.add(inner)
                pending.append(inner)
    rule.params_used = frozenset(used & set(header.parameters))
    rule.name_params = tuple(_with_defaults(placeholders_in(name), header) for name in rule.resource.names)
    rule.other_params = _with_defaults(
        set().union(*(placeholders_in(v) for v in (rule.resource.exclude_names, list(rule.resource.tags.values()),
                                                    rule.check))) | _params_of(rule.check), header)
    return problems


def _with_defaults(names: set[str], header: PackHeader) -> frozenset:
    """Parameters, with those their defaults name in turn ({bucket_prefix}-logs)."""
    found, pending = set(names) & set(header.parameters), list(set(names) & set(header.parameters))
    while pending:
        for inner in placeholders_in(header.parameters[pending.pop()].default) & set(header.parameters):
            if inner not in found:
                found.add(inner)
                pending.append(inner)
    return frozenset(found)


def _params_of(value: Any) -> set[str]:
    if isinstance(value, dict):
        found = {value["param"]} if set(value) == {"param"} and isinstance(value["param"], str) else set()
        for item in value.values():
            found |= _params_of(item)
        return found
    if isinstance(value, list):
        return set().union(*(_params_of(v) for v in value)) if value else set()
    return set()
