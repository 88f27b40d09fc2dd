"""``connector messages find`` and ``connector audit list``: the search POS lacks, and who searched
by personal data."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click

from connector.cli._common import (
    EXIT_BAD_INPUT,
    config_option,
    emit_json,
    fail,
    json_option,
    load,
    open_store,
)
from connector.i18n import _

if TYPE_CHECKING:
    from connector.ops.message_search import FindResult


@click.group()
def messages() -> None:
    """Find messages in the store."""


def _date(value: str | None, option: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        fail(_("{option}: expected a date YYYY-MM-DD, got {value!r}").format(option=option, value=value), EXIT_BAD_INPUT)


@messages.command("find")
@config_option
@click.option("--number", default="", help="the POS number («Номер»)")
@click.option("--applicant", default="", metavar="SURNAME",
              help="the applicant's surname: personal data, every such search is written to the audit log")
@click.option("--from", "received_from", default=None, metavar="DATE", help="received on or after (YYYY-MM-DD)")
@click.option("--to", "received_to", default=None, metavar="DATE", help="received on or before (YYYY-MM-DD)")
@click.option("--category", default="", help="POS category (part of its name)")
@click.option("--unit", default="", help="unit (part of its name, as in [notices] recipients or the hops)")
@click.option("--executor", default="", help="executor (part of the name, as the EDMS gives it)")
@click.option("--state", default="", help="lifecycle state (stored, registered, in_work, answered, …)")
@click.option("--overdue", is_flag=True, help="only messages past their POS term")
@click.option("--sort", type=click.Choice(["received", "due"]), default="received", show_default=True)
@click.option("--limit", type=click.IntRange(1, 10_000), default=200, show_default=True)
@json_option
def find(config: Path | None, number: str, applicant: str, received_from: str | None, received_to: str | None,
         category: str, unit: str, executor: str, state: str, overdue: bool, sort: str, limit: int,
         as_json: bool) -> None:
    """Messages by number, period, category, unit, executor, state; by applicant only with --applicant."""
    from connector.ops.message_search import FindQuery, find_messages
    from connector.store.models import MessageState

    if state and state not in {s.value for s in MessageState}:
        fail(_("--state: unknown state {state!r} (one of: {states})").format(
            state=state, states=", ".join(s.value for s in MessageState)), EXIT_BAD_INPUT)
    query = FindQuery(number=number.strip(), applicant=applicant.strip(), received_from=_date(received_from, "--from"),
                      received_to=_date(received_to, "--to"), category=category, unit=unit, executor=executor,
                      state=state, overdue=overdue, sort=sort, limit=limit)  # type: ignore[arg-type]
    settings = load(config)
    zone = settings.sstu.zone
    result = find_messages(open_store(settings), query, zone=zone, today=datetime.now(zone).date(),
                           recipients=settings.notices.recipients)
    if as_json:
        emit_json(result.model_dump(mode="json"))
        return
    _table(result, with_applicant=bool(query.applicant))


def _table(result: FindResult, *, with_applicant: bool) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(show_lines=False, header_style="bold")
    columns = [_("POS No."), _("received"), _("due"), _("state"), _("category"), _("problem address"), _("unit"),
               _("executor"), *([_("applicant")] if with_applicant else [])]
    for name in columns:
        table.add_column(name, overflow="fold")
    overdue = _("overdue")
    for m in result.messages:
        due = f"{m.due:%d.%m.%Y}" if m.due else "—"
        table.add_row(m.number, f"{m.received:%d.%m.%Y}" if m.received else "—",
                      f"[red]{due} {overdue}[/red]" if m.overdue else due, m.state, m.category or "—",
                      m.problem_address or "—", ", ".join(m.units) or "—", m.executor or "—",
                      *([m.applicant] if with_applicant else []))
    import sys

    console = Console(width=None if sys.stdout.isatty() else 200)
    console.print(table)
    shown = len(result.messages)
    line = _("found: {total}").format(total=result.total)
    if result.total > shown:
        line += " " + _("(shown: {shown}; narrow the search or raise --limit)").format(shown=shown)
    console.print(line + ("; " + _("this search is in the audit log") if result.audited else ""))


@click.group()
def audit() -> None:
    """Who searched by personal data, when, and what."""


@audit.command("list")
@config_option
@click.option("--limit", type=click.IntRange(1, 100_000), default=100, show_default=True)
@json_option
def audit_list(config: Path | None, limit: int, as_json: bool) -> None:
    """The newest entries of the audit log first."""
    from connector.ops.message_search import audit_entries

    settings = load(config)
    entries = audit_entries(open_store(settings), limit=limit)
    if as_json:
        emit_json({"entries": [e.model_dump(mode="json") for e in entries]})
        return
    if not entries:
        click.echo(_("the audit log is empty"))
    for e in entries:
        what = " ".join(f"{k}={v}" for k, v in sorted(e.details.items()))
        click.echo(f"#{e.id} {e.at.astimezone(settings.sstu.zone):%Y-%m-%d %H:%M:%S %Z} {e.who} {e.action} "
                   f"{what} results={e.results}")
