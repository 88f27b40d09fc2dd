"""What a notice may say about a message, read from the store, and which units it concerns.

Only what the role needs: number, category, problem address, the POS term, executor, the
EDMS registration number and the card's link.  The applicant's name and contacts are read only
when ``include_applicant_contacts`` is set.
"""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict

from connector.notices.settings import NoticeSettings, RecipientSettings
from connector.store.models import Card, Message


class NoticeFacts(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    message_id: int
    account: str
    number: str
    category: str = ""
    problem_address: str = ""
    due: date | None = None
    executors: tuple[str, ...] = ()
    registration_number: str = ""
    link: str = ""
    applicant: str = ""  # empty unless include_applicant_contacts

    def values(self, unit: str) -> dict[str, str]:
        return {"number": self.number, "category": self.category or "—",
                "problem_address": self.problem_address or "—", "due": format_date(self.due), "link": self.link,
                "unit": unit, "executor": ", ".join(self.executors) or "не назначен",
                "registration_number": self.registration_number or "—",
                "applicant_block": f"\nЗаявитель: {self.applicant}\n" if self.applicant else ""}


def format_date(value: date | None) -> str:
    return value.strftime("%d.%m.%Y") if value else "не установлен"


def planned_date(payload: dict[str, object]) -> date | None:
    raw = payload.get("plannedDate")
    try:
        return date.fromisoformat(raw) if isinstance(raw, str) else None
    except ValueError:
        return None


def facts_of(message: Message, card: Card | None, settings: NoticeSettings) -> NoticeFacts:
    payload = message.payload or {}
    category = payload.get("category")
    applicant = ""
    if settings.include_applicant_contacts:
        person = payload.get("applicant") or {}
        if isinstance(person, dict):
            name = " ".join(str(person.get(k) or "") for k in ("lastName", "firstName", "middleName")).split()
            applicant = ", ".join(p for p in (" ".join(name), str(person.get("email") or ""),
                                              str(person.get("phone") or "")) if p)
    executors = tuple(e.strip() for e in (card.executor if card else "").split(",") if e.strip())
    return NoticeFacts(
        message_id=message.id, account=message.account, number=message.pos_id,
        category=str(category.get("name") or "") if isinstance(category, dict) else "",
        problem_address=str(payload.get("problemAddress") or ""), due=planned_date(payload),
        executors=executors, registration_number=card.registration_number if card else "",
        link=settings.card_link.replace("{number}", message.pos_id), applicant=applicant)


def units_for(facts: NoticeFacts, recipients: list[RecipientSettings]) -> list[RecipientSettings]:
    """The units a message concerns: every entry one of whose selectors matches (an entry
    without selectors takes every message)."""
    return [r for r in recipients if r.selects_all or facts.account in r.accounts
            or facts.category in r.categories or set(facts.executors) & set(r.executors)]
