"""The mapping workbook admins fill in: template (empty codes) and export (current mapping).

Sheets: «Сопоставление» (one row per POS category; frozen header, widths, autofilter, a
dropdown of question-level codes), «Как заполнять» (rules in Russian) and the hidden
«Классификатор» (the current edition's question-level codes feeding the dropdown and the
name formula).  Every text that comes from data is written as text, never as a formula.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from connector.rubric_mapping.classifier import Classifier
from connector.rubric_mapping.codes import LEVEL_NAMES
from connector.rubric_mapping.pos_categories import PosCategoryTree

MAPPING_SHEET = "Сопоставление"
HELP_SHEET = "Как заполнять"
CLASSIFIER_SHEET = "Классификатор"
COL_ID, COL_PATH, COL_CODE, COL_NAME, COL_COMMENT = (
    "ID категории ПОС", "Категория ПОС (полный путь)", "Код ССТУ", "Наименование вопроса ССТУ", "Комментарий")
HEADERS = (COL_ID, COL_PATH, COL_CODE, COL_NAME, COL_COMMENT)
WIDTHS = (16, 70, 26, 80, 40)
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
        "2. В столбце «Код ССТУ» выберите код из выпадающего списка или введите его полностью, "
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

    codes_sheet = wb.create_sheet(CLASSIFIER_SHEET)
    questions = classifier.question_codes()
    for col, header in enumerate(("Код", "Наименование", "Уровень"), start=1):
        codes_sheet.cell(row=1, column=col, value=header).font = bold
    for row, code in enumerate(questions, start=2):
        node = classifier.nodes[code]
        codes_sheet.cell(row=row, column=1, value=code).number_format = "@"
        put_text(codes_sheet, row, 2, node.name)
        codes_sheet.cell(row=row, column=3, value=LEVEL_NAMES.get(node.level, str(node.level)))
    codes_sheet.sheet_state = "hidden"
    last_code_row = max(len(questions) + 1, 2)
    source = f"'{CLASSIFIER_SHEET}'!$A$2:$A${last_code_row}"
    lookup = f"'{CLASSIFIER_SHEET}'!$A$2:$B${last_code_row}"

    rows = list(categories)
    extra = [cid for cid in mapping if categories.get(cid) is None]
    row = 1
    for cat in rows:
        row += 1
        entry = mapping.get(cat.id)
        put_text(ws, row, 1, cat.id).number_format = "@"
        put_text(ws, row, 2, cat.full_path)
        put_text(ws, row, 3, entry.code if entry else None).number_format = "@"
        ws.cell(row=row, column=4, value=f'=IF(C{row}="","",IFERROR(VLOOKUP(C{row},{lookup},2,FALSE),'
                                         f'"{NOT_FOUND}"))')
        put_text(ws, row, 5, entry.comment if entry and entry.comment else None)
    for cid in extra:  # mapped earlier, no longer in the POS list: kept visible, the validator flags it
        row += 1
        put_text(ws, row, 1, cid).number_format = "@"
        put_text(ws, row, 2, "(нет в текущем списке категорий ПОС)")
        put_text(ws, row, 3, mapping[cid].code).number_format = "@"
        put_text(ws, row, 5, mapping[cid].comment or None)
    last = max(row, 2)
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = f"A1:{get_column_letter(len(HEADERS))}{last}"
    dv = DataValidation(type="list", formula1=source, allow_blank=True, showDropDown=False,
                        showErrorMessage=True, errorStyle="stop", errorTitle="Код ССТУ",
                        error="Выберите код вопроса из списка (коды разделов, тематик и тем не подходят).",
                        showInputMessage=True, promptTitle="Код ССТУ",
                        prompt="Код вопроса классификатора, например 0005.0005.0056.1149")
    dv.add(f"C2:C{max(last, 1000)}")
    ws.add_data_validation(dv)

    help_ws = wb.create_sheet(HELP_SHEET, 1)
    help_ws.column_dimensions["A"].width = 140
    for i, line in enumerate(help_lines(edition, version), start=1):
        cell = put_text(help_ws, i, 1, line)
        cell.alignment = Alignment(wrap_text=True)
        if i == 1:
            cell.font = Font(bold=True, size=13)
    wb.properties.title = "Сопоставление категорий ПОС и классификатора ССТУ"
    wb.properties.keywords = f"edition={edition};version={version or ''}"
    wb.active = 0
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".part")
    wb.save(tmp)
    tmp.replace(out)
    return row - 1
