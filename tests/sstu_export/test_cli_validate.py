"""``connector sstu validate PATH``: files, directories, archives from any tool, hostile input."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sstu_samples import CLASSIFIER, appeal, question

from connector.cli.sstu import sstu
from connector.sstu_export.archive import ArchiveItem, write_archives


def _run(*args: str) -> tuple[int, Any, str]:
    result = CliRunner().invoke(sstu, ["validate", *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    try:
        doc = json.loads(result.stdout) if "--json" in args else None
    except ValueError:
        pytest.fail(f"--json printed more than one JSON document: {result.stdout!r}")
    return result.exit_code, doc, result.output


def _zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def _good() -> bytes:
    return json.dumps(appeal(question("Explained")), ensure_ascii=False).encode()


def test_a_valid_file_directory_and_archive_exit_0(tmp_path: Path) -> None:
    (tmp_path / "one.json").write_bytes(_good())
    code, doc, _ = _run(str(tmp_path / "one.json"), "--json")
    assert code == 0 and doc["ok"] and doc["appeals"] == 1 and doc["errors"] == []
    write_archives([ArchiveItem.from_document(appeal(number=str(i))) for i in range(5)], tmp_path / "out", "p")
    code, doc, _ = _run(str(tmp_path / "out" / "p001.zip"), "--json")
    assert code == 0 and doc["appeals"] == 5 and doc["archives"] == 1
    (tmp_path / "out" / "README.txt").write_text("hi")
    code, doc, _ = _run(str(tmp_path), "--json")
    assert code == 0 and doc["appeals"] == 6 and doc["skipped"] == 1


def test_an_archive_from_another_tool_with_a_folder_and_an_array(tmp_path: Path) -> None:
    arr = json.dumps([appeal(number="1"), appeal(number="2")]).encode()
    archive = _zip(tmp_path / "larm.zip", {"export/": b"", "export/batch.json": arr, "export/manifest.csv": b"x"})
    code, doc, _ = _run(str(archive), "--json")
    assert code == 0 and doc["appeals"] == 2


def test_errors_exit_2_and_name_file_number_question_field(tmp_path: Path) -> None:
    bad = appeal(question("InWork"), question("Explained", responseDate="2025-01-01"))
    (tmp_path / "bad.json").write_text(json.dumps(bad))
    code, doc, _ = _run(str(tmp_path / "bad.json"), "--json")
    assert code == 2 and not doc["ok"]
    assert doc["errors"] == [{"file": "bad.json", "number": "12-34/2025", "question": 1,
                              "field": "questions[1].responseDate", "message": "must not be before registrationDate"}]
    code, _, out = _run(str(tmp_path / "bad.json"))
    assert code == 2 and "bad.json: appeal '12-34/2025', question 1, field questions[1].responseDate" in out


@pytest.mark.parametrize(("members", "expected"), [
    ({"a.json": b"\0" * (20 * 1024 * 1024)}, "zip bomb suspected"),
    ({"../../../etc/cron.d/x.json": b"{}"}, "path traversal"),
    ({"a.json": b"{}", "payload.sh": b"rm -rf /"}, "not a JSON file"),
    ({"a.json": b"[[[[" * 100_000}, "not valid JSON"),
    ({"a.json": b"\xff\xfe{"}, "not UTF-8"),
])
def test_hostile_archives_give_a_clear_error(tmp_path: Path, members: dict[str, bytes], expected: str) -> None:
    archive = _zip(tmp_path / "hostile.zip", members)
    code, doc, _ = _run(str(archive), "--json")
    assert code == 2 and any(expected in e["message"] for e in doc["errors"]), doc["errors"]
    code, _, out = _run(str(archive))
    assert code == 2 and expected in out and "Traceback" not in out


def test_garbage_files_and_empty_directories(tmp_path: Path) -> None:
    (tmp_path / "x.zip").write_bytes(b"PK\x03\x04 not really")
    code, doc, _ = _run(str(tmp_path / "x.zip"), "--json")
    assert code == 2 and "not a readable zip" in doc["errors"][0]["message"]
    (tmp_path / "empty").mkdir()
    code, doc, _ = _run(str(tmp_path / "empty"), "--json")
    assert code == 2 and "no appeal found" in doc["errors"][0]["message"]
    code, _, _ = _run(str(tmp_path / "missing.json"))
    assert code == 2


def test_codes_from_the_official_edition(tmp_path: Path) -> None:
    doc = appeal(question("InWork", code="0005.0005.0056.9999"))
    (tmp_path / "a.json").write_text(json.dumps(doc))
    assert _run(str(tmp_path / "a.json"), "--json")[0] == 0
    code, report, _ = _run(str(tmp_path / "a.json"), "--json", "--codes-from", str(CLASSIFIER))
    assert code == 2 and "edition in force" in report["errors"][0]["message"]
    (tmp_path / "codes.txt").write_text("0005.0005.0056.9999\n")
    assert _run(str(tmp_path / "a.json"), "--codes-from", str(tmp_path / "codes.txt"))[0] == 0
    (tmp_path / "none.txt").write_text("nothing here\n")
    code, _, out = _run(str(tmp_path / "a.json"), "--codes-from", str(tmp_path / "none.txt"))
    assert code == 2 and "no question-level classifier code" in out


def test_what_public_senders_send_is_a_warning_not_an_error(tmp_path: Path) -> None:
    lenient = appeal(question("InWork", responseDate="2025-03-05"))
    lenient["address"] = None
    (tmp_path / "other-tool.json").write_text(json.dumps(lenient))
    code, doc, _ = _run(str(tmp_path / "other-tool.json"), "--json")
    assert code == 0 and doc["ok"] and doc["errors"] == []
    assert {w["field"] for w in doc["warnings"]} == {"address", "questions[0].responseDate"}
    code, _, out = _run(str(tmp_path / "other-tool.json"))
    assert code == 0 and "warning: other-tool.json: appeal '12-34/2025', field address" in out
    assert "2 warning(s) of our own stricter policy" in out
