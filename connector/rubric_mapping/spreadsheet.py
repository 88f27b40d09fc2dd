"""Reading admin workbooks (.xlsx via openpyxl read-only, legacy .xls via xlrd) defensively.

Every way a file can be unreadable becomes a :class:`DataError` with a sentence for the admin
(encrypted, corrupt, not a spreadsheet).  Besides cell values we collect the facts the
validator needs and read-only openpyxl does not expose: hidden rows, merged ranges and
formula cells with or without a cached value (scanned from the sheet XML).
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import ParseError

from connector.errors import DataError
from connector.i18n import N_
from connector.safe_archive import check_office_file, open_zip

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_MAGIC = b"PK\x03\x04"
_ENCRYPTION_STREAM = "EncryptionInfo".encode("utf-16-le")
_ROW_RE = re.compile(rb"<(?:\w+:)?row\b([^>]*)>")
_ROW_NUM_RE = re.compile(rb'\br="(\d+)"')
_HIDDEN_RE = re.compile(rb'\bhidden="(?:1|true)"')
_MERGE_RE = re.compile(rb'<(?:\w+:)?mergeCell\b[^>]*\bref="([A-Z]+\d+(?::[A-Z]+\d+)?)"')
_FORMULA_RE = re.compile(rb"<(?:\w+:)?f[\s>/]")
_CELL_REF_RE = re.compile(rb'\br="([A-Z]+)(\d+)"')
_VALUE_RE = re.compile(rb"<(?:\w+:)?v>[^<]")
ENCRYPTED = N_("{file}: the workbook is password-protected (encrypted); save it without a password and "
               "try again")


@dataclass(slots=True)
class SheetData:
    """One worksheet: ``rows`` yields (row number, values) lazily, 1-based."""

    name: str
    rows: Iterator[tuple[int, tuple[Any, ...]]]
    sheet_names: list[str]
    hidden_rows: set[int] = field(default_factory=set)
    merged: list[str] = field(default_factory=list)
    formulas: dict[tuple[str, int], bool] = field(default_factory=dict)  # (col, row) → has cached value


def column_letter(index: int) -> str:
    """0-based column index → spreadsheet letter."""
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def file_kind(path: Path) -> str:
    """``xlsx`` or ``xls``; raises DataError for anything else."""
    try:
        with path.open("rb") as fh:
            head = fh.read(8)
            if head.startswith(OLE_MAGIC):
                body = fh.read(4 * 1024 * 1024)
                if _ENCRYPTION_STREAM in body:
                    raise DataError(ENCRYPTED, params={"file": path.name})
                return "xls"
    except OSError as exc:
        raise DataError(N_("{file}: cannot read the file ({error})"),
                        params={"file": path.name, "error": exc.strerror or exc}) from exc
    if head.startswith(ZIP_MAGIC):
        return "xlsx"
    raise DataError(N_("{file}: not an Excel workbook (.xlsx or .xls) — the file is damaged or of "
                       "another type"), params={"file": path.name})


def open_sheet(path: Path, preferred: str | None = None) -> SheetData:
    """Open ``preferred`` sheet (or the first one) of an .xlsx or .xls workbook."""
    kind = file_kind(path)
    return _open_xlsx(path, preferred) if kind == "xlsx" else _open_xls(path, preferred)


def _choose(names: list[str], preferred: str | None) -> str:
    if not names:
        raise DataError(N_("the workbook has no sheets"), params={})
    if preferred and preferred in names:
        return preferred
    return names[0]


def _open_xlsx(path: Path, preferred: str | None) -> SheetData:
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    check_office_file(path, what=N_("the workbook cannot be read (damaged or not an .xlsx file)"))
    try:
        wb = load_workbook(path, read_only=True, data_only=True)
        names = wb.sheetnames
        name = _choose(names, preferred)
        ws = wb[name]
        member = getattr(ws, "_worksheet_path", None)
        with open_zip(path) as archive:
            xml = archive.read(member) if member else b""
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, ValueError, ParseError) as exc:
        raise DataError(N_("{file}: the workbook cannot be read (damaged or not an .xlsx file: {error})"),
                        params={"file": path.name, "error": type(exc).__name__}) from exc
    data = SheetData(name=name, rows=iter(()), sheet_names=names)
    scan_sheet_xml(xml, data)
    ws.reset_dimensions()  # never trust a stale <dimension>: read every row present

    def rows() -> Iterator[tuple[int, tuple[Any, ...]]]:
        try:
            yield from enumerate(ws.iter_rows(min_row=1, values_only=True), start=1)
        except (ParseError, ValueError, KeyError, zipfile.BadZipFile) as exc:
            raise DataError(N_("{file}: the sheet «{sheet}» is damaged ({error})"),
                            params={"file": path.name, "sheet": name, "error": type(exc).__name__}) from exc
        finally:
            wb.close()

    data.rows = rows()
    return data


def scan_sheet_xml(xml: bytes, data: SheetData) -> None:
    """Hidden rows, merged ranges and formula cells, straight from the sheet XML."""
    if b"hidden" in xml:
        for match in _ROW_RE.finditer(xml):
            attrs = match.group(1)
            if _HIDDEN_RE.search(attrs):
                num = _ROW_NUM_RE.search(attrs)
                if num:
                    data.hidden_rows.add(int(num.group(1)))
    if b"mergeCell" in xml:
        data.merged = [m.group(1).decode() for m in _MERGE_RE.finditer(xml)]
    if b"<f>" not in xml and b"<f " not in xml and b":f>" not in xml and b":f " not in xml:
        return
    for match in _FORMULA_RE.finditer(xml):
        start = xml.rfind(b"<c ", 0, match.start())
        ref = _CELL_REF_RE.search(xml, start, match.start()) if start >= 0 else None
        if ref is None:
            continue
        end = xml.find(b"</c>", match.end())
        body = xml[match.start():end if end > 0 else len(xml)]
        data.formulas[(ref.group(1).decode(), int(ref.group(2)))] = _VALUE_RE.search(body) is not None


def _open_xls(path: Path, preferred: str | None) -> SheetData:
    import xlrd
    from xlrd.compdoc import CompDocError

    try:
        book = xlrd.open_workbook(str(path), formatting_info=True, on_demand=True)
        names = book.sheet_names()
        name = _choose(names, preferred)
        sheet = book.sheet_by_name(name)
    except xlrd.XLRDError as exc:
        if "encrypt" in str(exc).lower():
            raise DataError(ENCRYPTED, params={"file": path.name}) from exc
        raise DataError(N_("{file}: the .xls workbook cannot be read ({error})"),
                        params={"file": path.name, "error": exc}) from exc
    except (CompDocError, AssertionError, IndexError, ValueError, OSError, KeyError) as exc:
        raise DataError(N_("{file}: the .xls workbook is damaged ({error})"),
                        params={"file": path.name, "error": type(exc).__name__}) from exc
    data = SheetData(name=name, rows=iter(()), sheet_names=names)
    data.hidden_rows = {r + 1 for r, info in sheet.rowinfo_map.items() if getattr(info, "hidden", 0)}
    data.merged = [f"{column_letter(clo)}{rlo + 1}:{column_letter(chi - 1)}{rhi}"
                   for rlo, rhi, clo, chi in sheet.merged_cells]

    def rows() -> Iterator[tuple[int, tuple[Any, ...]]]:
        try:
            for r in range(sheet.nrows):
                yield r + 1, tuple(_xls_value(cell) for cell in sheet.row(r))
        finally:
            book.release_resources()

    data.rows = rows()
    return data


def _xls_value(cell: Any) -> Any:
    import xlrd

    if cell.ctype in (xlrd.XL_CELL_EMPTY, xlrd.XL_CELL_BLANK, xlrd.XL_CELL_ERROR):
        return None
    if cell.ctype == xlrd.XL_CELL_BOOLEAN:
        return bool(cell.value)
    return cell.value
