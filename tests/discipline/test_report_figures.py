"""Every figure of the discipline report against a count made from the simulators' own state.

The pipeline runs for real (POS and 1С simulators on loopback, SQLite) under one moving clock
shared with 1С's executors: received today, teams of executors in several units (some in turn,
some already late), first turns handed on after 4 and 8 days, extensions and redirects on day 4
and 12, answers on days 12, 25 and 35 (past the 30-day terms), three left open.  The expected figures are then counted here
from what POS and 1С hold (terms, categories, tasks with their units, turns, own terms and
completion times) and from the test's own timeline, not from the store.
"""

from __future__ import annotations

import io
import json
import math
import os
import re
import shutil
import socket
import statistics
import subprocess
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from connector.config import settings_from_mapping
from connector.discipline import service
from connector.discipline.figures import NO_UNIT, Figures, Report
from connector.discipline.workbook import EXECUTORS, FIGURE_HEADERS, HEADER_ROW, SUMMARY, TOPS, figure_values
from connector.pipeline.context import PipelineContext
from connector.pipeline.runner import build_context, run_job
from connector.simulators.onec import OnecSimulator
from connector.simulators.pos import PosSimulator
from connector.simulators.server import SimServer

import simctl
from testconfig import BODY_ZONE, settings_mapping

pytestmark = pytest.mark.date_sensitive
DAY = timedelta(days=1)


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC).replace(microsecond=0)

    def __call__(self) -> datetime:
        return self.now


@dataclass
class World:
    ctx: PipelineContext
    clock: Clock
    pos: PosSimulator
    onec: OnecSimulator
    onec_server: SimServer
    received_at: datetime
    answered_at: dict[str, datetime]
    redirected_at: dict[str, datetime]
    extended: set[str]
    tmp_path: Path
    mapping: dict[str, Any]


def _docs(onec: OnecSimulator) -> dict[str, dict[str, Any]]:
    """pos_id → the 1С card (its tasks with units, turns, terms, completion)."""
    return {d["externalObject"]["id"]: d for d in onec.store.state()["documents"].values()
            if d.get("externalObject")}


def _act(w: World, **body: Any) -> Any:
    return simctl.onec_act(w.onec_server, **body)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    tmp_path = tmp_path_factory.mktemp("discipline")
    clock = Clock()
    pos, onec = PosSimulator(), OnecSimulator(seed=5)
    onec.store.clock = clock
    with SimServer(pos) as pos_server, SimServer(onec) as onec_server:
        mapping = settings_mapping(data_dir=tmp_path / "data", db_url=f"sqlite:///{tmp_path / 'c.db'}",
                                   pos_url=pos_server.url, onec_url=onec_server.url)
        ctx = build_context(settings_from_mapping(mapping), sleep=lambda _s: None, clock=clock)
        w = World(ctx, clock, pos, onec, onec_server, clock.now, {}, {}, set(), tmp_path, mapping)
        ids = simctl.seed(pos_server, 40)
        for job in ("pull", "register"):
            run_job(ctx, job)
        _act(w, action="auto", assign=True, answer=False)
        clock.now += timedelta(minutes=1)
        run_job(ctx, "track")
        run_job(ctx, "push")
        run_job(ctx, "pull")  # POS took the EDMS term as its own (and the answers): the store follows
        docs = _docs(onec)
        parallel = [p for p in ids if all(t["order"] == 0 for t in docs[p]["tasks"])]
        in_turn = [p for p in ids if p not in parallel]
        # day 4: first turns hand on, some parallel cards get their terms extended
        clock.now += 4 * DAY
        for p in in_turn:
            _act(w, action="complete", pos_id=p)
        w.extended = set(parallel[::4])
        for p in sorted(w.extended):
            _act(w, action="extend", pos_id=p, days=15)
        run_job(ctx, "track")
        # day 8: second turns of three-turn cards hand on
        clock.now += 4 * DAY
        for p in in_turn:
            if len(docs[p]["tasks"]) == 3:
                _act(w, action="complete", pos_id=p)
        run_job(ctx, "track")
        # day 12: two parallel cards go to another organisation, half the rest is answered
        clock.now += 4 * DAY
        for p in [q for q in parallel if q not in w.extended][:2]:
            _act(w, action="redirect", pos_id=p, org_id="org-elsewhere", comment="не по компетенции")
            w.redirected_at[p] = clock.now
        rest = [p for p in ids if p not in w.redirected_at]
        for p in rest[::2]:
            _act(w, action="answer", pos_id=p)
            w.answered_at[p] = clock.now
        run_job(ctx, "track")
        run_job(ctx, "push")
        run_job(ctx, "pull")  # POS took the EDMS term as its own (and the answers): the store follows
        # day 25: the others are answered but six, not extended; on day 35 (past the 30-day terms) three
        # of those are answered late and three are still open
        late = [q for q in rest[1::2] if q not in w.extended][-6:]
        for days, answering in ((13, [q for q in rest[1::2] if q not in late]), (10, late[:3])):
            clock.now += days * DAY
            for p in answering:
                _act(w, action="answer", pos_id=p)
                w.answered_at[p] = clock.now
            run_job(ctx, "track")
            run_job(ctx, "push")
            run_job(ctx, "pull")  # POS took the EDMS term as its own (and the answers): the store follows
        # applicants rate a share of the answers (no repeat appeals: the period's messages stay the 40)
        assert pos.rate_answers(share=0.8, low_share=0.3, repeat_share=0.0, seed=11)["rated"]
        run_job(ctx, "pull")
        yield w
        ctx.close()
        ctx.store.dispose()


