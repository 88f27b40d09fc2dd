"""The rating loop end to end: POS rates answers (some low) and files repeat appeals; the connector pulls
them, opens one control task per reason on the original 1С card and sends one notice each -- across a
restart (SQLite) and with two workers at once (PostgreSQL)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cycles
import pytest
import requests
from sqlalchemy import func, select

from connector.config import settings_from_mapping
from connector.notices.counts import notice_counts
from connector.notices.records import ControlTask, ControlTaskState, Rating
from connector.pipeline.context import PipelineContext
from connector.pipeline.runner import build_context, run_job
from connector.simulators.server import SimServer

import simctl
from .conftest import Mailbox
from testconfig import settings_mapping

pytestmark = pytest.mark.date_sensitive


def _ctx(tmp_path: Path, worker: str, db_url: str, pos: SimServer, onec: SimServer, smtp_port: int) -> PipelineContext:
    mapping = settings_mapping(data_dir=tmp_path / worker, db_url=db_url, pos_url=pos.url, onec_url=onec.url,
                               worker_id=worker)
    mapping["alerts"] = {"smtp_host": "127.0.0.1", "smtp_port": smtp_port, "mail_from": "pos@city.example",
                         "mail_to": ["duty@city.example"]}
    mapping["notices"] = {"enabled": True, "new_messages": False, "warn_days": [0], "digest_time": "23:59",
                          "recipients": [{"unit": "Куратор", "to": ["curator@city.example"]}]}
    return build_context(settings_from_mapping(mapping), sleep=lambda _s: None)


@pytest.fixture
def contexts(tmp_path: Path, db_url: str, pos_sim: SimServer, onec_sim: SimServer,
             mailbox: tuple[Mailbox, int]) -> Iterator[list[PipelineContext]]:
    made = [_ctx(tmp_path, w, db_url, pos_sim, onec_sim, mailbox[1]) for w in ("w1", "w2")]
    yield made
    for ctx in made:
        ctx.close()
        ctx.store.dispose()


def _rate(pos: SimServer) -> dict[str, Any]:
    reply = requests.post(f"{pos.url}/_sim/act", json={"action": "rate_answers", "share": 0.8, "low_share": 0.5,
                                                        "repeat_share": 0.6, "seed": 11}, timeout=30)
    reply.raise_for_status()
    return dict(reply.json())


def _run_notices(contexts: list[PipelineContext], concurrent: bool) -> None:
    if not concurrent:
        for ctx in contexts:  # one after the other: the second is a restart on the same store
            assert not run_job(ctx, "notices").notes
        return
    errors: list[BaseException] = []

    def work(ctx: PipelineContext) -> None:
        try:
            for _ in range(2):
                notes = run_job(ctx, "notices").notes
                assert not notes, notes  # no crash, no deadlock, no "bug" of a worker racing the other
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(c,)) for c in contexts]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert errors == []


def test_low_ratings_and_repeat_appeals_open_one_control_task_each_and_one_notice(
        db_url: str, contexts: list[PipelineContext], pos_sim: SimServer, onec_sim: SimServer,
        mailbox: tuple[Mailbox, int]) -> None:
    box, _ = mailbox
    first = contexts[0]
    simctl.seed(pos_sim, 14)
    cycles.quick(first, onec_sim)
    outcome = _rate(pos_sim)
    rated: dict[str, int] = outcome["rated"]
    repeats: dict[str, str] = outcome["repeats"]
    low = {pos_id for pos_id, r in rated.items() if r <= 2}
    assert low and repeats and len(rated) > len(low)  # the simulator's variety: high, low and repeats
    run_job(first, "pull")
    run_job(first, "register")
    _run_notices(contexts, concurrent=not db_url.startswith("sqlite"))
    _run_notices(contexts, concurrent=False)  # and once more after that: nothing new
    # the EDMS: one task per low rating, one per repeat appeal, each on the original card
    held: dict[str, list[str]] = {}
    for doc in simctl.onec_state(onec_sim)["documents"].values():
        if doc["controlTasks"]:
            held[doc["externalObject"]["id"]] = [t["description"] for t in doc["controlTasks"]]
    expected: dict[str, int] = {}
    for pos_id in low:
        expected[pos_id] = expected.get(pos_id, 0) + 1
    for original in repeats.values():
        expected[original] = expected.get(original, 0) + 1
    assert {k: len(v) for k, v in held.items()} == expected
    for new_id, original in repeats.items():
        assert any(f"повторное обращение № {new_id}" in text for text in held[original])
    # one notice per task, to the curator's unit, without the applicant
    control = [m for m in box.messages if m["X-Pos-Connector-Notice"] == "control"]
    assert len(control) == sum(expected.values())
    assert len({str(m["Message-ID"]) for m in control}) == len(control)
    assert all(str(m["Subject"]).startswith("[ПОС] На контроль: сообщение №") for m in control)
    # the store counts them for reports: ratings per message, tasks by reason
    with first.store.session() as session:
        ratings = {mid: r for mid, r in session.execute(select(Rating.message_id, Rating.rating)
                                                        .where(Rating.rating.is_not(None)))}
        tasks = session.scalar(select(func.count()).select_from(ControlTask)
                               .where(ControlTask.state == ControlTaskState.CREATED))
    assert sorted(ratings.values()) == sorted(rated.values())
    assert tasks == sum(expected.values())
    with first.store.session() as session:
        counts = notice_counts(session)
    assert (counts.control_tasks, counts.control_notices, counts.repeat_appeals) == (
        sum(expected.values()), sum(expected.values()), len(repeats))
    assert (counts.rated, counts.rated_4_or_5) == (len(rated), sum(1 for r in rated.values() if r >= 4))
