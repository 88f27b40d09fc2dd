"""Validation of a filled mapping workbook: every problem at once, each with sheet/row/column.

Reads with openpyxl read-only (values) or xlrd; precomputed code sets keep a 20 000-row sheet
close to the cost of merely loading it.  Nothing here writes anywhere.

Rules, one function each:
1. the sheet is «Сопоставление» (else the first one, warned);
2. no merged cells;
3. known column headers, each once, «ID категории ПОС» and the code column present;
4. at most ``MAX_DATA_ROWS`` data rows;
5. hidden rows are warned about and imported;
6. a formula's saved value is used (warned), a formula without one is an error;
7. the id is a POS category; a path shown that differs from POS is a warning (the id decides);
8. the code is a code of the edition at question level (shortened forms read, warned);
9. one category, one code (a repeated row is warned, a conflicting one is an error);
10. coverage: every POS category has a code, itself or through a parent (an error with ``require_full``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from connector.i18n import _
from connector.rubric_mapping.classifier import Classifier
from connector.rubric_mapping.codes import LEVEL_NAMES, QUESTION_LEVEL, read_code_cell
from connector.rubric_mapping.pos_categories import PosCategoryTree
from connector.rubric_mapping.spreadsheet import SheetData, column_letter, open_sheet
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

ERROR, WARNING = "error", "warning"  # machine values (JSON "severity"); a person reads severity_label
MAX_DATA_ROWS = 200_000
_WS_RE = re.compile(r"[\s\u00a0]+")
_HEADER_KEYS = {_WS_RE.sub(" ", h).strip().casefold(): h for h in HEADERS}


def severity_label(severity: str) -> str:
    """The severity in the reader's language."""
    return _("error") if severity == ERROR else _("warning")


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
        return f"{severity_label(self.severity)}: {self.cell}: {self.message}"


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
    """Every rule over the mapping sheet of ``path``; the problems of all of them at once."""
    sheet = open_sheet(path, MAPPING_SHEET)
    result = ValidationResult(file=path.name, sheet=sheet.name, edition=index.edition)
    add = _adder(result.problems, sheet.name)
    _sheet_name(sheet.name, add)
    header_row = next(sheet.rows, None)
    _merged_cells(sheet.merged, add)
    columns = _read_header(header_row, add)
    if columns is None or COL_ID not in columns or COL_CODE not in columns:
        return result
    _RowRules(sheet, result, index, categories, columns, add).check(sheet.rows)
    _coverage(result, categories, require_full, add)
    return result


Add = Callable[[int | None, int | str | None, str, str], None]


def _adder(problems: list[Problem], sheet: str) -> Add:
    def add(row: int | None, col: int | str | None, severity: str, message: str) -> None:
        letter = column_letter(col) if isinstance(col, int) else col
        problems.append(Problem(sheet, row, letter, severity, message))

    return add


def _sheet_name(name: str, add: Add) -> None:
    """Rule 1: the sheet is «Сопоставление» (else the first sheet is read, with a warning)."""
    if name != MAPPING_SHEET:
        add(None, None, WARNING, _("no sheet «{sheet}»; reading the first sheet «{name}»").format(
            sheet=MAPPING_SHEET, name=name))


def _merged_cells(merged: list[str], add: Add) -> None:
    """Rule 2: no merged cells -- every row needs its own id and code."""
    for ref in merged:
        first_cell = ref.split(":")[0]
        first_row = int(re.sub(r"[A-Z]+", "", first_cell))
        text = (_("merged cells {ref} in the header row: unmerge them (every row needs its own id and code)")
                if first_row == 1 else
                _("merged cells {ref} in the table: unmerge them (every row needs its own id and code)"))
        add(first_row, first_cell.rstrip("0123456789"), ERROR, text.format(ref=ref))