# --- the independent count -------------------------------------------------------------------------------
def _expiry(term: date) -> datetime:
    return datetime.combine(term + DAY, time.min, tzinfo=BODY_ZONE)


def _moment(raw: str | None) -> datetime | None:
    return datetime.fromisoformat(raw).replace(tzinfo=BODY_ZONE) if raw else None


@dataclass
class Span:
    unit: str
    executor: str
    responsible: bool
    order: int
    start: datetime
    end: datetime | None
    extensions: int
    ended_away: bool  # redirected


def _spans(w: World, pos_id: str, doc: dict[str, Any]) -> list[Span]:
    """When each 1С task held the message: from the first track (or the previous turn's completion)
    until its completion (or the redirect)."""
    first_track = w.received_at + timedelta(minutes=1)
    spans = []
    for task in doc["tasks"]:
        order = task["order"]
        before = [t for t in doc["tasks"] if 0 < t["order"] == order - 1]
        start = max(_moment(t["endDate"]) for t in before) if order > 1 else first_track  # type: ignore[type-var]
        end = w.redirected_at.get(pos_id) or _moment(task["endDate"])
        spans.append(Span(task["department"], task["performer"], task["responsible"], order, start, end,
                          1 if pos_id in w.extended else 0, pos_id in w.redirected_at))
    return spans


def _holder(spans: list[Span], moment: datetime) -> tuple[str, str]:
    holding = [s for s in spans if s.start <= moment and (s.end is None or s.end > moment)]
    if not holding:
        return (NO_UNIT, "")
    best = min(holding, key=lambda s: (not s.responsible, s.order, s.start))
    return (best.unit, best.executor)


