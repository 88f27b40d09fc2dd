"""Editions side by side, versions by content hash, export round-trip, diff, edition switch, CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, inspect, select

from connector.cli.mapping import classifier, mapping
from connector.errors import DataError
from connector.rubric_mapping import service
from connector.rubric_mapping.models import MappingExport, MappingVersion
from connector.rubric_mapping.pos_categories import PosCategoryTree
from connector.store.db import Store, current_revision, make_engine, upgrade

from rm_support import EDITION_2025, GOOD_CODES, SAMPLES, fill, fill_all


def _versions(store: Store) -> int:
    with store.session() as s:
        return s.scalar(select(func.count()).select_from(MappingVersion)) or 0


def test_migration_upgrades_a_0001_database(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    upgrade(engine, "0001")
    assert current_revision(engine) == "0001"
    upgrade(engine)
    assert current_revision(engine) != "0001"
    tables = set(inspect(engine).get_table_names())
    assert {"classifier_editions", "mapping_versions", "sstu_appeals", "messages"} <= tables


def test_editions_side_by_side_one_current(store: Store) -> None:
    service.import_classifier(store, SAMPLES / "SAMPLE_sstu_classifier.json", "sample")
    report = service.import_classifier(store, EDITION_2025, make_current=False)
    assert report["node_count"] == 2094 and report["edition"] == "2025-10-31" and not report["current"]
    rows = service.list_editions(store)
    assert [(r["edition"], r["current"]) for r in rows] == [("sample", True), ("2025-10-31", False)]
    with pytest.raises(DataError, match="already exists"):
        service.import_classifier(store, EDITION_2025)


def test_import_export_round_trip(ready_store: Store, template: Path, tmp_path: Path,
                                  categories: PosCategoryTree) -> None:
    filled = fill_all(template, tmp_path / "filled.xlsx", categories)
    first = service.import_mapping(ready_store, filled)
    assert first["stored"] and first["version"] == 1
    exported = tmp_path / "export.xlsx"
    assert service.export_mapping(ready_store, exported)["version"] == 1
    again = service.import_mapping(ready_store, exported)
    assert not again["stored"] and again["version"] == 1 and _versions(ready_store) == 1
    with ready_store.session() as s:
        kinds = [(e.kind, e.version_id is not None) for e in s.scalars(select(MappingExport))]
    assert kinds == [("template", False), ("export", True)]


def test_invalid_file_stores_nothing(ready_store: Store, template: Path, tmp_path: Path) -> None:
    bad = fill(template, tmp_path / "bad.xlsx", {2: "0005.0000.0000.0000"})
    out = service.import_mapping(ready_store, bad)
    assert not out["stored"] and not out["validation"]["valid"] and _versions(ready_store) == 0
    corrupt = tmp_path / "corrupt.xlsx"
    corrupt.write_bytes(b"PK\x03\x04broken")
    with pytest.raises(DataError):
        service.import_mapping(ready_store, corrupt)
    assert _versions(ready_store) == 0


def test_diff_versions_and_files(ready_store: Store, template: Path, tmp_path: Path,
                                 categories: PosCategoryTree) -> None:
    v1 = fill_all(template, tmp_path / "v1.xlsx", categories)
    service.import_mapping(ready_store, v1)
    v2 = fill(v1, tmp_path / "v2.xlsx", {2: "0003.0009.0099.0742", 3: "0003.0009.0097.0699"})
    assert service.import_mapping(ready_store, v2)["version"] == 2
    doc = service.diff(ready_store, "1", "2")
    assert [r["category"] for r in doc["added"]] == ["c01.01"]
    assert [(r["old_code"], r["new_code"]) for r in doc["changed"]] == [("0005.0005.0056.1168",
                                                                          "0003.0009.0099.0742")]
    assert service.diff(ready_store, str(v1), "1")["changed"] == []


def test_switch_edition_lists_vanished_and_moved(ready_store: Store, template: Path, tmp_path: Path) -> None:
    service.import_mapping(ready_store, fill(template, tmp_path / "f.xlsx", {
        **GOOD_CODES, 8: "0005.0005.0056.1149", 12: "0005.0005.0056.1170"}))
    edited = json.loads((SAMPLES / "SAMPLE_sstu_classifier.json").read_text())
    communal = edited["nodes"][2]["children"][0]["children"][0]["children"]
    communal[0]["code"] = "0005.0005.0056.1999"  # «Оплата ЖКУ» moved to a new number
    edited["nodes"][2]["children"][0]["children"][0]["children"] = [
        n for n in communal if n["code"] != "0005.0005.0056.1170"]  # «Капитальный ремонт» vanished
    (tmp_path / "next.json").write_text(json.dumps(edited, ensure_ascii=False))
    service.import_classifier(ready_store, tmp_path / "next.json", "next", make_current=False)
    outcome = service.use_edition(ready_store, "next")
    assert not outcome.switched
    assert [r["code"] for r in outcome.impact.moved] == ["0005.0005.0056.1149"]
    assert outcome.impact.moved[0]["new_codes"] == "0005.0005.0056.1999"
    assert [(r["code"], r["path"]) for r in outcome.impact.vanished] == [
        ("0005.0005.0056.1170", "Многоквартирные дома / Капитальный ремонт")]
    assert service.list_editions(ready_store)[0]["current"]
    assert service.use_edition(ready_store, "next", force=True).switched


def test_cli_exit_codes_and_json(store: Store, tmp_path: Path) -> None:
    runner = CliRunner()
    obj = {"store": store}
    res = runner.invoke(classifier, ["import", str(EDITION_2025), "--json"], obj=obj)
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["node_count"] == 2094
    res = runner.invoke(classifier, ["list"], obj=obj)
    assert res.exit_code == 0 and "* 2025-10-31" in res.output
    out = tmp_path / "t.xlsx"
    res = runner.invoke(mapping, ["template", str(out), "--categories",
                                  str(SAMPLES / "SAMPLE_pos_categories.json")], obj=obj)
    assert res.exit_code == 0, res.output
    res = runner.invoke(mapping, ["validate", str(out), "--json"], obj=obj)
    assert res.exit_code == 0 and json.loads(res.stdout)["unmapped"] == 27
    bad = fill(out, tmp_path / "bad.xlsx", {2: 5.0005})
    report = tmp_path / "report.xlsx"
    res = runner.invoke(mapping, ["validate", str(bad), "--report", str(report)], obj=obj)
    assert res.exit_code == 2 and "Сопоставление!C2" in res.output and report.is_file()
    res = runner.invoke(mapping, ["validate", str(out), "--require-full"], obj=obj)
    assert res.exit_code == 2
    res = runner.invoke(mapping, ["import", str(bad)], obj=obj)
    assert res.exit_code == 2 and "nothing stored" in res.output
    corrupt = tmp_path / "c.xlsx"
    corrupt.write_bytes(b"junk")
    res = runner.invoke(mapping, ["validate", str(corrupt)], obj=obj)
    assert res.exit_code == 2 and "not an Excel workbook" in res.output and res.exception is not None
    assert isinstance(res.exception, SystemExit)
    res = runner.invoke(classifier, ["use", "nope"], obj=obj)
    assert res.exit_code == 2
    res = runner.invoke(mapping, ["diff", "1", "2"], obj=obj)
    assert res.exit_code == 2 and "no mapping version 1" in res.output
