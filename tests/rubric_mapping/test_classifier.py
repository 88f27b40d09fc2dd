"""Classifier import: the official 31.10.2025 edition (JSON tree), .docx and .xlsx forms."""

from __future__ import annotations

from pathlib import Path

import docx
import openpyxl
import pytest

from connector.errors import DataError
from connector.rubric_mapping.classifier import clean_name
from connector.rubric_mapping.classifier_import import import_classifier_file
from connector.rubric_mapping.codes import code_level, code_problem, parent_code

from rm_support import EDITION_2025

HEADING = ("Жилищно-коммунальная сфера 0000.ХХХХ.0000.0000 – ПЕРЕЧЕНЬ ТЕМАТИК ТИПОВОГО ОБЩЕРОССИЙСКОГО "
           "ТЕМАТИЧЕСКОГО КЛАССИФИКАТОРА ОБРАЩЕНИЙ ГРАЖДАН РОССИЙСКОЙ ФЕДЕРАЦИИ")
FOOTNOTE = ("Деятельность избирательных комиссий 1 При выборе данного вопроса необходимо обязательно "
            "выбирать основной(ые) вопрос(ы)")


def test_edition_2025_counts_levels_and_cleaned_names() -> None:
    classifier, report = import_classifier_file(EDITION_2025)
    assert report.node_count == len(classifier) == 2094
    assert report.sections == {"0001": 473, "0002": 513, "0003": 548, "0004": 473, "0005": 87}
    assert report.rejected == [] and report.warnings == []
    levels = [n.level for n in classifier.nodes.values()]
    assert levels.count(1) == 5 and levels.count(5) == 643
    assert all(len(code) <= 24 and len(code.split(".")) in (4, 5) for code in classifier.nodes)
    node = classifier.nodes["0001.0003.0029.0201.0074"]
    assert node.level == 5 and node.parent == "0001.0003.0029.0201"
    assert classifier.nodes["0005.0005.0056.1149"].parent == "0005.0005.0056.0000"
    cleaned = {c["code"]: c for c in report.cleaned}
    assert set(cleaned) == {"0001.0001.0008.0025", "0001.0002.0027.0142"}
    assert classifier.name("0001.0001.0008.0025") == "Деятельность избирательных комиссий"
    assert classifier.name("0001.0002.0027.0142") == ("Личный прием руководителями федеральных органов "
                                                      "исполнительной власти")
    assert classifier.name("0005.0000.0000.0000") == "Жилищно-коммунальная сфера"
    assert "0001.0002.0027.0126" not in classifier.nodes  # lost by the third-party parse, as documented


@pytest.mark.parametrize(("raw", "expected", "reason"), [
    (HEADING, "Жилищно-коммунальная сфера", "page heading"),
    (FOOTNOTE, "Деятельность избирательных комиссий", "footnote"),
    ("Система обеспечения вызова экстренных оперативных служб по единому номеру 112",
     "Система обеспечения вызова экстренных оперативных служб по единому номеру 112", None),
    ("Вопросы, касающиеся ареста имущества по ст. 77 НК РФ", "Вопросы, касающиеся ареста имущества по ст. 77 НК РФ",
     None),
])
def test_clean_name(raw: str, expected: str, reason: str | None) -> None:
    name, reasons = clean_name(raw)
    assert name == expected
    assert (reason in " ".join(reasons)) if reason else reasons == []


@pytest.mark.parametrize(("code", "problem"), [
    ("0005.0005.0056.1149", None), ("0001.0003.0029.0201.0074", None), ("0005.0000.0000.0000", None),
    ("0000.0000.0000.0126", "section block"), ("0005.0000.0056.0000", "non-zero block follows"),
    ("0005.0005.0056", "4 or 5 blocks"), ("0005.0005.0056.1149.0001.0001", "longer than 24"),
    ("0005.0005.0056.0000.0001", "detail"),
])
def test_code_rules(code: str, problem: str | None) -> None:
    found = code_problem(code)
    assert (problem in found) if problem else found is None


def test_levels_and_parents() -> None:
    assert [code_level(c) for c in ("0005.0000.0000.0000", "0005.0005.0000.0000", "0005.0005.0056.0000",
                                    "0005.0005.0056.1149", "0005.0005.0056.1149.0001")] == [1, 2, 3, 4, 5]
    assert parent_code("0005.0005.0056.1149") == "0005.0005.0056.0000"
    assert parent_code("0005.0000.0000.0000") is None


