"""Executor hops from successive card states: the pure rule, case by case, and one run through the store."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select

from connector.domain import CardRef, CardStage, CardState, Executor
from connector.store.db import Store
from connector.store.hops import EndReason, Hop, hop_changes, load, record
from connector.store.models import ExecutorHop, Message

REF = CardRef(adapter="onec_dm", external_id="doc-1")
ORG = "Администрация"
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
IVANOVA = Executor(name="Иванова", department="Благоустройство", responsible=True, due=date(2026, 11, 20))
SOKOLOVA = Executor(name="Соколова", department="ЖКХ", due=date(2026, 11, 15))


def state(*executors: Executor, stage: CardStage = CardStage.IN_WORK) -> CardState:
    return CardState(ref=REF, stage=stage, executors=executors)


def apply(hops: list[Hop], changes: list[Hop]) -> list[Hop]:
    by_seq = {h.seq: h for h in hops}
    by_seq.update({h.seq: h for h in changes})
    return [by_seq[k] for k in sorted(by_seq)]


def run(*states: CardState, step: timedelta = timedelta(days=1)) -> list[Hop]:
    hops: list[Hop] = []
    for i, s in enumerate(states):
        hops = apply(hops, hop_changes(hops, s, ORG, T0 + step * i))
    return hops


def test_parallel_executors_get_one_hop_each_with_their_own_term() -> None:
    hops = run(state(IVANOVA, SOKOLOVA))
    assert [(h.unit, h.executor, h.due, h.responsible, h.ended_at) for h in hops] == [
        ("Благоустройство", "Иванова", date(2026, 11, 20), True, None),
        ("ЖКХ", "Соколова", date(2026, 11, 15), False, None)]
    assert all(h.organisation == ORG and h.started_at == T0 for h in hops)


def test_the_same_state_twice_changes_nothing() -> None:
    hops = run(state(IVANOVA))
    assert hop_changes(hops, state(IVANOVA), ORG, T0 + timedelta(days=3)) == []


def test_a_later_own_term_is_an_extension_and_keeps_the_first_term() -> None:
    later = IVANOVA.model_copy(update={"due": date(2026, 12, 5)})
    [hop] = run(state(IVANOVA), state(later))
    assert (hop.due, hop.first_due, hop.extensions) == (date(2026, 12, 5), date(2026, 11, 20), 1)


def test_completion_ends_the_hop_at_the_executors_own_time() -> None:
    done_at = T0 + timedelta(hours=30)
    [hop] = run(state(IVANOVA), state(IVANOVA.model_copy(update={"done_at": done_at})), state(
        IVANOVA.model_copy(update={"done_at": done_at})))
    assert (hop.ended_at, hop.done_at, hop.end_reason) == (done_at, done_at, EndReason.DONE)


def test_executors_in_turn_hold_the_message_one_after_another() -> None:
    first = Executor(name="Иванова", department="Благоустройство", order=1, responsible=True, due=date(2026, 11, 10))
    second = Executor(name="Соколова", department="ЖКХ", order=2, due=date(2026, 11, 25))
    handed = T0 + timedelta(days=5)
    hops = run(state(first, second), state(first.model_copy(update={"done_at": handed}), second))
    assert [(h.executor, h.turn, h.started_at, h.ended_at) for h in hops] == [
        ("Иванова", 1, T0, handed), ("Соколова", 2, handed, None)]


def test_a_reassignment_ends_the_old_hop_and_starts_a_new_one() -> None:
    hops = run(state(IVANOVA), state(SOKOLOVA))
    assert [(h.executor, h.end_reason, h.ended_at) for h in hops] == [
        ("Иванова", EndReason.REASSIGNED, T0 + timedelta(days=1)), ("Соколова", None, None)]


def test_a_redirect_ends_every_open_hop_as_redirected_even_when_the_edms_closed_the_tasks() -> None:
    closed = IVANOVA.model_copy(update={"done_at": T0 + timedelta(hours=5)})
    hops = run(state(IVANOVA, SOKOLOVA), state(closed, stage=CardStage.REDIRECTED))
    assert [(h.executor, h.end_reason) for h in hops] == [("Иванова", EndReason.REDIRECTED),
                                                          ("Соколова", EndReason.REDIRECTED)]


def test_the_answer_closes_open_hops_once() -> None:
    answered = state(IVANOVA, stage=CardStage.ANSWER_READY)
    hops = run(state(IVANOVA), answered, answered)
    assert [(h.executor, h.end_reason) for h in hops] == [("Иванова", EndReason.ANSWERED)]


def test_record_writes_and_rereads_the_hops(tmp_path) -> None:  # type: ignore[no-untyped-def]
    store = Store(f"sqlite:///{tmp_path / 'c.db'}")
    with store.sessions.begin() as session:
        message = Message(account="a", pos_id="1", state="in_work", payload={"orgName": ORG})
        session.add(message)
        session.flush()
        assert record(session, message.id, ORG, state(IVANOVA, SOKOLOVA), T0) == 2
        assert record(session, message.id, ORG, state(IVANOVA, SOKOLOVA), T0 + timedelta(hours=1)) == 0
        message_id = message.id
    with store.session() as session:
        assert [(h.seq, h.executor) for h in load(session, message_id)] == [(1, "Иванова"), (2, "Соколова")]
        assert session.scalars(select(ExecutorHop)).all()[0].started_at == T0
