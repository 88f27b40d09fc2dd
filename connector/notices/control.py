"""The rating loop: «Оценка ответа заявителем» and «Повторное рассмотрение» from POS → ratings per
message → once per reason, a control task for the curator on the original card, and a notice.

1. ``collect``: the pull keeps POS's appeal as the message's payload; its ``rating`` and
   ``repeatOf`` (the number of the earlier message a repeat appeal refers to) are copied into
   ``ratings`` (one row per message) for the messages changed since the last successful run.
2. ``plan``: a rating at or below ``[notices] rating_threshold`` opens the task "rating" on that
   message; a repeat appeal opens "repeat:<its number>" on the earlier message.  The unique key
   (message, reason) makes this once, on any number of workers and restarts.
3. ``execute``: claimed with a lease, the task goes to the card's EDMS (an adapter with the
   ``create_control_task`` capability, idempotent by the key ``pos-connector:control:<account>:
   <number>:<reason>``: a crash after the EDMS took it creates nothing twice), then a control notice
   is planned for the message's units.  An EDMS without the capability: the notice goes out alone.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import exists, literal, select
from sqlalchemy.orm import Session

from connector.domain import CardRef, ControlTaskRequest
from connector.edms_adapters.base import supports_control_tasks
from connector.errors import AuthError, ConnectorError, FatalAdapterError, RemoteRejected
from connector.notices.facts import facts_of, units_for
from connector.notices.planning import insert_once
from connector.notices.records import (
    ControlTask,
    ControlTaskState,
    MessageNotice,
    NoticeKind,
    NoticeState,
    Rating,
)
from connector.notices.settings import NoticeSettings
from connector.pipeline.context import PipelineContext
from connector.pipeline.outcomes import JobStats
from connector.store import job_history
from connector.store.leases import claim, release
from connector.store.models import Card, Message, utcnow

log = logging.getLogger(__name__)

RESCAN_MARGIN = timedelta(days=1)
_CHUNK = 500


def run(ctx: PipelineContext, max_batches: int | None = None) -> JobStats:
    settings = ctx.settings.notices
    with ctx.store.sessions.begin() as session:
        since = job_history.last_success(session, "notices")
        # messages.updated_at is the database default's (machine) time, the job record the injected clock's:
        # an injected clock ahead of the machine (the demo's weeks) must not hide what changed since
        cutoff = min(since, utcnow()) - RESCAN_MARGIN if since else None
        collect(session, since=cutoff, now=ctx.clock())
        if settings.control_tasks:
            plan(session, settings, now=ctx.clock())
    return execute(ctx, settings, max_batches) if settings.control_tasks else JobStats()


def _rating_of(payload: dict[str, object]) -> tuple[int | None, str]:
    rating = payload.get("rating")
    repeat_of = payload.get("repeatOf")
    return (rating if isinstance(rating, int) and 1 <= rating <= 5 else None,
            repeat_of.strip() if isinstance(repeat_of, str) else "")


def collect(session: Session, *, since: datetime | None, now: datetime) -> int:
    """Copy ratings and repeat references of changed messages into ``ratings``."""
    changed, last = 0, 0
    while True:
        query = select(Message).where(Message.id > last).order_by(Message.id).limit(_CHUNK)
        if since is not None:
            query = query.where(Message.updated_at >= since)
        messages = list(session.scalars(query))
        if not messages:
            return changed
        found = {r.message_id: r for r in session.scalars(
            select(Rating).where(Rating.message_id.in_([m.id for m in messages])))}
        for message in messages:
            rating, repeat_of = _rating_of(message.payload or {})
            row = found.get(message.id)
            if row is None and (rating is not None or repeat_of):
                fresh = Rating(message_id=message.id, rating=rating, repeat_of=repeat_of,
                               rated_at=now if rating is not None else None)
                # another worker collecting the same message at the same time: its row wins
                changed += int(insert_once(session, fresh))
            elif row is not None and (row.rating, row.repeat_of) != (rating, repeat_of):
                row.rated_at = now if rating != row.rating and rating is not None else row.rated_at
                row.rating, row.repeat_of = rating, repeat_of
                changed += 1
        session.flush()
        last = messages[-1].id


def plan(session: Session, settings: NoticeSettings, *, now: datetime) -> int:
    """Open the tasks now due.  In a fixed order: two workers inserting the same keys in the same order
    wait for each other instead of deadlocking."""
    added = 0
    rated_task = exists().where(ControlTask.message_id == Rating.message_id, ControlTask.reason == "rating")
    low = session.execute(select(Rating.message_id, Rating.rating)
                          .where(Rating.rating.is_not(None), Rating.rating <= settings.rating_threshold,
                                 ~rated_task).order_by(Rating.message_id)).all()
    for message_id, rating in low:
        added += _open(session, message_id, "rating", rating, now)
    # a repeat whose task exists (on whichever card) is done: only new repeats are looked at
    repeat_task = exists().where(ControlTask.reason == literal("repeat:") + Message.pos_id)
    repeats = session.execute(select(Message.account, Message.pos_id, Rating.repeat_of)
                              .join(Rating, Rating.message_id == Message.id)
                              .where(Rating.repeat_of != "", ~repeat_task).order_by(Message.id)).all()
    for account, pos_id, repeat_of in repeats:
        original = session.scalar(select(Message.id).where(Message.pos_id == repeat_of)
                                  .order_by((Message.account == account).desc()).limit(1))
        if original is None:
            log.info("repeat appeal refers to a message this store never had", extra={"pos_id": pos_id})
            continue
        added += _open(session, original, f"repeat:{pos_id}", None, now)
    return added


def _open(session: Session, message_id: int, reason: str, rating: int | None, now: datetime) -> int:
    exists = session.scalar(select(ControlTask.id).where(ControlTask.message_id == message_id,
                                                         ControlTask.reason == reason))
    if exists is not None:
        return 0
    return int(insert_once(session, ControlTask(message_id=message_id, reason=reason, rating=rating,
                                                state=ControlTaskState.PENDING, attempts=0, created_at=now)))


def task_request(account: str, pos_id: str, task: ControlTask) -> ControlTaskRequest:
    key = f"pos-connector:control:{account}:{pos_id}:{task.reason}"
    if task.reason == "rating":
        return ControlTaskRequest(key=key, reason="rating", rating=task.rating,
                                  text=f"Заявитель оценил ответ на сообщение ПОС № {pos_id} на {task.rating} "
                                       "из 5. Проверьте ответ и примите меры (контроль куратора).")
    repeat = task.reason.partition(":")[2]
    return ControlTaskRequest(key=key, reason="repeat", repeat_number=repeat,
                              text=f"По сообщению ПОС № {pos_id} поступило повторное обращение № {repeat}. "
                                   "Проверьте ответ и примите меры (контроль куратора).")


def execute(ctx: PipelineContext, settings: NoticeSettings, max_batches: int | None) -> JobStats:
    stats = JobStats()
    batches = 0
    while max_batches is None or batches < max_batches:
        batches += 1
        ids = claim(ctx.store.sessions, ControlTask, [ControlTask.state == ControlTaskState.PENDING],
                    worker=ctx.worker, lease_seconds=settings.lease_seconds, limit=ctx.settings.daemon.batch_size,
                    now=ctx.clock())
        if not ids:
            break
        for task_id in ids:
            _execute_one(ctx, settings, task_id, stats)
    return stats


def _execute_one(ctx: PipelineContext, settings: NoticeSettings, task_id: int, stats: JobStats) -> None:
    with ctx.store.session() as session:
        task = session.get(ControlTask, task_id)
        assert task is not None
        message = session.get(Message, task.message_id)
        card = session.scalar(select(Card).where(Card.message_id == task.message_id))
        assert message is not None
        request = task_request(message.account, message.pos_id, task)
        target = card.edms_target if card else ""
        ref = CardRef(adapter=card.adapter, external_id=card.external_id, url=card.url) if card else None
    state, external_id, error = ControlTaskState.UNSUPPORTED, "", None
    if ref is not None:
        adapter = ctx.adapter(target)
        if supports_control_tasks(adapter):
            try:
                external_id = adapter.create_control_task(ref, request).external_id  # type: ignore[attr-defined]
                state = ControlTaskState.CREATED
            except RemoteRejected as exc:
                state, error = ControlTaskState.FAILED, exc.operator_message
            except (AuthError, FatalAdapterError, ConnectorError) as exc:
                error = exc.operator_message
                state = ControlTaskState.PENDING
    _finish(ctx, settings, task_id, state, external_id, error, stats)


def _finish(ctx: PipelineContext, settings: NoticeSettings, task_id: int, state: ControlTaskState,
            external_id: str, error: str | None, stats: JobStats) -> None:
    now = ctx.clock()
    with ctx.store.sessions.begin() as session:
        task = session.get(ControlTask, task_id)
        assert task is not None
        release(task)
        task.last_error = error
        if state == ControlTaskState.PENDING:
            task.attempts = (task.attempts or 0) + 1
            if task.attempts < ctx.settings.daemon.max_attempts:
                task.next_attempt_at = now + timedelta(seconds=ctx.settings.daemon.retry_delay_seconds
                                                       * 2 ** (task.attempts - 1))
                stats.skipped += 1
                stats.left_to_retry(f"control task: {error}")
                return
            state = ControlTaskState.FAILED
        task.state, task.external_id, task.done_at = state, external_id, now
        if state == ControlTaskState.FAILED:
            stats.failed += 1
            log.error("control task not created in the EDMS", extra={"id": task_id, "reason": error})
        else:
            stats.processed += 1
        _plan_notice(session, settings, task, now)


def _plan_notice(session: Session, settings: NoticeSettings, task: ControlTask, now: datetime) -> None:
    message = session.get(Message, task.message_id)
    card = session.scalar(select(Card).where(Card.message_id == task.message_id))
    assert message is not None
    for unit in units_for(facts_of(message, card, settings), settings.recipients):
        insert_once(session, MessageNotice(message_id=task.message_id, kind=NoticeKind.CONTROL,
                                           key=f"control:{task.reason}"[:64], unit=unit.unit, due=None,
                                           state=NoticeState.PENDING, attempts=0, created_at=now))


def notice_values(session: Session, notice: MessageNotice) -> dict[str, str]:
    reason = notice.key.removeprefix("control:")
    task = session.scalar(select(ControlTask).where(ControlTask.message_id == notice.message_id,
                                                    ControlTask.reason == reason))
    if task is None:
        return {"reason": reason, "reason_sentence": "", "task": "—"}
    if task.reason == "rating":
        label, sentence = f"оценка {task.rating}", f"Заявитель оценил ответ на {task.rating} из 5."
    else:
        number = task.reason.partition(":")[2]
        label, sentence = "повторное обращение", f"Поступило повторное обращение № {number}."
    where = {ControlTaskState.CREATED: task.external_id or "создана",
             ControlTaskState.UNSUPPORTED: "СЭД не поддерживает контрольные задачи — проконтролируйте вручную",
             ControlTaskState.FAILED: f"не создана ({task.last_error or 'ошибка'})"}.get(
                 ControlTaskState(task.state), "—")
    return {"reason": label, "reason_sentence": sentence, "task": where}
