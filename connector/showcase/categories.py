"""A card's rubric (an ССТУ classifier code) → the POS category the showcase groups it under.

The rubric mapping goes POS category → code; the showcase needs the way back for appeals that carry
only a code (the EDMS's appeals of other channels, a POS message whose category is missing).  Rule:
the most general POS category mapped to the code wins (a Категория over its Подкатегория or Факт),
ties go to the category list's order; a code nothing is mapped to gives None.
"""

from __future__ import annotations

from collections.abc import Callable

from connector.rubric_mapping.lookup import RubricLookup
from connector.rubric_mapping.pos_categories import PosCategory
from connector.showcase.models import ShowcaseCategory

RubricCategory = Callable[[str], ShowcaseCategory | None]


def rubric_categories(lookup: RubricLookup) -> RubricCategory:
    order = {cid: n for n, cid in enumerate(lookup.tree.by_id)}
    best: dict[str, PosCategory] = {}
    for cid, code in lookup.codes.items():
        category = lookup.tree.get(cid)
        if category is None or not code:
            continue
        current = best.get(code)
        if current is None or (category.level, order[cid]) < (current.level, order[current.id]):
            best[code] = category
    found = {code: ShowcaseCategory(id=c.id, name=c.name) for code, c in best.items()}
    return lambda code: found.get(code.strip())
