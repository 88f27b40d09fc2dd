"""Build a discipline report from the store: the one entry point of the CLI, the weekly job and the demo."""

from __future__ import annotations

from datetime import date, datetime, timedelta, tzinfo
from pathlib import Path

from connector.discipline.facts import load_facts
from connector.discipline.figures import TREND_WEEKS, Report, compute, week_start
from connector.discipline.workbook import write_report
from connector.notices.control import collect as collect_ratings
from connector.store.db import Store


def last_full_week(now: datetime, zone: tzinfo) -> tuple[date, date]:
    """Monday and Sunday of the last week (Mon–Sun, body's zone) that has ended by ``now``."""
    monday = week_start(now.astimezone(zone).date()) - timedelta(weeks=1)
    return monday, monday + timedelta(days=6)


def build(store: Store, *, first: date, last: date, zone: tzinfo, now: datetime,
          unit: str | None = None) -> Report:
    trend_first = min(first, week_start(last) - timedelta(weeks=TREND_WEEKS - 1))
    # the ratings table is what the reports count: bring it up to date (idempotent; the notices job
    # keeps it current too, but a report must not depend on [notices] being on)
    with store.sessions.begin() as session:
        collect_ratings(session, since=None, now=now)
    with store.session() as session:
        facts = load_facts(session, trend_first, last, zone)
    return compute(facts, first=first, last=last, zone=zone, now=now, unit=unit, trend_facts=facts)


def default_name(report: Report) -> str:
    scope = f"-{report.unit}" if report.unit else ""
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in scope)
    return f"discipline-{report.first.isoformat()}-{report.last.isoformat()}{safe}.xlsx"


def write(report: Report, out: Path | None, out_dir: Path) -> Path:
    return write_report(report, out or out_dir / default_name(report))
