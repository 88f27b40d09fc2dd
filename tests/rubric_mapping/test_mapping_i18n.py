"""The mapping and classifier commands speak the reader's language: validation problems, severities,
per-item lines and errors are Russian by default and English with ``[ui] language = "en"``, while the
``--json`` document keeps its machine values ("severity": "error")."""

from __future__ import annotations

import json
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner

from connector.cli.mapping import classifier, mapping
from connector.errors import DataError
from connector.rubric_mapping import service
from connector.store.db import Store

from rm_support import fill

RUSSIAN = {"CONNECTOR_UI__LANGUAGE": "ru"}


@pytest.fixture
def faulty(template: Path, tmp_path: Path) -> Path:
    """Row 63: an id POS does not know; C4: a code the spreadsheet turned into a number;
    C5: a тематика header instead of a question."""
    return fill(template, tmp_path / "faulty.xlsx", {4: 5.0005, 5: "0005.0005.0000.0000"},
                extra={"A63": "nope", "C63": "0005.0005.0056.1149"})


def test_validate_tells_the_problems_in_russian(ready_store: Store, faulty: Path, tmp_path: Path) -> None:
    report = tmp_path / "report.xlsx"
    res = CliRunner().invoke(mapping, ["validate", str(faulty), "--report", str(report)],
                             obj={"store": ready_store}, env=RUSSIAN)
    assert res.exit_code == 2, res.output
    assert "ошибка: Сопоставление!A63: неизвестный ID категории ПОС «nope»" in res.output
    assert "ошибка: Сопоставление!C4: в ячейке число 5.0005: таблица превратила код в число" in res.output
    header = "ошибка: Сопоставление!C5: 0005.0005.0000.0000 — заголовок уровня «тематика», а не вопрос"
    assert header in res.output
    assert "предупреждение: Сопоставление: у " in res.output and "категорий ПОС нет кода ССТУ" in res.output
    assert "error" not in res.output and "warning" not in res.output and "unknown" not in res.output
    # the report's «Проблемы» sheet says the same, severity included
    sheet = openpyxl.load_workbook(report)["Проблемы"]
    rows = {(r[1], r[2], r[3]) for r in sheet.iter_rows(min_row=2, values_only=True)}
    assert ("A63", "ошибка", "неизвестный ID категории ПОС «nope»") in rows

    as_json = CliRunner().invoke(mapping, ["validate", str(faulty), "--json"], obj={"store": ready_store},
                                 env=RUSSIAN)
    doc = json.loads(as_json.stdout)
    unknown = next(p for p in doc["problems"] if p["row"] == 63)
    assert unknown["severity"] == "error" and unknown["message"] == "неизвестный ID категории ПОС «nope»"

    imported = CliRunner().invoke(mapping, ["import", str(faulty)], obj={"store": ready_store}, env=RUSSIAN)
    assert imported.exit_code == 2 and imported.output.rstrip().endswith("ничего не сохранено")


def test_validate_stays_english_in_english(ready_store: Store, faulty: Path) -> None:
    res = CliRunner().invoke(mapping, ["validate", str(faulty)], obj={"store": ready_store},
                             env={"CONNECTOR_UI__LANGUAGE": "en"})
    assert res.exit_code == 2
    assert "error: Сопоставление!A63: unknown POS category id «nope»" in res.output
    assert "error: Сопоставление!C5: 0005.0005.0000.0000 is a тематика header, not a question" in res.output
    assert "warning: Сопоставление: " in res.output and "ошибка" not in res.output


def test_classifier_list_and_errors_in_russian(ready_store: Store, tmp_path: Path) -> None:
    ru = CliRunner().invoke(classifier, ["list"], obj={"store": ready_store}, env=RUSSIAN)
    assert ru.exit_code == 0 and ru.output.startswith("* 2025-10-31") and "  2094 кода  " in ru.output
    en = CliRunner().invoke(classifier, ["list"], obj={"store": ready_store})
    assert "  2094 codes  " in en.output

    missing = CliRunner().invoke(classifier, ["use", "nope"], obj={"store": ready_store}, env=RUSSIAN)
    assert missing.exit_code == 2 and "нет редакции классификатора «nope»" in missing.output
    diff = CliRunner().invoke(mapping, ["diff", "1", "2"], obj={"store": ready_store}, env=RUSSIAN)
    assert diff.exit_code == 2 and "нет версии сопоставления 1" in diff.output
    junk = tmp_path / "junk.xlsx"
    junk.write_bytes(b"junk")
    bad = CliRunner().invoke(mapping, ["validate", str(junk)], obj={"store": ready_store}, env=RUSSIAN)
    assert bad.exit_code == 2 and "junk.xlsx: это не книга Excel (.xlsx или .xls)" in bad.output


def test_an_error_of_the_service_is_russian_when_shown_and_english_in_the_log(
        store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONNECTOR_UI__LANGUAGE", "ru")
    with pytest.raises(DataError) as raised:
        service.resolve_categories(store, None)  # the SSTU export's daemon job meets this one too
    assert raised.value.shown.startswith("категории ПОС ещё не загружены: укажите --categories FILE")
    assert str(raised.value).startswith("no POS categories known yet: pass --categories FILE")
