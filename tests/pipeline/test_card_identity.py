"""A card found under our deterministic id must belong to the message being registered (issue 10, finding 3)."""

from __future__ import annotations

from sqlalchemy import select

from connector.edms_adapters.onec_dm.adapter import card_object_id
from connector.ops.failures import list_failures
from connector.pipeline.context import PipelineContext
from connector.pipeline.runner import run_job
from connector.simulators.server import SimServer
from connector.store.models import Card, Message, MessageState

import simctl

OWNER = "7000001"  # a message of another base, restored into this 1С under our id for B


def test_foreign_card_under_our_id_lands_in_failures_and_is_left_alone(
        ctx: PipelineContext, pos_sim: SimServer, onec_sim: SimServer) -> None:
    ids = simctl.seed(pos_sim, 6, min_attachment_kb=2)
    run_job(ctx, "pull")
    appeals = simctl.pos_appeals(pos_sim)
    victim = next(pid for pid in ids if appeals[pid]["attachments"])
    doc_id = card_object_id("demo", victim)
    simctl.onec_seed(onec_sim, cards=[{"id": doc_id, "pos_id": OWNER}])
    before = simctl.onec_state(onec_sim)["documents"][doc_id]

    for _ in range(2):  # a second pass must neither retry it nor change the verdict
        run_job(ctx, "register")

    with ctx.store.session() as session:
        message = session.scalar(select(Message).where(Message.pos_id == victim))
        assert message is not None and message.state == MessageState.FAILED
        assert message.attempts == 1, "an identity failure goes to failures at once, it does not burn retries"
        assert session.scalar(select(Card).where(Card.message_id == message.id)) is None
        others = list(session.scalars(select(Message).where(Message.pos_id != victim)))
        assert {m.state for m in others} == {MessageState.REGISTERED}
    failures = [f for f in list_failures(ctx.store) if f.pos_id == victim]
    assert len(failures) == 1 and failures[0].job == "register"
    assert OWNER in failures[0].reason and victim in failures[0].reason and doc_id in failures[0].reason

    after = simctl.onec_state(onec_sim)["documents"][doc_id]
    assert after == before, "the owner's card must not gain the other message's files or fields"
    cards = simctl.cards_per_pos_id(onec_sim)
    assert victim not in cards, "no second card for the message either"
    assert cards[OWNER] == 1
    assert {pid: cards.get(pid) for pid in ids if pid != victim} == {pid: 1 for pid in ids if pid != victim}