def _nearest_rank(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def expected(w: World, key_of: Any) -> dict[Any, Figures]:
    """Figures per key (``key_of(span)``: the unit, or (unit, executor)) from the simulators' state."""
    appeals = {a.appeal.id: a.appeal for a in w.pos.store.appeals.values()}
    docs = _docs(w.onec)
    now = w.clock.now
    acc: dict[Any, Counter[str]] = defaultdict(Counter)
    days: dict[Any, list[float]] = defaultdict(list)
    for pos_id, appeal in appeals.items():
        expiry = _expiry(appeal.planned_date)  # type: ignore[arg-type]
        spans = _spans(w, pos_id, docs[pos_id])
        answered = w.answered_at.get(pos_id)
        culprit = None
        if w.received_at < expiry and (answered is None or answered >= expiry) and now >= expiry:
            culprit = _holder(spans, expiry)
        for key in {key_of(s) for s in spans}:
            mine = [s for s in spans if key_of(s) == key]
            late_arrival = min(s.start for s in mine) >= expiry
            c = acc[key]
            c["received"] += 1
            c["answered"] += answered is not None
            c["on_time"] += answered is not None and answered < expiry and not late_arrival
            c["received_overdue"] += late_arrival
            c["overdue_own"] += culprit is not None and not late_arrival and key_of(
                Span(culprit[0], culprit[1], False, 0, now, None, 0, False)) == key
            c["extensions"] += sum(s.extensions for s in mine)
            c["redirects"] += sum(s.ended_away for s in mine)
            c["repeats"] += appeal.repeated
            c["rated"] += appeal.rating is not None
            c["rated_high"] += (appeal.rating or 0) >= 4
            if answered is not None:
                days[key].append((answered - w.received_at).total_seconds() / 86400)
    return {key: Figures(received=c["received"], answered=c["answered"], on_time=c["on_time"],
                         overdue_own=c["overdue_own"], received_overdue=c["received_overdue"],
                         extensions=c["extensions"], redirects=c["redirects"],
                         median_days=round(statistics.median(days[key]), 1) if days[key] else None,
                         p90_days=round(_nearest_rank(days[key], 0.9), 1) if days[key] else None,
                         rated=c["rated"], rated_high=c["rated_high"], repeats=c["repeats"])
            for key, c in acc.items()}


def _report(w: World, unit: str | None = None) -> Report:
    day = w.received_at.astimezone(BODY_ZONE).date()
    return service.build(w.ctx.store, first=day, last=day, zone=BODY_ZONE, now=w.clock.now, unit=unit)


# --- LibreOffice -----------------------------------------------------------------------------------------
def print_pdf(source: Path, work: Path) -> Path:
    """``soffice --headless --convert-to pdf`` with a private profile (no clash with parallel runs)."""
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    assert soffice, "soffice not found: install Debian package libreoffice-calc-nogui"
    proc = subprocess.run([soffice, "--headless", "--norestore", f"-env:UserInstallation=file://{work}/profile",
                           "--convert-to", "pdf", "--outdir", str(work), str(source)],
                          capture_output=True, text=True, timeout=180, env={**os.environ, "HOME": str(work)},
                          check=False)
    pdf = work / f"{source.stem}.pdf"
    assert proc.returncode == 0 and pdf.is_file(), proc.stdout + proc.stderr
    return pdf


def pdf_pages(pdf: Path) -> list[tuple[float, float]]:
    out = subprocess.run(["pdfinfo", "-f", "1", "-l", "999", str(pdf)], capture_output=True, text=True,
                         check=True).stdout
    return [(float(w), float(h)) for w, h in re.findall(r"Page\s+\d+ size:\s+([\d.]+) x ([\d.]+)", out)]


def pdf_text(pdf: Path, page: int) -> str:
    return subprocess.run(["pdftotext", "-layout", "-f", str(page), "-l", str(page), str(pdf), "-"],
                          capture_output=True, text=True, check=True).stdout


def wb_sheets(path: Path) -> list[str]:
    return list(openpyxl.load_workbook(path).sheetnames)


# --- the tests ---------------------------------------------------------------------------------------------
def test_the_scenario_has_what_the_report_must_tell_apart(world: World) -> None:
    report = _report(world)
    t = report.total
    assert len(report.units) >= 3 and t.received == 40
    assert t.on_time and t.overdue_own and t.received_overdue and t.extensions and t.redirects == 2
    assert any(r.figures.received_overdue for r in report.units if r.unit != NO_UNIT)  # a late second turn


def test_every_unit_figure_matches_the_simulators(world: World) -> None:
    report = _report(world)
    assert {r.unit: r.figures for r in report.units} == expected(world, lambda s: s.unit)


def test_every_executor_figure_matches_the_simulators(world: World) -> None:
    report = _report(world)
    assert {(r.unit, r.executor): r.figures for r in report.executors} == expected(
        world, lambda s: (s.unit, s.executor))


def test_organisation_totals_and_tops_match_the_simulators(world: World) -> None:
    report = _report(world)
    appeals = [a.appeal for a in world.pos.store.appeals.values()]
    answered = [(world.answered_at[a.id] - world.received_at).total_seconds() / 86400
                for a in appeals if a.id in world.answered_at]
    expiry = {a.id: _expiry(a.planned_date) for a in appeals}  # type: ignore[arg-type]
    late_arrivals = sum(world.received_at >= e for e in expiry.values())
    on_time = sum(1 for p, at in world.answered_at.items() if at < expiry[p] and world.received_at < expiry[p])
    overdue = sum(1 for p, e in expiry.items() if world.received_at < e <= world.clock.now
                  and (p not in world.answered_at or world.answered_at[p] >= e))
    t = report.total
    assert (t.received, t.answered, t.on_time, t.overdue_own, t.received_overdue) == (
        40, len(world.answered_at), on_time, overdue, late_arrivals)
    assert t.redirects == len(world.redirected_at) and t.repeats == sum(a.repeated for a in appeals)
    assert t.extensions == sum(len(_docs(world.onec)[p]["tasks"]) for p in world.extended)
    assert (t.median_days, t.p90_days) == (round(statistics.median(answered), 1),
                                           round(_nearest_rank(answered, 0.9), 1))
    ratings = [a.rating for a in appeals if a.rating is not None]
    assert ratings and any(r < 4 for r in ratings) and any(r >= 4 for r in ratings)
    assert (t.rated, t.rated_high) == (len(ratings), sum(r >= 4 for r in ratings))
    cats = Counter(a.category.name for a in appeals if a.category)
    assert dict(report.categories) == dict(sorted(cats.items(), key=lambda kv: (-kv[1], kv[0]))[:10])
    assert sum(n for _, n in report.addresses) == min(40, sum(
        n for _, n in Counter(a.problem_address for a in appeals).most_common(10)))


def test_a_unit_report_keeps_only_that_units_rows(world: World) -> None:
    unit = _report(world).units[0].unit
    report = _report(world, unit)
    assert [r.unit for r in report.units] == [unit]
    assert {r.unit for r in report.executors} == {unit}
    assert report.total.received == report.units[0].figures.received


def _as_stored(values: list[Any]) -> list[Any]:
    """A share as the workbook keeps it (a float written with 16 significant digits)."""
    return [float(f"{v:.16g}") if isinstance(v, float) else v for v in values]


def test_the_workbook_shows_the_same_figures(world: World) -> None:
    report = _report(world)
    path = service.write(report, world.tmp_path / "out" / "r.xlsx", world.tmp_path)
    wb = openpyxl.load_workbook(path)
    summary = wb[SUMMARY]
    header = [c.value for c in summary[HEADER_ROW]][1:1 + len(FIGURE_HEADERS)]
    assert header == list(FIGURE_HEADERS)
    rows = {summary.cell(row=r, column=1).value: [summary.cell(row=r, column=c).value
                                                   for c in range(2, 2 + len(FIGURE_HEADERS))]
            for r in range(HEADER_ROW + 1, HEADER_ROW + 2 + len(report.units))}
    for row in report.units:
        assert rows[row.unit] == _as_stored(figure_values(row.figures))
    assert rows["Итого по организации"] == _as_stored(figure_values(report.total))
    executors = wb[EXECUTORS]
    assert executors.max_row == HEADER_ROW + len(report.executors)
    assert wb[TOPS].cell(row=HEADER_ROW + 1, column=1).value == report.categories[0][0]
    assert summary.freeze_panes == f"B{HEADER_ROW + 1}" and summary.print_title_rows == f"${HEADER_ROW}:${HEADER_ROW}"
    assert summary.page_setup.orientation == "landscape" and summary.page_setup.fitToHeight == 1
    assert len(summary._charts) == 1 and len(wb["Графики"]._charts) == 2



def test_the_workbook_prints_the_summary_on_one_landscape_page_and_every_sheet_one_page_wide(world: World) -> None:
    report = _report(world)
    path = service.write(report, world.tmp_path / "print" / "discipline.xlsx", world.tmp_path)
    pdf = print_pdf(path, world.tmp_path / "lo")
    pages = pdf_pages(pdf)
    assert pages and all(w > h for w, h in pages), pages  # every page landscape
    texts = [pdf_text(pdf, n) for n in range(1, len(pages) + 1)]
    assert "Сводка — стр. 1 " in texts[0] and "Итого по организации" in texts[0]
    footers = Counter(t.strip().splitlines()[-1].split(" — ")[0].strip() for t in texts)
    assert footers["Сводка"] == 1, footers
    for sheet in wb_sheets(path):
        assert footers[sheet] >= 1, (sheet, footers)
    # one page wide: on every page of a table sheet its first and last column headers are both there
    for text in texts:
        sheet = text.strip().splitlines()[-1].split(" — ")[0].strip()
        if sheet in (SUMMARY, EXECUTORS, "Динамика"):
            flat = " ".join(text.split())
            assert "Поступило" in flat and "Повторные" in flat, (sheet, flat[:300])


class Mailbox:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:
        msg = message_from_bytes(envelope.original_content or b"", policy=policy.default)
        assert isinstance(msg, EmailMessage)
        self.messages.append(msg)
        return "250 OK"


def test_the_weekly_report_is_mailed_once_with_its_chart_inline(world: World) -> None:
    from aiosmtpd.controller import Controller

    box = Mailbox()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        received = world.received_at.astimezone(BODY_ZONE).date()
        monday = received - timedelta(days=received.weekday()) + timedelta(weeks=1)
        clock = Clock()
        clock.now = datetime.combine(monday, time(7, 59), tzinfo=BODY_ZONE).astimezone(UTC)
        mapping = {**world.mapping,
                   "alerts": {"smtp_host": "127.0.0.1", "smtp_port": port, "mail_from": "connector@adm.example",
                              "mail_to": ["it@adm.example"]},
                   "reports": {"recipients": ["mayor-office@adm.example", "curator@adm.example"]}}
        ctx = build_context(settings_from_mapping(mapping), sleep=lambda _s: None, clock=clock)
        try:
            early = run_job(ctx, "weekly_report")  # [reports] weekly_day = mon, weekly_time = 08:00 by default
            assert (early.processed, box.messages) == (0, [])
            clock.now += timedelta(minutes=1)
            first = run_job(ctx, "weekly_report")
            clock.now += timedelta(hours=2)  # a restart or a second worker the same week sends nothing more
            second = run_job(ctx, "weekly_report")
        finally:
            ctx.close()
    finally:
        controller.stop()
    assert (first.processed, first.notes, second.processed) == (1, [], 0)
    [msg] = box.messages
    assert msg["To"] == "mayor-office@adm.example, curator@adm.example"
    assert f"{monday - timedelta(weeks=1):%d.%m.%Y}" in msg["Subject"]
    html_part = msg.get_body(("html",))
    assert html_part is not None
    page = html_part.get_content()
    assert "Итого" in page and "Получено просроченным" in page
    [png] = [p for p in msg.walk() if p.get_content_type() == "image/png"]
    assert f'cid:{png["Content-ID"].strip("<>")}' in page
    image = png.get_content()
    assert image.startswith(b"\x89PNG")
    (world.tmp_path / "weekly-chart.png").write_bytes(image)
    [book] = [p for p in msg.iter_attachments() if p.get_filename().endswith(".xlsx")]
    assert openpyxl.load_workbook(io.BytesIO(book.get_content()))[SUMMARY]["A1"].value


def test_the_report_command_writes_the_workbook_and_names_bad_input(world: World) -> None:
    from clirun import connector, write_config

    day = f"{world.received_at.astimezone(BODY_ZONE).date():%Y-%m-%d}"
    config = write_config(world.tmp_path / "cli" / "connector.toml",
                          daemon=f'data_dir = "data"\ndatabase_url = "sqlite:///{world.tmp_path / "c.db"}"')
    out = world.tmp_path / "cli" / "period.xlsx"
    done = connector("report", "period", "--from", day, "--to", day, "--out", str(out), "--json",
                     "--config", str(config), cwd=config.parent)
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert doc["report"] == str(out) and out.is_file() and doc["total"]["received"] == 40
    for args, named in ((("--from", "2026-13-01", "--to", day), "--from"),
                        (("--from", day, "--to", "2020-01-01"), "--to"),
                        (("--from", day, "--to", day, "--unit", "Нет такого"), "--unit")):
        bad = connector("report", "period", *args, "--config", str(config), cwd=config.parent)
        assert bad.returncode == 2 and named in bad.stderr and "Traceback" not in bad.stderr, bad.stderr
        assert len(bad.stderr.strip().splitlines()) == 1
