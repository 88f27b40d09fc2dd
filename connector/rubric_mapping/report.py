"""A report workbook: the checked sheet's values with offending cells highlighted, plus a problem list."""

from __future__ import annotations

from pathlib import Path

from connector.rubric_mapping.spreadsheet import open_sheet
from connector.rubric_mapping.validate import ERROR, ValidationResult
from connector.rubric_mapping.workbook import put_text

PROBLEMS_SHEET = "Проблемы"
_COLORS = {ERROR: "FFC7CE", "warning": "FFEB9C"}


def write_report(source: Path, result: ValidationResult, out: Path) -> None:
    from openpyxl import Workbook
    from openpyxl.comments import Comment
    from openpyxl.styles import Font, PatternFill
    from openpyxl.utils import column_index_from_string

    wb = Workbook()
    summary = wb.active
    summary.title = PROBLEMS_SHEET
    for col, title in enumerate(("Лист", "Строка", "Столбец", "Уровень", "Сообщение"), start=1):
        summary.cell(row=1, column=col, value=title).font = Font(bold=True)
    for i, problem in enumerate(result.problems, start=2):
        put_text(summary, i, 1, problem.sheet)
        summary.cell(row=i, column=2, value=problem.row)
        put_text(summary, i, 3, problem.column)
        put_text(summary, i, 4, "ошибка" if problem.severity == ERROR else "предупреждение")
        put_text(summary, i, 5, problem.message)
    for letter, width in zip("ABCDE", (18, 8, 8, 16, 120), strict=True):
        summary.column_dimensions[letter].width = width
    summary.freeze_panes = "A2"

    ws = wb.create_sheet(result.sheet[:31])
    sheet = open_sheet(source, result.sheet)
    for row_no, values in sheet.rows:
        for col, value in enumerate(values, start=1):
            if value is not None:
                put_text(ws, row_no, col, value)
    fills = {k: PatternFill("solid", fgColor=v) for k, v in _COLORS.items()}
    notes: dict[tuple[int, int], list[str]] = {}
    for problem in result.problems:
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
        ws.cell(row=row, column=col).comment = Comment("\n".join(messages)[:2000], "pos-connector")
    ws.freeze_panes = "A2"
    out.parent.mkdir(parents=True, exist_ok=True)
    wb.save(out)
