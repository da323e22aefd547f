"""Untrusted strings (resource names, tags, alarm descriptions, IaC names) made safe for where they go.

A lone surrogate cannot be encoded as UTF-8, a control character is not allowed in XML 1.0, and an ESC sequence
on a terminal is an instruction, not text: each is escaped into visible text, never fatal, never live.
"""
from __future__ import annotations

import re

# Characters XML 1.0 forbids: C0 controls but tab, newline and carriage return; lone surrogates; U+FFFE, U+FFFF.
_NOT_XML = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
# What a terminal would act on: C0 controls (newline and tab kept where allowed), DEL and C1 controls.
_CONTROL = re.compile("[\u0000-\u0008\u000b-\u001f\u007f-\u009f]")
_CONTROL_ONE_LINE = re.compile("[\u0000-\u001f\u007f-\u009f]")


def _visible(match: re.Match) -> str:
    code = ord(match.group(0))
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def encodable(text: str) -> str:
    """``text`` with lone surrogates written as ``\\udXXX``: encodable as UTF-8, for files and SQLite."""
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace").decode("utf-8")


def xml_text(value: object) -> str:
    """A string XML 1.0 accepts: forbidden characters (and lone surrogates) become visible escapes."""
    text = value if isinstance(value, str) else str(value)
    return _NOT_XML.sub(_visible, text)


def terminal_text(value: object, one_line: bool = True) -> str:
    """A string that prints as itself: control characters (ESC included) become visible escapes."""
    text = encodable(value if isinstance(value, str) else str(value))
    return (_CONTROL_ONE_LINE if one_line else _CONTROL).sub(_visible, text)
