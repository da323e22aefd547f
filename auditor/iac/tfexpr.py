"""The few Terraform expressions that decide whether a block exists, evaluated where checkov gets them wrong.

Public modules gate every block on flags: ``count = local.create_bucket && var.object_lock_enabled ? 1 : 0``.
checkov renders ``&&``, ``!=`` against null and locals built from them unreliably (it expands such a block as
if it existed), so a companion that will never be created would be joined to its bucket and judged. This
evaluator reads the expression as the file writes it, with the variables' values checkov rendered for each
module call and the locals as the module writes them. Anything it does not know (a function, a data source, a
resource attribute) makes the whole expression unknown, and checkov's reading stands.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Callable, Optional

_TOKEN = re.compile(r'\s*(?:(?P<num>\d+(?:\.\d+)?)|(?P<str>"(?:[^"\\$]|\\.)*")'
                    r'|(?P<ref>(?:var|local)\.[A-Za-z_][\w-]*(?:\.[A-Za-z_][\w-]*)*)'
                    r'|(?P<word>true|false|null)\b|(?P<fn>[a-z][a-z0-9_]*)\s*\(|(?P<op>&&|\|\||==|!=|>=|<=|[!?:()<>\[\],{}-]))')


class Unknown(Exception):
    """The expression reads something this evaluator does not know."""


def _element(items: Any, index: Any) -> Any:
    if not isinstance(items, list) or not items or not isinstance(index, int) or isinstance(index, bool):
        raise Unknown("element() of a non-list")
    return items[index % len(items)]


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise Unknown(f"{value!r} is not a string")
    return value


def _length(value: Any) -> int:
    if not isinstance(value, (list, dict, str)):
        raise Unknown("length() of a non-collection")
    return len(value)


# The functions count expressions use on flags and names (terraform-aws-modules/rds:
# element(split("-", var.engine), 0) == "sqlserver"); any other function leaves the expression unknown.
FUNCTIONS: dict[str, Callable[..., Any]] = {
    "length": _length,
    "split": lambda sep, text: _text(text).split(_text(sep)),
    "element": _element,
    "lower": lambda text: _text(text).lower(),
    "upper": lambda text: _text(text).upper(),
    "contains": lambda items, value: isinstance(items, list) and value in items,
}


def tokens(text: str) -> list[tuple[str, str]]:
    out, pos, text = [], 0, text.strip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if not match or match.end() == pos:
            raise Unknown(text[pos:pos + 40])
        kind = match.lastgroup or ""
        out.append((kind, match.group(kind)))
        pos = match.end()
        while pos < len(text) and text[pos].isspace():
            pos += 1
    return out


class _Parser:
    """Recursive descent over Terraform's precedence: ?:, ||, &&, == !=, < > <= >=, unary ! -."""

    def __init__(self, text: str, lookup: Callable[[str], Any]):
        self.items, self.at, self.lookup = tokens(text), 0, lookup

    def peek(self) -> Optional[str]:
        return self.items[self.at][1] if self.at < len(self.items) else None

    def take(self, expected: Optional[str] = None) -> tuple[str, str]:
        if self.at >= len(self.items) or (expected is not None and self.items[self.at][1] != expected):
            raise Unknown(f"expected {expected}")
        self.at += 1
        return self.items[self.at - 1]

    def parse(self) -> Any:
        value = self.ternary()
        if self.at != len(self.items):
            raise Unknown("trailing tokens")
        return value

    def ternary(self) -> Any:
        cond = self.either()
        if self.peek() != "?":
            return cond
        self.take("?")
        yes = self.ternary()
        self.take(":")
        no = self.ternary()
        return yes if _truth(cond) else no

    def either(self) -> Any:
        value = self.both()
        while self.peek() == "||":
            self.take()
            right = self.both()
            value = _truth(value) or _truth(right)
        return value

    def both(self) -> Any:
        value = self.equality()
        while self.peek() == "&&":
            self.take()
            right = self.equality()
            value = _truth(value) and _truth(right)
        return value

    def equality(self) -> Any:
        value = self.comparison()
        while self.peek() in ("==", "!="):
            op = self.take()[1]
            right = self.comparison()
            value = (value == right) if op == "==" else (value != right)
        return value

    def comparison(self) -> Any:
        value = self.unary()
        while self.peek() in ("<", ">", "<=", ">="):
            op = self.take()[1]
            right = self.unary()
            if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (value, right)):
                raise Unknown("comparison of non-numbers")
            value = {"<": value < right, ">": value > right, "<=": value <= right, ">=": value >= right}[op]
        return value

    def unary(self) -> Any:
        if self.peek() == "!":
            self.take()
            return not _truth(self.unary())
        if self.peek() == "-":
            self.take()
            value = self.unary()
            if not isinstance(value, (int, float)) or isinstance(value, bool):
                raise Unknown("negation of a non-number")
            return -value
        return self.primary()

    def primary(self) -> Any:
        kind, text = self.take()
        if kind == "num":
            return float(text) if "." in text else int(text)
        if kind == "str":
            if "${" in text:
                raise Unknown("interpolation")
            return text[1:-1]
        if kind == "word":
            return {"true": True, "false": False, "null": None}[text]
        if kind == "ref":
            root, *attributes = text.split(".")[1:]
            value = self.lookup(f"{text.split('.')[0]}.{root}")
            for attribute in attributes:  # var.point_in_time_recovery.enabled
                if not isinstance(value, dict):
                    raise Unknown(text)
                value = value.get(attribute)
            return value
        if kind == "fn":
            if text not in FUNCTIONS:
                raise Unknown(f"{text}()")
            args = []
            while self.peek() != ")":
                args.append(self.ternary())
                if self.peek() != ")":
                    self.take(",")
            self.take(")")
            try:
                return FUNCTIONS[text](*args)
            except TypeError:
                raise Unknown(f"{text}() with {len(args)} argument(s)") from None
        if text == "(":
            value = self.ternary()
            self.take(")")
            return value
        if text == "[":  # a tuple: [var.x], [], [1, 2]
            items = []
            while self.peek() != "]":
                items.append(self.ternary())
                if self.peek() != "]":
                    self.take(",")
            self.take("]")
            return items
        if text == "{":  # only the empty object: for_each = {}
            self.take("}")
            return {}
        raise Unknown(text)


def _truth(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    raise Unknown(f"{value!r} is not a boolean")


def evaluate(text: str, lookup: Callable[[str], Any]) -> Any:
    """The value of ``text``; ``lookup("var.x")`` / ``lookup("local.y")`` gives a reference's value or raises
    Unknown."""
    return _Parser(text, lookup).parse()


_LOCALS_BLOCK = re.compile(r"(?ms)^\s*locals\s*\{(.*?)^\}")
_ASSIGNMENT = re.compile(r"(?m)^\s*([A-Za-z_][\w-]*)\s*=\s*(.+?)\s*(?:#.*|//.*)?$")


def module_locals(folder: str, cache: dict[str, dict[str, str]]) -> dict[str, str]:
    """The single-line locals of a module folder, as written (``create_bucket = var.create && var.x``)."""
    if folder not in cache:
        found: dict[str, str] = {}
        for path in sorted(Path(folder).glob("*.tf")):
            try:
                text = path.read_text(errors="replace")
            except OSError:
                continue
            for block in _LOCALS_BLOCK.findall(text):
                for name, expression in _ASSIGNMENT.findall(block):
                    found.setdefault(name, expression)
        cache[folder] = found
    return cache[folder]
