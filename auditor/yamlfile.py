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


def load_yaml(path: Path) -> YamlDocument:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise BadInput(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise BadInput(f"{path}: cannot be read: {exc}") from None
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        raise BadInput(f"{path}:{line}: invalid YAML: {exc.problem or exc.context}") from None
    except yaml.YAMLError as exc:
        raise BadInput(f"{path}: invalid YAML: {exc}") from None
    lines: dict[tuple, int] = {}
    if node is not None:
        _walk(node, (), lines)
    return YamlDocument(Path(path), data, lines)


def _walk(node: yaml.Node, loc: tuple, lines: dict[tuple, int]) -> None:
    lines.setdefault(loc, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = key_node.value
            lines[loc + (key,)] = key_node.start_mark.line + 1
            _walk(value_node, loc + (key,), lines)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            lines[loc + (index,)] = item.start_mark.line + 1
            _walk(item, loc + (index,), lines)


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
