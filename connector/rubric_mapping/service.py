"""What the CLI calls: each function takes a :class:`Store` and does one verb, all-or-nothing."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from connector.errors import DataError
from connector.i18n import N_
from connector.rubric_mapping import versions as v
from connector.rubric_mapping.classifier_import import import_classifier_file
from connector.rubric_mapping.lookup import RubricLookup
from connector.rubric_mapping.models import ClassifierEdition, MappingExport
from connector.rubric_mapping.pos_categories import PosCategoryTree, from_wire, load_categories
from connector.rubric_mapping.report import write_report
from connector.rubric_mapping.validate import CodeIndex, ValidationResult, validate_workbook
from connector.rubric_mapping.workbook import write_mapping_workbook
from connector.store.db import Store

SAMPLES_DIR = Path(__file__).with_name("samples")
_DATE_RE = re.compile(r"(\d{4}-\d{2}-\d{2})")


def default_label(path: Path) -> str:
    match = _DATE_RE.search(path.name)
    return match.group(1) if match else path.stem[:64]


def import_classifier(store: Store, path: Path, label: str | None = None, *, make_current: bool = True
                      ) -> dict[str, Any]:
    classifier, report = import_classifier_file(path)
    if not len(classifier):
        rejected = "; ".join(f"{r['where']}: {r['raw']!r} {r['reason']}" for r in report.rejected[:5])
        raise DataError(N_("{file}: no valid classifier code ({rejected}): nothing imported") if rejected else
                        N_("{file}: no valid classifier code: nothing imported"),
                        params={"file": path.name, "rejected": rejected})
    label = label or default_label(path)
    with store.session() as session, session.begin():
        edition = v.store_edition(session, label, classifier, report, make_current=make_current)
        current = edition.is_current
    return {"edition": label, "current": current, **report.to_dict()}


def list_editions(store: Store) -> list[dict[str, Any]]:
    from sqlalchemy import select

    with store.session() as session:
        rows = session.scalars(select(ClassifierEdition).order_by(ClassifierEdition.imported_at)).all()
        return [{"edition": e.label, "nodes": e.node_count, "current": e.is_current, "source": e.source_file,
                 "imported_at": e.imported_at.isoformat()} for e in rows]


@dataclass(slots=True)
class SwitchOutcome:
    impact: v.SwitchImpact
    switched: bool


def use_edition(store: Store, label: str, *, force: bool = False) -> SwitchOutcome:
    """List the mapping rows the switch breaks first; refuse if codes vanish/move unless forced."""
    with store.session() as session, session.begin():
        target = v.get_edition(session, label)
        latest = v.latest_version(session)
        impact = v.SwitchImpact(target=label)
        if latest is not None:
            entries = v.version_entries(session, latest)
            old = v.load_classifier(session, session.get(ClassifierEdition, latest.edition_id))  # type: ignore[arg-type]
            new = v.load_classifier(session, target)
            impact = v.switch_impact(entries, old, new, label, v.load_categories_from_store(session))
        if impact.breaking and not force:
            return SwitchOutcome(impact, switched=False)
        v.set_current(session, target)
    return SwitchOutcome(impact, switched=True)


def resolve_categories(store: Store, categories_file: Path | None) -> tuple[PosCategoryTree, str]:
    """From a file (and remember it), else the list stored last time."""
    if categories_file is not None:
        tree = load_categories(categories_file)
        with store.session() as session, session.begin():
            v.store_categories(session, tree, categories_file.name)
        return tree, categories_file.name
    with store.session() as session:
        tree_or_none = v.load_categories_from_store(session)
    if tree_or_none is None:
        raise DataError(N_("no POS categories known yet: pass --categories FILE (.xls, .xlsx or .json; a sample is "
                           "{sample})"), params={"sample": SAMPLES_DIR / "SAMPLE_pos_categories.json"})
    return tree_or_none, "store"


def store_categories_file(store: Store, path: Path) -> PosCategoryTree:
    """«Категории_ПОС» (.xls/.xlsx) or a JSON list → the stored category list."""
    tree = load_categories(path)
    with store.session() as session, session.begin():
        v.store_categories(session, tree, path.name)
    return tree


def refresh_categories_from_api(store: Store, client: Any) -> PosCategoryTree:
    """``PosClient.categories()`` → the stored category list."""
    tree = from_wire(client.categories())
    with store.session() as session, session.begin():
        v.store_categories(session, tree, "POS API /v1/categories")
    return tree


def make_template(store: Store, out: Path, categories_file: Path | None = None) -> dict[str, Any]:
    tree, source = resolve_categories(store, categories_file)
    with store.session() as session, session.begin():
        edition = v.get_edition(session)
        rows = write_mapping_workbook(out, tree, v.load_classifier(session, edition), edition.label)
        session.add(MappingExport(version_id=None, edition_id=edition.id, file_name=out.name, kind="template"))
    return {"file": str(out), "rows": rows, "edition": edition.label, "categories": source}


def export_mapping(store: Store, out: Path) -> dict[str, Any]:
    tree, _source = resolve_categories(store, None)
    with store.session() as session, session.begin():
        edition = v.get_edition(session)
        latest = v.latest_version(session)
        entries = v.version_entries(session, latest) if latest else {}
        rows = write_mapping_workbook(out, tree, v.load_classifier(session, edition), edition.label, entries,
                                      latest.number if latest else None)
        session.add(MappingExport(version_id=latest.id if latest else None, edition_id=edition.id,
                                  file_name=out.name, kind="export"))
    return {"file": str(out), "rows": rows, "edition": edition.label,
            "version": latest.number if latest else None}


def _index_and_tree(store: Store) -> tuple[CodeIndex, PosCategoryTree]:
    tree, _source = resolve_categories(store, None)
    with store.session() as session:
        edition = v.get_edition(session)
        return CodeIndex(v.load_classifier(session, edition), edition.label), tree


def validate_file(store: Store, path: Path, *, require_full: bool = False,
                  report: Path | None = None) -> ValidationResult:
    index, tree = _index_and_tree(store)
    result = validate_workbook(path, index, tree, require_full=require_full)
    if report is not None:
        write_report(path, result, report)
    return result


def import_mapping(store: Store, path: Path, *, require_full: bool = False) -> dict[str, Any]:
    """Store a new version only when the file is valid and differs from the latest version."""
    index, tree = _index_and_tree(store)
    result = validate_workbook(path, index, tree, require_full=require_full)
    out: dict[str, Any] = {"validation": result.to_dict(), "stored": False, "version": None}
    if not result.ok:
        return out
    with store.session() as session, session.begin():
        edition = v.get_edition(session)
        version, created = v.store_version(session, result.entries, tree, path.name, edition)
        out.update(stored=created, version=version.number, content_hash=version.content_hash)
    return out


def diff(store: Store, a: str, b: str) -> dict[str, Any]:
    """``a``/``b``: a version number or a workbook path."""
    index, tree = _index_and_tree(store)
    sides = [_entries_of(store, ref, index, tree) for ref in (a, b)]
    return {"a": a, "b": b, **v.diff_entries(sides[0], sides[1], tree).to_dict()}


def _entries_of(store: Store, ref: str, index: CodeIndex, tree: PosCategoryTree) -> dict[str, Any]:
    if ref.isdigit() and not Path(ref).exists():
        with store.session() as session:
            return v.version_entries(session, v.get_version(session, int(ref)))
    result = validate_workbook(Path(ref), index, tree)
    if not result.ok:
        raise DataError(N_("{file}: not a valid mapping (errors: {errors}; run `connector mapping "
                           "validate`)"),
                        params={"file": ref, "errors": len(result.errors)})
    return result.entries


def current_lookup(store: Store) -> RubricLookup:
    """The lookup the SSTU export uses: stored categories + the latest mapping version."""
    tree, _source = resolve_categories(store, None)
    with store.session() as session:
        latest = v.latest_version(session)
        return RubricLookup(tree, v.version_entries(session, latest) if latest else {})
