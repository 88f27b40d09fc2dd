"""`connector demo` is the first thing an admin runs: it must finish with every message through."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("edms", ["onec", "medo", "directum"])
def test_demo_json_reports_every_message_through(tmp_path: Path, edms: str) -> None:
    result = subprocess.run([sys.executable, "-m", "connector", "demo", "--messages", "30", "--json",
                             "--edms", edms, "--data-dir", str(tmp_path / "demo")],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)  # --json: one document on stdout and nothing else
    assert report["ok"] is True
    assert (report["pulled"], report["cards"], report["answered_in_pos"], report["closed"]) == (30, 30, 30, 30)
    assert (report["duplicate_cards"], report["duplicate_answers"], report["failures"]) == (0, 0, 0)
    assert Path(report["data_dir"]) == tmp_path / "demo"
    sstu = report["sstu"]
    others = 0 if edms == "medo" else 4  # 1С and Directum list appeals of other channels; МЭДО cannot
    assert (sstu["accepted_by_sstu"], sstu["rejected_by_sstu"], sstu["archive_appeals"]) == (
        30 + others, 0, 30 + others)
    assert (sstu["from_pos"], sstu["other_channels"]) == (30, others)
    assert sstu["multi_question"] == (4 if others else 0)  # 3 POS cards and 1 letter with several questions
    # every appeal on the POS data showcase once, whatever its channel
    assert report["showcase"] == {"items": sstu["from_pos"] + sstu["other_channels"]} == {"items": 30 + others}
    d = report["discipline"]  # weeks on: ratings, repeats, warnings, late and received-overdue messages
    assert Path(d["report"]).is_file() and Path(d["report"]).parent == tmp_path / "demo" / "reports"
    assert d["warnings_sent"] > 0 and d["new_message_notices"] > 0 and d["control_tasks"] > 0
    assert d["overdue_received"] > 0 and d["overdue_own"] > 0 and d["redirects"] == 1 and d["units"] >= 3
    assert d["rated"] > 0 and 0 < d["rated_high_share"] < 1 and d["repeat_appeals"] > 0
    # every notice and the weekly report reached the local SMTP sink
    assert d["weekly_sent"] is True and d["mails"] >= d["warnings_sent"] + d["new_message_notices"] + 1
    assert _summary_row(Path(d["report"]))[-3:-1] == [d["rated"], d["rated_high_share"]]
    assert d["weekly_rated"] > 0 and _summary_row(Path(d["weekly_report"]))[-3] == d["weekly_rated"]


def test_demo_200_reports_200_appeals_to_sstu_and_a_valid_archive(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "connector", "demo", "--messages", "200", "--json",
                             "--data-dir", str(tmp_path / "demo")], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    sstu = report["sstu"]
    assert report["ok"] is True
    assert (sstu["sent"], sstu["accepted_by_sstu"], sstu["rejected_by_sstu"]) == (204, 204, 0)
    assert (sstu["from_pos"], sstu["other_channels"], sstu["multi_question"]) == (200, 4, 4)
    assert sstu["archive_appeals"] == 204 and sstu["archive_parts"]
    # the archive passes the command an operator would run on it, as a separate process
    check = subprocess.run([sys.executable, "-m", "connector", "sstu", "validate", sstu["archive_dir"], "--json"],
                           capture_output=True, text=True, timeout=300)
    assert check.returncode == 0, check.stdout + check.stderr
    checked = json.loads(check.stdout)
    assert checked["appeals"] == 204 and checked["errors"] == []
    # several questions, each with its own status, in the archive itself
    statuses = _question_statuses(Path(sstu["archive_parts"][0]))
    assert sorted(s for s in statuses if len(s) > 1) == [("Explained", "Transferred", "InWork")] * 3 + [
        ("Supported", "Transferred", "InWork")]


def _summary_row(workbook: Path) -> list[object]:
    """The organisation's row of the report's summary sheet: the figures a coordinator reads."""
    import openpyxl

    sheet = openpyxl.load_workbook(workbook).worksheets[0]
    row = next(r for r in sheet.iter_rows(values_only=True) if r and r[0] == "Итого по организации")
    return [round(v, 3) if isinstance(v, float) else v for v in row if v is not None]


def _question_statuses(part: Path) -> list[tuple[str, ...]]:
    import zipfile

    with zipfile.ZipFile(part) as zf:
        return [tuple(q["status"] for q in json.loads(zf.read(n))["questions"]) for n in zf.namelist()]
