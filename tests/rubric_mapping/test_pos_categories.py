"""POS categories from the API list and from «Категории_ПОС» .xls (legacy) / .xlsx."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest
import xlwt

from connector.errors import DataError
from connector.rubric_mapping.pos_categories import from_wire, load_categories, path_id
from connector.simulators.pos.generator import build_categories


def test_from_api_list_keeps_same_names_apart() -> None:
    tree = from_wire(build_categories())
    lighting = [c for c in tree if c.name == "Освещение"]
    assert len(lighting) == 3 and len({c.id for c in lighting}) == 3
    assert {c.full_path for c in lighting} == {"Автомобильные дороги / Освещение",
                                               "Дворы и территории общего пользования / Освещение",
                                               "Благоустройство / Освещение"}
    card = tree.get("c04.01.01")
    assert card is not None and card.full_path == "Медицина / Медицинская карта / Медицинская карта"
    assert [a.level for a in tree.ancestors("c04.01.01")] == [3, 2, 1]


def test_xls_path_form_from_old_excel(tmp_path: Path) -> None:
    book = xlwt.Workbook()
    sheet = book.add_sheet("Категории")
    rows = [("Категория", "Подкатегория", "Факт", "ID факта"),
            ("Медицина", "Медицинская карта", "Медицинская карта", 1001),
            ("", "", "Выдача карты", 1002),  # blank cells repeat the row above
            ("Выплаты и пособия", "Пособия на детей", "Задержка выплаты", 2001),
            ("", "Социальные выплаты", "Задержка выплаты", 2002)]
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            sheet.write(r, c, value)
    path = tmp_path / "Категории_ПОС.xls"
    book.save(str(path))
    tree = load_categories(path)
    assert len(tree) == 9
    assert tree.get("1001").full_path == "Медицина / Медицинская карта / Медицинская карта"  # type: ignore[union-attr]
    delays = [c for c in tree if c.name == "Задержка выплаты"]
    assert {c.id for c in delays} == {"2001", "2002"}
    assert tree.by_path[("Медицина",)].id == path_id(("Медицина",))


def test_xlsx_id_form(tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["id", "parentId", "level", "name"])
    ws.append(["10", None, 1, "Мусор"])
    ws.append(["11", "10", 2, "Вывоз ТКО"])
    ws.append(["12", "11", 3, "Переполнены контейнеры"])
    path = tmp_path / "Категории_ПОС.xlsx"
    wb.save(path)
    tree = load_categories(path)
    assert tree.get("12").full_path == "Мусор / Вывоз ТКО / Переполнены контейнеры"  # type: ignore[union-attr]


@pytest.mark.parametrize(("items", "match"), [
    ([{"id": "a", "parentId": None, "level": 1, "name": "A"}, {"id": "a", "parentId": None, "level": 1, "name": "B"}],
     "appears twice"),
    ([{"id": "b", "parentId": "zz", "level": 2, "name": "B"}], "not in the list"),
    ([{"id": "a", "parentId": None, "level": 2, "name": "A"}], "level 2 but depth 1"),
])
def test_bad_category_lists(items: list[dict[str, object]], match: str) -> None:
    with pytest.raises(DataError, match=match):
        from_wire(items)
