"""The discipline report as an Excel workbook: a one-page summary with the main chart, executors,
categories and addresses, the weekly trend, native charts, and «Как считается»."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from connector.discipline.figures import METHOD, RATING_TARGET, Figures, Report, Row
from connector.rubric_mapping.workbook import put_text, set_print_layout

SUMMARY = "Сводка"
EXECUTORS = "Исполнители"
TOPS = "Категории и адреса"
TREND = "Динамика"
CHARTS = "Графики"
METHOD_SHEET = "Как считается"

FIGURE_HEADERS = ("Поступило", "Отвечено", "В срок", "Доля в срок", "Просрочено по своей вине",
                  "Получено просроченным", "Продления", "Перенаправления", "Медиана, дн.", "90-й проц., дн.",
                  "Оценок", "Доля оценок ≥4", "Повторные")
HEADER_ROW = 5


def figure_values(f: Figures) -> list[Any]:
    return [f.received, f.answered, f.on_time, f.on_time_share, f.overdue_own, f.received_overdue, f.extensions,
            f.redirects, f.median_days, f.p90_days, f.rated, f.high_share, f.repeats]


_PERCENT_COLUMNS = (3, 11)   # indexes in FIGURE_HEADERS of the shares


def _title(ws: Any, report: Report, title: str) -> None:
    from openpyxl.styles import Font

    put_text(ws, 1, 1, title).font = Font(bold=True, size=14)
    scope = f"; подразделение: {report.unit}" if report.unit else ""
    put_text(ws, 2, 1, f"Период: {report.first:%d.%m.%Y} – {report.last:%d.%m.%Y}{scope}")
    put_text(ws, 3, 1, f"Сформирован: {report.generated_at:%d.%m.%Y %H:%M} · цель по оценкам: "
                       f"{RATING_TARGET:.0%} оценок 4 и 5 · как считается — лист «{METHOD_SHEET}»")


def _table(ws: Any, lead: Sequence[str], rows: Sequence[tuple[Sequence[str], Figures]],
           widths: Sequence[float]) -> int:
    """Header at HEADER_ROW, one row per item; returns the last row written."""
    from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
    from openpyxl.utils import get_column_letter

    bold, fill = Font(bold=True), PatternFill("solid", fgColor="DDEBF7")
    thin = Side(style="thin", color="A6A6A6")
    border = Border(left=thin, right=thin, top=thin, bottom=thin)
    headers = [*lead, *FIGURE_HEADERS]
    for col, header in enumerate(headers, start=1):
        cell = put_text(ws, HEADER_ROW, col, header)
        cell.font, cell.fill, cell.border = bold, fill, border
        cell.alignment = Alignment(wrap_text=True, vertical="center", horizontal="center")
    ws.row_dimensions[HEADER_ROW].height = 48
    for col, width in enumerate([*widths, *([12.5] * len(FIGURE_HEADERS))], start=1):
        ws.column_dimensions[get_column_letter(col)].width = width
    row = HEADER_ROW
    for labels, figures in rows:
        row += 1
        for col, value in enumerate([*labels, *figure_values(figures)], start=1):
            cell = put_text(ws, row, col, value)
            cell.border = border
            if col - len(lead) - 1 in _PERCENT_COLUMNS:
                cell.number_format = "0%"
            elif isinstance(value, float):
                cell.number_format = "0.0"
            if col <= len(lead):
                cell.alignment = Alignment(wrap_text=True, vertical="top")
    ws.freeze_panes = ws.cell(row=HEADER_ROW + 1, column=len(lead) + 1)
    return row


def _summary(wb: Any, report: Report) -> None:
    from openpyxl.chart import BarChart, Reference
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    ws = wb.active
    ws.title = SUMMARY
    _title(ws, report, "Исполнительская дисциплина по сообщениям ПОС")
    rows = [((r.unit,), r.figures) for r in report.units]
    last = _table(ws, ["Подразделение"], [*rows, (("Итого по организации",), report.total)], [34.0])
    for col in range(1, len(FIGURE_HEADERS) + 2):
        ws.cell(row=last, column=col).font = Font(bold=True)
    width = len(FIGURE_HEADERS) + 1
    if rows:
        chart = BarChart()
        chart.type = "bar"
        chart.title = "Доля ответов в срок по подразделениям"
        chart.y_axis.number_format = "0%"
        chart.y_axis.scaling.min, chart.y_axis.scaling.max = 0, 1
        chart.legend = None
        share_col = 1 + 1 + FIGURE_HEADERS.index("Доля в срок")
        chart.add_data(Reference(ws, min_col=share_col, min_row=HEADER_ROW, max_row=HEADER_ROW + len(rows)),
                       titles_from_data=True)
        chart.set_categories(Reference(ws, min_col=1, min_row=HEADER_ROW + 1, max_row=HEADER_ROW + len(rows)))
        chart.height, chart.width = 6.5, 30
        ws.add_chart(chart, f"A{last + 2}")
        chart_rows = 14
    else:
        chart_rows = 0
    set_print_layout(ws, title_rows=f"{HEADER_ROW}:{HEADER_ROW}")
    ws.page_setup.fitToHeight = 1   # the summary is one page
    ws.print_area = f"A1:{get_column_letter(width)}{last + 1 + chart_rows}"


def _executors(wb: Any, report: Report) -> None:
    from openpyxl.utils import get_column_letter

    ws = wb.create_sheet(EXECUTORS)
    _title(ws, report, "Исполнители")
    last = _table(ws, ["Подразделение", "Исполнитель"],
                  [((r.unit, r.executor), r.figures) for r in report.executors], [26.0, 28.0])
    set_print_layout(ws, title_rows=f"{HEADER_ROW}:{HEADER_ROW}")
    ws.print_area = f"A1:{get_column_letter(len(FIGURE_HEADERS) + 2)}{last}"


def _tops(wb: Any, report: Report) -> None:
    from openpyxl.styles import Font

    ws = wb.create_sheet(TOPS)
    _title(ws, report, "Частые категории и адреса проблем")
    bold = Font(bold=True)
    for col, header in enumerate(("Категория ПОС", "Сообщений", "Адрес проблемы", "Сообщений"), start=1):
        put_text(ws, HEADER_ROW, col, header).font = bold
    for i, (name, count) in enumerate(report.categories, start=HEADER_ROW + 1):
        put_text(ws, i, 1, name)
        put_text(ws, i, 2, count)
    for i, (name, count) in enumerate(report.addresses, start=HEADER_ROW + 1):
        put_text(ws, i, 3, name)
        put_text(ws, i, 4, count)
    for letter, width in zip("ABCD", (40, 11, 52, 11), strict=True):
        ws.column_dimensions[letter].width = width
    ws.freeze_panes = f"A{HEADER_ROW + 1}"
    set_print_layout(ws, title_rows=f"{HEADER_ROW}:{HEADER_ROW}")


def _trend(wb: Any, report: Report) -> None:
    from openpyxl.utils import get_column_letter

    ws = wb.create_sheet(TREND)
    _title(ws, report, "Динамика по неделям")
    last = _table(ws, ["Неделя с"], [((f"{w.start:%d.%m.%Y}",), w.figures) for w in report.trend], [14.0])
    set_print_layout(ws, title_rows=f"{HEADER_ROW}:{HEADER_ROW}")
    ws.print_area = f"A1:{get_column_letter(len(FIGURE_HEADERS) + 1)}{last}"


def _charts(wb: Any, report: Report) -> None:
    from openpyxl.chart import BarChart, LineChart, Reference

    ws = wb.create_sheet(CHARTS)
    trend = wb[TREND]
    n = len(report.trend)
    line = LineChart()
    line.title = "Доля ответов в срок по неделям"
    line.y_axis.number_format = "0%"
    line.y_axis.scaling.min, line.y_axis.scaling.max = 0, 1
    share_col = 2 + FIGURE_HEADERS.index("Доля в срок")
    line.add_data(Reference(trend, min_col=share_col, min_row=HEADER_ROW, max_row=HEADER_ROW + n),
                  titles_from_data=True)
    line.set_categories(Reference(trend, min_col=1, min_row=HEADER_ROW + 1, max_row=HEADER_ROW + n))
    for series in line.series:
        series.marker.symbol = "circle"   # a week alone still shows
    line.height, line.width = 7.5, 24
    ws.add_chart(line, "A1")
    # ratings per unit against the target: a helper table the chart reads
    put_text(ws, 18, 1, "Подразделение")
    put_text(ws, 18, 2, "Доля оценок ≥4")
    put_text(ws, 18, 3, f"Цель {RATING_TARGET:.0%}")
    rated: list[Row] = [r for r in report.units]
    for i, r in enumerate(rated, start=19):
        put_text(ws, i, 1, r.unit)
        put_text(ws, i, 2, r.figures.high_share)
        put_text(ws, i, 3, RATING_TARGET)
        ws.cell(row=i, column=2).number_format = ws.cell(row=i, column=3).number_format = "0%"
    ws.column_dimensions["A"].width = 34
    ws.column_dimensions["B"].width = ws.column_dimensions["C"].width = 16
    if rated:
        bars = BarChart()
        bars.title = "Оценки заявителей: доля 4 и 5 против цели"
        bars.y_axis.number_format = "0%"
        bars.y_axis.scaling.min, bars.y_axis.scaling.max = 0, 1
        bars.add_data(Reference(ws, min_col=2, min_row=18, max_row=18 + len(rated)), titles_from_data=True)
        bars.set_categories(Reference(ws, min_col=1, min_row=19, max_row=18 + len(rated)))
        target = LineChart()
        target.add_data(Reference(ws, min_col=3, min_row=18, max_row=18 + len(rated)), titles_from_data=True)
        bars += target
        bars.height, bars.width = 7.5, 24
        ws.add_chart(bars, f"A{20 + len(rated)}")
    if not any(r.figures.rated for r in rated):
        put_text(ws, 17, 1, "Оценок заявителей за период нет: столбцы пусты, линия — цель.")
    set_print_layout(ws, title_rows=None)
    ws.page_setup.fitToHeight = 1


def _method(wb: Any) -> None:
    from openpyxl.styles import Alignment, Font

    ws = wb.create_sheet(METHOD_SHEET)
    put_text(ws, 1, 1, "Показатель").font = Font(bold=True)
    put_text(ws, 1, 2, "Как считается").font = Font(bold=True)
    for i, (name, text) in enumerate(METHOD, start=2):
        put_text(ws, i, 1, name).alignment = Alignment(vertical="top", wrap_text=True)
        put_text(ws, i, 2, text).alignment = Alignment(vertical="top", wrap_text=True)
        ws.row_dimensions[i].height = 15 * (1 + len(text) // 110)
    ws.column_dimensions["A"].width = 28
    ws.column_dimensions["B"].width = 120
    ws.freeze_panes = "A2"
    set_print_layout(ws)


def write_report(report: Report, out: Path) -> Path:
    from openpyxl import Workbook

    wb = Workbook()
    _summary(wb, report)
    _executors(wb, report)
    _tops(wb, report)
    _trend(wb, report)
    _charts(wb, report)
    _method(wb)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".part")
    wb.save(tmp)
    tmp.replace(out)
    return out
