"""Classifier readers: the official .docx, the JSON tree form, and a two-column xlsx/xls.

Each reader yields :class:`RawEntry` items in document order; cleaning, footnote-digit
recovery and validation of codes happen once, in :func:`build_classifier`.
"""

from __future__ import annotations

import json
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from connector.errors import DataError
from connector.i18n import N_, _
from connector.rubric_mapping.classifier import Classifier, ImportReport, RawEntry, build_classifier
from connector.rubric_mapping.spreadsheet import open_sheet
from connector.safe_archive import MAX_XML_TAGS, check_office_file

# a code (possibly with a glued footnote digit) at the start of a text, then the name
_CODE_START_RE = re.compile(r"^\s*(\d{4}(?:\.\d{4,6}){2,4})\s*[–—:-]?\s*(.*)$", re.DOTALL)
_ONLY_CODE_RE = re.compile(r"^\s*\d{4}(?:\.\d{4,6}){2,4}\s*$")


def import_classifier_file(path: Path) -> tuple[Classifier, ImportReport]:
    """Read any supported form (by extension) and build the classifier with its report."""
    suffix = path.suffix.lower()
    if not path.is_file():
        raise DataError(N_("{path}: no such file"), params={"path": path})
    if suffix == ".json":
        entries = list(read_json_tree(path))
    elif suffix == ".docx":
        entries = list(read_docx(path))
    elif suffix in (".xlsx", ".xls", ".xlsm"):
        entries = list(read_sheet(path))
    elif suffix == ".doc":
        raise DataError(N_("{file}: a legacy .doc must be converted first: "
                           "soffice --headless --convert-to docx FILE.doc"), params={"file": path.name})
    else:
        raise DataError(N_("{file}: unsupported classifier file (use .docx, .json or .xlsx)"),
                        params={"file": path.name})
    if not entries:
        raise DataError(N_("{file}: no classifier codes found"), params={"file": path.name})
    return build_classifier(entries, source=path.name)


def read_json_tree(path: Path) -> Iterator[RawEntry]:
    """``[{code, name, children[]}]`` nested, or a flat ``[{code, name}]`` list."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataError(N_("{file}: not a JSON classifier tree ({error})"),
                        params={"file": path.name, "error": exc}) from exc
    if isinstance(doc, dict):
        doc = doc.get("nodes") or doc.get("children") or []
    if not isinstance(doc, list):
        raise DataError(N_("{file}: expected a list of {{code, name, children}} nodes"),
                        params={"file": path.name})
    stack: list[tuple[Any, str | None]] = [(node, None) for node in reversed(doc)]
    while stack:
        node, parent = stack.pop()
        if not isinstance(node, dict) or "code" not in node:
            raise DataError(N_("{file}: a node without a code under {parent}") if parent else
                            N_("{file}: a node without a code at the top level"),
                            params={"file": path.name, "parent": parent})
        code = str(node["code"])
        yield RawEntry(code=code, name=str(node.get("name") or ""), where=_("node {code}").format(code=code), parent_hint=parent)
        children = node.get("children") or []
        stack.extend((child, code) for child in reversed(children))


def _docx_fragments(path: Path) -> Iterator[tuple[str, str]]:
    """Texts of paragraphs and table cells in document order, with their location."""
    import docx
    from docx.opc.exceptions import PackageNotFoundError
    from docx.table import Table
    from docx.text.paragraph import Paragraph
    from lxml.etree import XMLSyntaxError

    # python-docx inflates and parses whole parts into memory: a bomb must stop before it
    check_office_file(path, what=N_("not a readable .docx"), max_tags=MAX_XML_TAGS)
    try:
        document = docx.Document(str(path))
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError, XMLSyntaxError) as exc:
        raise DataError(N_("{file}: not a readable .docx ({error})"),
                        params={"file": path.name, "error": type(exc).__name__}) from exc
    para_no = table_no = 0
    for block in document.element.body.iterchildren():
        tag = block.tag.rsplit("}", 1)[-1]
        if tag == "p":
            para_no += 1
            yield Paragraph(block, document).text, _("paragraph {number}").format(number=para_no)
        elif tag == "tbl":
            table_no += 1
            for row_no, row in enumerate(Table(block, document).rows, start=1):
                seen: set[int] = set()
                for cell in row.cells:
                    if id(cell._tc) in seen:  # a merged cell is repeated by python-docx
                        continue
                    seen.add(id(cell._tc))
                    for line in cell.text.split("\n"):
                        yield line, _("table {table} row {row}").format(table=table_no, row=row_no)


def read_docx(path: Path) -> Iterator[RawEntry]:
    """A code followed by its name — in the same paragraph/cell or in the next one."""
    pending: tuple[str, str] | None = None
    for text, where in _docx_fragments(path):
        if not text.strip():
            continue
        match = _CODE_START_RE.match(text)
        if match:
            if pending:
                yield RawEntry(code=pending[0], name="", where=pending[1])
            code, rest = match.group(1), match.group(2).strip()
            if rest:
                yield RawEntry(code=code, name=rest, where=where)
                pending = None
            else:
                pending = (code, where)
        elif pending:
            yield RawEntry(code=pending[0], name=text.strip(), where=pending[1])
            pending = None
    if pending:
        yield RawEntry(code=pending[0], name="", where=pending[1])


def read_sheet(path: Path) -> Iterator[RawEntry]:
    """Rows with a code in one cell and the name in the next non-empty cell."""
    sheet = open_sheet(path)
    for row_no, values in sheet.rows:
        cells = [v for v in values if v is not None and str(v).strip()]
        for i, value in enumerate(cells):
            text = str(value)
            match = _CODE_START_RE.match(text)
            if not match:
                continue
            name = match.group(2).strip()
            if not name and i + 1 < len(cells) and not _ONLY_CODE_RE.match(str(cells[i + 1])):
                name = str(cells[i + 1]).strip()
            yield RawEntry(code=match.group(1), name=name, where=_("{sheet} row {row}").format(sheet=sheet.name, row=row_no))
            break
