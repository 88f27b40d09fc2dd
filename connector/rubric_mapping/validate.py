"""Validation of a filled mapping workbook: every problem at once, each with sheet/row/column.

Reads with openpyxl read-only (values) or xlrd; precomputed code sets keep a 20 000-row sheet
close to the cost of merely loading it.  Nothing here writes anywhere.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from connector.rubric_mapping.classifier import Classifier
from connector.rubric_mapping.codes import LEVEL_NAMES, QUESTION_LEVEL, read_code_cell
from connector.rubric_mapping.pos_categories import PosCategoryTree
from connector.rubric_mapping.spreadsheet import column_letter, open_sheet
from connector.rubric_mapping.workbook import (
    COL_CODE,
    COL_COMMENT,
    COL_ID,
    COL_NAME,
    COL_PATH,
    HEADERS,
    MAPPING_SHEET,
    MappingEntry,
)

ERROR, WARNING = "error", "warning"
MAX_DATA_ROWS = 200_000
_WS_RE = re.compile(r"[\s\u00a0]+")
_HEADER_KEYS = {_WS_RE.sub(" ", h).strip().casefold(): h for h in HEADERS}


@dataclass(frozen=True, slots=True)
class Problem:
    sheet: str
    row: int | None
    column: str | None
    severity: str
    message: str

    @property
    def cell(self) -> str:
        if self.row is None:
            return self.sheet
        return f"{self.sheet}!{self.column or ''}{self.row}"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def __str__(self) -> str:
        return f"{self.severity}: {self.cell}: {self.message}"


@dataclass(slots=True)
class ValidationResult:
    file: str
    sheet: str
    edition: str
    problems: list[Problem] = field(default_factory=list)
    entries: dict[str, MappingEntry] = field(default_factory=dict)
    data_rows: int = 0
    unmapped: int = 0

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == ERROR]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == WARNING]

    @property
    def ok(self) -> bool:
        return not self.errors

    def to_dict(self) -> dict[str, Any]:
        return {"file": self.file, "sheet": self.sheet, "edition": self.edition, "valid": self.ok,
                "data_rows": self.data_rows, "mapped": len(self.entries), "unmapped": self.unmapped,
                "errors": len(self.errors), "warnings": len(self.warnings),
                "problems": [p.to_dict() for p in self.problems]}


class CodeIndex:
    """The current edition reduced to what validation needs: code → level, precomputed once."""

    def __init__(self, classifier: Classifier, edition: str) -> None:
        self.edition = edition
        self.levels = {code: node.level for code, node in classifier.nodes.items()}


def _text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return _WS_RE.sub(" ", str(value)).strip()


def validate_workbook(path: Path, index: CodeIndex, categories: PosCategoryTree, *,
                      require_full: bool = False) -> ValidationResult:
    sheet = open_sheet(path, MAPPING_SHEET)
    result = ValidationResult(file=path.name, sheet=sheet.name, edition=index.edition)
    problems = result.problems
    name = sheet.name

    def add(row: int | None, col: int | str | None, severity: str, message: str) -> None:
        letter = column_letter(col) if isinstance(col, int) else col
        problems.append(Problem(name, row, letter, severity, message))

    if name != MAPPING_SHEET:
        add(None, None, WARNING, f"no sheet «{MAPPING_SHEET}»; reading the first sheet «{name}»")
    header_row = next(sheet.rows, None)
    for ref in sheet.merged:
        first_row = int(re.sub(r"[A-Z]+", "", ref.split(":")[0]))
        where = "the header row" if first_row == 1 else "the table"
        add(first_row, ref.split(":")[0].rstrip("0123456789"), ERROR,
            f"merged cells {ref} in {where}: unmerge them (every row needs its own id and code)")
    columns = _read_header(header_row, add)
    if columns is None or COL_ID not in columns or COL_CODE not in columns:
        return result
    id_col, code_col = columns[COL_ID], columns[COL_CODE]
    path_col, comment_col = columns.get(COL_PATH), columns.get(COL_COMMENT)
    id_letter, code_letter = column_letter(id_col), column_letter(code_col)
    levels, by_id, formulas, hidden = index.levels, categories.by_id, sheet.formulas, sheet.hidden_rows
    seen: dict[str, tuple[int, str | None]] = {}
    width = max(id_col, code_col, path_col or 0, comment_col or 0) + 1

    for row_no, values in sheet.rows:
        if len(values) < width:
            values = (*values, *([None] * (width - len(values))))
        raw_id, raw_code = values[id_col], values[code_col]
        comment = values[comment_col] if comment_col is not None else None
        if raw_id is None and raw_code is None and comment is None and not any(
                v is not None and str(v).strip() for v in values):
            continue
        result.data_rows += 1
        if result.data_rows > MAX_DATA_ROWS:
            add(row_no, None, ERROR, f"more than {MAX_DATA_ROWS} data rows: not a mapping sheet")
            break
        row_ok = True
        if hidden and row_no in hidden:
            add(row_no, None, WARNING, "the row is hidden; it is checked and imported like any other")
        if formulas:
            for letter, raw in ((id_letter, raw_id), (code_letter, raw_code)):
                cached = formulas.get((letter, row_no))
                if cached is None:
                    continue
                if cached:
                    add(row_no, letter, WARNING, f"formula in {letter}{row_no}: its saved value «{raw}» is used; "
                                                 "better type the value itself")
                else:
                    row_ok = False
                    add(row_no, letter, ERROR, f"{letter}{row_no} holds a formula with no saved value: replace it "
                                               "with the value itself (or recalculate and save the file)")
        cat = by_id.get(raw_id) if type(raw_id) is str else None  # fast path: the id as written
        cat_id = cat.id if cat is not None else (_text(raw_id) if raw_id is not None else "")
        if cat is None and cat_id:
            cat = by_id.get(cat_id)
        if not cat_id:
            if raw_code is not None:
                add(row_no, id_col, ERROR, "a code without a POS category id")
            continue
        if cat is None:
            add(row_no, id_col, ERROR, f"unknown POS category id «{cat_id}»")
            row_ok = False
        elif path_col is not None and values[path_col] is not None and values[path_col] != cat.full_path:
            shown = _text(values[path_col])
            if shown and shown != cat.full_path:
                add(row_no, path_col, WARNING, f"the path «{shown}» differs from POS «{cat.full_path}»; "
                                               f"the id {cat_id} decides")
        level = levels.get(raw_code) if type(raw_code) is str else None  # fast path: a clean code
        if level is not None:
            code: str | None = raw_code
        else:
            cell = read_code_cell(raw_code, levels)
            code = cell.code
            if cell.error:
                add(row_no, code_col, ERROR, cell.error)
                row_ok = False
            elif cell.warning:
                add(row_no, code_col, WARNING, cell.warning)
            level = levels.get(code) if code is not None else None
        if code is not None:
            if level is None:
                add(row_no, code_col, ERROR, f"code {code} is not in the classifier edition {index.edition}")
                row_ok = False
            elif level < QUESTION_LEVEL:
                add(row_no, code_col, ERROR, f"{code} is a {LEVEL_NAMES[level]} header, not a question: "
                                             "choose a question-level code under it")
                row_ok = False
        previous = seen.get(cat_id)
        if previous is not None:
            prev_row, prev_code = previous
            if prev_code == code or code is None:
                add(row_no, id_col, WARNING, f"duplicate row: category {cat_id} already in row {prev_row}")
                continue
            if prev_code is None:
                add(row_no, id_col, WARNING, f"category {cat_id} also in row {prev_row} without a code")
            else:
                add(row_no, code_col, ERROR, f"category {cat_id} is mapped to {prev_code} in row {prev_row} "
                                             f"and to {code} here: one category, one code")
                continue
        seen[cat_id] = (row_no, code if row_ok else None)
        if row_ok and code is not None:
            text = _text(comment) if comment is not None else ""
            result.entries[cat_id] = MappingEntry(code=code, comment=text)
    _coverage(result, categories, require_full, add)
    return result


def _read_header(values: tuple[int, tuple[Any, ...]] | None, add: Any) -> dict[str, int] | None:
    if values is None:
        add(None, None, ERROR, "the sheet is empty")
        return None
    row_no, cells = values
    columns: dict[str, int] = {}
    for i, value in enumerate(cells):
        if value is None or not str(value).strip():
            continue
        key = _WS_RE.sub(" ", str(value)).strip().casefold()
        header = _HEADER_KEYS.get(key)
        if header is None:
            add(row_no, i, ERROR, f"unknown column header «{str(value).strip()}» "
                                  f"(expected: {', '.join(HEADERS)})")
        elif header in columns:
            add(row_no, i, ERROR, f"column «{header}» appears twice")
        else:
            columns[header] = i
    for required in (COL_ID, COL_CODE):
        if required not in columns:
            add(row_no, None, ERROR, f"missing column «{required}» in row {row_no} (header cells merged, "
                                     "renamed or deleted?)")
    columns.pop(COL_NAME, None)
    return columns


def _coverage(result: ValidationResult, categories: PosCategoryTree, require_full: bool, add: Any) -> None:
    mapped = result.entries
    missing = [leaf for leaf in categories.leaves()
               if not any(a.id in mapped for a in categories.ancestors(leaf.id))]
    result.unmapped = len(missing)
    if not missing:
        return
    shown = "; ".join(c.full_path for c in missing[:5]) + (f" (+{len(missing) - 5} more)" if len(missing) > 5
                                                           else "")
    add(None, None, ERROR if require_full else WARNING,
        f"{len(missing)} of {len(categories.leaves())} POS categories have no SSTU code (neither they nor a "
        f"parent category): {shown}")
