"""Validate a 20 000-row mapping workbook against the full 31.10.2025 edition.

Prints the validation time and its ratio to a bare openpyxl read-only load (+ iterating the
values) of the same file; the goal is ≤ 1.5×.  Reads the edition from ../shared/data.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

import openpyxl

from connector.rubric_mapping.classifier_import import import_classifier_file
from connector.rubric_mapping.pos_categories import from_wire
from connector.rubric_mapping.validate import CodeIndex, validate_workbook
from connector.rubric_mapping.workbook import HEADERS, MAPPING_SHEET

REPO = Path(__file__).resolve().parents[1]
EDITION = REPO / ".." / "shared" / "data" / "sstu_classifier_2025-10-31.tree.json"
ROWS = 20_000


def build(path: Path, codes: list[str]) -> None:
    """20 000 POS categories (1 000 × 4 × 4 + parents) with a code on every fact row."""
    wb = openpyxl.Workbook(write_only=True)
    ws = wb.create_sheet(MAPPING_SHEET)
    ws.append(list(HEADERS))
    for i in range(ROWS):
        ws.append([f"f{i:05d}", f"Категория {i // 20} / Подкатегория {i // 4} / Факт {i}",
                   codes[i % len(codes)], None, f"комментарий {i}" if i % 7 == 0 else None])
    wb.save(path)


def bare_load(path: Path) -> None:
    wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    for _ in wb[MAPPING_SHEET].iter_rows(values_only=True):
        pass
    wb.close()


def best(fn, repeat: int = 5) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return min(times), statistics.median(times)  # type: ignore[return-value]


def main() -> int:
    classifier, _ = import_classifier_file(EDITION)
    index = CodeIndex(classifier, "2025-10-31")
    tree = from_wire([{"id": f"f{i:05d}", "parentId": None, "level": 1, "name": f"Факт {i}"} for i in range(ROWS)])
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "mapping-20000.xlsx"
        build(path, classifier.question_codes())
        result = validate_workbook(path, index, tree)
        assert result.ok and result.data_rows == ROWS, result.errors[:3]
        load_min, load_med = best(lambda: bare_load(path))
        val_min, val_med = best(lambda: validate_workbook(path, index, tree))
    print(f"rows: {ROWS}, edition: 2025-10-31 ({len(classifier)} codes)")
    print(f"bare openpyxl read-only load: best {load_min:.3f}s, median {load_med:.3f}s")
    print(f"validation:                   best {val_min:.3f}s, median {val_med:.3f}s")
    ratio = val_min / load_min
    print(f"ratio (best/best): {ratio:.2f}x  (goal <= 1.5x: {'met' if ratio <= 1.5 else 'NOT met'})")
    return 0 if ratio <= 1.5 else 1


if __name__ == "__main__":
    sys.exit(main())
