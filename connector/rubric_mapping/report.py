"""The validation report: the admin's own workbook with offending cells highlighted and noted,
and a first sheet «Проблемы» whose every line links to its cell.

For an .xlsx the report is a copy of the checked workbook itself, so column widths, the name
formula, the hidden classifier and the dropdown survive: the admin fixes the report and imports
it.  A legacy .xls is copied by value (openpyxl cannot write .xls), with our column widths.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from connector.rubric_mapping.spreadsheet import open_sheet
from connector.rubric_mapping.validate import ERROR, WARNING, Problem, ValidationResult, severity_label
from connector.rubric_mapping.workbook import (
    MAPPING_SHEET,
    WIDTHS,
    put_text,
    set_print_layout,
    wrapped_height,
)

PROBLEMS_SHEET = "Проблемы"
_COLORS = {ERROR: "FFC7CE", WARNING: "FFEB9C"}
_PROBLEM_HEADERS = ("Лист", "Ячейка", "Уровень", "Сообщение")
_PROBLEM_WIDTHS = (18, 10, 16, 100)


def write_report(source: Path, result: ValidationResult, out: Path) -> None:
    wb, ws = _copy_of(source, result.sheet)
    _mark_cells(ws, result.problems)
    _problems_sheet(wb, ws.title, result.problems)
    for sheet in wb.worksheets:
        if sheet.sheet_state == "visible":
            set_print_layout(sheet, title_rows="1:1")
    wb.active = 0
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".part")
    wb.save(tmp)
    tmp.replace(out)


def _copy_of(source: Path, sheet_name: str) -> tuple[Any, Any]:
    from openpyxl import Workbook, load_workbook
    from openpyxl.utils import get_column_letter

    if source.suffix.lower() in (".xlsx", ".xlsm") and sheet_name:
        wb = load_workbook(source)
        if sheet_name in wb.sheetnames:
            return wb, wb[sheet_name]
    wb = Workbook()
    ws = wb.active
    ws.title = (sheet_name or MAPPING_SHEET)[:31]
    for row_no, values in open_sheet(source, sheet_name).rows:
        for col, value in enumerate(values, start=1):
            if value is not None:
                put_text(ws, row_no, col, value)
    for col, width in enumerate(WIDTHS, start=1):
        ws.column_dimensions[get_column_letter(col)].width = width
    ws.freeze_panes = "A2"
    return wb, ws


def _mark_cells(ws: Any, problems: list[Problem]) -> None:
    from openpyxl.comments import Comment
    from openpyxl.styles import PatternFill
    from openpyxl.utils import column_index_from_string

    fills = {k: PatternFill("solid", fgColor=v) for k, v in _COLORS.items()}
    notes: dict[tuple[int, int], list[str]] = {}
    for problem in problems:
        if problem.row is None:
            continue
        cols = [column_index_from_string(problem.column)] if problem.column else range(1, max(ws.max_column, 1) + 1)
        for col in cols:
            cell = ws.cell(row=problem.row, column=col)
            if problem.severity == ERROR or cell.fill.fgColor.rgb in (None, "00000000"):
                cell.fill = fills[problem.severity]
        if problem.column:
            notes.setdefault((problem.row, cols[0]), []).append(problem.message)  # type: ignore[index]
    for (row, col), messages in notes.items():
        comment = Comment("\n".join(messages)[:2000], "pos-connector")
        comment.width, comment.height = 320, 120
        ws.cell(row=row, column=col).comment = comment


def _problems_sheet(wb: Any, target: str, problems: list[Problem]) -> None:
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.hyperlink import Hyperlink

    summary = wb.create_sheet(PROBLEMS_SHEET, 0)
    bold, fill = Font(bold=True), PatternFill("solid", fgColor="DDEBF7")
    for col, (title, width) in enumerate(zip(_PROBLEM_HEADERS, _PROBLEM_WIDTHS, strict=True), start=1):
        cell = summary.cell(row=1, column=col, value=title)
        cell.font, cell.fill = bold, fill
        summary.column_dimensions[get_column_letter(col)].width = width
    wrap = Alignment(wrap_text=True, vertical="top")
    for i, problem in enumerate(problems, start=2):
        put_text(summary, i, 1, problem.sheet).alignment = wrap
        ref = f"{problem.column or 'A'}{problem.row}" if problem.row is not None else ""
        link = put_text(summary, i, 2, ref or "—")
        if ref and problem.sheet == target:
            link.hyperlink = Hyperlink(ref=link.coordinate, location=f"'{target}'!{ref}", display=ref)
            link.style = "Hyperlink"
        link.alignment = wrap
        put_text(summary, i, 3, severity_label(problem.severity)).alignment = wrap
        put_text(summary, i, 4, problem.message).alignment = wrap
        summary.row_dimensions[i].height = wrapped_height([(problem.message, _PROBLEM_WIDTHS[3])])
    summary.freeze_panes = "A2"
    if problems:
        summary.auto_filter.ref = f"A1:D{len(problems) + 1}"
