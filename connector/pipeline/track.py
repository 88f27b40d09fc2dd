"""Job ``track``: the EDMS state of open cards → card fields, deadline hops, outbox entries.

Outbox entries are keyed by (message, kind, target), so tracking the same state twice
queues nothing new.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from connector.domain import Answer, CardRef, CardStage, CardState, PosMessage
from connector.edms_adapters.base import EdmsAdapter, read_card
from connector.errors import ConnectorError, SkippableItemError
from connector.i18n import _
from connector.local_files import write_atomically
from connector.pipeline import lifecycle
from connector.pipeline.answer_completeness import REASON, Verdict, give_up_reason, judge, wait_deadline
from connector.pipeline.batches import Step, drain
from connector.pipeline.context import PipelineContext
from connector.pipeline.outbox_payloads import AnswerFile, AnswerPush
from connector.pipeline.outcomes import JobStats, dead_letter, record_item_error
from connector.pipeline.status_translation import OutboxIntent, plan_outbox
from connector.pipeline.stored import stored_message
from connector.store import hops
from connector.store.leases import release
from connector.store.models import (
    OPEN_CARD_STATES,
    Card,
    DeadlineHop,
    ExecutorHop,
    Message,
    OutboxItem,
    OutboxKind,
)

log = logging.getLogger(__name__)

JOB = "track"


@dataclass
class _Tracked:
    id: int
    group: str  # the EDMS target: an AuthError stops its cards for this run
    row: Card
    message: Message
    ref: CardRef
    adapter: EdmsAdapter
    last_hop: DeadlineHop | None
    queued: set[tuple[str, str]]  # (kind, target) of the message's outbox entries
    executor_hops: list[ExecutorHop]


@dataclass(frozen=True)
class _Read:
    state: CardState
    answer: Answer | None


def run(ctx: PipelineContext, max_batches: int | None = None) -> JobStats:
    open_messages = select(Message.id).where(Message.state.in_(OPEN_CARD_STATES))
    started = ctx.clock()

    def load(session: Session, ids: Sequence[int], _stats: JobStats) -> list[_Tracked]:
        return _load(ctx, session, ids)

    def save(session: Session, work: _Tracked, read: _Read, stats: JobStats) -> None:
        _save(ctx, session, work, read, stats)

    def fail(session: Session, work: _Tracked, exc: ConnectorError, stats: JobStats) -> None:
        work.row.checked_at = ctx.clock()
        record_item_error(session, ctx, work.row, exc, job=JOB, stats=stats)

    # Each card is looked at once per run: checked_at moves past the run's start.
    return drain(ctx, Card, Step(load=load, call=_read_card, save=save, fail=fail), job=JOB,
                 max_batches=max_batches,
                 conditions=lambda stopped: [
                     Card.message_id.in_(open_messages),
                     Card.edms_target.not_in(stopped),
                     (Card.checked_at.is_(None)) | (Card.checked_at < started)])


def _load(ctx: PipelineContext, session: Session, ids: Sequence[int]) -> list[_Tracked]:
    """The batch's cards with their messages, latest deadline hops, executor hops and queued outbox keys:
    four queries."""
    pairs = session.execute(select(Card, Message).join(Message, Message.id == Card.message_id)
                            .where(Card.id.in_(ids)).order_by(Card.id)).all()
    message_ids = [message.id for _card, message in pairs]
    last_hops: dict[int, DeadlineHop] = {}
    for hop in session.scalars(select(DeadlineHop).where(DeadlineHop.message_id.in_(message_ids))
                               .order_by(DeadlineHop.hop_no)):
        last_hops[hop.message_id] = hop  # the highest hop_no wins
    queued: dict[int, set[tuple[str, str]]] = {}
    for message_id, kind, target in session.execute(
            select(OutboxItem.message_id, OutboxItem.kind, OutboxItem.target)
            .where(OutboxItem.message_id.in_(message_ids))):
        queued.setdefault(message_id, set()).add((kind, target))
    executor_hops = hops.rows_of(session, message_ids)
    return [_Tracked(id=card.id, group=card.edms_target, row=card, message=message,
                     ref=CardRef(adapter=card.adapter, external_id=card.external_id, url=card.url),
                     adapter=ctx.adapter(card.edms_target), last_hop=last_hops.get(message.id),
                     queued=queued.get(message.id, set()), executor_hops=executor_hops[message.id])
            for card, message in pairs]


def _read_card(work: _Tracked) -> _Read:
    state, answer = read_card(work.adapter, work.ref)
    return _Read(state, answer)


def _save(ctx: PipelineContext, session: Session, work: _Tracked, read: _Read, stats: JobStats) -> None:
    card, message, state, answer = work.row, work.message, read.state, read.answer
    card.checked_at = ctx.clock()
    lifecycle.clear_attempts(card)
    release(card)
    # Read here, not in the batch's load: a payload that no longer reads fails its own card only.
    pos = stored_message(message, with_files=False)
    changed = _apply_state(session, ctx, work, state, pos)
    if state.stage == CardStage.REFUSED:
        dead_letter(session, card, job=JOB,
                    reason=_("EDMS closed the card without an answer: {resolution}").format(
                        resolution=state.resolution or _("no reason given")))
        stats.failed += 1
        return
    intents = plan_outbox(state, ctx.settings.status_map)
    if state.stage == CardStage.ANSWER_READY:
        if answer is None:
            log.info("answer announced but not retrievable yet", extra={"pos_id": message.pos_id})
        else:
            verdict = _judge_answer(ctx, message, answer)
            if verdict is Verdict.GIVE_UP:
                _stop_waiting(message)
                hours = ctx.settings.account(message.account).answer_file_wait_hours
                dead_letter(session, card, job=JOB, reason=give_up_reason(hours))
                stats.failed += 1
                return
            if verdict is Verdict.SEND:
                try:
                    intents.append(_answer_intent(ctx, message.id, answer))
                except SkippableItemError as exc:
                    record_item_error(session, ctx, card, exc, job=JOB, stats=stats)
                    return
    else:
        _stop_waiting(message)  # the EDMS took the answer back: nothing to wait for
    queued = _enqueue(session, work, intents)
    if any(i.kind == OutboxKind.ANSWER for i in intents):
        lifecycle.answer_ready(message)
    elif state.stage in (CardStage.IN_WORK, CardStage.EXTENDED):
        lifecycle.in_work(message)
    if changed or queued:
        stats.processed += 1


def _apply_state(session: Session, ctx: PipelineContext, work: _Tracked, state: CardState, pos: PosMessage) -> bool:
    card = work.row
    executor = ", ".join(e.name for e in state.executors)
    snapshot = hashlib.sha256(state.model_dump_json().encode()).hexdigest()
    changed = snapshot != card.snapshot_hash
    card.snapshot_hash = snapshot
    card.stage = state.stage
    card.registration_number = state.registration_number
    card.registration_date = state.registration_date
    card.executor = executor
    card.deadline = state.deadline
    card.resolution = state.resolution
    card.redirect_org_id = state.redirect_org_id
    card.redirect_letter_number = state.redirect_letter_number
    card.redirect_letter_date = state.redirect_letter_date
    card.rubric_code = state.rubric_code
    _record_hop(session, ctx, work, executor, state, pos)
    if changed:  # an unchanged card cannot move a hop; its executors are part of the snapshot
        hops.record(session, work.message.id, pos.org_name or work.message.account, state, ctx.clock(),
                    work.executor_hops)
    return changed


def _judge_answer(ctx: PipelineContext, message: Message, answer: Answer) -> Verdict:
    """Apply the answer-file rule; a wait is kept on the message (its card is what track
    claims, so the message's retry fields are free while its card is open): ``last_error``
    names the reason for `connector status`, ``next_attempt_at`` is when the wait ends."""
    account = ctx.settings.account(message.account)
    now = ctx.clock()
    waiting = message.last_error == REASON
    verdict = judge(answer, requires_file=account.answer_requires_file,
                    wait_until=message.next_attempt_at if waiting else None, now=now)
    if verdict is Verdict.WAIT and not waiting:
        message.last_error = REASON
        message.next_attempt_at = wait_deadline(now, account.answer_file_wait_hours)
        log.warning("answer ready in the EDMS without its signed file: not sent to POS, waiting",
                    extra={"pos_id": message.pos_id, "until": message.next_attempt_at.isoformat()})
    elif verdict is Verdict.SEND:
        _stop_waiting(message)
    return verdict


def _stop_waiting(message: Message) -> None:
    if message.last_error == REASON:
        message.last_error = None
        message.next_attempt_at = None


def _record_hop(session: Session, ctx: PipelineContext, work: _Tracked, executor: str, state: CardState,
                pos: PosMessage) -> None:
    """Deadlines per hop: the current hop's executor and term; a redirect ends the hop."""
    message, hop = work.message, work.last_hop
    now = ctx.clock()
    if hop is None or hop.ended_at is not None:
        if not executor and state.stage != CardStage.REDIRECTED:
            return
        organisation = pos.org_name or message.account
        hop = DeadlineHop(message_id=message.id, hop_no=(hop.hop_no + 1) if hop else 1,
                          organisation=organisation, executor=executor, started_at=now,
                          deadline=state.deadline or pos.planned_date)
        session.add(hop)
        work.last_hop = hop
    else:
        hop.executor = executor or hop.executor
        hop.deadline = state.deadline or hop.deadline
    if state.stage in (CardStage.REDIRECTED, CardStage.ANSWER_READY, CardStage.REFUSED) and hop.ended_at is None:
        hop.ended_at = now
        hop.overdue = bool(hop.deadline and now.astimezone(ctx.settings.sstu.zone).date() > hop.deadline)


def _answer_intent(ctx: PipelineContext, message_id: int, answer: Answer) -> OutboxIntent:
    folder = ctx.data_dir / "answers" / str(message_id)
    files: list[AnswerFile] = []
    for index, file in enumerate(answer.files):
        path = folder / f"{index:02d}{_safe_suffix(file.name)}"
        write_atomically(path, file.content)
        files.append(AnswerFile(name=file.name, mime_type=file.mime_type, path=path, size=len(file.content),
                                sha256=hashlib.sha256(file.content).hexdigest()))
    payload = AnswerPush(text=answer.text, decision=answer.decision, signer=answer.signer, date=answer.date,
                         files=tuple(files))
    return OutboxIntent(OutboxKind.ANSWER, "ANSWERED", payload)


def _safe_suffix(name: str) -> str:
    suffix = Path(name.replace("\x00", "")).suffix.lower()
    return suffix if len(suffix) <= 10 and suffix[1:].isalnum() else ".bin"


def _enqueue(session: Session, work: _Tracked, intents: list[OutboxIntent]) -> int:
    existing, message_id = work.queued, work.message.id
    rows = []
    for intent in intents:
        if (intent.kind, intent.target) in existing:
            continue
        rows.append({"message_id": message_id, "kind": intent.kind, "target": intent.target,
                     "payload": intent.payload.to_json(), "attempts": 0})
        existing.add((intent.kind, intent.target))
    if rows:  # one statement (the ORM would send an INSERT per row on SQLite); in the order POS needs them
        # on the connection: Session.execute would flush the batch recorded so far, once per card
        session.connection().execute(insert(OutboxItem), rows)
    return len(rows)
