"""Fixtures of the notice tests: an SMTP sink (aiosmtpd), contexts on a fixed clock, seeded messages."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, time, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import Envelope, Session

from connector.config import settings_from_mapping
from connector.pipeline.context import PipelineContext
from connector.pipeline.runner import build_context
from connector.store.models import Card, Message

from testconfig import BODY_ZONE, settings_mapping

APPLICANT = {"lastName": "Сидорова", "firstName": "Анна", "middleName": "Павловна",
             "email": "anna.sidorova@example.ru", "phone": "+7 903 111-22-33", "address": "г. Тверь, ул. Ленина, 5"}


class Mailbox:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.lock = threading.Lock()
        self.refuse = False  # a server that rejects every message (a full mailbox, a policy)

    async def handle_DATA(self, _server: Any, _session: Session, envelope: Envelope) -> str:
        if self.refuse:
            return "554 5.7.1 message rejected by policy"
        msg = message_from_bytes(envelope.original_content or b"", policy=policy.default)
        assert isinstance(msg, EmailMessage)
        with self.lock:
            self.messages.append(msg)
        return "250 OK"

    def subjects(self) -> list[str]:
        return sorted(str(m["Subject"]) for m in self.messages)

    def bodies(self) -> list[str]:
        return [m.get_content() for m in self.messages]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def mailbox() -> Iterator[tuple[Mailbox, int]]:
    box, port = Mailbox(), _free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    yield box, port
    controller.stop()


RECIPIENTS = [
    {"unit": "Управление ЖКХ", "to": ["zhkh@city.example"], "categories": ["Многоквартирные дома"]},
    {"unit": "Комитет по дорогам", "to": ["roads@city.example", "roads-head@city.example"],
     "categories": ["Автомобильные дороги"]},
]


def body_noon(day: date) -> datetime:
    return datetime.combine(day, time(12, 0), BODY_ZONE).astimezone(UTC)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def make_ctx(tmp_path: Path, db_url: str, mailbox: tuple[Mailbox, int]) -> Iterator[Callable[..., PipelineContext]]:
    made: list[PipelineContext] = []

    def make(clock: Clock, *, worker: str = "w1", edms: dict[str, Any] | None = None, **notices: Any) -> PipelineContext:
        mapping = settings_mapping(data_dir=tmp_path / worker, db_url=db_url, pos_url="http://127.0.0.1:9",
                                   onec_url=(edms or {}).get("url", "http://127.0.0.1:9"), worker_id=worker)
        mapping["alerts"] = {"smtp_host": "127.0.0.1", "smtp_port": mailbox[1], "mail_from": "pos@city.example",
                             "mail_to": ["duty@city.example"]}
        mapping["notices"] = {"enabled": True, "recipients": RECIPIENTS, **notices}
        ctx = build_context(settings_from_mapping(mapping), clock=clock, sleep=lambda _s: None)
        made.append(ctx)
        return ctx

    yield make
    for ctx in made:
        ctx.close()
        ctx.store.dispose()


def seed(ctx: PipelineContext, *, due: date, category: str = "Многоквартирные дома", state: str = "in_work",
         pos_id: str = "", created_at: datetime | None = None, executor: str = "Петров П.П.", **payload: Any) -> int:
    with ctx.store.sessions.begin() as session:
        count = session.query(Message).count()
        message = Message(account="demo", pos_id=pos_id or f"{1_000_000 + count}", state=state,
                          created_at=created_at or ctx.clock() - timedelta(days=10),
                          payload={"id": pos_id, "plannedDate": due.isoformat(), "applicant": APPLICANT,
                                   "problemAddress": "г. Тверь, ул. Советская, 12",
                                   "category": {"id": "c1", "name": category}, **payload})
        session.add(message)
        session.flush()
        session.add(Card(message_id=message.id, adapter="onec_dm", edms_target="onec",
                         external_id=f"card-{message.id}", stage="in_work", registration_number=f"ВХ-{message.id}",
                         executor=executor))
        return message.id