def _official_docx(path: Path) -> Path:
    """The official form: codes + names in paragraphs and in table cells, with its two traps."""
    document = docx.Document()
    document.add_paragraph(HEADING)  # a heading without a code: ignored
    document.add_paragraph("0005.0000.0000.0000 " + HEADING)  # heading glued to the section name
    document.add_paragraph("0005.0000.0000.0000 Жилищно-коммунальная сфера")  # the same section again
    document.add_paragraph("0005.0005.0000.0000 Жилище")
    table = document.add_table(rows=4, cols=2)
    rows = [("0005.0005.0056.0000", "Коммунальное хозяйство"),
            ("0005.0005.0056.1149", "Оплата жилищно-коммунальных услуг (ЖКХ), взносов в Фонд капитального ремонта"),
            ("0005.0005.0056.11532", "Перебои в электроснабжении"),  # footnote marker 2 glued to the code
            ("0005.0005.0056.1154", "Перебои в водоснабжении 3 При выборе данного вопроса необходимо обязательно "
                                    "выбирать основной вопрос")]
    for row, (code, name) in zip(table.rows, rows, strict=True):
        row.cells[0].text, row.cells[1].text = code, name
    document.add_paragraph("0001.0000.0000.0000 Государство, общество, политика")
    document.add_paragraph("0001.0002.0000.0000 Основы государственного управления")
    document.add_paragraph("0001.0002.0027.0000 Обращения, заявления и жалобы граждан")
    document.add_paragraph("0001.0002.0027.01262 Отсутствует адресат обращения")
    document.add_paragraph("0001.0002.0027.0142")  # code in one paragraph, name in the next
    document.add_paragraph("Личный прием руководителями федеральных органов исполнительной власти")
    document.add_paragraph("12.34.56 not a code")
    document.add_paragraph("0000.0000.0000.0000.0001 на территории Российской Федерации")
    document.save(str(path))
    return path


def test_docx_import_recovers_footnote_codes_and_cleans_names(tmp_path: Path) -> None:
    classifier, report = import_classifier_file(_official_docx(tmp_path / "Классификатор 2025-10-31.docx"))
    assert classifier.name("0005.0000.0000.0000") == "Жилищно-коммунальная сфера"
    assert classifier.name("0005.0005.0056.1154") == "Перебои в водоснабжении"
    assert classifier.name("0001.0002.0027.0126") == "Отсутствует адресат обращения"
    assert classifier.name("0005.0005.0056.1153") == "Перебои в электроснабжении"
    assert classifier.name("0001.0002.0027.0142").startswith("Личный прием")
    recovered = {r["raw"]: r for r in report.recovered}
    assert recovered["0001.0002.0027.01262"]["code"] == "0001.0002.0027.0126"
    assert recovered["0001.0002.0027.01262"]["footnote"] == "2"
    assert recovered["0005.0005.0056.11532"]["where"].startswith("table 1")
    assert {c["code"] for c in report.cleaned} == {"0005.0000.0000.0000", "0005.0005.0056.1154"}
    assert report.duplicates == []  # the section listed twice, identical once cleaned
    assert [r["raw"] for r in report.rejected] == ["0000.0000.0000.0000.0001"]
    assert report.node_count == 11


def test_xlsx_import(tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["Код", "Наименование"])
    ws.append(["0005.0000.0000.0000", "Жилищно-коммунальная сфера"])
    ws.append(["0005.0005.0000.0000", "Жилище"])
    ws.append(["0005.0005.0056.0000", "Коммунальное хозяйство"])
    ws.append(["0005.0005.0056.1149", "Оплата жилищно-коммунальных услуг"])
    ws.append(["5.0005.0056.1150", "not padded: rejected"])
    path = tmp_path / "classifier.xlsx"
    wb.save(path)
    classifier, report = import_classifier_file(path)
    assert len(classifier) == 4 and report.rejected == []  # "5.0005…" is not a code at all: not read


@pytest.mark.parametrize(("name", "content", "match"), [
    ("c.docx", b"not a zip", "not a readable .docx"),
    ("c.json", b"{broken", "not a JSON classifier"),
    ("c.doc", b"\xd0\xcf\x11\xe0", "converted first"),
    ("c.txt", b"x", "unsupported"),
    ("c.json", b"[]", "no classifier codes"),
])
def test_bad_classifier_files(tmp_path: Path, name: str, content: bytes, match: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(DataError, match=match):
        import_classifier_file(path)
