"""The workbooks as an admin meets them in LibreOffice: they open, they print on A4 landscape one
page wide, the dropdown offers «код — наименование», and the validation report keeps the admin's
workbook (widths, name formula, dropdown) with every problem linked to its cell.

Needs Debian's ``libreoffice-calc-nogui`` and ``poppler-utils`` (``make test`` installs both).
Fails — never skips — when they are missing.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import openpyxl

from connector.rubric_mapping import service
from connector.rubric_mapping.classifier import Classifier
from connector.rubric_mapping.codes import code_label
from connector.rubric_mapping.report import PROBLEMS_SHEET
from connector.rubric_mapping.workbook import CLASSIFIER_SHEET, MAPPING_SHEET
from connector.store.db import Store

from rm_support import fill


def _pdf(source: Path, tmp_path: Path) -> Path:
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    assert soffice, "soffice not found: install Debian package libreoffice-calc-nogui"
    env = {**os.environ, "HOME": str(tmp_path)}  # a private profile: no clash with parallel runs
    proc = subprocess.run([soffice, "--headless", "--norestore", f"-env:UserInstallation=file://{tmp_path}/lo",
                           "--convert-to", "pdf", "--outdir", str(tmp_path / "pdf"), str(source)],
                          capture_output=True, text=True, timeout=180, env=env, check=False)
    pdf = tmp_path / "pdf" / f"{source.stem}.pdf"
    assert proc.returncode == 0 and pdf.is_file(), proc.stdout + proc.stderr
    assert pdf.read_bytes().startswith(b"%PDF")
    return pdf


def _pages(pdf: Path) -> list[tuple[float, float]]:
    assert shutil.which("pdfinfo"), "pdfinfo not found: install Debian package poppler-utils"
    out = subprocess.run(["pdfinfo", "-f", "1", "-l", "999", str(pdf)], capture_output=True, text=True,
                         check=True).stdout
    return [(float(w), float(h)) for w, h in re.findall(r"Page\s+\d+ size:\s+([\d.]+) x ([\d.]+)", out)]


def _text(pdf: Path) -> str:
    return subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True,
                          check=True).stdout


def test_template_prints_landscape_one_page_wide_and_offers_code_with_name(
        template: Path, tmp_path: Path, edition_2025: Classifier) -> None:
    pages = _pages(_pdf(template, tmp_path))
    # 61 categories and the rules: two landscape pages of the mapping and one of rules (it was 9
    # portrait pages, the columns cut over several sheets of paper)
    assert len(pages) == 3 and all(w > h for w, h in pages), pages
    wb = openpyxl.load_workbook(template)
    ws = wb[MAPPING_SHEET]
    assert ws.print_title_rows == "$1:$1" and ws.page_setup.fitToWidth == 1
    assert ws.row_dimensions[1].height and ws.row_dimensions[1].height >= 27  # the wrapped header fits
    (dv,) = ws.data_validations.dataValidation
    sheet_ref, cells = dv.formula1.rsplit("!", 1)
    assert sheet_ref.strip("'") == CLASSIFIER_SHEET
    first, last = cells.replace("$", "").split(":")
    listed = [row[0].value for row in wb[CLASSIFIER_SHEET][first:last]]
    expected = [code_label(code, edition_2025.nodes[code].name) for code in edition_2025.question_codes()]
    assert listed == expected and len(listed) == 1862


def test_a_code_picked_from_the_dropdown_is_valid_and_named(ready_store: Store, template: Path,
                                                           tmp_path: Path, edition_2025: Classifier) -> None:
    code = "0005.0005.0056.1168"
    picked = fill(template, tmp_path / "picked.xlsx", {2: code_label(code, edition_2025.nodes[code].name)})
    result = service.validate_file(ready_store, picked)
    assert not result.errors, result.errors
    text = _text(_pdf(picked, tmp_path))
    assert edition_2025.nodes[code].name[:30] in text  # the name formula reads the code out of the label


def test_report_keeps_the_workbook_and_links_each_problem_to_its_cell(
        ready_store: Store, template: Path, tmp_path: Path) -> None:
    bad = fill(template, tmp_path / "bad.xlsx", {2: "0005.0000.0000.0000", 5: "12345"})
    report = tmp_path / "report.xlsx"
    result = service.validate_file(ready_store, bad, report=report)
    assert result.errors
    wb = openpyxl.load_workbook(report)
    assert wb.sheetnames[0] == PROBLEMS_SHEET and CLASSIFIER_SHEET in wb.sheetnames
    original = openpyxl.load_workbook(template)[MAPPING_SHEET]
    copy = wb[MAPPING_SHEET]
    assert [copy.column_dimensions[c].width for c in "ABCDE"] == \
        [original.column_dimensions[c].width for c in "ABCDE"]
    assert len(copy.data_validations.dataValidation) == 1
    assert str(copy["D2"].value).startswith("=IF(")  # the name formula is still there
    links = {row[1].value: row[1].hyperlink.location for row in wb[PROBLEMS_SHEET].iter_rows(min_row=2)
             if row[1].hyperlink is not None}
    assert links["C2"] == f"'{MAPPING_SHEET}'!C2" and links["C5"] == f"'{MAPPING_SHEET}'!C5"
    assert copy["C2"].comment is not None and copy["C2"].fill.fgColor.rgb.endswith("FFC7CE")
    pages = _pages(_pdf(report, tmp_path))
    assert all(w > h for w, h in pages) and len(pages) <= 4, pages
