"""Paths and workbook helpers shared by the rubric mapping tests."""

from __future__ import annotations

from pathlib import Path

from connector.rubric_mapping.pos_categories import PosCategoryTree

REPO = Path(__file__).resolve().parents[2]
SHARED_DATA = REPO / ".." / "shared" / "data"
EDITION_2025 = SHARED_DATA / "sstu_classifier_2025-10-31.tree.json"
SAMPLES = REPO / "connector" / "rubric_mapping" / "samples"
SAMPLE_CATEGORIES = SAMPLES / "SAMPLE_pos_categories.json"



def fill(path: Path, out: Path, codes: dict[int, object], *, extra: dict[str, object] | None = None) -> Path:
    """Set code cells (column C) by row number, plus arbitrary cells; save as ``out``."""
    import openpyxl

    wb = openpyxl.load_workbook(path)
    ws = wb["Сопоставление"]
    for row, value in codes.items():
        ws.cell(row=row, column=3, value=value)
    for ref, value in (extra or {}).items():
        ws[ref] = value
    wb.save(out)
    return out


GOOD_CODES = {2: "0003.0009.0099.0742", 11: "0005.0005.0056.1168", 26: "0002.0014.0143.0389"}


def fill_all(template: Path, out: Path, categories: PosCategoryTree) -> Path:
    """Every top-level category gets a code: a complete, valid mapping."""
    import openpyxl

    wb = openpyxl.load_workbook(template)
    ws = wb["Сопоставление"]
    for row in range(2, ws.max_row + 1):
        cat = categories.get(ws.cell(row=row, column=1).value)
        if cat is not None and cat.level == 1:
            ws.cell(row=row, column=3, value="0005.0005.0056.1168")
    wb.save(out)
    return out
