"""Track and push for the less common outcomes: extension, redirect, refusal; deadline hops."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest
from sqlalchemy import func, select

from connector.ops.failures import list_failures
from connector.pipeline.context import PipelineContext
from connector.pipeline.runner import run_job
from connector.simulators.server import SimServer
from connector.store.models import DeadlineHop, Message, MessageState, OutboxItem, OutboxKind, OutboxState

import simctl

pytestmark = pytest.mark.date_sensitive  # deadline hops are judged overdue against the body's today


def _registered(ctx: PipelineContext, pos: SimServer, count: int) -> list[str]:
    ids = simctl.seed(pos, count)
    run_job(ctx, "pull")
    run_job(ctx, "register")
    return ids


def test_extension_reaches_pos_after_executor_and_hop_records_the_new_term(
        ctx: PipelineContext, pos_sim: SimServer, onec_sim: SimServer) -> None:
    [pos_id] = _registered(ctx, pos_sim, 1)
    simctl.onec_act(onec_sim, action="assign", pos_id=pos_id, due_date="2026-12-10")
    simctl.onec_act(onec_sim, action="extend", pos_id=pos_id, days=20)
    run_job(ctx, "track")
    run_job(ctx, "push")
    appeal = simctl.pos_appeals(pos_sim)[pos_id]
    history = simctl.status_history(appeal)
    assert history.index("EXECUTOR_ASSIGNED") < history.index("DEADLINE_EXTENDED")
    with ctx.store.session() as session:
        [hop] = session.scalars(select(DeadlineHop)).all()
        assert hop.executor and hop.deadline is not None and hop.deadline.isoformat() > "2026-12-10"
        assert hop.ended_at is None


def test_redirect_is_sent_to_pos_and_ends_the_hop(ctx: PipelineContext, pos_sim: SimServer,
                                                  onec_sim: SimServer) -> None:
    [pos_id] = _registered(ctx, pos_sim, 1)
    simctl.onec_act(onec_sim, action="redirect", pos_id=pos_id, org_id="org-podved-12",
                    comment="Вопрос в компетенции МУП «Водоканал»")
    run_job(ctx, "track")
    run_job(ctx, "push")
    appeal = simctl.pos_appeals(pos_sim)[pos_id]
    assert appeal["status"] == "REDIRECTED_SUBORDINATE"
    assert [r.get("targetOrgId") for r in appeal["redirects"]] == ["org-podved-12"]
    run_job(ctx, "pull")
    with ctx.store.session() as session:
        message = session.scalar(select(Message))
        assert message is not None and message.state == MessageState.CLOSED
        [hop] = session.scalars(select(DeadlineHop)).all()
        assert hop.ended_at is not None and hop.overdue is False


def test_a_hop_ended_after_its_last_day_in_the_bodys_zone_is_overdue(
        ctx: PipelineContext, pos_sim: SimServer, onec_sim: SimServer) -> None:
    # 22:30 UTC tomorrow: still the last day in UTC, already the next one in Moscow; later than
    # the first track run, so the card is due for a check again.
    ended = datetime.combine(datetime.now(UTC).date() + timedelta(days=1), time(22, 30), UTC)
    [pos_id] = _registered(ctx, pos_sim, 1)
    simctl.onec_act(onec_sim, action="assign", pos_id=pos_id, due_date=ended.date().isoformat())
    run_job(ctx, "track")
    simctl.onec_act(onec_sim, action="redirect", pos_id=pos_id, org_id="org-podved-12", comment="Не наш вопрос")
    ctx.clock = lambda: ended
    run_job(ctx, "track")
    with ctx.store.session() as session:
        [hop] = session.scalars(select(DeadlineHop)).all()
        assert hop.deadline == ended.date() and hop.ended_at is not None
        assert hop.overdue is True


def test_card_closed_without_answer_lands_in_failures_with_the_reason(
        ctx: PipelineContext, pos_sim: SimServer, onec_sim: SimServer) -> None:
    [pos_id] = _registered(ctx, pos_sim, 1)
    simctl.onec_act(onec_sim, action="refuse", pos_id=pos_id)
    run_job(ctx, "track")
    [failure] = list_failures(ctx.store)
    assert failure.pos_id == pos_id and "without an answer" in failure.reason
    assert simctl.pos_appeals(pos_sim)[pos_id]["answers"] == []


def test_status_pos_is_already_past_counts_as_done_not_failure(
        ctx: PipelineContext, pos_sim: SimServer, onec_sim: SimServer) -> None:
    [pos_id] = _registered(ctx, pos_sim, 1)
    simctl.onec_act(onec_sim, action="assign", pos_id=pos_id)
    run_job(ctx, "track")
    pos_sim.app.moderate_reject(pos_id)  # POS moved on by itself (a moderator rejected it)
    stats = run_job(ctx, "push")
    assert (stats.failed, list_failures(ctx.store)) == (0, [])
    with ctx.store.session() as session:
        [item] = session.scalars(select(OutboxItem)).all()
        assert (item.target, item.state) == ("EXECUTOR_ASSIGNED", OutboxState.SUPERSEDED)


def test_answer_replayed_after_a_crash_still_closes_the_message(
        ctx: PipelineContext, pos_sim: SimServer, onec_sim: SimServer) -> None:
    """Crash between POS accepting the answer and our commit; the next pull already sees
    ANSWERED, and the replayed push gets ALREADY_ANSWERED: the message must still close."""
    [pos_id] = _registered(ctx, pos_sim, 1)
    simctl.onec_act(onec_sim, action="auto", assign=True, answer=True)
    run_job(ctx, "track")
    run_job(ctx, "push", max_batches=None)
    with ctx.store.sessions.begin() as session:  # roll our side back to "answer not sent yet"
        answer = session.scalar(select(OutboxItem).where(OutboxItem.kind == "answer"))
        assert answer is not None and answer.state == OutboxState.SENT
        answer.state = OutboxState.PENDING
        message = session.scalar(select(Message))
        assert message is not None
        message.state = MessageState.ANSWER_READY
    run_job(ctx, "pull")
    run_job(ctx, "push")
    with ctx.store.session() as session:
        message = session.scalar(select(Message))
        assert message is not None and message.state == MessageState.CLOSED
    assert len(simctl.pos_appeals(pos_sim)[pos_id]["answers"]) == 1


def test_the_idempotency_key_is_the_messages_identity_not_a_row_id() -> None:
    """A restored or re-created store numbers rows anew: a key built from a row id would be reused
    for another message, and POS refuses a reused key with another body (422)."""
    from connector.store.models import OutboxItem

    first = OutboxItem(id=7, message_id=25, kind="status", target="EXECUTOR_ASSIGNED")
    renumbered = OutboxItem(id=3, message_id=11, kind="status", target="EXECUTOR_ASSIGNED")
    assert first.idempotency_key("main", "P-1") == renumbered.idempotency_key("main", "P-1")
    assert first.idempotency_key("main", "P-1") != first.idempotency_key("main", "P-2")
    assert first.idempotency_key("main", "P-1") != first.idempotency_key("other", "P-1")


def test_track_asks_1c_once_for_what_an_answered_card_needs(
        ctx: PipelineContext, pos_sim: SimServer, onec_sim: SimServer) -> None:
    ids = _registered(ctx, pos_sim, 3)
    simctl.onec_act(onec_sim, action="auto", assign=True, answer=True)
    calls = onec_sim.app.requests
    before = dict(calls)
    run_job(ctx, "track")
    made = {kind: calls.get(kind, 0) - before.get(kind, 0) for kind in calls}
    per_card = {kind: count / len(ids) for kind, count in made.items() if count}
    # the document, its tasks, its answer, the answer's file list, the file: each once per card
    assert per_card == {"DMRetrieveRequest": 2, "DMGetObjectListRequest": 2, "DMGetFileListByOwnerRequest": 1}
    with ctx.store.session() as session:
        assert session.scalar(select(func.count()).select_from(OutboxItem)
                              .where(OutboxItem.kind == OutboxKind.ANSWER)) == len(ids)


def test_every_job_reuses_its_connections_to_pos_and_1c(
        ctx: PipelineContext, pos_sim: SimServer, onec_sim: SimServer) -> None:
    """Keep-alive is used by each client: a pass of 12 messages opens at most one connection per
    concurrent call to each peer, not one per request."""
    ids = simctl.seed(pos_sim, 12)
    workers = ctx.settings.daemon.concurrency
    opened: dict[str, int] = {}

    def job(name: str) -> None:
        before = (pos_sim.connections_accepted, onec_sim.connections_accepted)
        run_job(ctx, name, max_batches=None)
        opened[name] = max(pos_sim.connections_accepted - before[0], onec_sim.connections_accepted - before[1])

    job("pull")
    job("register")
    simctl.onec_act(onec_sim, action="auto", assign=True, answer=True)
    for name in ("track", "push", "pull"):
        job(name)
    assert all(count <= workers for count in opened.values()), opened
    assert all(len(simctl.pos_appeals(pos_sim)[pos_id]["answers"]) == 1 for pos_id in ids)
