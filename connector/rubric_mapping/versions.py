"""Persistence and comparison: classifier editions, mapping versions, diffs, edition-switch impact.

Functions take an open SQLAlchemy ``Session``; the caller owns the transaction.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.orm import Session

from connector.errors import DataError
from connector.i18n import N_
from connector.rubric_mapping.classifier import Classifier, ClassifierNode, ImportReport
from connector.rubric_mapping.models import (
    ClassifierEdition,
    ClassifierNodeRow,
    MappingRowRecord,
    MappingVersion,
    PosCategoryRow,
)
from connector.rubric_mapping.pos_categories import PosCategoryTree, from_wire
from connector.rubric_mapping.workbook import MappingEntry


def mapping_hash(entries: Mapping[str, MappingEntry]) -> str:
    doc = sorted((cid, e.code, e.comment) for cid, e in entries.items())
    return hashlib.sha256(json.dumps(doc, ensure_ascii=False).encode()).hexdigest()


def classifier_hash(classifier: Classifier) -> str:
    doc = [(n.code, n.name) for n in classifier.nodes.values()]
    return hashlib.sha256(json.dumps(doc, ensure_ascii=False).encode()).hexdigest()


# --- classifier editions -------------------------------------------------------------------

def store_edition(session: Session, label: str, classifier: Classifier, report: ImportReport,
                  *, make_current: bool) -> ClassifierEdition:
    if session.scalar(select(ClassifierEdition).where(ClassifierEdition.label == label)) is not None:
        raise DataError(N_("classifier edition «{label}» already exists; choose another --edition label"),
                        params={"label": label})
    first = session.scalar(select(func.count()).select_from(ClassifierEdition)) == 0
    edition = ClassifierEdition(label=label, source_file=report.source, content_hash=classifier_hash(classifier),
                                node_count=len(classifier), is_current=False, report=report.to_dict())
    session.add(edition)
    session.flush()
    session.execute(insert(ClassifierNodeRow), [
        {"edition_id": edition.id, "code": n.code, "name": n.name, "level": n.level, "parent_code": n.parent}
        for n in classifier.nodes.values()])
    if make_current or first:
        set_current(session, edition)
    return edition


def set_current(session: Session, edition: ClassifierEdition) -> None:
    session.execute(update(ClassifierEdition).values(is_current=False))
    edition.is_current = True
    session.flush()


def get_edition(session: Session, label: str | None = None) -> ClassifierEdition:
    query = select(ClassifierEdition)
    query = query.where(ClassifierEdition.label == label) if label else query.where(ClassifierEdition.is_current)
    edition = session.scalar(query)
    if edition is None:
        raise DataError(N_("no classifier edition «{label}»") if label else
                        N_("no current classifier edition: run `connector classifier import FILE` first"),
                        params={"label": label})
    return edition


def load_classifier(session: Session, edition: ClassifierEdition) -> Classifier:
    rows = session.execute(select(ClassifierNodeRow.code, ClassifierNodeRow.name, ClassifierNodeRow.level,
                                  ClassifierNodeRow.parent_code)
                           .where(ClassifierNodeRow.edition_id == edition.id)
                           .order_by(ClassifierNodeRow.code))
    return Classifier(nodes={c: ClassifierNode(c, n, lv, p) for c, n, lv, p in rows})


# --- POS categories ------------------------------------------------------------------------

def store_categories(session: Session, tree: PosCategoryTree, source: str) -> None:
    session.execute(delete(PosCategoryRow))
    session.execute(insert(PosCategoryRow), [
        {"category_id": c.id, "parent_id": c.parent_id, "level": c.level, "name": c.name, "position": i,
         "source": source} for i, c in enumerate(tree)])


def load_categories_from_store(session: Session) -> PosCategoryTree | None:
    rows = session.scalars(select(PosCategoryRow).order_by(PosCategoryRow.position)).all()
    if not rows:
        return None
    return from_wire([{"id": r.category_id, "parentId": r.parent_id, "level": r.level, "name": r.name}
                      for r in rows])


# --- mapping versions ----------------------------------------------------------------------

def latest_version(session: Session) -> MappingVersion | None:
    return session.scalar(select(MappingVersion).order_by(MappingVersion.number.desc()).limit(1))


def get_version(session: Session, number: int) -> MappingVersion:
    version = session.scalar(select(MappingVersion).where(MappingVersion.number == number))
    if version is None:
        raise DataError(N_("no mapping version {number}"), params={"number": number})
    return version


def version_entries(session: Session, version: MappingVersion) -> dict[str, MappingEntry]:
    rows = session.execute(select(MappingRowRecord.category_id, MappingRowRecord.code, MappingRowRecord.comment)
                           .where(MappingRowRecord.version_id == version.id))
    return {cid: MappingEntry(code=code, comment=comment) for cid, code, comment in rows}


def store_version(session: Session, entries: Mapping[str, MappingEntry], tree: PosCategoryTree,
                  file_name: str, edition: ClassifierEdition) -> tuple[MappingVersion, bool]:
    """Returns (version, created): an unchanged mapping (same hash as the latest) stores nothing."""
    digest = mapping_hash(entries)
    latest = latest_version(session)
    if latest is not None and latest.content_hash == digest and latest.edition_id == edition.id:
        return latest, False
    version = MappingVersion(number=(latest.number + 1) if latest else 1, content_hash=digest,
                             file_name=file_name, edition_id=edition.id, row_count=len(entries))
    session.add(version)
    session.flush()
    if entries:
        session.execute(insert(MappingRowRecord), [
            {"version_id": version.id, "category_id": cid, "code": e.code, "comment": e.comment,
             "category_path": _path(tree, cid)} for cid, e in sorted(entries.items())])
    return version, True


def _path(tree: PosCategoryTree | None, cid: str) -> str:
    cat = tree.get(cid) if tree else None
    return cat.full_path if cat else ""


@dataclass(slots=True)
class MappingDiff:
    added: list[dict[str, str]] = field(default_factory=list)
    removed: list[dict[str, str]] = field(default_factory=list)
    changed: list[dict[str, str]] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.changed)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def diff_entries(a: Mapping[str, MappingEntry], b: Mapping[str, MappingEntry],
                 tree: PosCategoryTree | None = None) -> MappingDiff:
    def path(cid: str) -> str:
        cat = tree.get(cid) if tree else None
        return cat.full_path if cat else ""

    out = MappingDiff()
    for cid in sorted(set(a) | set(b)):
        old, new = a.get(cid), b.get(cid)
        if old is None and new is not None:
            out.added.append({"category": cid, "path": path(cid), "code": new.code})
        elif new is None and old is not None:
            out.removed.append({"category": cid, "path": path(cid), "code": old.code})
        elif old is not None and new is not None and old != new:
            out.changed.append({"category": cid, "path": path(cid), "old_code": old.code, "new_code": new.code,
                                "old_comment": old.comment, "new_comment": new.comment})
    return out


@dataclass(slots=True)
class SwitchImpact:
    """What switching editions does to the latest mapping: vanished, moved and renamed codes."""

    target: str
    vanished: list[dict[str, str]] = field(default_factory=list)
    moved: list[dict[str, str]] = field(default_factory=list)
    renamed: list[dict[str, str]] = field(default_factory=list)

    @property
    def breaking(self) -> bool:
        return bool(self.vanished or self.moved)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def switch_impact(entries: Mapping[str, MappingEntry], old: Classifier, new: Classifier, target: str,
                  tree: PosCategoryTree | None = None) -> SwitchImpact:
    """Moved = the code is gone but a question of the same name exists under another code."""
    by_name: dict[str, list[str]] = {}
    for node in new.nodes.values():
        if node.is_question:
            by_name.setdefault(node.name.casefold(), []).append(node.code)
    impact = SwitchImpact(target=target)
    for cid, entry in sorted(entries.items()):
        cat = tree.get(cid) if tree else None
        row = {"category": cid, "path": cat.full_path if cat else "", "code": entry.code,
               "name": old.name(entry.code) or ""}
        if entry.code in new.nodes:
            if old.name(entry.code) and new.name(entry.code) != old.name(entry.code):
                impact.renamed.append({**row, "new_name": new.name(entry.code) or ""})
            continue
        candidates = by_name.get((old.name(entry.code) or "").casefold(), [])
        if candidates:
            impact.moved.append({**row, "new_codes": ", ".join(candidates)})
        else:
            impact.vanished.append(row)
    return impact
