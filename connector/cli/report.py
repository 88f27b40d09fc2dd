"""``connector report …``: deadline discipline reports for coordinators (Excel, with charts).

Exit codes: 0 written (and sent with ``--send``); 1 the e-mail could not be sent; 2 bad dates,
an unknown unit, or a configuration without what ``--send`` needs.
"""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

import click

from connector.cli._common import (
    EXIT_BAD_INPUT,
    EXIT_FAILED,
    EXIT_OK,
    config_option,
    emit_json,
    fail,
    json_option,
    load,
)
from connector.i18n import _


def _date(value: str, option: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        fail(_("{option}: expected a date YYYY-MM-DD, got {value!r}").format(option=option, value=value), EXIT_BAD_INPUT)


@click.group()
def report() -> None:
    """Исполнительская дисциплина: per unit and per executor, with charts (see README «For coordinators»)."""


def _finish(report_obj: object, path: Path, as_json: bool) -> None:
    from connector.discipline.figures import Report

    assert isinstance(report_obj, Report)
    t = report_obj.total
    if as_json:
        emit_json({"report": str(path), "first": report_obj.first.isoformat(), "last": report_obj.last.isoformat(),
                   "unit": report_obj.unit, "total": t.model_dump(), "on_time_share": t.on_time_share,
                   "units": [{"unit": r.unit, **r.figures.model_dump()} for r in report_obj.units]})
    else:
        share = f"{t.on_time_share:.0%}" if t.on_time_share is not None else "—"
        click.echo(_("{path}: {received} received, {answered} answered, on time {share}, {own} overdue by own "
                     "fault, {late} received overdue, {units} unit(s), {executors} executor(s)").format(
            path=path, received=t.received, answered=t.answered, share=share, own=t.overdue_own,
            late=t.received_overdue, units=len(report_obj.units), executors=len(report_obj.executors)))


@report.command("period")
@click.option("--from", "first", required=True, help="first day (YYYY-MM-DD, body's zone)")
@click.option("--to", "last", required=True, help="last day (YYYY-MM-DD, body's zone)")
@click.option("--unit", default=None, help="only this unit (подразделение), as the EDMS names it")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="the workbook to write (default: <data_dir>/<[reports] out_dir>/discipline-….xlsx)")
@config_option
@json_option
def period_cmd(first: str, last: str, unit: str | None, out: Path | None, config: Path | None,
               as_json: bool) -> None:
    """The report over messages received from --from to --to."""
    from connector.cli._common import open_store
    from connector.discipline import service
    from connector.store.models import utcnow

    start, end = _date(first, "--from"), _date(last, "--to")
    if end < start:
        fail(_("--to {end} is before --from {start}").format(end=end, start=start), EXIT_BAD_INPUT)
    if out is not None and out.suffix.lower() != ".xlsx":
        fail(_("--out {out}: the report is an Excel workbook, name it .xlsx").format(out=out), EXIT_BAD_INPUT)
    settings = load(config)
    store = open_store(settings)
    built = service.build(store, first=start, last=end, zone=settings.sstu.zone, now=utcnow(), unit=unit)
    if unit is not None and not built.units:
        fail(_("--unit {unit!r}: no message of that unit in the period (units are named as in the EDMS)").format(unit=unit),
             EXIT_BAD_INPUT)
    path = service.write(built, out, settings.daemon.data_dir / settings.reports.out_dir)
    _finish(built, path, as_json)
    sys.exit(EXIT_OK)


@report.command("weekly")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="the workbook to write (default under <data_dir>/<[reports] out_dir>)")
@click.option("--send", is_flag=True, help="also e-mail it to [reports] recipients now (the weekly_report job)")
@config_option
@json_option
def weekly_cmd(out: Path | None, send: bool, config: Path | None, as_json: bool) -> None:
    """The report of the last full week (Monday to Sunday in the body's zone)."""
    from connector.cli._common import open_store
    from connector.discipline import service
    from connector.store.models import utcnow

    settings = load(config)
    if send:
        _send(settings)
    now = utcnow()
    first, last = service.last_full_week(now, settings.sstu.zone)
    built = service.build(open_store(settings), first=first, last=last, zone=settings.sstu.zone, now=now)
    path = service.write(built, out, settings.daemon.data_dir / settings.reports.out_dir)
    _finish(built, path, as_json)
    sys.exit(EXIT_OK)


def _send(settings: object) -> None:
    from connector.discipline.weekly import NOT_CONFIGURED, configured, send
    from connector.pipeline.runner import build_context

    if not configured(settings.reports, settings.alerts):  # type: ignore[attr-defined]
        fail(_(NOT_CONFIGURED), EXIT_BAD_INPUT)
    ctx = build_context(settings, create=False)  # type: ignore[arg-type]
    stats = send(ctx)
    stats.notes.extend(stats.retry_reasons)
    if stats.notes:
        fail("; ".join(stats.notes), EXIT_FAILED)
    if not stats.processed:
        click.echo(_("the last full week's report was sent already (or another worker is sending it): "
                     "not sent again"), err=True)
