"""The directory of receiving bodies for redirects: ``[sstu] bodies`` plus ``bodies_file``.

The file is what an administration already keeps: a spreadsheet (.xlsx) or CSV with a header
row naming a body column (``name`` / «Наименование» / «Орган» / «ID организации ПОС») and a
GUID column (``guid`` / «GUID» / «Идентификатор ССТУ»).  Keys are body names or POS
organisation ids, whichever the EDMS reports for a redirect.  Every bad row is named.
"""

from __future__ import annotations

import csv
import zipfile
from collections.abc import Iterator
from pathlib import Path

from connector.errors import DataError
from connector.i18n import N_
from connector.safe_archive import check_office_file
from connector.sstu_export import wire

NAME_HEADERS = ("name", "наименование", "орган", "наименование органа", "id организации пос", "организация")
GUID_HEADERS = ("guid", "идентификатор ссту", "guid ссту", "ссту guid", "departmentid")


def _rows(path: Path) -> Iterator[tuple[int, list[str]]]:
    suffix = path.suffix.lower()
    if suffix == ".csv":
        with path.open(encoding="utf-8-sig", newline="") as fh:
            sample = fh.read(4096)
            fh.seek(0)
            try:
                dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(sample, delimiters=",;\t")
            except csv.Error:
                dialect = csv.excel
            for number, row in enumerate(csv.reader(fh, dialect), start=1):
                yield number, [c.strip() for c in row]
        return
    if suffix in (".xlsx", ".xlsm"):
        import openpyxl
        from openpyxl.utils.exceptions import InvalidFileException

        check_office_file(path, what=N_("not a readable .xlsx workbook"))
        try:
            wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
        except (InvalidFileException, zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
            raise DataError(N_("{file}: not a readable .xlsx workbook ({kind})"),
                            params={"file": path.name, "kind": type(exc).__name__}) from None
        try:
            ws = wb.worksheets[0]
            for number, values in enumerate(ws.iter_rows(values_only=True), start=1):
                yield number, ["" if v is None else str(v).strip() for v in values]
        finally:
            wb.close()
        return
    raise DataError(N_("{file}: bodies_file must be .xlsx or .csv"), params={"file": path})


def load_bodies_file(path: Path) -> dict[str, str]:
    if not path.is_file():
        raise DataError(N_("{file}: bodies_file not found"), params={"file": path})
    bodies: dict[str, str] = {}
    problems: list[str] = []
    columns: tuple[int, int] | None = None
    for number, row in _rows(path):
        if columns is None:
            heads = [c.casefold() for c in row]
            name_col = next((i for i, h in enumerate(heads) if h in NAME_HEADERS), None)
            guid_col = next((i for i, h in enumerate(heads) if h in GUID_HEADERS), None)
            if name_col is None or guid_col is None:
                raise DataError(N_("{file}: row {row}: expected a header with a body column ({names}) and a GUID "
                                   "column ({guids})"),
                                params={"file": path.name, "row": number, "names": ", ".join(NAME_HEADERS[:3]),
                                        "guids": ", ".join(GUID_HEADERS[:2])})
            columns = (name_col, guid_col)
            continue
        name = row[columns[0]] if len(row) > columns[0] else ""
        guid = (row[columns[1]] if len(row) > columns[1] else "").lower()
        if not name and not guid:
            continue
        if not name:
            problems.append(f"{path.name}: row {number}: the body's name is empty")
        elif not wire.GUID_RE.match(guid):
            problems.append(f"{path.name}: row {number}: «{name}»: {guid or '(empty)'} is not a ССТУ GUID")
        else:
            bodies[name] = guid
    if columns is None:
        raise DataError(N_("{file}: the file is empty"), params={"file": path.name})
    if problems:
        raise DataError("; ".join(problems[:10]) + (f"; and {len(problems) - 10} more" if len(problems) > 10 else ""))
    return bodies