class _RowRules:
    """Rules 4-9, one method each, over the data rows; ``seen`` carries rule 9 across rows."""

    def __init__(self, sheet: SheetData, result: ValidationResult, index: CodeIndex, categories: PosCategoryTree,
                 columns: dict[str, int], add: Add) -> None:
        self.result, self.add, self.edition = result, add, index.edition
        self.levels, self.by_id = index.levels, categories.by_id
        self.formulas, self.hidden = sheet.formulas, sheet.hidden_rows
        self.id_col, self.code_col = columns[COL_ID], columns[COL_CODE]
        self.path_col, self.comment_col = columns.get(COL_PATH), columns.get(COL_COMMENT)
        self.id_letter, self.code_letter = column_letter(self.id_col), column_letter(self.code_col)
        self.width = max(self.id_col, self.code_col, self.path_col or 0, self.comment_col or 0) + 1
        self.seen: dict[str, tuple[int, str | None]] = {}

    def check(self, rows: Iterator[tuple[int, tuple[Any, ...]]]) -> None:
        for row_no, values in rows:
            if len(values) < self.width:
                values = (*values, *([None] * (self.width - len(values))))
            if self._blank(values):
                continue
            self.result.data_rows += 1
            if not self._row_count(row_no):
                break
            self._row(row_no, values)

    def _blank(self, values: tuple[Any, ...]) -> bool:
        comment = values[self.comment_col] if self.comment_col is not None else None
        return values[self.id_col] is None and values[self.code_col] is None and comment is None and not any(
            v is not None and str(v).strip() for v in values)

    def _row(self, row_no: int, values: tuple[Any, ...]) -> None:
        raw_id, raw_code = values[self.id_col], values[self.code_col]
        self._hidden(row_no)
        formulas_ok = self._formulas(row_no, raw_id, raw_code) if self.formulas else True
        cat_id, known = self._category(row_no, raw_id, values)
        if not cat_id:
            if raw_code is not None:
                self.add(row_no, self.id_col, ERROR, _("a code without a POS category id"))
            return
        code, code_ok = self._code(row_no, raw_code)
        if self._repeated(row_no, cat_id, code):
            return
        row_ok = formulas_ok and known and code_ok
        self.seen[cat_id] = (row_no, code if row_ok else None)
        if row_ok and code is not None:
            comment = values[self.comment_col] if self.comment_col is not None else None
            self.result.entries[cat_id] = MappingEntry(code=code, comment=_text(comment) if comment is not None
                                                       else "")

    def _row_count(self, row_no: int) -> bool:
        """Rule 4: at most MAX_DATA_ROWS data rows (more is not a mapping sheet; checking stops)."""
        if self.result.data_rows > MAX_DATA_ROWS:
            self.add(row_no, None, ERROR, _("more than {limit} data rows: not a mapping sheet").format(
                limit=MAX_DATA_ROWS))
            return False
        return True

    def _hidden(self, row_no: int) -> None:
        """Rule 5: a hidden row is checked and imported like any other, with a warning."""
        if self.hidden and row_no in self.hidden:
            self.add(row_no, None, WARNING, _("the row is hidden; it is checked and imported like any other"))

    def _formulas(self, row_no: int, raw_id: Any, raw_code: Any) -> bool:
        """Rule 6: a formula's saved value is used (warning); a formula without one is an error."""
        ok = True
        for letter, raw in ((self.id_letter, raw_id), (self.code_letter, raw_code)):
            cached = self.formulas.get((letter, row_no))
            if cached is None:
                continue
            if cached:
                self.add(row_no, letter, WARNING, _("formula in {cell}: its saved value «{value}» is used; "
                                                    "better type the value itself").format(
                    cell=f"{letter}{row_no}", value=raw))
            else:
                ok = False
                self.add(row_no, letter, ERROR, _("{cell} holds a formula with no saved value: replace it "
                                                  "with the value itself (or recalculate and save the file)")
                         .format(cell=f"{letter}{row_no}"))
        return ok

    def _category(self, row_no: int, raw_id: Any, values: tuple[Any, ...]) -> tuple[str, bool]:
        """Rule 7: the id is a POS category (the id decides; a different path shown is a warning).
        Returns the id as text ("" for none) and whether it is known."""
        cat = self.by_id.get(raw_id) if type(raw_id) is str else None  # fast path: the id as written
        cat_id = cat.id if cat is not None else (_text(raw_id) if raw_id is not None else "")
        if cat is None and cat_id:
            cat = self.by_id.get(cat_id)
        if not cat_id:
            return "", False
        if cat is None:
            self.add(row_no, self.id_col, ERROR, _("unknown POS category id «{id}»").format(id=cat_id))
            return cat_id, False
        shown_raw = values[self.path_col] if self.path_col is not None else None
        if shown_raw is not None and shown_raw != cat.full_path:
            shown = _text(shown_raw)
            if shown and shown != cat.full_path:
                self.add(row_no, self.path_col, WARNING, _("the path «{shown}» differs from POS «{path}»; "
                                                           "the id {id} decides").format(
                    shown=shown, path=cat.full_path, id=cat_id))
        return cat_id, True

    def _code(self, row_no: int, raw_code: Any) -> tuple[str | None, bool]:
        """Rule 8: the code reads as a code of the edition at question level.  Returns the code
        (None for none) and whether it may be imported."""
        level = self.levels.get(raw_code) if type(raw_code) is str else None  # fast path: a clean code
        if level is not None:
            code: str | None = raw_code
        else:
            cell = read_code_cell(raw_code, self.levels)
            code = cell.code
            if cell.error:
                self.add(row_no, self.code_col, ERROR, cell.error)
                return code, False
            if cell.warning:
                self.add(row_no, self.code_col, WARNING, cell.warning)
            level = self.levels.get(code) if code is not None else None
        if code is None:
            return None, True
        if level is None:
            self.add(row_no, self.code_col, ERROR,
                     _("code {code} is not in the classifier edition {edition}").format(code=code,
                                                                                        edition=self.edition))
            return code, False
        if level < QUESTION_LEVEL:
            self.add(row_no, self.code_col, ERROR, _("{code} is a {level} header, not a question: choose a "
                                                     "question-level code under it").format(
                code=code, level=LEVEL_NAMES[level]))
            return code, False
        return code, True

    def _repeated(self, row_no: int, cat_id: str, code: str | None) -> bool:
        """Rule 9: one category, one code.  True when this row is a repeat to skip."""
        previous = self.seen.get(cat_id)
        if previous is None:
            return False
        prev_row, prev_code = previous
        if prev_code == code or code is None:
            self.add(row_no, self.id_col, WARNING,
                     _("duplicate row: category {id} already in row {row}").format(id=cat_id, row=prev_row))
            return True
        if prev_code is None:
            self.add(row_no, self.id_col, WARNING, _("category {id} also in row {row} without a code").format(
                id=cat_id, row=prev_row))
            return False
        self.add(row_no, self.code_col, ERROR, _("category {id} is mapped to {previous} in row {row} and to "
                                                 "{code} here: one category, one code").format(
            id=cat_id, previous=prev_code, row=prev_row, code=code))
        return True


