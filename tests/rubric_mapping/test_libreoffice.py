"""The generated workbook opens in LibreOffice headless, and its dropdown lists the question codes.

Needs Debian's ``libreoffice-calc-nogui`` (``make test`` installs it).  Fails — never skips —
when ``soffice`` is missing.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import openpyxl

from connector.rubric_mapping.classifier import Classifier
from connector.rubric_mapping.workbook import CLASSIFIER_SHEET


def test_template_converts_to_pdf_and_dropdown_covers_questions(template: Path, tmp_path: Path,
                                                                edition_2025: Classifier) -> None:
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    assert soffice, "soffice not found: install Debian package libreoffice-calc-nogui"
    env = {**os.environ, "HOME": str(tmp_path)}  # a private profile: no clash with parallel runs
    proc = subprocess.run([soffice, "--headless", "--norestore", f"-env:UserInstallation=file://{tmp_path}/lo",
                           "--convert-to", "pdf", "--outdir", str(tmp_path / "pdf"), str(template)],
                          capture_output=True, text=True, timeout=180, env=env, check=False)
    pdf = tmp_path / "pdf" / "template.pdf"
    assert proc.returncode == 0 and pdf.is_file(), proc.stdout + proc.stderr
    assert pdf.read_bytes().startswith(b"%PDF") and pdf.stat().st_size > 1000

    wb = openpyxl.load_workbook(template)
    (dv,) = wb["Сопоставление"].data_validations.dataValidation
    sheet_ref, cells = dv.formula1.rsplit("!", 1)
    assert sheet_ref.strip("'") == CLASSIFIER_SHEET
    first, last = cells.replace("$", "").split(":")
    listed = [row[0].value for row in wb[CLASSIFIER_SHEET][first:last]]
    assert listed == edition_2025.question_codes() and len(listed) == 1862
