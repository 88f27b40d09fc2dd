"""POS categories (Категория → Подкатегория → Факт), identified by id and full path.

Sources: the POS API list (:class:`WireCategory`), a JSON file of that list, and the
official «Категории_ПОС» spreadsheet (.xls via xlrd or .xlsx) in either of two layouts:
``id | parentId | level | name`` rows, or ``Категория | Подкатегория | Факт`` paths (with
optional id columns; without them the id is derived from the full path).  Names repeat
across branches, so nothing here ever looks a category up by its name alone.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from connector.errors import DataError
from connector.i18n import N_
from connector.rubric_mapping.spreadsheet import open_sheet

PATH_SEPARATOR = " / "
LEVEL_NAMES = {1: "Категория", 2: "Подкатегория", 3: "Факт"}
_ID_FORM = {"id": {"id", "код", "идентификатор", "id категории"},
            "parent": {"parentid", "parent_id", "родитель", "код родителя", "id родителя"},
            "level": {"level", "уровень"},
            "name": {"name", "наименование", "название"}}
_PATH_FORM = {1: {"категория"}, 2: {"подкатегория"}, 3: {"факт"}}
_PATH_IDS = {1: {"id категории", "код категории"}, 2: {"id подкатегории", "код подкатегории"},
             3: {"id факта", "код факта"}}


@dataclass(frozen=True, slots=True)
class PosCategory:
    id: str
    parent_id: str | None
    level: int
    name: str
    path: tuple[str, ...]

    @property
    def full_path(self) -> str:
        return PATH_SEPARATOR.join(self.path)


class PosCategoryTree:
    """Categories in tree order (parents before children, siblings in source order)."""

    def __init__(self, items: Iterable[tuple[str, str | None, int, str]]) -> None:
        raw = list(items)
        by_id: dict[str, tuple[str, str | None, int, str]] = {}
        for item in raw:
            if item[0] in by_id:
                raise DataError(N_("POS category id {id} appears twice"), params={"id": item[0]})
            by_id[item[0]] = item
        children: dict[str | None, list[str]] = {}
        for cid, parent, _level, _name in raw:
            if parent is not None and parent not in by_id:
                raise DataError(N_("POS category {id}: parent {parent} is not in the list"),
                                params={"id": cid, "parent": parent})
            children.setdefault(parent, []).append(cid)
        self.by_id: dict[str, PosCategory] = {}
        stack: list[tuple[str, tuple[str, ...]]] = [(cid, ()) for cid in reversed(children.get(None, []))]
        while stack:
            cid, prefix = stack.pop()
            _cid, parent, level, name = by_id[cid]
            path = (*prefix, name)
            if len(path) != level:
                raise DataError(N_("POS category {id} «{name}»: level {level} but depth {depth}"),
                                params={"id": cid, "name": name, "level": level, "depth": len(path)})
            self.by_id[cid] = PosCategory(cid, parent, level, name, path)
            stack.extend((child, path) for child in reversed(children.get(cid, [])))
        if len(self.by_id) != len(by_id):
            raise DataError(N_("POS categories contain a cycle"), params={})
        self.children = children
        self.by_path = {c.path: c for c in self.by_id.values()}

    def __len__(self) -> int:
        return len(self.by_id)

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self.by_id.values())

    def get(self, category_id: str) -> PosCategory | None:
        return self.by_id.get(category_id)

    def ancestors(self, category_id: str) -> list[PosCategory]:
        """The category itself first, then its parents up to the top level."""
        out = []
        current = self.by_id.get(category_id)
        while current is not None:
            out.append(current)
            current = self.by_id.get(current.parent_id) if current.parent_id else None
        return out

    def leaves(self) -> list[PosCategory]:
        return [c for c in self.by_id.values() if not self.children.get(c.id)]

    def to_wire(self) -> list[dict[str, Any]]:
        return [{"id": c.id, "parentId": c.parent_id, "level": c.level, "name": c.name} for c in self]


def from_wire(categories: Sequence[Any]) -> PosCategoryTree:
    """From ``PosClient.categories()`` (WireCategory) or dicts ``{id, parentId, level, name}``."""
    items = []
    for cat in categories:
        if isinstance(cat, dict):
            items.append((str(cat["id"]), _opt(cat.get("parentId", cat.get("parent_id"))),
                          int(cat["level"]), str(cat["name"])))
        else:
            items.append((cat.id, cat.parent_id, cat.level, cat.name))
    return PosCategoryTree(items)


def _opt(value: Any) -> str | None:
    return None if value is None or str(value).strip() == "" else _text(value)


def _text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def path_id(path: Sequence[str]) -> str:
    """A stable id for a category known only by its path."""
    return "p" + hashlib.sha1("\x1f".join(path).encode()).hexdigest()[:12]  # noqa: S324 - not security


def load_categories(path: Path) -> PosCategoryTree:
    """From a JSON list, or an .xls/.xlsx «Категории_ПОС» spreadsheet."""
    if not path.is_file():
        raise DataError(N_("{path}: no such file"), params={"path": path})
    if path.suffix.lower() == ".json":
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
            return from_wire(doc["categories"] if isinstance(doc, dict) else doc)
        except (UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            raise DataError(N_("{file}: not a list of POS categories ({error})"),
                            params={"file": path.name, "error": exc}) from exc
    return _from_sheet(path)


def _from_sheet(path: Path) -> PosCategoryTree:
    sheet = open_sheet(path)
    rows = [(n, v) for n, v in sheet.rows if any(x is not None and str(x).strip() for x in v)]
    for index, (_n, values) in enumerate(rows[:10]):
        headers = {_text(v).lower(): i for i, v in enumerate(values) if v is not None}
        if all(any(h in headers for h in names) for names in _ID_FORM.values()):
            cols = {k: next(headers[h] for h in names if h in headers) for k, names in _ID_FORM.items()}
            return _id_form(rows[index + 1:], cols, path.name)
        if all(any(h in headers for h in _PATH_FORM[level]) for level in (1, 2)):
            path_cols = {lvl: next((headers[h] for h in names if h in headers), None)
                         for lvl, names in _PATH_FORM.items()}
            ids = {lvl: next((headers[h] for h in names if h in headers), None)
                   for lvl, names in _PATH_IDS.items()}
            return _path_form(rows[index + 1:], path_cols, ids, path.name)
    raise DataError(N_("{file}: no header row found (expected «Категория | Подкатегория | Факт» "
                       "or «id | parentId | level | name»)"), params={"file": path.name})


def _cell(values: tuple[Any, ...], index: int | None) -> str | None:
    if index is None or index >= len(values) or values[index] is None:
        return None
    return _text(values[index]) or None


def _id_form(rows: list[tuple[int, tuple[Any, ...]]], cols: dict[str, int], source: str) -> PosCategoryTree:
    items = []
    for row_no, values in rows:
        cid, name, level = _cell(values, cols["id"]), _cell(values, cols["name"]), _cell(values, cols["level"])
        if not cid or not name or not level or not level.isdigit():
            raise DataError(N_("{file} row {row}: id, level and name are required"),
                            params={"file": source, "row": row_no})
        items.append((cid, _cell(values, cols["parent"]), int(level), name))
    return PosCategoryTree(items)


def _path_form(rows: list[tuple[int, tuple[Any, ...]]], cols: dict[int, int | None],
               ids: dict[int, int | None], source: str) -> PosCategoryTree:
    """Blank leading cells repeat the row above (merged or "same as above" layouts)."""
    items: list[tuple[str, str | None, int, str]] = []
    known: dict[tuple[str, ...], str] = {}
    last: list[str | None] = [None, None, None]
    for row_no, values in rows:
        names = [_cell(values, cols[lvl]) for lvl in (1, 2, 3)]
        deepest = max((i for i, n in enumerate(names) if n), default=-1)
        if deepest < 0:
            continue
        for i in range(deepest):
            if names[i] is None:
                names[i] = last[i]
            if names[i] is None:
                raise DataError(N_("{file} row {row}: «{name}» has no parent category"),
                                params={"file": source, "row": row_no, "name": names[deepest]})
        last = [*names[:deepest + 1], *([None] * (2 - deepest))]
        parent: str | None = None
        for i in range(deepest + 1):
            path = tuple(n for n in names[:i + 1] if n)
            if path not in known:
                given = _cell(values, ids[i + 1])
                known[path] = given or path_id(path)
                items.append((known[path], parent, i + 1, path[-1]))
            parent = known[path]
    return PosCategoryTree(items)
