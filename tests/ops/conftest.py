"""Fixtures of the service-operation tests: a migrated SQLite store and seeding helpers."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from connector.store.db import Store
from connector.store.models import Failure, JobRun, Message, OutboxItem, utcnow

# Personal data of a seeded applicant: must never show up in an alert or a log line.
APPLICANT = {"fio": "Иванова Мария Петровна", "email": "maria.ivanova@example.ru", "phone": "+7 912 345-67-89",
             "address": "г. Тверь, ул. Советская, д. 1, кв. 2"}


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    st = Store(f"sqlite:///{tmp_path}/c.db")
    yield st
    st.dispose()


@pytest.fixture
def add_messages(store: Store) -> Callable[..., list[int]]:
    counter = iter(range(1, 10_000))

    def add(state: str, n: int = 1) -> list[int]:
        ids = []
        with store.sessions.begin() as session:
            for _ in range(n):
                msg = Message(account="main", pos_id=f"7000{next(counter):04d}", state=state,
                              payload={"applicant": APPLICANT, "text": f"Обращение от {APPLICANT['fio']}"})
                session.add(msg)
                session.flush()
                ids.append(msg.id)
        return ids

    return add


@pytest.fixture
def add_failures(store: Store, add_messages: Callable[..., list[int]]) -> Callable[..., list[int]]:
    def add(n: int, *, job: str = "register", reason: str = "EDMS refused the card: missing rubric") -> list[int]:
        ids = []
        message_ids = add_messages("failed", n)
        with store.sessions.begin() as session:
            for mid in message_ids:
                failure = Failure(item_kind="message", item_id=mid, message_id=mid, job=job, reason=reason,
                                  detail=f"applicant {APPLICANT['fio']} {APPLICANT['email']}")
                session.add(failure)
                session.flush()
                ids.append(failure.id)
        return ids

    return add


@pytest.fixture
def add_outbox(store: Store, add_messages: Callable[..., list[int]]) -> Callable[..., int]:
    def add(state: str, *, age_seconds: float = 0, kind: str = "status") -> int:
        (mid,) = add_messages("answer_ready")
        with store.sessions.begin() as session:
            item = OutboxItem(message_id=mid, kind=kind, target="pos", payload={}, state=state,
                              created_at=utcnow() - timedelta(seconds=age_seconds))
            session.add(item)
            session.flush()
            return item.id

    return add


@pytest.fixture
def add_run(store: Store) -> Callable[..., None]:
    def add(job: str, finished_at: datetime, *, ok: bool = True, error: str | None = None) -> None:
        with store.sessions.begin() as session:
            session.add(JobRun(job=job, worker="test", started_at=finished_at - timedelta(seconds=5),
                               finished_at=finished_at, ok=ok, error=error))

    return add
