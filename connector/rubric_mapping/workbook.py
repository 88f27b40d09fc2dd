"""The mapping workbook admins fill in: template (empty codes) and export (current mapping).

Sheets: «Сопоставление» (one row per POS category; frozen header, widths, autofilter, a
dropdown of question-level codes as «код — наименование»), «Как заполнять» (rules in Russian)
and the hidden «Классификатор» (the current edition's question-level codes feeding the dropdown
and the name formula).  Every sheet prints: A4 landscape, one page wide, the header row repeated,
row heights set for wrapped text (LibreOffice does not grow them on its own, and a wrapped
header would print over the first row).  Every text that comes from data is written as text,
never as a formula.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from connector.rubric_mapping.classifier import Classifier
from connector.rubric_mapping.codes import LEVEL_NAMES, code_label
from connector.rubric_mapping.pos_categories import PosCategoryTree

MAPPING_SHEET = "Сопоставление"
HELP_SHEET = "Как заполнять"
CLASSIFIER_SHEET = "Классификатор"
COL_ID, COL_PATH, COL_CODE, COL_NAME, COL_COMMENT = (
    "ID категории ПОС", "Категория ПОС (полный путь)", "Код ССТУ", "Наименование вопроса ССТУ", "Комментарий")
HEADERS = (COL_ID, COL_PATH, COL_CODE, COL_NAME, COL_COMMENT)
WIDTHS = (14, 46, 34, 50, 26)
LINE_POINTS = 13.5       # one wrapped line of 11 pt text
HELP_WIDTH = 110
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
NOT_FOUND = "— нет такого вопроса в текущей редакции классификатора —"


@dataclass(frozen=True, slots=True)
class MappingEntry:
    code: str
    comment: str = ""


def put_text(ws: Any, row: int, column: int, value: Any) -> Any:
    """Write a value; text that a spreadsheet would run as a formula stays text (data_type 's')."""
    cell = ws.cell(row=row, column=column)
    cell.value = value
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS):
        cell.data_type = "s"
    return cell


def help_lines(edition: str, version: int | None) -> list[str]:
    return [
        "Сопоставление категорий ПОС и тематического классификатора ССТУ",
        f"Редакция классификатора: {edition}" + (f"; версия сопоставления: {version}" if version else ""),
        "",
        "Как заполнять лист «Сопоставление»:",
        "1. Одна строка — одна категория ПОС. Категорию определяет «ID категории ПОС», а не название: "
        "одинаковые названия встречаются в разных ветках, поэтому рядом показан полный путь.",
        "2. В столбце «Код ССТУ» выберите «код — наименование» из выпадающего списка или введите код полностью, "
        "например 0005.0005.0056.1149 (четыре блока по четыре цифры, иногда пятый блок).",
        "3. Код должен быть кодом вопроса (4-й уровень) или подвопроса (5-й уровень). Коды разделов, "
        "тематик и тем (с нулями в конце, например 0005.0005.0000.0000) не принимаются.",
        "4. Код можно указать на любом уровне ПОС: у Факта приоритет над Подкатегорией, у Подкатегории — "
        "над Категорией. Категория без кода и без кода у родителя считается несопоставленной.",
        "5. Не меняйте заголовки, не объединяйте ячейки, не вставляйте формулы в столбцы ID и «Код ССТУ».",
        "6. Если таблица превратила код в число (пропали нули: 5.0005…), задайте столбцу текстовый формат "
        "и введите код заново.",
        "7. Наименование вопроса заполняется само по коду; «Комментарий» — свободный текст.",
        "8. Одна категория — один код. Повторяющиеся строки с разными кодами — ошибка.",
        "",
        "Проверка: connector mapping validate ФАЙЛ.xlsx [--report ОТЧЁТ.xlsx]; загрузка: connector mapping "
        "import ФАЙЛ.xlsx (сохраняется новая версия, только если файл без ошибок).",
    ]


def wrapped_height(texts: list[tuple[object, float]]) -> float:
    """Row height in points for ``(text, column width)`` pairs: the tallest wrapped cell decides.
    A width counts characters of the default font; Cyrillic runs a little wider, hence 0.9."""
    lines = 1
    for text, width in texts:
        if text is None:
            continue
        per_line = max(int(width * 0.9), 1)
        lines = max(lines, sum(max(1, -(-len(part) // per_line)) for part in str(text).split("\n")))
    return lines * LINE_POINTS + 2


def set_print_layout(ws: Any, *, title_rows: str | None = "1:1") -> None:
    """A4 landscape, one page wide and as many long as needed, header repeated, pages numbered."""
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.page_margins.left = ws.page_margins.right = 0.4
    ws.page_margins.top = ws.page_margins.bottom = 0.7
    ws.page_margins.footer = 0.3
    if title_rows:
        ws.print_title_rows = title_rows
    ws.oddFooter.center.text = "&A — стр. &P из &N"


def write_mapping_workbook(out: Path, categories: PosCategoryTree, classifier: Classifier, edition: str,
                           mapping: Mapping[str, MappingEntry] | None = None,
                           version: int | None = None) -> int:
    """Write the template (``mapping`` None) or an export; returns the number of rows."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    mapping = mapping or {}
    wb = Workbook()
    ws = wb.active
    ws.title = MAPPING_SHEET
    bold, fill = Font(bold=True), PatternFill("solid", fgColor="DDEBF7")
    for col, header in enumerate(HEADERS, start=1):
        cell = put_text(ws, 1, col, header)
        cell.font, cell.fill = bold, fill
        cell.alignment = Alignment(wrap_text=True, vertical="center")
        ws.column_dimensions[get_column_letter(col)].width = WIDTHS[col - 1]
    ws.row_dimensions[1].height = wrapped_height(list(zip(HEADERS, WIDTHS, strict=True)))
    wrap = Alignment(wrap_text=True, vertical="top")

    codes_sheet = wb.create_sheet(CLASSIFIER_SHEET)
    questions = classifier.question_codes()
    for col, header in enumerate(("Код", "Наименование", "Уровень", "Код — наименование"), start=1):
        codes_sheet.cell(row=1, column=col, value=header).font = bold
    for row, code in enumerate(questions, start=2):
        node = classifier.nodes[code]
        codes_sheet.cell(row=row, column=1, value=code).number_format = "@"
        put_text(codes_sheet, row, 2, node.name)
        codes_sheet.cell(row=row, column=3, value=LEVEL_NAMES.get(node.level, str(node.level)))
        put_text(codes_sheet, row, 4, code_label(code, node.name))
    codes_sheet.sheet_state = "hidden"
    last_code_row = max(len(questions) + 1, 2)
    source = f"'{CLASSIFIER_SHEET}'!$D$2:$D${last_code_row}"
    lookup = f"'{CLASSIFIER_SHEET}'!$A$2:$B${last_code_row}"

    rows = list(categories)
    extra = [cid for cid in mapping if categories.get(cid) is None]
    row = 1
    for cat in rows:
        row += 1
        entry = mapping.get(cat.id)
        for col, value in ((1, cat.id), (3, entry.code if entry else None)):
            cell = put_text(ws, row, col, value)
            cell.number_format, cell.alignment = "@", wrap
        put_text(ws, row, 2, cat.full_path).alignment = wrap
        # the code is the cell's first word: a picked «код — наименование» and a typed code both work
        ws.cell(row=row, column=4, value=f'=IF(C{row}="","",IFERROR(VLOOKUP(LEFT(C{row},FIND(" ",C{row}&" ")-1),'
                                         f'{lookup},2,FALSE),"{NOT_FOUND}"))').alignment = wrap
        put_text(ws, row, 5, entry.comment if entry and entry.comment else None).alignment = wrap
        name = classifier.nodes[entry.code].name if entry and entry.code in classifier.nodes else None
        ws.row_dimensions[row].height = wrapped_height([(cat.full_path, WIDTHS[1]), (name, WIDTHS[3]),
                                                        (entry.comment if entry else None, WIDTHS[4])])
    for cid in extra:  # mapped earlier, no longer in the POS list: kept visible, the validator flags it
        row += 1
        put_text(ws, row, 1, cid).number_format = "@"
        put_text(ws, row, 2, "(нет в текущем списке категорий ПОС)")
        put_text(ws, row, 3, mapping[cid].code).number_format = "@"
        put_text(ws, row, 5, mapping[cid].comment or None)
    last = max(row, 2)
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = f"A1:{get_column_letter(len(HEADERS))}{last}"
    # errorStyle "warning": a code typed by hand (without its name) is not in the list, and is fine
    dv = DataValidation(type="list", formula1=source, allow_blank=True, showDropDown=False,
                        showErrorMessage=True, errorStyle="warning", errorTitle="Код ССТУ",
                        error="Такого пункта нет в списке. Код вопроса можно ввести и без наименования "
                              "(0005.0005.0056.1149); коды разделов, тематик и тем не подходят.",
                        showInputMessage=True, promptTitle="Код ССТУ",
                        prompt="Выберите «код — наименование» или введите код, например 0005.0005.0056.1149")
    dv.add(f"C2:C{max(last, 1000)}")
    ws.add_data_validation(dv)

    set_print_layout(ws)
    help_ws = wb.create_sheet(HELP_SHEET, 1)
    help_ws.column_dimensions["A"].width = HELP_WIDTH
    for i, line in enumerate(help_lines(edition, version), start=1):
        cell = put_text(help_ws, i, 1, line)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
        help_ws.row_dimensions[i].height = wrapped_height([(line, HELP_WIDTH)]) * (1.3 if i == 1 else 1)
        if i == 1:
            cell.font = Font(bold=True, size=13)
    set_print_layout(help_ws, title_rows=None)
    wb.properties.title = "Сопоставление категорий ПОС и классификатора ССТУ"
    wb.properties.keywords = f"edition={edition};version={version or ''}"
    wb.active = 0
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".part")
    wb.save(tmp)
    tmp.replace(out)
    return row - 1
