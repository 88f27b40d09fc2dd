"""Where showcase items come from: one function per source of appeals.

A source is ``(session, scope) -> Iterator[SourcedItem]``: it reads its own table in pages and
yields, for every appeal in scope, its item (built by a pure function) or the reason it cannot be
built.  POS messages are the one source today; appeals of the EDMS's other channels (letters,
reception, forwarded) become a second function here and one more line in :data:`SOURCES`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from typing import NamedTuple
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from connector.domain import PosStatus
from connector.pipeline.outbox_payloads import read_answer
from connector.pos_client.wire import WireAppeal, validation_summary
from connector.showcase.categories import RubricCategory
from connector.showcase.models import (
    Channel,
    Coordinates,
    ShowcaseCategory,
    ShowcaseItem,
    ShowcaseStatus,
    SourcedItem,
)
from connector.showcase.settings import ShowcaseSettings
from connector.store.models import Card, Message, MessageState, OutboxItem, OutboxKind

PAGE = 200


class SourceScope(BaseModel):
    """What every source is asked for: appeals received on or after ``since`` (None: all), their
    overdue flags as of ``today``, dates in the body's ``zone``; ``rubric_category`` places an appeal
    that has only a card rubric (:mod:`connector.showcase.categories`)."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    settings: ShowcaseSettings
    zone: ZoneInfo
    today: date
    since: date | None = None
    rubric_category: RubricCategory | None = None  # a card's rubric → POS category (None: no mapping imported)


Source = Callable[[Session, SourceScope], Iterator[SourcedItem]]


# --- POS messages ----------------------------------------------------------------------------

_FINAL_OF_POS: dict[PosStatus, ShowcaseStatus] = {
    PosStatus.ANSWERED: ShowcaseStatus.ANSWERED,
    PosStatus.REDIRECTED_SUBORDINATE: ShowcaseStatus.REDIRECTED,
    PosStatus.REDIRECTED_HIGHER: ShowcaseStatus.REDIRECTED,
    PosStatus.MODERATION_REJECTED: ShowcaseStatus.REJECTED,
}
_OF_STATE: dict[str, ShowcaseStatus] = {
    MessageState.ANSWERED: ShowcaseStatus.ANSWERED,     # POS took our answer; its listing may lag
    MessageState.REDIRECTED: ShowcaseStatus.REDIRECTED,
    MessageState.IN_WORK: ShowcaseStatus.IN_WORK,
    MessageState.ANSWER_READY: ShowcaseStatus.IN_WORK,
}


def pos_status(pos: PosStatus, state: str) -> ShowcaseStatus:
    """What POS says when it is final, else what our lifecycle knows (it is ahead of POS's listing)."""
    if pos in _FINAL_OF_POS:
        return _FINAL_OF_POS[pos]
    if state in _OF_STATE:
        return _OF_STATE[state]
    if pos in (PosStatus.EXECUTOR_ASSIGNED, PosStatus.DEADLINE_EXTENDED):
        return ShowcaseStatus.IN_WORK
    return ShowcaseStatus.NEW


class PosFacts(BaseModel):
    """What the store knows of one POS message, for :func:`pos_item`."""

    model_config = ConfigDict(frozen=True)

    account: str
    appeal: WireAppeal
    state: str
    deadline: date | None = None   # the card's term, when the EDMS set one
    rubric_code: str = ""          # the card's own rubric, when the EDMS keeps one
    answered: date | None = None   # the date of the answer queued for POS


def pos_item_id(pos_id: str) -> str:
    return f"pos:{pos_id}"


