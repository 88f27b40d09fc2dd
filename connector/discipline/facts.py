"""What the discipline reports read from the store, as plain domain values (the only I/O of a report).

One ``MessageFacts`` per message received in the period: when our organisation received it (the
store's first sight of it), its POS term, when its answer reached POS, its category, problem
address, the applicant's rating and repeat flag, and its executor hops.

Ratings and repeat references are read from the store's ``ratings`` table (the rating loop's record,
one source of truth for the loop and the reports); :func:`connector.discipline.service.build` brings
that table up to date from the POS payloads first.  The payload's ``repeated`` flag still counts a repeat
appeal whose earlier number POS does not give.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time, timedelta, tzinfo

from pydantic import BaseModel, ConfigDict, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from connector.notices.records import Rating
from connector.pos_client.wire import WireAppeal
from connector.store import hops as hop_store
from connector.store.hops import Hop
from connector.store.models import ExecutorHop, Message, OutboxItem, OutboxKind, OutboxState


class MessageFacts(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    message_id: int
    pos_id: str
    received_at: datetime
    term: date | None = None
    answered_at: datetime | None = None
    category: str = ""
    problem_address: str = ""
    rating: int | None = None
    repeated: bool = False
    hops: tuple[Hop, ...] = ()


def day_bounds(first: date, last: date, zone: tzinfo) -> tuple[datetime, datetime]:
    """[start of ``first``, start of the day after ``last``) in the body's zone."""
    return (datetime.combine(first, time.min, tzinfo=zone),
            datetime.combine(last + timedelta(days=1), time.min, tzinfo=zone))


def _appeal(payload: dict[str, object] | None) -> WireAppeal | None:
    if not payload:
        return None
    try:
        return WireAppeal.model_validate(payload)
    except ValidationError:
        return None


def load_facts(session: Session, first: date, last: date, zone: tzinfo, *,
               accounts: Sequence[str] = ()) -> list[MessageFacts]:
    """Every stored message received on the days ``first``..``last`` (body's zone)."""
    start, end = day_bounds(first, last, zone)
    query = select(Message).where(Message.created_at >= start, Message.created_at < end,
                                  Message.payload.is_not(None)).order_by(Message.id)
    if accounts:
        query = query.where(Message.account.in_(accounts))
    messages = list(session.scalars(query))
    ids = [m.id for m in messages]
    answered: dict[int, datetime] = {}
    hops: dict[int, list[Hop]] = {}
    rated: dict[int, tuple[int | None, str]] = {}
    for chunk in (ids[i:i + 500] for i in range(0, len(ids), 500)):
        for item in session.scalars(select(OutboxItem).where(
                OutboxItem.message_id.in_(chunk), OutboxItem.kind == OutboxKind.ANSWER,
                OutboxItem.state.in_((OutboxState.SENT, OutboxState.SUPERSEDED)))):
            if item.sent_at is not None:
                answered[item.message_id] = item.sent_at
        for row in session.scalars(select(ExecutorHop).where(ExecutorHop.message_id.in_(chunk))
                                   .order_by(ExecutorHop.message_id, ExecutorHop.seq)):
            hops.setdefault(row.message_id, []).append(hop_store.view(row))
        rated.update({r.message_id: (r.rating, r.repeat_of)
                      for r in session.scalars(select(Rating).where(Rating.message_id.in_(chunk)))})
    out = []
    for m in messages:
        appeal = _appeal(m.payload)
        rating, repeat_of = rated.get(m.id, (None, ""))
        out.append(MessageFacts(
            message_id=m.id, pos_id=m.pos_id, received_at=m.created_at,
            term=appeal.planned_date if appeal else None, answered_at=answered.get(m.id),
            category=appeal.category.name if appeal and appeal.category else "",
            problem_address=appeal.problem_address if appeal else "",
            rating=rating, repeated=bool(repeat_of or (appeal and appeal.repeated)),
            hops=tuple(hops.get(m.id, ()))))
    return out
