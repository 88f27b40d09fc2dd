"""The pipeline end to end against the simulators, on SQLite and PostgreSQL."""

from __future__ import annotations

import cycles
from sqlalchemy import func, select

from connector.pipeline.context import PipelineContext
from connector.pipeline.runner import run_job
from connector.simulators.server import SimServer
from connector.store.models import Card, Message, MessageState, OutboxItem, OutboxState

import simctl


def _count(ctx: PipelineContext, model: type, *where: object) -> int:
    with ctx.store.session() as session:
        return session.scalar(select(func.count()).select_from(model).where(*where)) or 0  # type: ignore[arg-type]


def test_every_message_is_registered_once_answered_once_and_closed(
        ctx: PipelineContext, pos_sim: SimServer, onec_sim: SimServer) -> None:
    ids = simctl.seed(pos_sim, 23)
    cycles.until_in_work(ctx, onec_sim)
    cycles.answer_all(ctx, onec_sim)

    appeals = simctl.pos_appeals(pos_sim)
    assert {pid: len(appeals[pid]["answers"]) for pid in ids} == {pid: 1 for pid in ids}
    assert all("EXECUTOR_ASSIGNED" in simctl.status_history(appeals[pid]) for pid in ids)
    assert simctl.cards_per_pos_id(onec_sim) == {pid: 1 for pid in ids}
    assert _count(ctx, Message, Message.state == MessageState.CLOSED) == 23
    assert _count(ctx, OutboxItem, OutboxItem.state != OutboxState.SENT) == 0


def test_each_job_run_twice_changes_nothing_the_second_time(
        ctx: PipelineContext, pos_sim: SimServer, onec_sim: SimServer) -> None:
    simctl.seed(pos_sim, 9)

    def snapshot() -> tuple[int, int, int, int, dict[str, int]]:
        summary = simctl.pos_summary(pos_sim)
        return (_count(ctx, Message), _count(ctx, Card), _count(ctx, OutboxItem),
                _count(ctx, OutboxItem, OutboxItem.state == OutboxState.SENT),
                {"answers": summary.get("answers", 0), "cards": sum(simctl.cards_per_pos_id(onec_sim).values())})

    for job, act in (("pull", None), ("register", None), ("track", {"assign": True, "answer": False}),
                     ("push", None), ("track", {"assign": True, "answer": True}), ("push", None), ("pull", None)):
        if act:
            simctl.onec_act(onec_sim, action="auto", **act)
        first = run_job(ctx, job)
        after_first = snapshot()
        second = run_job(ctx, job)
        assert snapshot() == after_first, f"second {job} changed state"
        assert second.processed == 0, f"second {job} processed {second.processed} items (first: {first.processed})"
    assert _count(ctx, Message, Message.state == MessageState.CLOSED) == 9
