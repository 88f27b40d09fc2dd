"""The demo's SSTU side: a SAMPLE classifier, categories and mapping, and the verdict.

The mapping goes the way an administrator's does: the template workbook is written, the
SAMPLE codes are filled into its «Код ССТУ» column, and the filled workbook is validated and
imported.  Everything here is labelled SAMPLE: real bodies import the official classifier
and fill their own workbook.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from pathlib import Path

from pydantic import BaseModel

from connector.rubric_mapping import service as mapping_service
from connector.rubric_mapping.workbook import COL_CODE, COL_ID, MAPPING_SHEET
from connector.store.db import Store

SAMPLES = mapping_service.SAMPLES_DIR
# A SAMPLE ССТУ GUID for the demo's reporting body (not a real body's id).
DEMO_DEPARTMENT_ID = "5a0c8f2e-3b7d-4e61-9c2a-0d5e7f1b2c3d"


class SstuDemoReport(BaseModel):
    sent: int
    accepted_by_sstu: int
    rejected_by_sstu: int
    failures: int
    archive_dir: str
    archive_parts: list[str]
    archive_appeals: int
    archive_valid: bool
    archive_errors: list[str]
    from_pos: int = 0            # appeals reported for POS messages
    other_channels: int = 0      # letters, reception, forwarded: EDMS cards of other channels
    multi_question: int = 0      # appeals with several questions, each with its own status


def prepare_mapping(store: Store, work_dir: Path, *, omit: Collection[str] = (), import_reference: bool = True
                    ) -> Path:
    """Import the SAMPLE classifier and categories (unless ``import_reference`` is false) and a
    filled SAMPLE mapping workbook, leaving the categories in ``omit`` unmapped."""
    import openpyxl

    if import_reference:
        mapping_service.import_classifier(store, SAMPLES / "SAMPLE_sstu_classifier.json", "SAMPLE")
        mapping_service.store_categories_file(store, SAMPLES / "SAMPLE_pos_categories.json")
    work_dir.mkdir(parents=True, exist_ok=True)
    template, filled = work_dir / "SAMPLE_mapping_template.xlsx", work_dir / "SAMPLE_mapping.xlsx"
    mapping_service.make_template(store, template)
    codes: dict[str, str] = json.loads((SAMPLES / "SAMPLE_mapping.json").read_text(encoding="utf-8"))["codes"]
    wb = openpyxl.load_workbook(template)
    ws = wb[MAPPING_SHEET]
    header = [c.value for c in ws[1]]
    id_col, code_col = header.index(COL_ID) + 1, header.index(COL_CODE) + 1
    for row in range(2, ws.max_row + 1):
        category_id = str(ws.cell(row=row, column=id_col).value)
        code = codes.get(category_id)
        if code and category_id not in omit:
            ws.cell(row=row, column=code_col, value=code)
    wb.save(filled)
    result = mapping_service.import_mapping(store, filled)
    if not result["stored"]:
        raise RuntimeError(f"the SAMPLE mapping did not import: {result['validation']}")
    return filled