def pos_item(facts: PosFacts, scope: SourceScope) -> ShowcaseItem:
    """The showcase item of a POS message (pure).  Raises ValueError naming what is missing."""
    appeal = facts.appeal
    ref = appeal.fact or appeal.subcategory or appeal.category
    category = ShowcaseCategory(id=ref.id, name=ref.name) if ref is not None else None
    if category is None and facts.rubric_code and scope.rubric_category is not None:
        category = scope.rubric_category(facts.rubric_code)  # the card's rubric, mapped back
    if category is None:
        raise ValueError(f"POS message {appeal.id} has no category (nor a card rubric the mapping knows): "
                         "the showcase groups appeals by category")
    status = pos_status(appeal.status, facts.state)
    received = appeal.created_at.astimezone(scope.zone).date()
    closed = None
    if status not in (ShowcaseStatus.NEW, ShowcaseStatus.IN_WORK):
        closed = facts.answered if status == ShowcaseStatus.ANSWERED and facts.answered else \
            appeal.updated_at.astimezone(scope.zone).date()
    planned = facts.deadline or appeal.planned_date
    coordinates = appeal.coordinates
    return ShowcaseItem(
        item_id=pos_item_id(appeal.id), channel=Channel.POS, number=appeal.id,
        category=category, status=status, received=received,
        planned=planned, closed=closed, overdue=planned is not None and (closed or scope.today) > planned,
        repeated=appeal.repeated, territory=scope.settings.territory_of(facts.account),
        coordinates=Coordinates(lat=coordinates.lat, lon=coordinates.lon) if coordinates else None)


def pos_messages(session: Session, scope: SourceScope) -> Iterator[SourcedItem]:
    """Every stored POS message (fetched in full) that POS received on or after ``scope.since``."""
    query = select(Message, Card.deadline, Card.rubric_code).outerjoin(Card, Card.message_id == Message.id).where(
        Message.state != MessageState.FETCHING, Message.payload.is_not(None))
    after = 0
    while True:
        rows = session.execute(query.where(Message.id > after).order_by(Message.id).limit(PAGE)).all()
        if not rows:
            return
        after = rows[-1][0].id
        answered = _answer_dates(session, [m.id for m, _d, _r in rows])
        for message, deadline, rubric in rows:
            if scope.since is None or _received(message, scope) >= scope.since:
                yield _pos_sourced(message, _CardFacts(deadline, rubric or "", answered.get(message.id)), scope)


def _received(message: Message, scope: SourceScope) -> date:
    """When POS received the message (its ``createdAt``, in the body's zone); our own storing time
    when the payload has none (it is then refused as an item all the same)."""
    raw = (message.payload or {}).get("createdAt")
    try:
        moment = datetime.fromisoformat(raw) if isinstance(raw, str) else message.created_at
    except ValueError:
        moment = message.created_at
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(scope.zone).date()


def _answer_dates(session: Session, ids: list[int]) -> dict[int, date]:
    items = session.execute(select(OutboxItem.message_id, OutboxItem.payload).where(
        OutboxItem.message_id.in_(ids), OutboxItem.kind == OutboxKind.ANSWER).order_by(OutboxItem.id)).all()
    return {message_id: read_answer(payload).date for message_id, payload in items}


class _CardFacts(NamedTuple):
    deadline: date | None
    rubric_code: str
    answered: date | None


def _pos_sourced(message: Message, card: _CardFacts, scope: SourceScope) -> SourcedItem:
    sourced = {"source": "pos", "source_id": message.id, "account": message.account, "message_id": message.id,
               "item_id": pos_item_id(message.pos_id)}
    try:
        appeal = WireAppeal.model_validate(message.payload)
        item = pos_item(PosFacts(account=message.account, appeal=appeal, state=message.state, deadline=card.deadline,
                                 rubric_code=card.rubric_code, answered=card.answered), scope)
    except ValidationError as exc:
        return SourcedItem(**sourced, problem=f"showcase item of POS message {message.pos_id}: "
                                              f"{validation_summary(exc)}")
    except ValueError as exc:
        return SourcedItem(**sourced, problem=str(exc))
    return SourcedItem(**sourced, item=item)


SOURCES: dict[str, Source] = {
    "pos": pos_messages,
}
