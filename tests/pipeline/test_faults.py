"""Faults cost retries, not data (the pipeline against misbehaving simulators)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import cycles
import pytest
from sqlalchemy import select

from connector.ops.failures import list_failures, retry_failures
from connector.pipeline.context import PipelineContext
from connector.pipeline.runner import run_job
from connector.pos_client import PosClient
from connector.simulators.server import SimServer
from connector.store.models import Attachment, Card, Message, MessageState

import simctl


@pytest.mark.parametrize("system,spec", [
    ("pos", {"throttle_next": 3, "retry_after": 0}),
    ("pos", {"fail_next": 3}),
    ("onec", {"fail_next": 3}),
    ("onec", {"soap_fault_next": 1}),
    ("pos", {"malformed_next": 1}),
    ("pos", {"duplicate_pages": 1.0}),
    ("onec", {"lost_reply_next": 2, "only_request": "DMCreateRequest"}),
])
def test_bursts_cost_retries_not_data(ctx: PipelineContext, pos_sim: SimServer, onec_sim: SimServer,
                                      system: str, spec: dict[str, int]) -> None:
    ids = simctl.seed(pos_sim, 8)
    simctl.faults(pos_sim if system == "pos" else onec_sim, **spec)
    cycles.quick(ctx, onec_sim)
    cycles.quick(ctx, onec_sim)  # whatever was deferred by a fault goes through on the next pass

    appeals = simctl.pos_appeals(pos_sim)
    assert {pid: len(appeals[pid]["answers"]) for pid in ids} == {pid: 1 for pid in ids}
    assert simctl.cards_per_pos_id(onec_sim) == {pid: 1 for pid in ids}


def test_token_expiring_during_listing_loses_nothing(ctx: PipelineContext, pos_sim: SimServer,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    ids = simctl.seed(pos_sim, 35)
    real_get = PosClient.get_appeal
    calls = {"n": 0}

    def get_then_expire(self: PosClient, pos_id: str) -> object:
        calls["n"] += 1
        if calls["n"] in (5, 17, 30):  # the server forgets every token mid-listing, three times
            pos_sim.app.revoke_tokens()
        return real_get(self, pos_id)

    monkeypatch.setattr(PosClient, "get_appeal", get_then_expire)
    stats = run_job(ctx, "pull")
    assert stats.failed == 0 and not stats.notes
    with ctx.store.session() as session:
        stored = set(session.scalars(select(Message.pos_id).where(Message.state == MessageState.STORED)))
    assert stored == set(ids)
    assert simctl.pos_summary(pos_sim)["requests"]["auth.token"] == 4  # the first token and three refreshes


def test_truncated_attachment_is_retried_and_never_registered_broken(
        ctx: PipelineContext, pos_sim: SimServer, onec_sim: SimServer) -> None:
    simctl.seed(pos_sim, 6, min_attachment_kb=64, max_attachment_kb=128)
    appeals = simctl.pos_appeals(pos_sim)
    with_files = [pid for pid, a in appeals.items() if a["attachments"]]
    assert with_files, "the seed must produce attachments"
    simctl.faults(pos_sim, truncate_next=1)

    run_job(ctx, "pull")
    run_job(ctx, "register")
    with ctx.store.session() as session:
        fetching = list(session.scalars(select(Message).where(Message.state == MessageState.FETCHING)))
        assert len(fetching) == 1, "the message whose download broke must wait, not be stored"
        broken_id = fetching[0].pos_id
        assert session.scalar(select(Card).where(Card.message_id == fetching[0].id)) is None
    assert broken_id not in simctl.cards_per_pos_id(onec_sim)

    run_job(ctx, "pull")
    run_job(ctx, "register")
    with ctx.store.session() as session:
        message = session.scalar(select(Message).where(Message.pos_id == broken_id))
        assert message is not None and message.state == MessageState.REGISTERED
        for attachment in session.scalars(select(Attachment).where(Attachment.message_id == message.id)):
            assert hashlib.sha256(Path(attachment.path).read_bytes()).hexdigest() == attachment.sha256
            assert Path(attachment.path).stat().st_size == attachment.size
    card_files = [f for d in simctl.onec_state(onec_sim)["documents"].values()
                  if (d.get("externalObject") or {}).get("id") == broken_id for f in d["files"]]
    assert sorted(f["size"] for f in card_files) == sorted(a["size"] for a in appeals[broken_id]["attachments"])


def test_edms_refusal_lands_in_failures_with_its_reason_and_retry_completes_it(
        ctx: PipelineContext, pos_sim: SimServer, onec_sim: SimServer) -> None:
    [pos_id] = simctl.seed(pos_sim, 1)
    simctl.faults(onec_sim, dmerror_next=1, only_request="DMCreateRequest")
    run_job(ctx, "pull")
    run_job(ctx, "register")
    [failure] = list_failures(ctx.store)
    assert failure.pos_id == pos_id and failure.job == "register" and failure.reason
    assert simctl.cards_per_pos_id(onec_sim) == {}

    assert retry_failures(ctx.store, [failure.id]).requeued == [failure.id]
    cycles.quick(ctx, onec_sim)
    assert list_failures(ctx.store) == []
    assert simctl.cards_per_pos_id(onec_sim) == {pos_id: 1}
    assert len(simctl.pos_appeals(pos_sim)[pos_id]["answers"]) == 1


def test_rejected_credentials_stop_the_account_without_burning_its_messages(
        ctx: PipelineContext, pos_sim: SimServer, onec_sim: SimServer) -> None:
    simctl.seed(pos_sim, 4)
    run_job(ctx, "pull")
    onec_sim.app.users.clear()  # the EDMS administrator revoked our account
    stats = run_job(ctx, "register")
    assert stats.failed == 1
    [note] = stats.notes
    assert note.startswith("demo: ") and "integration" in note and "1c-secret" not in note
    with ctx.store.session() as session:
        states = set(session.scalars(select(Message.state)))
        leased = session.scalar(select(Message).where(Message.claimed_by.is_not(None)))
    assert states == {MessageState.STORED} and leased is None
    assert list_failures(ctx.store) == []
    onec_sim.app.users["integration"] = "1c-secret"
    run_job(ctx, "register")
    assert len(simctl.cards_per_pos_id(onec_sim)) == 4
