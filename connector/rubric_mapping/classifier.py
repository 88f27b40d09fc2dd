"""The classifier in memory: nodes, cleaning of known parse artefacts, and the import report.

Every reader (docx, JSON tree, xlsx) produces :class:`RawEntry` items; :func:`build_classifier`
turns them into a :class:`Classifier` and an :class:`ImportReport` saying what was cleaned,
recovered and rejected.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from connector.i18n import _
from connector.rubric_mapping.codes import (
    QUESTION_LEVEL,
    code_level,
    code_problem,
    parent_code,
    split_footnote,
)

# Footnote texts of the official document that parsers glue to names, with their markers
# ("Деятельность избирательных комиссий 1 При выборе данного вопроса …").
FOOTNOTE_STARTS = ("При выборе данного вопроса",)
_FOOTNOTE_RE = re.compile(
    r"\s*(?:\d{1,2}(?:[\s,]+\d{1,2})*\s+)?(?:" + "|".join(re.escape(s) for s in FOOTNOTE_STARTS) + r").*$",
    re.DOTALL,
)
# The page heading of the methodical list: "… 0000.ХХХХ.0000.0000 – ПЕРЕЧЕНЬ ТЕМАТИК …"
_HEADING_RE = re.compile(r"\s*(?:\d{4}\.[XХ]{4}\.\d{4}\.\d{4}\s*[–—-]?\s*)?ПЕРЕЧЕНЬ\s+ТЕМАТИК.*$", re.DOTALL)
_TRAILING_MARKER_RE = re.compile(r"(?<=[^\d\s])\s+\d$")
_WS_RE = re.compile(r"[\s\u00a0]+")


@dataclass(frozen=True, slots=True)
class RawEntry:
    code: str
    name: str
    where: str  # "paragraph 12", "table 3 row 4", "node 0001.0001" — for the report
    parent_hint: str | None = None


@dataclass(frozen=True, slots=True)
class ClassifierNode:
    code: str
    name: str
    level: int
    parent: str | None

    @property
    def is_question(self) -> bool:
        return self.level >= QUESTION_LEVEL


@dataclass(slots=True)
class Classifier:
    nodes: dict[str, ClassifierNode]

    def __len__(self) -> int:
        return len(self.nodes)

    def question_codes(self) -> list[str]:
        return sorted(code for code, node in self.nodes.items() if node.is_question)

    def name(self, code: str) -> str | None:
        node = self.nodes.get(code)
        return node.name if node else None


@dataclass(slots=True)
class ImportReport:
    source: str
    node_count: int = 0
    question_count: int = 0
    sections: dict[str, int] = field(default_factory=dict)
    cleaned: list[dict[str, str]] = field(default_factory=list)    # code, before, after, reason
    recovered: list[dict[str, str]] = field(default_factory=list)  # raw, code, footnote, where
    rejected: list[dict[str, str]] = field(default_factory=list)   # raw, name, reason, where
    duplicates: list[dict[str, str]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def clean_name(name: str) -> tuple[str, list[str]]:
    """Remove glued footnote text and page headings; returns the name and what was removed."""
    reasons: list[str] = []
    text = _WS_RE.sub(" ", name).strip()
    new = _HEADING_RE.sub("", text).strip(" –—-")
    if new != text:
        reasons.append(_("page heading glued to the name"))
        text = new
    new = _FOOTNOTE_RE.sub("", text).strip()
    if new != text:
        reasons.append(_("footnote text glued to the name"))
        text = new
    new = _TRAILING_MARKER_RE.sub("", text)
    if new != text and reasons:  # a lone marker digit is removed only next to other artefacts
        text = new
    return text, reasons


def build_classifier(entries: Iterable[RawEntry], source: str) -> tuple[Classifier, ImportReport]:
    report = ImportReport(source=source)
    nodes: dict[str, ClassifierNode] = {}
    for entry in entries:
        raw = entry.code.strip()
        code = raw
        problem = code_problem(code)
        if problem:
            split = split_footnote(raw)
            if split and code_problem(split[0]) is None:
                code = split[0]
                report.recovered.append({"raw": raw, "code": code, "footnote": split[1], "where": entry.where})
                problem = None
        if problem:
            report.rejected.append({"raw": raw, "name": entry.name[:200], "reason": problem, "where": entry.where})
            continue
        name, reasons = clean_name(entry.name)
        if reasons:
            report.cleaned.append({"code": code, "before": entry.name, "after": name,
                                   "reason": "; ".join(reasons)})
        if not name:
            report.rejected.append({"raw": raw, "name": "", "reason": _("empty name"), "where": entry.where})
            continue
        previous = nodes.get(code)
        if previous is not None:
            if previous.name != name:
                report.duplicates.append({"code": code, "kept": previous.name, "ignored": name,
                                          "where": entry.where})
            continue
        level = code_level(code)
        parent = parent_code(code)
        if entry.parent_hint is not None and entry.parent_hint != parent:
            report.warnings.append(_("{code}: listed under {listed}, its code says {parent}").format(
                code=code, listed=entry.parent_hint, parent=parent))
        nodes[code] = ClassifierNode(code=code, name=name, level=level, parent=parent)
    for node in nodes.values():
        if node.parent is not None and node.parent not in nodes:
            report.warnings.append(_("{code}: parent {parent} is not in the classifier").format(
                code=node.code, parent=node.parent))
    report.node_count = len(nodes)
    report.question_count = sum(1 for n in nodes.values() if n.is_question)
    sections: dict[str, int] = {}
    for code in nodes:
        sections[code[:4]] = sections.get(code[:4], 0) + 1
    report.sections = dict(sorted(sections.items()))
    return Classifier(nodes=dict(sorted(nodes.items()))), report
