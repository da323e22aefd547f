"""The condition language's operators: how each compares a property with what a rule expects (equals, in,
gte, contains, matches, covers, exists, ...). conditions.py parses and evaluates the language around them."""
from __future__ import annotations

from fnmatch import fnmatchcase
from functools import lru_cache
from typing import Any, Callable


def is_set(actual: Any) -> bool:
    return actual is not None and actual != [] and actual != {}


def _compare(fn: Callable[[Any, Any], bool]) -> Callable[[Any, Any], bool]:
    def check(actual: Any, expected: Any) -> bool:
        if actual is None or isinstance(actual, bool) != isinstance(expected, bool):
            return False
        try:
            return fn(actual, expected)
        except TypeError:
            return False

    return check


def _contains(actual: Any, expected: Any) -> bool:
    if isinstance(actual, (list, tuple, set, dict, str)):
        return expected in actual
    return False


def _re2_options():
    import re2

    options = re2.Options()
    options.log_errors = False  # a refused pattern is our one-line error, not libre2's log on stderr
    return options


@lru_cache(maxsize=4096)
def compile_pattern(pattern: str):
    """A ``matches`` pattern, compiled by RE2: linear time whatever the input, so no pattern in a pack can hang
    a scan on a hostile resource name. Patterns RE2 cannot run in linear time (backreferences, lookaround) are
    refused when the pack loads."""
    import re2

    return re2.compile(pattern, options=_re2_options())


def _matches(actual: Any, expected: Any) -> bool:
    return actual is not None and compile_pattern(str(expected)).fullmatch(str(actual)) is not None


def _in(actual: Any, expected: Any) -> bool:
    return any(_equals(actual, e) for e in expected)


def _equals(actual: Any, expected: Any) -> bool:
    """Equality in which true is not 1: YAML booleans and API numbers must not be confused."""
    if isinstance(actual, bool) or isinstance(expected, bool):
        return actual is expected
    return actual == expected


# name -> (test(actual, expected), symbol used in messages)
OPERATORS: dict[str, tuple[Callable[[Any, Any], bool], str]] = {
    "equals": (_equals, "=="),
    "not_equals": (lambda a, e: not _equals(a, e), "!="),
    "in": (_in, "in"),
    "not_in": (lambda a, e: not _in(a, e), "not in"),
    "gte": (_compare(lambda a, e: a >= e), ">="),
    "lte": (_compare(lambda a, e: a <= e), "<="),
    "gt": (_compare(lambda a, e: a > e), ">"),
    "lt": (_compare(lambda a, e: a < e), "<"),
    "contains": (_contains, "contains"),
    "not_contains": (lambda a, e: not _contains(a, e), "does not contain"),
    "matches": (_matches, "matches"),
    # One of the actual list's wildcard patterns takes the expected name (a backup selection's table/Sessions-*).
    "covers": (lambda a, e: isinstance(a, list) and any(fnmatchcase(str(e), str(p)) for p in a), "covers"),
    "exists": (lambda a, e: is_set(a) == bool(e), "exists"),
}


ALIASES = {"absent": "exists"}  # absent: true  ==  exists: false
