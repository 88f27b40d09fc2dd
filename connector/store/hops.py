"""Executor hops: who held a message, from when to when, against which own term.

``hop_changes`` is pure: from the hops stored so far and the card's newest ``CardState`` it says
which hops to add or update.  ``record`` is the I/O around it that ``track`` calls once per card.

The rules:

* one hop per executor of the card, keyed by (organisation, unit, executor, turn);
* executors who answer in turn (``order`` 1, 2, …) hold the message only once every earlier turn
  is done: a later turn's hop starts when the last earlier one finished;
* a later own term of the same executor is an extension (``extensions`` + 1, ``first_due`` kept);
* an executor's completion time ends its hop (``done``); an executor no longer on the card ends
  it as ``reassigned`` (or ``redirected`` when the card went to another organisation); the card's
  answer, redirect or refusal ends every hop still open.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from connector.domain import CardStage, CardState, Executor
from connector.store.models import ExecutorHop


class EndReason(enum.StrEnum):
    DONE = "done"                # the executor finished its part
    ANSWERED = "answered"        # the card's answer is ready
    REDIRECTED = "redirected"    # the card went to another organisation
    REASSIGNED = "reassigned"    # the executor was taken off the card
    REFUSED = "refused"          # the EDMS closed the card without an answer


_TERMINAL = {CardStage.ANSWER_READY: EndReason.ANSWERED, CardStage.REDIRECTED: EndReason.REDIRECTED,
             CardStage.REFUSED: EndReason.REFUSED}


class Hop(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    seq: int
    organisation: str
    unit: str = ""
    executor: str = ""
    responsible: bool = False
    turn: int = 0
    started_at: datetime
    ended_at: datetime | None = None
    due: date | None = None
    first_due: date | None = None
    extensions: int = 0
    done_at: datetime | None = None
    end_reason: EndReason | None = None

    @property
    def key(self) -> tuple[str, str, str, int]:
        return (self.organisation, self.unit, self.executor, self.turn)


def _key(e: Executor, organisation: str) -> tuple[str, str, str, int]:
    return (e.organisation or organisation, e.department, e.name, e.order)


def _holding(executors: Sequence[Executor]) -> list[tuple[Executor, datetime | None]]:
    """The executors who hold the message now, each with when its turn began (None: not known, i.e.
    in parallel or the first turn): every parallel one and, of those in turn, each turn whose earlier
    turns are all done -- a turn begins when the last executor of the turn before finished."""
    holding: list[tuple[Executor, datetime | None]] = [(e, None) for e in executors if e.order == 0]
    began: datetime | None = None
    for turn in sorted({e.order for e in executors if e.order > 0}):
        group = [e for e in executors if e.order == turn]
        holding.extend((e, began) for e in group)
        done = [e.done_at for e in group if e.done_at]
        if len(done) < len(group):
            break
        began = max(done)
    return holding


def _updated(hop: Hop, e: Executor, stage: CardStage, now: datetime) -> Hop:
    changes: dict[str, object] = {"responsible": e.responsible}
    if e.due and hop.due and e.due > hop.due:
        changes.update(due=e.due, extensions=hop.extensions + 1)
    elif e.due and hop.due is None:
        changes.update(due=e.due, first_due=hop.first_due or e.due)
    if stage in (CardStage.REDIRECTED, CardStage.REFUSED):  # an EDMS closes the tasks of a card it sends away
        changes.update(ended_at=e.done_at or now, done_at=e.done_at, end_reason=_TERMINAL[stage])
    elif e.done_at:
        changes.update(ended_at=e.done_at, done_at=e.done_at, end_reason=EndReason.DONE)
    elif stage in _TERMINAL:
        changes.update(ended_at=now, end_reason=_TERMINAL[stage])
    return hop.model_copy(update=changes)


def hop_changes(hops: Sequence[Hop], state: CardState, organisation: str, now: datetime) -> list[Hop]:
    """The hops to write (new ones with the next ``seq`` numbers, changed ones in full) so that the
    store matches ``state``; ``hops`` are every hop of the message stored so far."""
    holding = _holding([e for e in state.executors if e.name])
    current = {_key(e, organisation): e for e, _ in holding}
    began = {_key(e, organisation): start for e, start in holding}
    open_hops = {h.key: h for h in hops if h.ended_at is None}
    closed = {h.key for h in hops if h.ended_at is not None}
    out: list[Hop] = []
    for key, hop in open_hops.items():
        e = current.get(key)
        if e is None:
            reason = EndReason.REDIRECTED if state.stage is CardStage.REDIRECTED else EndReason.REASSIGNED
            out.append(hop.model_copy(update={"ended_at": now, "end_reason": reason}))
            continue
        updated = _updated(hop, e, state.stage, now)
        if updated != hop:
            out.append(updated)
    seq = max((h.seq for h in hops), default=0)
    for key, e in current.items():
        # a closed hop comes back only as a new hold: the executor is on the card again and still working
        if key in open_hops or (key in closed and (e.done_at or state.stage in _TERMINAL)):
            continue
        seq += 1
        started = began[key] or now
        new = Hop(seq=seq, organisation=key[0], unit=e.department, executor=e.name, responsible=e.responsible,
                  turn=e.order, started_at=min(started, e.done_at) if e.done_at else started,
                  due=e.due, first_due=e.due)
        out.append(_updated(new, e, state.stage, now) if (e.done_at or state.stage in _TERMINAL) else new)
    return out


def view(row: ExecutorHop) -> Hop:
    return Hop(seq=row.seq, organisation=row.organisation, unit=row.unit, executor=row.executor,
               responsible=row.responsible, turn=row.turn, started_at=row.started_at, ended_at=row.ended_at,
               due=row.due, first_due=row.first_due, extensions=row.extensions, done_at=row.done_at,
               end_reason=EndReason(row.end_reason) if row.end_reason else None)


def load(session: Session, message_id: int) -> list[Hop]:
    rows = session.scalars(select(ExecutorHop).where(ExecutorHop.message_id == message_id)
                           .order_by(ExecutorHop.seq))
    return [view(r) for r in rows]


def rows_of(session: Session, message_ids: Sequence[int]) -> dict[int, list[ExecutorHop]]:
    """The stored hops of several messages in one query (a job's batch reads them at once)."""
    out: dict[int, list[ExecutorHop]] = {message_id: [] for message_id in message_ids}
    for row in session.scalars(select(ExecutorHop).where(ExecutorHop.message_id.in_(message_ids))):
        out[row.message_id].append(row)
    return out


_FIELDS = ("organisation", "unit", "executor", "responsible", "turn", "started_at", "ended_at", "due", "first_due",
           "extensions", "done_at")


def record(session: Session, message_id: int, organisation: str, state: CardState, now: datetime,
           stored: Sequence[ExecutorHop] | None = None) -> int:
    """Bring the message's executor hops up to ``state``; returns how many rows changed.

    ``organisation``: the one that holds the message (its executors' organisation unless they name
    another); ``stored``: the message's rows when the caller read them already (:func:`rows_of`)."""
    if stored is None:
        stored = rows_of(session, [message_id])[message_id]
    rows = {r.seq: r for r in stored}
    changes = hop_changes([view(r) for r in rows.values()], state, organisation, now)
    new: list[dict[str, Any]] = []
    for hop in changes:
        values = {field: getattr(hop, field) for field in _FIELDS}
        values["end_reason"] = hop.end_reason.value if hop.end_reason else None
        row = rows.get(hop.seq)
        if row is None:
            new.append({"message_id": message_id, "seq": hop.seq, **values})
            continue
        for field, value in values.items():
            setattr(row, field, value)
    if new:  # one statement for all of them, not one per hop
        # on the session's connection: Session.execute would first flush whatever the caller's
        # transaction changed so far (a job records a whole batch, so that is a flush per card)
        session.connection().execute(insert(ExecutorHop), new)
    return len(changes)
