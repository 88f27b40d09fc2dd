"""Validation: every problem at once with sheet/row/column; hostile workbooks never crash."""

from __future__ import annotations

import time
import zipfile
from pathlib import Path

import openpyxl
import pytest
import xlwt

from connector.errors import DataError
from connector.rubric_mapping.classifier import Classifier
from connector.rubric_mapping.pos_categories import PosCategoryTree
from connector.rubric_mapping.validate import CodeIndex, validate_workbook

from rm_support import GOOD_CODES, fill, fill_all


@pytest.fixture
def index(edition_2025: Classifier) -> CodeIndex:
    return CodeIndex(edition_2025, "2025-10-31")


def problems(result) -> list[tuple[int | None, str | None, str, str]]:  # type: ignore[no-untyped-def]
    return [(p.row, p.column, p.severity, p.message) for p in result.problems]


def test_filled_template_is_valid(template: Path, tmp_path: Path, index: CodeIndex,
                                  categories: PosCategoryTree) -> None:
    result = validate_workbook(fill_all(template, tmp_path / "f.xlsx", categories), index, categories,
                               require_full=True)
    assert result.ok and result.problems == [] and result.unmapped == 0 and len(result.entries) == 12


def test_partial_mapping_warns_with_count_or_fails_when_full_required(template: Path, tmp_path: Path,
                                                                       index: CodeIndex,
                                                                       categories: PosCategoryTree) -> None:
    path = fill(template, tmp_path / "f.xlsx", GOOD_CODES)
    result = validate_workbook(path, index, categories)
    assert result.ok and result.unmapped == 22
    (warning,) = result.warnings
    assert warning.row is None and warning.message.startswith("22 of 27 POS categories")
    strict = validate_workbook(path, index, categories, require_full=True)
    assert not strict.ok and strict.errors[0].message.startswith("22 of 27")


def test_every_problem_listed_with_location(template: Path, tmp_path: Path, index: CodeIndex,
                                           categories: PosCategoryTree) -> None:
    path = fill(template, tmp_path / "f.xlsx", {
        2: "0005.0005.0056.1149",
        3: " 5.0005.0056.1153\u00a0",    # NBSP + lost leading zeros: normalised, warned
        4: 5.0005,                       # a number: rejected
        5: "0005.0005.0000.0000",        # topic header
        6: "0001.0001.0001.0009",        # not in the edition
        7: "0005.5.56.1149",              # shortened inner blocks, one reading exists
        8: "0005.0005.0056.12",           # ambiguous (0012 / 1200)
    }, extra={"F1": "Лишний", "A63": "nope", "C63": "0005.0005.0056.1149",
              "A64": "c01", "C64": "0005.0005.0056.1154", "A65": "c01", "C65": "0005.0005.0056.1149"})
    result = validate_workbook(path, index, categories)
    found = {(row, col, sev) for row, col, sev, _ in problems(result)}
    assert {(1, "F", "error"), (3, "C", "warning"), (4, "C", "error"), (5, "C", "error"), (6, "C", "error"),
            (7, "C", "warning"), (8, "C", "error"), (63, "A", "error"), (64, "C", "error"),
            (65, "A", "warning")} <= found
    messages = {(p.row, p.column): p.message for p in result.problems}
    assert "normalised to 0005.0005.0056.1153" in messages[(3, "C")]
    assert "number 5.0005" in messages[(4, "C")]
    assert "тематика header" in messages[(5, "C")]
    assert "not in the classifier edition 2025-10-31" in messages[(6, "C")]
    assert "ambiguous" in messages[(8, "C")]
    assert "mapped to 0005.0005.0056.1149 in row 2" in messages[(64, "C")]
    assert all(p.sheet == "Сопоставление" for p in result.problems)
    assert not result.ok


def test_merged_header_cells(template: Path, tmp_path: Path, index: CodeIndex,
                             categories: PosCategoryTree) -> None:
    wb = openpyxl.load_workbook(template)
    ws = wb["Сопоставление"]
    ws.merge_cells("B1:C1")
    wb.save(tmp_path / "m.xlsx")
    result = validate_workbook(tmp_path / "m.xlsx", index, categories)
    messages = [p.message for p in result.errors]
    assert any("merged cells B1:C1 in the header row" in m for m in messages)
    assert any("missing column «Код ССТУ»" in m for m in messages)


def test_hidden_rows_are_checked_like_others(template: Path, tmp_path: Path, index: CodeIndex,
                                             categories: PosCategoryTree) -> None:
    wb = openpyxl.load_workbook(template)
    ws = wb["Сопоставление"]
    ws["C5"] = "0001.0001.0001.0009"
    ws.row_dimensions[5].hidden = True
    wb.save(tmp_path / "h.xlsx")
    result = validate_workbook(tmp_path / "h.xlsx", index, categories)
    assert (5, None, "warning") in {(p.row, p.column, p.severity) for p in result.problems}
    assert (5, "C", "error") in {(p.row, p.column, p.severity) for p in result.problems}