def _read_header(values: tuple[int, tuple[Any, ...]] | None, add: Add) -> dict[str, int] | None:
    """Rule 3: known column headers, each once, the id and code columns present."""
    if values is None:
        add(None, None, ERROR, _("the sheet is empty"))
        return None
    row_no, cells = values
    columns: dict[str, int] = {}
    for i, value in enumerate(cells):
        if value is None or not str(value).strip():
            continue
        key = _WS_RE.sub(" ", str(value)).strip().casefold()
        header = _HEADER_KEYS.get(key)
        if header is None:
            add(row_no, i, ERROR, _("unknown column header «{header}» (expected: {expected})").format(
                header=str(value).strip(), expected=", ".join(HEADERS)))
        elif header in columns:
            add(row_no, i, ERROR, _("column «{header}» appears twice").format(header=header))
        else:
            columns[header] = i
    for required in (COL_ID, COL_CODE):
        if required not in columns:
            add(row_no, None, ERROR, _("missing column «{column}» in row {row} (header cells merged, "
                                       "renamed or deleted?)").format(column=required, row=row_no))
    columns.pop(COL_NAME, None)
    return columns


def _coverage(result: ValidationResult, categories: PosCategoryTree, require_full: bool, add: Add) -> None:
    """Rule 10: every POS category has a code (itself or a parent); an error with ``require_full``."""
    mapped = result.entries
    missing = [leaf for leaf in categories.leaves()
               if not any(a.id in mapped for a in categories.ancestors(leaf.id))]
    result.unmapped = len(missing)
    if not missing:
        return
    shown = "; ".join(c.full_path for c in missing[:5]) + (
        " " + _("(+{count} more)").format(count=len(missing) - 5) if len(missing) > 5 else "")
    add(None, None, ERROR if require_full else WARNING,
        _("{missing} of {total} POS categories have no SSTU code (neither they nor a parent category): "
          "{shown}").format(missing=len(missing), total=len(categories.leaves()), shown=shown))
