"""``connector messages find``: the search POS lacks -- by number, period, category, unit, executor,
state, overdue, and (personal data, audited) by the applicant's surname.

The store holds POS's appeal as JSON; the filters that JSON carries (received date, category,
applicant) are applied while streaming the candidates in chunks, so memory does not grow with the
store.  A search by applicant is written to the audit log *before* any result is shown: no audit
entry, no result.
"""

from __future__ import annotations

import getpass
from collections.abc import Iterator
from datetime import date, datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict
from sqlalchemy import select
from sqlalchemy.orm import Session

from connector.notices.facts import planned_date
from connector.notices.records import AuditEntry
from connector.notices.settings import RecipientSettings
from connector.store.db import Store
from connector.store.models import Card, DeadlineHop, Message, MessageState

OPEN_STATES = frozenset({MessageState.FETCHING, MessageState.STORED, MessageState.REGISTERED,
                         MessageState.IN_WORK, MessageState.ANSWER_READY})
_CHUNK = 500


class FindQuery(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    number: str = ""
    applicant: str = ""
    received_from: date | None = None
    received_to: date | None = None
    category: str = ""
    unit: str = ""
    executor: str = ""
    state: str = ""
    overdue: bool = False
    sort: Literal["received", "due"] = "received"
    limit: int = 200

    def audited(self) -> dict[str, Any]:
        return {k: v for k, v in self.model_dump(mode="json").items() if v not in ("", None, False)}


class FoundMessage(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    account: str
    number: str
    received: date | None
    due: date | None
    state: str
    category: str
    problem_address: str
    units: list[str]
    executor: str
    registration_number: str
    overdue: bool
    applicant: str = ""  # only in a search by applicant


class FindResult(BaseModel):
    messages: list[FoundMessage]
    total: int  # matches, of which at most ``limit`` are listed
    audited: bool


def _received(payload: dict[str, Any], zone: ZoneInfo) -> date | None:
    raw = payload.get("createdAt")
    try:
        return datetime.fromisoformat(raw).astimezone(zone).date() if isinstance(raw, str) else None
    except ValueError:
        return None


def _surname(payload: dict[str, Any]) -> str:
    applicant = payload.get("applicant")
    return str(applicant.get("lastName") or "") if isinstance(applicant, dict) else ""


def _full_name(payload: dict[str, Any]) -> str:
    applicant = payload.get("applicant") or {}
    return " ".join(str(applicant.get(k) or "") for k in ("lastName", "firstName", "middleName")).strip() \
        if isinstance(applicant, dict) else ""


def _candidates(session: Session, query: FindQuery) -> Iterator[tuple[Message, Card | None]]:
    last = 0
    while True:
        stmt = (select(Message, Card).outerjoin(Card, Card.message_id == Message.id)
                .where(Message.id > last).order_by(Message.id).limit(_CHUNK))
        if query.number:
            stmt = stmt.where(Message.pos_id == query.number)
        if query.state:
            stmt = stmt.where(Message.state == query.state)
        rows = session.execute(stmt).all()
        if not rows:
            return
        yield from ((m, c) for m, c in rows)
        last = rows[-1][0].id


def _units(message: Message, card: Card | None, hops: list[str], recipients: list[RecipientSettings]) -> list[str]:
    payload = message.payload or {}
    category = payload.get("category")
    name = str(category.get("name") or "") if isinstance(category, dict) else ""
    executors = {e.strip() for e in (card.executor if card else "").split(",") if e.strip()}
    configured = [r.unit for r in recipients if r.selects_all or message.account in r.accounts
                  or name in r.categories or executors & set(r.executors)]
    return sorted(set(configured) | set(hops))


def _matches(query: FindQuery, found: FoundMessage, surname: str) -> bool:
    checks = [
        not query.applicant or surname.casefold() == query.applicant.casefold(),
        query.received_from is None or (found.received is not None and found.received >= query.received_from),
        query.received_to is None or (found.received is not None and found.received <= query.received_to),
        not query.category or query.category.casefold() in found.category.casefold(),
        not query.unit or any(query.unit.casefold() in u.casefold() for u in found.units),
        not query.executor or query.executor.casefold() in found.executor.casefold(),
        not query.overdue or found.overdue,
    ]
    return all(checks)


def find_messages(store: Store, query: FindQuery, *, zone: ZoneInfo, today: date,
                  recipients: list[RecipientSettings], who: str | None = None) -> FindResult:
    audited = bool(query.applicant)
    audit_id = write_audit(store, "messages.find.applicant", query.audited(), who=who) if audited else None
    found: list[FoundMessage] = []
    with store.session() as session:
        late_hops = {mid for (mid,) in session.execute(select(DeadlineHop.message_id)
                                                       .where(DeadlineHop.overdue.is_(True)))}
        hop_orgs: dict[int, list[str]] = {}
        for mid, org in session.execute(select(DeadlineHop.message_id, DeadlineHop.organisation)):
            hop_orgs.setdefault(mid, []).append(org)
        for message, card in _candidates(session, query):
            payload = message.payload or {}
            due = planned_date(payload)
            open_ = message.state in OPEN_STATES
            category = payload.get("category")
            row = FoundMessage(
                account=message.account, number=message.pos_id, received=_received(payload, zone), due=due,
                state=message.state, category=str(category.get("name") or "") if isinstance(category, dict) else "",
                problem_address=str(payload.get("problemAddress") or ""),
                units=_units(message, card, hop_orgs.get(message.id, []), recipients),
                executor=card.executor if card else "", registration_number=card.registration_number if card else "",
                overdue=(open_ and due is not None and due < today) or message.id in late_hops,
                applicant=_full_name(payload) if audited else "")
            if _matches(query, row, _surname(payload)):
                found.append(row)
    key = (lambda f: (f.received or date.min, f.number)) if query.sort == "received" else \
        (lambda f: (f.due or date.max, f.number))
    found.sort(key=key)
    if audit_id is not None:
        _count_results(store, audit_id, len(found))
    return FindResult(messages=found[: query.limit], total=len(found), audited=audited)


def current_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def write_audit(store: Store, action: str, details: dict[str, Any], *, who: str | None = None) -> int:
    with store.sessions.begin() as session:
        entry = AuditEntry(action=action, who=who or current_user(), details=details, results=0)
        session.add(entry)
        session.flush()
        return entry.id


def _count_results(store: Store, entry_id: int, count: int) -> None:
    with store.sessions.begin() as session:
        entry = session.get(AuditEntry, entry_id)
        if entry is not None:
            entry.results = count


class AuditRow(BaseModel):
    id: int
    at: datetime
    who: str
    action: str
    details: dict[str, Any]
    results: int


def audit_entries(store: Store, *, limit: int = 100) -> list[AuditRow]:
    with store.session() as session:
        rows = session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit))
        return [AuditRow(id=r.id, at=r.at, who=r.who, action=r.action, details=dict(r.details or {}),
                         results=r.results) for r in rows]