def test_formula_without_cached_value_names_the_cell(template: Path, tmp_path: Path, index: CodeIndex,
                                                     categories: PosCategoryTree) -> None:
    path = fill(template, tmp_path / "f.xlsx", {4: '="0005.0005.0056."&"1149"'})
    result = validate_workbook(path, index, categories)
    (error,) = result.errors
    assert (error.row, error.column) == (4, "C") and "C4 holds a formula with no saved value" in error.message


def test_formula_with_cached_value_is_used(template: Path, tmp_path: Path, index: CodeIndex,
                                           categories: PosCategoryTree) -> None:
    path = fill(template, tmp_path / "f.xlsx", {4: '="0005.0005.0056.1149"'})
    with zipfile.ZipFile(path) as src:  # what Excel saves: the formula plus its computed value
        members = {n: src.read(n) for n in src.namelist()}
    sheet = members["xl/worksheets/sheet1.xml"]
    sheet = sheet.replace(b'<c r="C4" s="2"><f>"0005.0005.0056.1149"</f><v></v></c>',
                          b'<c r="C4" s="2" t="str"><f>"0005.0005.0056.1149"</f><v>0005.0005.0056.1149</v></c>')
    assert b"<v>0005.0005.0056.1149</v>" in sheet
    members["xl/worksheets/sheet1.xml"] = sheet
    out = tmp_path / "cached.xlsx"
    with zipfile.ZipFile(out, "w") as dst:
        for name, data in members.items():
            dst.writestr(name, data)
    result = validate_workbook(out, index, categories)
    assert result.ok
    assert any(p.row == 4 and "saved value" in p.message for p in result.warnings)
    assert result.entries["c01.01.01"].code == "0005.0005.0056.1149"


def test_legacy_xls_with_numeric_ids(tmp_path: Path, index: CodeIndex) -> None:
    from connector.rubric_mapping.pos_categories import from_wire

    tree = from_wire([{"id": "101", "parentId": None, "level": 1, "name": "Мусор"}])
    book = xlwt.Workbook()
    sheet = book.add_sheet("Сопоставление")
    for c, header in enumerate(("ID категории ПОС", "Категория ПОС (полный путь)", "Код ССТУ")):
        sheet.write(0, c, header)
    sheet.write(1, 0, 101)  # old Excel stored the id as a number
    sheet.write(1, 1, "Мусор")
    sheet.write(1, 2, "0005.0005.0056.1161")
    book.save(str(tmp_path / "old.xls"))
    result = validate_workbook(tmp_path / "old.xls", index, tree)
    assert result.ok and result.entries["101"].code == "0005.0005.0056.1161"


def test_large_sheet(tmp_path: Path, index: CodeIndex, categories: PosCategoryTree) -> None:
    wb = openpyxl.Workbook(write_only=True)
    ws = wb.create_sheet("Сопоставление")
    ws.append(["ID категории ПОС", "Код ССТУ", "Комментарий"])
    ids = [c.id for c in categories]
    for i in range(20_000):
        ws.append([ids[i % len(ids)], "0005.0005.0056.1168", f"r{i}"])
    wb.save(tmp_path / "big.xlsx")
    started = time.perf_counter()
    result = validate_workbook(tmp_path / "big.xlsx", index, categories)
    assert time.perf_counter() - started < 20
    assert result.data_rows == 20_000 and result.ok  # repeats are duplicate-row warnings
    assert len(result.warnings) == 20_000 - len(ids)


@pytest.mark.parametrize(("content", "match"), [
    (b"this is not a workbook", "not an Excel workbook"),
    (b"PK\x03\x04garbage", "cannot be read"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600 + "EncryptionInfo".encode("utf-16-le"), "password-protected"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600, "cannot be read|damaged"),
])
def test_unreadable_files(tmp_path: Path, index: CodeIndex, categories: PosCategoryTree, content: bytes,
                          match: str) -> None:
    path = tmp_path / "bad.xlsx"
    path.write_bytes(content)
    with pytest.raises(DataError, match=match):
        validate_workbook(path, index, categories)


def test_a_code_with_its_name_from_the_dropdown_counts_as_the_code(template: Path, tmp_path: Path,
                                                                   index: CodeIndex,
                                                                   categories: PosCategoryTree) -> None:
    from connector.rubric_mapping.codes import read_code_cell

    known = {"0005.0005.0056.1168"}
    assert read_code_cell("0005.0005.0056.1168 — Любое наименование", known).code == "0005.0005.0056.1168"
    assert read_code_cell("0005.0005.0056.1168 - Наименование", known).code == "0005.0005.0056.1168"
    assert read_code_cell("0005.0000.0000.0000 — Раздел", known).code == "0005.0000.0000.0000"
    assert read_code_cell("Жилищно-коммунальная сфера", known).error  # a name alone is no code
    picked = fill(template, tmp_path / "picked.xlsx", {2: "0005.0005.0056.1168 — Наименование вопроса"})
    result = validate_workbook(picked, index, categories)
    assert not result.errors
