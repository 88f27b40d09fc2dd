"""SSTU classifier codes: structure, levels, parents, and repair of spreadsheet-mangled codes.

A code is ``раздел.тематика.тема.вопрос`` (four zero-padded 4-digit blocks) with an optional
fifth detail block, at most 24 characters.  A parent's lower blocks are zeros.
"""

from __future__ import annotations

import re
from collections.abc import Container
from dataclasses import dataclass

from connector.i18n import _

MAX_CODE_LENGTH = 24
QUESTION_LEVEL = 4
LEVEL_NAMES = {1: "раздел", 2: "тематика", 3: "тема", 4: "вопрос", 5: "подвопрос"}
CODE_RE = re.compile(r"^\d{4}(?:\.\d{4}){3,4}$")
# a 5-digit last block: a footnote marker glued to the code (0001.0002.0027.01262)
FOOTNOTE_CODE_RE = re.compile(r"^(\d{4}(?:\.\d{4}){2,3})\.(\d{4})(\d{1,2})$")
LOOSE_CODE_RE = re.compile(r"^\d{1,4}(?:\.\d{1,4}){3,4}$")
_SPACES_RE = re.compile(r"[\s\u00a0\u2007\u202f\u200b\ufeff]+")
ZERO = "0000"
# The workbook's dropdown offers «код — наименование»; a picked entry keeps the name after the code.
LABEL_SEPARATOR = " — "
_LABEL_RE = re.compile(r"^\s*(\d[\d.]*)\s+[—–-]\s+\S")


def code_label(code: str, name: str) -> str:
    return f"{code}{LABEL_SEPARATOR}{name}"


def code_problem(code: str) -> str | None:
    """Why ``code`` is not a well-formed classifier code, or None."""
    if len(code) > MAX_CODE_LENGTH:
        return _("longer than {limit} characters").format(limit=MAX_CODE_LENGTH)
    if not CODE_RE.match(code):
        return _("not 4 or 5 blocks of 4 digits separated by dots")
    blocks = code.split(".")
    if blocks[0] == ZERO:
        return _("section block is 0000 (an entry of the methodical list, not a classifier node)")
    head = blocks[:4]
    seen_zero = False
    for block in head:
        if block == ZERO:
            seen_zero = True
        elif seen_zero:
            return _("a non-zero block follows a zero block")
    if len(blocks) == 5 and (blocks[3] == ZERO or blocks[4] == ZERO):
        return _("a detail (fifth) block needs a question and must not be 0000")
    return None


def code_level(code: str) -> int:
    """1 раздел, 2 тематика, 3 тема, 4 вопрос, 5 подвопрос (code assumed well-formed)."""
    blocks = code.split(".")
    if len(blocks) == 5:
        return 5
    return sum(1 for block in blocks if block != ZERO)


def parent_code(code: str) -> str | None:
    blocks = code.split(".")
    if len(blocks) == 5:
        return ".".join(blocks[:4])
    level = code_level(code)
    if level <= 1:
        return None
    blocks[level - 1] = ZERO
    return ".".join(blocks)


def split_footnote(raw: str) -> tuple[str, str] | None:
    """``0001.0002.0027.01262`` → (``0001.0002.0027.0126``, ``2``); None when no marker."""
    match = FOOTNOTE_CODE_RE.match(raw)
    if not match:
        return None
    return f"{match.group(1)}.{match.group(2)}", match.group(3)


@dataclass(frozen=True, slots=True)
class CellCode:
    """The outcome of reading one code cell: a code, a warning about a repair, or an error."""

    code: str | None = None
    warning: str | None = None
    error: str | None = None


def _format_number(value: float | int) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return repr(value) if isinstance(value, float) else str(value)


def read_code_cell(value: object, known: Container[str]) -> CellCode:
    """Normalise what a spreadsheet did to a code; repair only what is unambiguous.

    ``known`` holds the codes of the current edition (used to choose between the two
    readings of a shortened inner block; never to accept an unknown code).
    """
    if value is None:
        return CellCode()
    if isinstance(value, bool):
        return CellCode(error=_("{value} is not a classifier code").format(value=repr(value)))
    if isinstance(value, int | float):
        text = _format_number(value)
        return CellCode(error=_("the cell holds the number {number}: the spreadsheet turned the code into a "
                                "number and dropped zeros; format the column as text and enter the full code "
                                "(e.g. 0005.0005.0056.1149)").format(number=text))
    text = str(value)
    label = _LABEL_RE.match(text)
    if label:  # «0005.0005.0056.1149 — Наименование» from the dropdown: the code decides
        text = label.group(1)
    cleaned = _SPACES_RE.sub("", text)
    if not cleaned:
        return CellCode()
    notes = []
    if cleaned != text:
        notes.append(_("removed spaces/non-breaking spaces"))
    if CODE_RE.match(cleaned):
        return CellCode(code=cleaned, warning=_note(text, cleaned, notes))
    if not LOOSE_CODE_RE.match(cleaned):
        return CellCode(error=_("«{text}» is not a classifier code (expected 0000.0000.0000.0000)").format(
            text=text.strip()))
    blocks = cleaned.split(".")
    first = blocks[0].zfill(4)
    if first != blocks[0]:
        notes.append(_("restored leading zeros of the section block"))
    candidates = [[first]]
    for block in blocks[1:]:
        options = {block.zfill(4), block.ljust(4, "0")}
        candidates = [prefix + [opt] for prefix in candidates for opt in sorted(options)]
    codes = sorted({".".join(c) for c in candidates})
    if len(codes) == 1:
        return CellCode(code=codes[0], warning=_note(text, codes[0], notes))
    matching = [c for c in codes if c in known]
    if len(matching) == 1:
        notes.append(_("restored zeros of a shortened block (the only reading present in the classifier)"))
        return CellCode(code=matching[0], warning=_note(text, matching[0], notes))
    readings = ", ".join(matching or codes[:4])
    return CellCode(error=_("«{text}» lost zeros and is ambiguous (could be {readings}); enter the full code")
                    .format(text=text.strip(), readings=readings))


def _note(original: str, code: str, notes: list[str]) -> str | None:
    if not notes:
        return None
    return _("«{original}» normalised to {code} ({notes})").format(original=original, code=code,
                                                                   notes="; ".join(notes))
