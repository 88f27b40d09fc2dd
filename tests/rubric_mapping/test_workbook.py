"""The template/export workbook: layout, dropdown from the hidden classifier sheet, formula injection."""

from __future__ import annotations

from pathlib import Path

import openpyxl

from connector.rubric_mapping.classifier import Classifier
from connector.rubric_mapping.pos_categories import from_wire
from connector.rubric_mapping.workbook import CLASSIFIER_SHEET, HEADERS, MappingEntry, write_mapping_workbook


def test_template_layout(template: Path, edition_2025: Classifier) -> None:
    wb = openpyxl.load_workbook(template)
    assert wb.sheetnames[:2] == ["Сопоставление", "Как заполнять"]
    ws = wb["Сопоставление"]
    assert tuple(c.value for c in ws[1]) == HEADERS
    assert ws.freeze_panes == "A2" and ws.auto_filter.ref == "A1:E62"
    # the full path wraps inside its column, the row is tall enough for it
    assert ws.column_dimensions["B"].width >= 40 and ws["B22"].alignment.wrap_text
    assert ws.row_dimensions[22].height >= 27
    assert ws.max_row == 62  # 61 SAMPLE categories
    assert ws["B22"].value == "Медицина / Медицинская карта / Медицинская карта"
    assert ws["D2"].value.startswith("=IF(C2")
    hidden = wb[CLASSIFIER_SHEET]
    assert hidden.sheet_state == "hidden"
    (dv,) = ws.data_validations.dataValidation
    assert dv.type == "list" and "C2:C1000" in str(dv.sqref)
    questions = edition_2025.question_codes()
    assert dv.formula1 == f"'{CLASSIFIER_SHEET}'!$D$2:$D${len(questions) + 1}"
    assert [hidden.cell(row=r, column=1).value for r in range(2, len(questions) + 2)] == questions
    assert "Факта приоритет" in " ".join(str(c.value) for c in wb["Как заполнять"]["A"])


def test_formula_injection_written_as_text(tmp_path: Path, edition_2025: Classifier) -> None:
    tree = from_wire([{"id": "x1", "parentId": None, "level": 1, "name": "=HYPERLINK(\"http://evil\",\"a\")"},
                      {"id": "x2", "parentId": "x1", "level": 2, "name": "+cmd|' /C calc'!A0"},
                      {"id": "x3", "parentId": "x2", "level": 3, "name": "@SUM(1+1)"}])
    out = tmp_path / "inj.xlsx"
    write_mapping_workbook(out, tree, edition_2025, "2025-10-31",
                           {"x3": MappingEntry("0005.0005.0056.1149", "-2+3")})
    ws = openpyxl.load_workbook(out)["Сопоставление"]
    for ref in ("B2", "B3", "B4", "E4"):
        assert ws[ref].data_type == "s", ref
    assert ws["B2"].value.startswith("=HYPERLINK")
    assert ws["E4"].value == "-2+3"
    assert ws["D4"].data_type == "f"  # our own name formula stays a formula
