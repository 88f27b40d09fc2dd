"""Where showcase items come from: one function per source of appeals.

A source is ``(session, scope) -> Iterator[SourcedItem]``: it reads its own table in pages and
yields, for every appeal in scope, its item (built by a pure function) or the reason it cannot be
built.  Two sources: POS messages, and the EDMS's appeal cards of every other channel (letters,
e-mail, reception, forwarded; ``edms_appeals``, listed by :mod:`connector.pipeline.edms_appeals`).

Which EDMS cards are shown: every card that is not the card of a POS message we hold (that appeal
is shown once, through its message) and is not flagged «не выгружать в ССТУ».  A body keeps a card
from ССТУ when it does not count it as a citizen's appeal (a duplicate, a letter registered in the
wrong journal, restricted content); the heat map counts the appeals the body reports, so the showcase
and ССТУ hold the same set.  A card flagged after its item went up stays on the showcase (the
showcase has no withdrawal) and is no longer updated.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from typing import NamedTuple
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, ValidationError
from sqlalchemy import and_, exists, select
from sqlalchemy.orm import Session

from connector.domain import CardStage, DeliveryForm, PosStatus
from connector.i18n import _
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
from connector.sstu_export.edms_facts import StoredAppeal
from connector.sstu_export.facts import StoredQuestion
from connector.store.models import Card, EdmsAppealRecord, Message, MessageState, OutboxItem, OutboxKind

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
        raise ValueError(_("POS message {pos_id} has no category (nor a card rubric the mapping knows): the showcase "
                           "groups appeals by category").format(pos_id=appeal.id))
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
        return SourcedItem(**sourced, problem=_("showcase item of POS message {pos_id}: {problems}").format(
            pos_id=message.pos_id, problems=validation_summary(exc)))
    except ValueError as exc:
        return SourcedItem(**sourced, problem=str(exc))
    return SourcedItem(**sourced, item=item)


# --- EDMS appeals of the other channels -------------------------------------------------------

MAX_ITEM_ID = 160  # showcase_items.item_id


def edms_item_id(target: str, external_id: str) -> str:
    """``edms:<target>:<card id>``, stable for the card; a card id too long for the column is hashed."""
    item_id = f"edms:{target}:{external_id}"
    if len(item_id) <= MAX_ITEM_ID:
        return item_id
    return f"edms:{target}:sha256:{hashlib.sha256(external_id.encode('utf-8')).hexdigest()}"[:MAX_ITEM_ID]


_CLOSED_OF_STAGE: dict[CardStage, ShowcaseStatus] = {
    CardStage.REDIRECTED: ShowcaseStatus.REDIRECTED,
    CardStage.REFUSED: ShowcaseStatus.REJECTED,
}


def edms_status(questions: tuple[StoredQuestion, ...]) -> ShowcaseStatus:
    """The appeal's status from its questions' stages: open while any question is open (new when none
    is worked on yet); once all are closed, answered if any was answered, else redirected if any
    was, else rejected.  A question «answer ready» without its answer stored yet is still in work."""
    def closed(q: StoredQuestion) -> ShowcaseStatus | None:
        if q.stage is CardStage.ANSWER_READY:
            return ShowcaseStatus.ANSWERED if q.answer is not None else None
        return _CLOSED_OF_STAGE.get(q.stage)

    outcomes = [closed(q) for q in questions]
    if any(o is None for o in outcomes):
        registered = all(q.stage is CardStage.REGISTERED for q in questions)
        return ShowcaseStatus.NEW if registered else ShowcaseStatus.IN_WORK
    for status in (ShowcaseStatus.ANSWERED, ShowcaseStatus.REDIRECTED):
        if status in outcomes:
            return status
    return ShowcaseStatus.REJECTED


def _channel(appeal: StoredAppeal) -> Channel:
    if appeal.forwarded is not None:
        return Channel.FORWARDED
    return {DeliveryForm.ORAL: Channel.RECEPTION, DeliveryForm.ELECTRONIC: Channel.EMAIL}.get(
        appeal.delivery, Channel.LETTER)


def _edms_category(appeal: StoredAppeal, scope: SourceScope) -> ShowcaseCategory | None:
    """The first question whose rubric the mapping knows (questions in the card's order)."""
    if scope.rubric_category is None:
        return None
    for q in appeal.questions:
        if q.rubric_code.strip():
            category = scope.rubric_category(q.rubric_code)
            if category is not None:
                return category
    return None


def _edms_closed(appeal: StoredAppeal, status: ShowcaseStatus, changed_on: date) -> date | None:
    """The latest answer (or redirect letter) date of a closed appeal; the day we saw it close otherwise."""
    if status in (ShowcaseStatus.NEW, ShowcaseStatus.IN_WORK):
        return None
    dates = [d for q in appeal.questions for d in (q.answer.date if q.answer else None, q.redirect_letter_date) if d]
    return max(dates) if dates else changed_on


def _edms_planned(appeal: StoredAppeal) -> date | None:
    """The appeal's term: the latest term of a responsible executor of any question (any executor's
    when none is marked responsible)."""
    executors = [q.executor for q in appeal.questions if q.executor is not None and q.executor.due is not None]
    responsible = [e.due for e in executors if e.responsible and e.due] or [e.due for e in executors if e.due]
    return max(responsible) if responsible else None


class EdmsFacts(BaseModel):
    """What the store knows of one EDMS appeal card, for :func:`edms_item`."""

    model_config = ConfigDict(frozen=True)

    target: str
    account: str
    appeal: StoredAppeal
    changed_on: date   # when we last saw the card change (the closing day when the card has no date)


def edms_item(facts: EdmsFacts, scope: SourceScope) -> ShowcaseItem:
    """The showcase item of an EDMS appeal card (pure).  Raises ValueError naming what is missing.
    The EDMS keeps no repeat mark for these cards: ``repeated`` is false."""
    appeal = facts.appeal
    label = appeal.registration_number or appeal.external_id
    number = appeal.registration_number.strip()
    received = appeal.received_on or appeal.registration_date
    if not number or received is None or not appeal.questions:
        raise ValueError(_("EDMS card {card}: no registration number, date or question yet (the next listing brings "
                           "them)").format(card=label))
    category = _edms_category(appeal, scope)
    if category is None:
        raise ValueError(_("EDMS card {card}: no question rubric the rubric mapping knows (`connector mapping import`): "
                           "the showcase groups appeals by POS category").format(card=label))
    status = edms_status(appeal.questions)
    closed = _edms_closed(appeal, status, facts.changed_on)
    planned = _edms_planned(appeal)
    return ShowcaseItem(
        item_id=edms_item_id(facts.target, appeal.external_id), channel=_channel(appeal), number=number,
        category=category, status=status, received=received, planned=planned, closed=closed,
        overdue=planned is not None and (closed or scope.today) > planned, repeated=False,
        territory=scope.settings.territory_of(facts.account))


def edms_appeals(session: Session, scope: SourceScope) -> Iterator[SourcedItem]:
    """Every listed EDMS card that is not the card of a POS message we hold nor flagged «не выгружать в
    ССТУ», received on or after
    ``scope.since`` (a card without a date yet is looked at: it is in failures until it has one)."""
    of_message = exists().where(and_(Message.pos_id == EdmsAppealRecord.pos_id,
                                     Message.account == EdmsAppealRecord.account))
    query = select(EdmsAppealRecord).where(~of_message, EdmsAppealRecord.no_sstu.is_(False))
    if scope.since is not None:
        query = query.where((EdmsAppealRecord.received_on >= scope.since) | EdmsAppealRecord.received_on.is_(None))
    after = 0
    while True:
        records = list(session.scalars(query.where(EdmsAppealRecord.id > after)
                                       .order_by(EdmsAppealRecord.id).limit(PAGE)))
        if not records:
            return
        after = records[-1].id
        for record in records:
            yield _edms_sourced(record, scope)


def _edms_sourced(record: EdmsAppealRecord, scope: SourceScope) -> SourcedItem:
    sourced = {"source": "edms", "source_id": record.id, "account": record.account,
               "item_id": edms_item_id(record.target, record.external_id)}
    changed = record.changed_at if record.changed_at.tzinfo else record.changed_at.replace(tzinfo=UTC)
    try:
        appeal = StoredAppeal.model_validate(record.content)
        item = edms_item(EdmsFacts(target=record.target, account=record.account, appeal=appeal,
                                   changed_on=changed.astimezone(scope.zone).date()), scope)
    except ValidationError as exc:
        return SourcedItem(**sourced, problem=_("showcase item of EDMS card {card}: {problems}").format(
            card=record.external_id, problems=validation_summary(exc)))
    except ValueError as exc:
        return SourcedItem(**sourced, problem=str(exc))
    return SourcedItem(**sourced, item=item)


SOURCES: dict[str, Source] = {
    "pos": pos_messages,
    "edms": edms_appeals,
}
