"""POS category → SSTU code for the SSTU export: the most specific rule wins.

A Факт's own code beats its Подкатегория's, which beats its Категория's.  When nothing on the
path is mapped the answer is an explicit :class:`NotMapped`, never a silent default.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from connector.i18n import _
from connector.rubric_mapping.pos_categories import LEVEL_NAMES, PosCategoryTree
from connector.rubric_mapping.workbook import MappingEntry


@dataclass(frozen=True, slots=True)
class Mapped:
    code: str
    via_category: str  # the id whose rule matched
    via_level: str     # Категория | Подкатегория | Факт


@dataclass(frozen=True, slots=True)
class NotMapped:
    category: str | None
    reason: str


LookupResult = Mapped | NotMapped


class RubricLookup:
    def __init__(self, tree: PosCategoryTree, entries: Mapping[str, MappingEntry]) -> None:
        self.tree = tree
        self.codes = {cid: e.code for cid, e in entries.items()}

    def by_id(self, category_id: str) -> LookupResult:
        """The deepest known id of an appeal (its fact id, else subcategory, else category)."""
        chain = self.tree.ancestors(category_id)
        if not chain:
            return NotMapped(category_id, _("unknown POS category id «{id}»").format(id=category_id))
        for cat in chain:  # the category itself first, then its parents
            code = self.codes.get(cat.id)
            if code:
                return Mapped(code=code, via_category=cat.id, via_level=LEVEL_NAMES.get(cat.level, str(cat.level)))
        return NotMapped(category_id,
                         _("no SSTU code for «{path}» or its parents").format(path=chain[0].full_path))

    def by_ids(self, category_id: str | None, subcategory_id: str | None = None,
               fact_id: str | None = None) -> LookupResult:
        """An appeal's ``category/subcategory/fact`` ids; the most specific one given decides."""
        for cid in (fact_id, subcategory_id, category_id):
            if cid:
                return self.by_id(cid)
        return NotMapped(None, _("the appeal has no POS category"))

    def by_path(self, names: Sequence[str]) -> LookupResult:
        """A full path of names (unique, unlike a name alone)."""
        cat = self.tree.by_path.get(tuple(n.strip() for n in names))
        if cat is None:
            return NotMapped(None, _("unknown POS category path «{path}»").format(path=" / ".join(names)))
        return self.by_id(cat.id)
