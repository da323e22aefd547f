"""YAML loading that remembers where each value stands, so errors can name the file and line."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from pydantic import ValidationError

from auditor.errors import BadInput


class YamlDocument:
    """A parsed YAML file and the line of every mapping key and list item in it."""

    def __init__(self, path: Path, data: Any, lines: dict[tuple, int]):
        self.path = path
        self.data = data
        self.lines = lines

    def line_of(self, loc: tuple) -> int:
        """The line of the deepest known prefix of ``loc`` (1 when nothing is known)."""
        loc = tuple(loc)
        while loc:
            if loc in self.lines:
                return self.lines[loc]
            loc = loc[:-1]
        return self.lines.get((), 1)

    def where(self, loc: tuple) -> str:
        return f"{self.path}:{self.line_of(loc)}"


MAX_DEPTH = 64  # deeper nesting is no pack, config or waiver anyone writes; it is an attack on the parser
MAX_BYTES = 256 * 1024 * 1024

_BaseLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's C parser when PyYAML has it


class BoundedLoader(_BaseLoader):  # type: ignore[misc, valid-type]
    """Safe loading in C where libyaml is present. YAML timestamps stay strings, so that pydantic validates a
    date like 2027-02-30 and the error names the file and line, instead of a ValueError from the constructor."""


BoundedLoader.add_constructor("tag:yaml.org,2002:timestamp", lambda loader, node: loader.construct_scalar(node))


def load_yaml(path: Path, max_depth: int = MAX_DEPTH) -> YamlDocument:
    """Parse once (compose), check the tree (no anchors or aliases, bounded depth) while recording each line,
    then construct from the same nodes: linear in the size of the file, and an alias bomb is refused before
    anything expands."""
    try:
        if Path(path).stat().st_size > MAX_BYTES:
            raise BadInput(f"{path}: larger than {MAX_BYTES // (1024 * 1024)} MB; not a file auditor reads")
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise BadInput(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise BadInput(f"{path}: cannot be read: {exc}") from None
    loader = BoundedLoader(text)
    try:
        node = loader.get_single_node()
        lines: dict[tuple, int] = {}
        if node is not None:
            _walk(node, lines, path, max_depth)
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        raise BadInput(f"{path}:{line}: invalid YAML: {exc.problem or exc.context}") from None
    except yaml.YAMLError as exc:
        raise BadInput(f"{path}: invalid YAML: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") from None
    finally:
        loader.dispose()
    return YamlDocument(Path(path), data, lines)


def check_yaml_tree(text: str, path: Path, max_depth: int = MAX_DEPTH) -> None:
    """Parse ``text`` to its node tree only and refuse aliases and deep nesting, naming the file and line; for
    files others read (CloudFormation templates), whose tags need no constructor to be checked."""
    loader = BoundedLoader(text)
    try:
        node = loader.get_single_node()
        if node is not None:
            _walk(node, {}, path, max_depth)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise BadInput(f"{path}:{mark.line + 1 if mark else 1}: invalid YAML: {exc.problem or exc.context}") from None
    except yaml.YAMLError as exc:
        raise BadInput(f"{path}: invalid YAML: {exc}") from None
    finally:
        loader.dispose()


def _walk(root: yaml.Node, lines: dict[tuple, int], path: Path, max_depth: int) -> None:
    """Record the line of every key and item, iteratively (no recursion limit to hit). A node met twice is an
    alias (the composer shares the anchored node): refused, as CloudFormation refuses them, since expanding
    aliases is how a few kilobytes become gigabytes."""
    seen: set[int] = set()
    stack: list[tuple[yaml.Node, tuple, int]] = [(root, (), 0)]
    while stack:
        node, loc, depth = stack.pop()
        if id(node) in seen:
            raise BadInput(f"{path}:{node.start_mark.line + 1}: YAML anchors and aliases (&name, *name) are not accepted")
        seen.add(id(node))
        if depth > max_depth:
            raise BadInput(f"{path}:{node.start_mark.line + 1}: nested deeper than {max_depth} levels")
        lines.setdefault(loc, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                key = key_node.value
                if key == "<<":
                    raise BadInput(f"{path}:{key_node.start_mark.line + 1}: YAML merge keys (<<) are not accepted")
                lines[loc + (key,)] = key_node.start_mark.line + 1
                stack.append((value_node, loc + (key,), depth + 1))
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                lines[loc + (index,)] = item.start_mark.line + 1
                stack.append((item, loc + (index,), depth + 1))


def explain_validation(doc: YamlDocument, exc: ValidationError, base: tuple = (), who: str = "") -> BadInput:
    """One line for the first pydantic error: ``file:line: [rule ID: ]field: message``."""
    return BadInput(explain_errors(doc, exc, base, who)[0])


def explain_errors(doc: YamlDocument, exc: ValidationError, base: tuple = (), who: str = "") -> list[str]:
    """A line per pydantic error: ``file:line: [rule ID: ]field: message``."""
    return [_explain_one(doc, error, base, who) for error in exc.errors()]


def _explain_one(doc: YamlDocument, error: dict, base: tuple, who: str) -> str:
    loc = tuple(p for p in error["loc"] if not (isinstance(p, str) and p.startswith("function-")))
    field = ".".join(str(p) for p in loc) or "(root)"
    message = error["msg"].removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        message = "unknown field"
    elif error["type"] == "missing":
        message = "missing"
    elif error["type"] == "literal_error":
        message = f"{error.get('input')!r} is not one of {error['ctx']['expected']}"
    return f"{doc.where(base + loc)}: {who}{field}: {message}"
