"""Which notices are due: pure rules, and the store writes that make each notice exist once.

A warning is due for the most urgent threshold a message has reached: with thresholds 3, 1 and
0 days, a message with 2 days left gets the 3-day warning, then the 1-day one, then the one at
expiry; a message received with 1 day left gets only the 1-day warning (a "3 days left" notice
would be false).  The key carries the deadline, so a term extended in POS starts its thresholds
anew.  Rows are inserted under a unique key (message, key, unit): when two workers plan the same
notice, the second insert fails on the constraint and is dropped.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from connector.notices.facts import NoticeFacts, facts_of, units_for
from connector.notices.records import MessageNotice, NoticeDigest, NoticeKind, NoticeState
from connector.notices.settings import NoticeSettings
from connector.store.models import Card, Message, MessageState

WARN_STATES = (MessageState.STORED, MessageState.REGISTERED, MessageState.IN_WORK)
NEW_MESSAGE_WINDOW = timedelta(days=2)  # a message stored longer ago than this is not "new" any more
_CHUNK = 200


def due_threshold(today: date, due: date | None, warn_days: list[int]) -> int | None:
    """The most urgent threshold reached (days before ``due``), or None when none is."""
    if due is None:
        return None
    left = (due - today).days
    reached = [d for d in warn_days if left <= d]
    return min(reached) if reached else None


def warning_key(threshold: int, due: date) -> str:
    return f"warn:{threshold}:{due.isoformat()}"


def _open_messages(session: Session, states: tuple[MessageState, ...],
                   since: datetime | None = None) -> Iterator[tuple[Message, Card | None]]:
    last = 0
    while True:
        query = (select(Message, Card).outerjoin(Card, Card.message_id == Message.id)
                 .where(Message.state.in_(states), Message.id > last).order_by(Message.id).limit(_CHUNK))
        if since is not None:
            query = query.where(Message.created_at >= since)
        rows = session.execute(query).all()
        if not rows:
            return
        yield from ((message, card) for message, card in rows)
        last = rows[-1][0].id


def insert_once(session: Session, row: object) -> bool:
    """Add ``row`` unless its unique key exists (ours or a concurrent worker's)."""
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        return False
    return True


def _existing(session: Session, message_id: int) -> set[tuple[str, str]]:
    return {(k, u) for k, u in session.execute(select(MessageNotice.key, MessageNotice.unit)
                                                .where(MessageNotice.message_id == message_id))}


def plan_message_notices(session: Session, settings: NoticeSettings, *, today: date, now: datetime) -> int:
    """Insert the warnings and new-message notices now due; returns how many were added."""
    added = 0
    since = now - NEW_MESSAGE_WINDOW
    for message, card in _open_messages(session, WARN_STATES):
        facts = facts_of(message, card, settings)
        wanted = _wanted(facts, settings, today=today, new=settings.new_messages and message.created_at >= since)
        if not wanted:
            continue
        have = _existing(session, message.id)
        for kind, key, unit in wanted:
            if (key, unit) not in have and insert_once(
                    session, MessageNotice(message_id=message.id, kind=kind, key=key, unit=unit, due=facts.due,
                                           state=NoticeState.PENDING, attempts=0, created_at=now)):
                added += 1
    return added


def _wanted(facts: NoticeFacts, settings: NoticeSettings, *, today: date, new: bool) -> list[tuple[str, str, str]]:
    units = units_for(facts, settings.recipients)
    wanted: list[tuple[str, str, str]] = []
    threshold = due_threshold(today, facts.due, settings.warn_days)
    if threshold is not None and facts.due is not None:
        wanted += [(NoticeKind.WARNING, warning_key(threshold, facts.due), u.unit) for u in units if u.warnings]
    if new:
        wanted += [(NoticeKind.NEW_MESSAGE, "new", u.unit) for u in units if u.new_messages]
    return wanted


def digest_entries(session: Session, settings: NoticeSettings, unit: str, *, today: date) -> list[NoticeFacts]:
    """The unit's open messages due within the largest threshold, or overdue, by deadline."""
    horizon = today + timedelta(days=max(settings.warn_days, default=0))
    recipient = next(r for r in settings.recipients if r.unit == unit)
    found = []
    for message, card in _open_messages(session, WARN_STATES):
        facts = facts_of(message, card, settings)
        if facts.due is not None and facts.due <= horizon and units_for(facts, [recipient]):
            found.append(facts)
    return sorted(found, key=lambda f: (f.due or today, f.number))


def plan_digests(session: Session, settings: NoticeSettings, *, today: date, local_now: datetime,
                 now: datetime) -> int:
    """One digest row per unit and body-day, once the day's digest time has come; a day with
    nothing due is recorded as done without a message."""
    if local_now.time() < settings.digest_time:
        return 0
    added = 0
    done = set(session.scalars(select(NoticeDigest.unit).where(NoticeDigest.day == today)))
    for recipient in settings.recipients:
        if not recipient.warnings or recipient.unit in done:
            continue
        count = len(digest_entries(session, settings, recipient.unit, today=today))
        state = NoticeState.PENDING if count else NoticeState.SENT
        if insert_once(session, NoticeDigest(unit=recipient.unit, day=today, state=state, items=count,
                                             attempts=0, created_at=now)):
            added += 1
    return added
