"""Lookup for the SSTU export: the most specific rule wins; NotMapped is explicit."""

from __future__ import annotations

from connector.rubric_mapping.lookup import Mapped, NotMapped, RubricLookup
from connector.rubric_mapping.pos_categories import PosCategoryTree
from connector.rubric_mapping.workbook import MappingEntry


def test_most_specific_wins(categories: PosCategoryTree) -> None:
    lookup = RubricLookup(categories, {"c04": MappingEntry("0002.0014.0143.0389"),
                                       "c04.01": MappingEntry("0002.0014.0143.0413"),
                                       "c04.01.01": MappingEntry("0002.0014.0143.0390")})
    assert lookup.by_id("c04.01.01") == Mapped("0002.0014.0143.0390", "c04.01.01", "Факт")
    assert lookup.by_ids("c04", "c04.02", "c04.02.01") == Mapped("0002.0014.0143.0389", "c04", "Категория")
    assert lookup.by_ids("c04", "c04.01") == Mapped("0002.0014.0143.0413", "c04.01", "Подкатегория")
    assert lookup.by_path(["Медицина", "Медицинская карта", "Медицинская карта"]).code == "0002.0014.0143.0390"


def test_not_mapped_is_explicit(categories: PosCategoryTree) -> None:
    lookup = RubricLookup(categories, {})
    result = lookup.by_id("c01.02.01")
    assert isinstance(result, NotMapped) and "Автомобильные дороги / Освещение" in result.reason
    assert isinstance(lookup.by_id("nope"), NotMapped)
    assert isinstance(lookup.by_ids(None), NotMapped)
    assert isinstance(lookup.by_path(["Освещение"]), NotMapped)  # a name alone never identifies
