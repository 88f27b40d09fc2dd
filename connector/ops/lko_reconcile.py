"""``connector pos reconcile``: compare the ЛКО's own XLSX export with what we hold.

The organisation downloads its messages from the ЛКО as XLSX (sheet ``Sheet0``); columns are
read by header name, because the set has grown over time and older layouts must still read.
Reported per account: messages POS has that we never pulled, status disagreements, and
overdue disagreements both ways.  ``fix`` queues the missing ones for the next pull.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zipfile import BadZipFile

from openpyxl import Workbook, load_workbook
from openpyxl.utils.exceptions import InvalidFileException
from pydantic import BaseModel
from sqlalchemy import select

from connector.errors import DataError
from connector.i18n import N_
from connector.pos_client.wire import STATUS_LABELS
from connector.safe_archive import check_office_file
from connector.store.db import Store
from connector.store.models import Card, Message, MessageState

SHEET = "Sheet0"
COL_NUMBER = "Номер"
COL_STATUS = "Статус"
COL_OVERDUE = "Просрочено"
COL_PLANNED = "Дата планируемого завершения работ"
_LABEL_TO_STATUS = {label.casefold(): status for status, label in STATUS_LABELS.items()}
_DONE = {MessageState.ANSWERED, MessageState.REDIRECTED, MessageState.CLOSED}


class LkoRow(BaseModel):
    row: int
    number: str
    status_label: str = ""
    overdue: bool | None = None
    planned: date | None = None


class Difference(BaseModel):
    kind: str  # missing | status | overdue_in_pos_only | overdue_here_only
    number: str
    row: int | None = None
    pos: str = ""
    ours: str = ""


class LkoReport(BaseModel):
    account: str
    rows: int
    differences: list[Difference]
    queued: list[str] = []

    def count(self, kind: str) -> int:
        return sum(1 for d in self.differences if d.kind == kind)


def read_export(path: Path) -> Iterator[LkoRow]:
    """Rows of the ЛКО export; a missing sheet or «Номер» column is a DataError naming it."""
    check_office_file(path, what=N_("not a readable XLSX workbook"))
    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, BadZipFile, OSError, KeyError, ValueError) as exc:
        raise DataError(N_("{file}: not a readable XLSX workbook ({kind})"),
                        params={"file": path.name, "kind": type(exc).__name__}) from None
    try:
        if SHEET not in workbook.sheetnames:
            raise DataError(N_("{file}: no sheet «{sheet}» (sheets: {sheets})"),
                            params={"file": path.name, "sheet": SHEET, "sheets": ", ".join(workbook.sheetnames)})
        rows = workbook[SHEET].iter_rows(values_only=True)
        header = next(rows, None) or ()
        columns = {str(v).strip(): i for i, v in enumerate(header) if v is not None}
        if COL_NUMBER not in columns:
            raise DataError(N_("{file}: sheet «{sheet}» has no column «{column}» in row 1"),
                            params={"file": path.name, "sheet": SHEET, "column": COL_NUMBER})
        for index, values in enumerate(rows, start=2):
            number = _cell(values, columns.get(COL_NUMBER))
            if not number:
                continue
            yield LkoRow(row=index, number=number, status_label=_cell(values, columns.get(COL_STATUS)),
                         overdue=_yes_no(_cell(values, columns.get(COL_OVERDUE))),
                         planned=_date(values, columns.get(COL_PLANNED), path, index))
    finally:
        workbook.close()


def _cell(values: tuple[Any, ...], index: int | None) -> str:
    if index is None or index >= len(values) or values[index] is None:
        return ""
    value = values[index]
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _yes_no(text: str) -> bool | None:
    return {"да": True, "нет": False}.get(text.casefold())


def _date(values: tuple[Any, ...], index: int | None, path: Path, row: int) -> date | None:
    if index is None or index >= len(values) or values[index] in (None, "", "-"):
        return None
    value = values[index]
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        day, month, year = (int(part) for part in str(value).strip().split("."))
        return date(year, month, day)
    except ValueError:
        raise DataError(N_("{file}: row {row}, «{column}»: {value} is not dd.mm.yyyy"),
                        params={"file": path.name, "row": row, "column": COL_PLANNED, "value": repr(value)}) from None


def reconcile(store: Store, account: str, export: Path, today: date, *, fix: bool = False) -> LkoReport:
    differences: list[Difference] = []
    rows = 0
    missing: list[str] = []
    with store.session() as session:
        ours = {m.pos_id: m for m in session.scalars(select(Message).where(Message.account == account))}
        deadlines = dict(session.execute(select(Card.message_id, Card.deadline)).all())
        seen: set[str] = set()
        for row in read_export(export):
            rows += 1
            seen.add(row.number)
            message = ours.get(row.number)
            if message is None:
                differences.append(Difference(kind="missing", number=row.number, row=row.row, pos=row.status_label))
                missing.append(row.number)
                continue
            pos_status = _LABEL_TO_STATUS.get(row.status_label.casefold())
            if row.status_label and pos_status is not None and message.pos_status != pos_status:
                differences.append(Difference(kind="status", number=row.number, row=row.row, pos=pos_status.value,
                                              ours=message.pos_status or ""))
            deadline = deadlines.get(message.id) or row.planned
            overdue_here = bool(deadline and deadline < today and message.state not in _DONE)
            if row.overdue is True and not overdue_here:
                differences.append(Difference(kind="overdue_in_pos_only", number=row.number, row=row.row,
                                              ours=f"deadline {deadline or '—'}, state {message.state}"))
            elif row.overdue is False and overdue_here:
                differences.append(Difference(kind="overdue_here_only", number=row.number, row=row.row,
                                              ours=f"deadline {deadline}, state {message.state}"))
    queued: list[str] = []
    if fix and missing:
        with store.sessions.begin() as session:
            for number in missing:
                session.add(Message(account=account, pos_id=number, state=MessageState.FETCHING, attempts=0))
                queued.append(number)
    return LkoReport(account=account, rows=rows, differences=differences, queued=queued)


def write_report(report: LkoReport, out: Path) -> None:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = "Расхождения"
    sheet.append(["Вид", "Номер", "Строка выгрузки", "ПОС", "Коннектор"])
    for index, d in enumerate(report.differences, start=2):
        for col, value in enumerate([d.kind, d.number, d.row, d.pos, d.ours], start=1):
            cell = sheet.cell(row=index, column=col, value=value)
            if isinstance(value, str):
                cell.data_type = "s"  # text stays text: no cell from the data can become a formula
    sheet.freeze_panes = "A2"
    workbook.save(out)

