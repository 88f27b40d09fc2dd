"""``connector demo``: one full cycle on embedded defaults against the simulators.

Starts the POS and 1С simulators on loopback, a SQLite database under ``./var/demo``,
seeds N messages and drives the real jobs: pull → register → executors assigned (in the
simulated EDMS) → track → push → executors answer → track → push → pull.  The verdict
is read back from the simulators themselves: one card and one answer per message.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests
from pydantic import BaseModel

from connector.config import Settings, settings_from_mapping
from connector.demo_appeals import (
    DEMO_BODIES,
    MULTI_QUESTION_POS_CARDS,
    demo_appeals,
    expected_other_channels,
)
from connector.demo_appeals import count as count_appeals
from connector.demo_discipline import DemoClock, DisciplineDemoReport, MailSink, run_discipline, settings_part
from connector.demo_edms import DemoEdms
from connector.demo_sstu import DEMO_DEPARTMENT_ID, SstuDemoReport, prepare_mapping
from connector.errors import LocalStorageError, UsageError
from connector.i18n import N_
from connector.ops.failures import list_failures
from connector.pipeline.context import PipelineContext
from connector.pipeline.runner import build_context, run_job
from connector.simulators.server import SimServer

DEMO_POS_LOGIN, DEMO_POS_PASSWORD = "lko-demo", "demo-secret"
DEMO_TERRITORY = "28701000"  # an ОКТМО code for the showcase items
DEMO_1C_LOGIN, DEMO_1C_PASSWORD = "integration", "1c-secret"
DEMO_SECRETS = (DEMO_POS_PASSWORD, DEMO_1C_PASSWORD, "rx-secret")
# Written into every directory the demo creates; only such a directory is ever cleared, and then
# only of what the demo itself puts there.
DEMO_MARKER = ".pos-connector-demo"
DEMO_ENTRIES = ("connector.db", "connector.db-wal", "connector.db-shm", "connector.db-journal", "connector.db.lock",
                "connector.lock", "answers", "attachments", "edms", "edms-sim", "mapping", "reports", "sstu",
                "sstu-archive")


class ShowcaseDemoReport(BaseModel):
    items: int  # appeals the POS data showcase holds


class DemoReport(BaseModel):
    ok: bool
    edms: str
    messages: int
    pulled: int
    cards: int
    duplicate_cards: int
    executor_assigned_in_pos: int
    answered_in_pos: int
    duplicate_answers: int
    closed: int
    failures: int
    failure_reasons: list[str]
    stages: dict[str, int]
    data_dir: str
    database: str
    sstu: SstuDemoReport | None = None
    showcase: ShowcaseDemoReport | None = None
    discipline: DisciplineDemoReport | None = None


def demo_settings(data_dir: Path, pos_url: str, onec_url: str = "",
                  edms: dict[str, Any] | None = None, sstu_url: str = "", mail_port: int = 0) -> Settings:
    edms = edms or {"type": "onec_dm", "url": f"{onec_url}/demo/ws/DMService",
                    "login": DEMO_1C_LOGIN, "password": DEMO_1C_PASSWORD}
    return settings_from_mapping({
        "daemon": {"data_dir": str(data_dir), "batch_size": 50, "retry_delay_seconds": 1},
        "retry": {"initial_wait": 0.2, "max_wait": 2},
        "http": {"allow_insecure": True},  # the simulators listen on plain loopback HTTP
        "logging": {"level": "WARNING", "format": "text"},
        "accounts": [{"name": "demo", "pos_base_url": pos_url, "login": DEMO_POS_LOGIN,
                      "password": DEMO_POS_PASSWORD, "edms": "target"}],
        "edms": {"target": edms},
        "sstu": {"department_id": DEMO_DEPARTMENT_ID, "base_url": sstu_url, "bodies": DEMO_BODIES}
        if sstu_url else {},
        "showcase": {"enabled": True, "territory": DEMO_TERRITORY},
        **(settings_part(mail_port) if mail_port else {}),
    }, source="demo defaults")


def run_demo(messages: int, data_dir: Path, step: Callable[[str], None] = lambda _s: None,
             edms: str = "onec") -> DemoReport:
    from connector.demo_edms import DEMO_TARGETS
    from connector.simulators.pos import PosSimulator
    from connector.simulators.sstu import SstuSimulator

    prepare_demo_dir(data_dir)
    with SimServer(PosSimulator()) as pos, DEMO_TARGETS[edms](data_dir / "edms-sim") as target, \
            SimServer(SstuSimulator()) as sstu, MailSink() as mail:
        settings = demo_settings(data_dir, pos.url, edms=target.settings(), sstu_url=sstu.url, mail_port=mail.port)
        http = requests.Session()
        http.trust_env = False  # the simulators are on loopback: never through a proxy from the environment
        step(f"seeding {messages} messages in the POS simulator")
        http.post(f"{pos.url}/_sim/seed", json={"count": messages, "seed": 2026}, timeout=60).raise_for_status()
        clock = DemoClock()  # the discipline part moves it weeks on
        ctx = build_context(settings, clock=clock)
        try:
            step("mapping: SAMPLE classifier, categories and mapping workbook imported")
            prepare_mapping(ctx.store, data_dir / "mapping")
            stages = _drive(ctx, target, step)
            report = _verdict(ctx, http, pos.url, target, messages, stages)
            step("EDMS: appeals of other channels and more questions on POS cards")
            seeded = demo_appeals(ctx.clock().astimezone(settings.sstu.zone).date(), _pos_ids(ctx))
            others = expected_other_channels(seeded) if target.seed_appeals(seeded) else 0
            report.sstu = _sstu_step(ctx, http, sstu.url, step)
            report.ok = report.ok and _sstu_ok(report.sstu, messages, others)
            report.showcase = _showcase_step(ctx, http, pos.url, step)
            report.discipline = run_discipline(ctx, http, pos.url, target, clock, mail, messages, step)
            report.ok = report.ok and Path(report.discipline.report).is_file() and report.discipline.weekly_sent
            failures = list_failures(ctx.store)  # the showcase's and the discipline part's refusals included
            report.failures, report.failure_reasons = len(failures), [f.reason for f in failures][:20]
            report.ok = report.ok and report.showcase.items == messages + others and report.failures == 0
        finally:
            ctx.close()
            ctx.store.dispose()
    return report


def prepare_demo_dir(data_dir: Path) -> None:
    """Make ``data_dir`` the demo's: create it (with the marker), or clear what an earlier demo
    left in a directory that carries the marker.  Anything else there is never touched, and a
    non-empty directory without the marker is refused: it may be a production store."""
    if data_dir.exists() and not data_dir.is_dir():
        raise UsageError(N_("--data-dir {path} is not a directory"), params={"path": data_dir})
    marker = data_dir / DEMO_MARKER
    if data_dir.is_dir() and not marker.is_file():
        if any(data_dir.iterdir()):
            raise UsageError(N_("--data-dir {path} is not empty and was not created by the demo: the demo only uses "
                                "a directory of its own (give a new or empty one)"),
                             params={"path": data_dir.resolve()})
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        for name in DEMO_ENTRIES:
            entry = data_dir / name
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            elif entry.exists() or entry.is_symlink():
                entry.unlink()
        marker.write_text("created by `connector demo`; it replaces only its own files here\n", encoding="utf-8")
    except OSError as exc:
        raise LocalStorageError(N_("cannot prepare the demo directory {path}: {error}"),
                                params={"path": data_dir, "error": exc.strerror or exc}) from None


def _drive(ctx: PipelineContext, target: DemoEdms, step: Callable[[str], None]) -> dict[str, int]:
    stages: dict[str, int] = {}

    def job(name: str, label: str) -> None:
        step(label)
        stats = run_job(ctx, name)
        stages[f"{name}#{sum(k.startswith(name) for k in stages) + 1}"] = stats.processed

    def act(payload: dict[str, Any], label: str) -> None:
        step(label)
        target.act(payload)

    job("pull", "pull: messages from POS")
    job("register", f"register: cards in {target.label}")
    act({"action": "auto", "assign": True, "answer": False}, "EDMS: executors assigned")
    job("track", "track: card states")
    job("push", "push: «Назначен исполнитель» to POS")
    act({"action": "auto", "assign": True, "answer": True}, "EDMS: executors answer")
    job("track", "track: answers")
    job("push", "push: answers to POS")
    job("pull", "pull: POS confirms")
    return stages


def _verdict(ctx: PipelineContext, http: requests.Session, pos_url: str, target: DemoEdms, messages: int,
             stages: dict[str, int]) -> DemoReport:
    from sqlalchemy import func, select

    from connector.store.models import Card, Message, MessageState

    pos_state = http.get(f"{pos_url}/_sim/state", timeout=60).json()
    appeals = pos_state["appeals"]
    answers = [len(a.get("answers", [])) for a in appeals]
    assigned = sum(1 for a in appeals if any(h.get("status") == "EXECUTOR_ASSIGNED" if isinstance(h, dict)
                                             else h == "EXECUTOR_ASSIGNED" for h in a.get("statusHistory", [])))
    per_pos_id = target.cards_per_pos_id()
    with ctx.store.session() as session:
        pulled = session.scalar(select(func.count()).select_from(Message)) or 0
        cards = session.scalar(select(func.count()).select_from(Card)) or 0
        closed = session.scalar(select(func.count()).select_from(Message)
                                .where(Message.state == MessageState.CLOSED)) or 0
    failures = list_failures(ctx.store)
    report = DemoReport(
        ok=False, edms=target.label, messages=messages, pulled=pulled, cards=cards,
        duplicate_cards=sum(max(0, n - 1) for n in per_pos_id.values()),
        executor_assigned_in_pos=assigned,
        answered_in_pos=sum(1 for n in answers if n >= 1),
        duplicate_answers=sum(max(0, n - 1) for n in answers),
        closed=closed, failures=len(failures), failure_reasons=[f.reason for f in failures][:20],
        stages=stages, data_dir=str(ctx.data_dir), database=ctx.store.url,
    )
    report.ok = (report.pulled == messages and report.cards == messages and report.duplicate_cards == 0
                 and report.answered_in_pos == messages and report.duplicate_answers == 0
                 and report.closed == messages and report.failures == 0)
    return report


def _sstu_step(ctx: PipelineContext, http: requests.Session, sstu_url: str,
               step: Callable[[str], None]) -> SstuDemoReport:
    """Send every appeal to the SSTU simulator, then write the archive of all of them and check it
    with the same validator ``connector sstu validate`` uses."""
    from connector.sstu_export.checkpath import check_path
    from connector.sstu_export.refresh import build_config
    from connector.sstu_export.service import export_archive, period_of

    step("sstu: appeals to ССТУ")
    stats = run_job(ctx, "sstu")
    period = period_of(ctx.clock().astimezone(ctx.settings.sstu.zone).date())
    step(f"sstu: archive up to {period}")
    archive_dir = ctx.data_dir / "sstu-archive" / period
    result = export_archive(ctx.store, build_config(ctx.settings, ctx.store), archive_dir, period, through=True,
                            changed_only=False, clock=ctx.clock)
    checked = check_path(archive_dir)
    summary = http.get(f"{sstu_url}/_sim/state", params={"summary": 1}, timeout=60).json()
    summary = summary.get("summary", summary)
    counts = count_appeals(ctx.store)
    return SstuDemoReport(
        from_pos=counts.from_pos, other_channels=counts.other_channels, multi_question=counts.multi_question,
        sent=stats.processed, accepted_by_sstu=int(summary["appeals"]), rejected_by_sstu=int(summary["rejected"]),
        failures=len(list_failures(ctx.store)), archive_dir=str(archive_dir), archive_parts=result.parts,
        archive_appeals=result.appeals, archive_valid=checked.ok and checked.appeals == result.appeals,
        archive_errors=[str(f) for f in checked.findings[:20]] + stats.notes)


def _showcase_step(ctx: PipelineContext, http: requests.Session, pos_url: str,
                   step: Callable[[str], None]) -> ShowcaseDemoReport:
    """Every appeal (POS and the EDMS's other channels), in its final status, to the POS simulator's data
    showcase."""
    step("showcase: appeals to the POS data showcase")
    run_job(ctx, "showcase")
    summary = http.get(f"{pos_url}/_sim/state", params={"summary": 1}, timeout=60).json()["summary"]
    return ShowcaseDemoReport(items=int(summary["showcase"]))


def _sstu_ok(report: SstuDemoReport, messages: int, others: int) -> bool:
    total = messages + others
    return (report.accepted_by_sstu == total and report.rejected_by_sstu == 0 and report.failures == 0
            and report.archive_appeals == total and report.archive_valid
            and (report.from_pos, report.other_channels) == (messages, others)
            and (report.multi_question > 0 or not others))


def _pos_ids(ctx: PipelineContext) -> list[str]:
    from sqlalchemy import select

    from connector.store.models import Message

    with ctx.store.session() as session:
        return list(session.scalars(select(Message.pos_id).order_by(Message.id).limit(MULTI_QUESTION_POS_CARDS)))
