"""Architecture specs as auditors cite them: the sections of a spec file, and the section each ``spec_ref`` names.

A spec is a Markdown-like text: ``#`` headings, some numbered (``### 3.1. PostgreSQL Instances``), some not
(``## Storage Implementation``); code fences hold comments that look like headings and are not. A rule's
``spec_ref`` is ``FILE REF; REF; ...`` where each REF starts with the section it quotes: ``§3.1.2`` (a number, or
a range ``§3.1.1-3.1.3``) or a heading title followed by ``:`` (``Recommended Alarms: 1. DynamoDB throttling``).
Every REF must name a section that exists (``rules validate`` and the tests hold the packs to it), so that the
traceability matrix (``auditor spec coverage``) places each rule under the sentence it encodes.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*$")
_NUMBER = re.compile(r"^(\d+(?:\.\d+)*)\.?\s+(.*)$")
_FENCE = re.compile(r"^\s*(```|~~~)")
_SECTION_REF = re.compile(r"^§\s*(\d+(?:\.\d+)*)(?:\s*-\s*(\d+(?:\.\d+)*))?")


def normalize(title: str) -> str:
    """How a heading is matched: case, a trailing colon, a trailing parenthesis and spacing do not count."""
    title = _NUMBER.sub(r"\2", title.strip())
    title = re.sub(r"\s*\([^)]*\)\s*:?\s*$", "", title).rstrip(":").strip()
    return re.sub(r"\s+", " ", title).lower()


@dataclass
class Section:
    key: str  # the number (3.1.2) where the heading has one, else its title as written
    title: str
    level: int
    line: int
    number: Optional[str] = None
    parent: Optional[str] = None
    text: list[str] = field(default_factory=list)  # the body lines up to the next heading

    @property
    def label(self) -> str:
        return f"§{self.number} {self.title}" if self.number else self.title


@dataclass
class SpecDocument:
    path: Path
    sections: list[Section]

    @property
    def name(self) -> str:
        return self.path.name

    def by_key(self) -> dict[str, Section]:
        return {s.key: s for s in self.sections}

    def resolve(self, ref: str) -> list[Section]:
        """The sections one REF names (empty when it names none)."""
        ref = ref.strip()
        if re.match(r"^\d+(\.\d+)*(\s|-|$)", ref):  # not_covered names a section by its bare number
            ref = "§" + ref
        match = _SECTION_REF.match(ref)
        if match:
            first, last = match.group(1), match.group(2)
            numbered = [s for s in self.sections if s.number]
            if last is None:
                found = [s for s in numbered if s.number == first]
                return self._narrowed(found, ref[match.end():]) if found else []
            keys = [s.number for s in numbered]
            if first not in keys or last not in keys:
                return []
            start, end = keys.index(first), keys.index(last)
            level = first.count(".")
            return [s for s in numbered[start:end + 1] if s.number.count(".") == level] if start <= end else []
        head = ref.split(":", 1)[0] if ":" in ref else ref
        wanted = normalize(head)
        return [s for s in self.sections if normalize(s.title) == wanted]

    def _narrowed(self, found: list[Section], rest: str) -> list[Section]:
        """``§3 Table 1: Sessions (...)``: the subsections of §3 whose titles the quote names, else §3."""
        words = normalize(rest)
        deeper = [s for s in self.under(found[0].key)[1:] if len(normalize(s.title)) >= 8 and normalize(s.title) in words]
        return deeper or found

    def under(self, key: str) -> list[Section]:
        """A section and everything below it."""
        out, keys = [], {key}
        for section in self.sections:
            if section.key in keys or section.parent in keys:
                keys.add(section.key)
                out.append(section)
        return out


def parse_spec(path: Path) -> SpecDocument:
    sections: list[Section] = []
    stack: list[Section] = []
    fenced = False
    for number, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
        if _FENCE.match(line):
            fenced = not fenced
            continue
        heading = None if fenced else _HEADING.match(line)
        if heading is None:
            if stack:
                stack[-1].text.append(line)
            continue
        level, title = len(heading.group(1)), heading.group(2).strip()
        numbered = _NUMBER.match(title)
        section_number = numbered.group(1) if numbered and "." in title.split()[0] else None
        shown = (numbered.group(2) if section_number else title).rstrip(":").strip()
        while stack and stack[-1].level >= level:
            stack.pop()
        key = section_number or shown
        if any(s.key == key for s in sections):  # a title used twice (two "Configuration" headings): by path
            key = f"{stack[-1].key} > {shown}" if stack else f"{shown} ({number})"
        section = Section(key=key, title=shown, level=level, line=number, number=section_number,
                          parent=stack[-1].key if stack else None)
        sections.append(section)
        stack.append(section)
    return SpecDocument(path=path, sections=sections)


def split_ref(spec_ref: str) -> tuple[str, list[str]]:
    """``FILE REF; REF`` -> (FILE, [REF, ...]); a ref with no file (a baseline's "AWS FSBP S3.4") has file ""."""
    first, _, rest = spec_ref.strip().partition(" ")
    if not first.endswith(".txt"):
        return "", [spec_ref]
    return first, [part.strip() for part in rest.split(";") if part.strip()]


def unresolved_refs(document: SpecDocument, spec_ref: str) -> list[str]:
    """The REFs of a spec_ref that name no section of the document (or the whole ref, if it names no file or
    another file)."""
    file, refs = split_ref(spec_ref)
    if file != document.name:
        return [spec_ref]
    return [ref for ref in refs if not document.resolve(ref)]


def find_spec(name: str, folders: list[Path]) -> Optional[Path]:
    for folder in folders:
        candidate = folder / name
        if candidate.is_file():
            return candidate
    return None


def check_spec_refs(pack, folders: list[Path]) -> list[str]:
    """Each rule's spec_ref and each not_covered section must name a section of the pack's spec (when the file
    is found in ``folders``): the problems, one line each with the pack file and line."""
    if not pack.header.spec:
        return []
    path = find_spec(pack.header.spec, folders)
    if path is None:
        return []
    document = parse_spec(path)
    problems = []
    for rule in pack.rules:
        for ref in unresolved_refs(document, rule.spec_ref):
            problems.append(f"{rule.where}: rule {rule.id}: spec_ref {ref!r} names no section of {path} "
                            "(start each part with §NUMBER or a heading title and ':')")
    for item in pack.header.not_covered:
        if not document.resolve(item.section):
            problems.append(f"{pack.files[0]}: not_covered section {item.section!r} names no section of {path}")
    return problems
