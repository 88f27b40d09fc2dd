"""``connector sstu validate`` and the builder's failure reasons speak the operator's language:
Russian by default, English with ``[ui] language = "en"`` (here: ``CONNECTOR_UI__LANGUAGE``)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner
from sstu_samples import appeal, question

from connector.cli.sstu import sstu
from connector.sstu_export.validate import validate_appeal

FORWARDED = {"isDirect": False, "createDate": "2025-03-04"}


def _bad_file(tmp_path: Path) -> Path:
    bad = appeal(question("Explained", responseDate="2025-01-01"), **FORWARDED)
    bad["phone"] = "+7"
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(bad), encoding="utf-8")
    return path


def test_sstu_validate_findings_and_summary_in_russian(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CONNECTOR_UI__LANGUAGE", "ru")
    result = CliRunner().invoke(sstu, ["validate", str(_bad_file(tmp_path))])
    assert result.exit_code == 2
    out = result.output
    assert "ошибка: " in out and "обращение '" in out and ", вопрос 0, поле questions[0].incomingDate: " in out
    assert "Дата поступления должна быть не ранее даты обращения (incomingDate ≥ createDate)" in out
    assert "поле phone: поле не допускается в обращении" in out
    assert "обращений: 1, файлов: 1; ошибок: 3" in out
    assert "error" not in out and "appeal" not in out and "must" not in out


def test_sstu_validate_stays_english_when_configured(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CONNECTOR_UI__LANGUAGE", "en")
    result = CliRunner().invoke(sstu, ["validate", str(_bad_file(tmp_path))])
    assert result.exit_code == 2
    assert "field questions[0].incomingDate: the receipt date must not be before the appeal date" in result.output
    assert "field phone: field not allowed in an appeal" in result.output
    assert "1 appeal(s) in 1 file(s): " in result.output
    assert "обращение" not in result.output


def test_validator_problems_in_russian(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONNECTOR_UI__LANGUAGE", "ru")
    doc = appeal(question("Explained", code="0001.0000.0000.0000"))
    doc["departmentId"] = doc["departmentId"].upper()
    issues = validate_appeal(doc, today=date(2030, 1, 1))
    texts = [str(i) for i in issues]
    assert any("заголовок раздела/тематики, а не вопрос" in t for t in texts), texts
    assert any("GUID в верхнем регистре" in t and "(наша политика; публичные отправители так присылают)" in t
               for t in texts), texts
