"""1С appeal cards of every channel → :class:`~connector.domain.EdmsAppeal` (capability ``list_appeals``).

Listing: ``DMGetObjectListRequest`` of ``appeals.document_type`` by ``regDate`` range, one day window
at a time when 1С cuts a range (``tooManyObjects``: DMService has no paging, so the range is halved
until each part comes whole); cards whose ``documentType`` is not one of ``appeals.document_kinds``
are dropped here (an installation may ignore a condition it does not know).  Reading a card
(:func:`parse_appeal`) is pure; answers of questions are fetched by the adapter.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from lxml import etree

from connector.domain import Applicant, CardStage, DeliveryForm, Executor, Forwarding
from connector.edms_adapters.onec_dm import replies, wire
from connector.edms_adapters.onec_dm.settings import OnecAppealSettings, OnecDmSettings


@dataclass(frozen=True)
class QuestionRow:
    key: str
    rubric: str
    summary: str
    executor: str
    result: str
    answer_id: str
    redirect_org: str
    redirect_number: str
    redirect_date: date | None


@dataclass(frozen=True)
class AppealCard:
    doc: replies.DocInfo
    kind: str
    correspondent: str
    incoming_number: str
    incoming_date: date | None
    questions: tuple[QuestionRow, ...] = field(default=())


def parse_card(obj: etree._Element) -> AppealCard:
    doc = replies.parse_doc(obj)
    rows = []
    for index, q in enumerate(wire.children(obj, wire.APPEAL_QUESTIONS)):
        rows.append(QuestionRow(
            key=wire.text(q, "objectID", "id") or str(index + 1), rubric=wire.text(q, wire.Q_RUBRIC).strip(),
            summary=wire.text(q, wire.Q_SUMMARY), executor=wire.text(q, wire.Q_EXECUTOR, "name"),
            result=wire.text(q, wire.Q_RESULT), answer_id=wire.text(q, wire.Q_ANSWER, "objectID", "id"),
            redirect_org=wire.text(q, wire.Q_REDIRECT_ORG), redirect_number=wire.text(q, wire.Q_REDIRECT_NUMBER),
            redirect_date=wire.parse_date(wire.text(q, wire.Q_REDIRECT_DATE))))
    return AppealCard(doc=doc, kind=wire.text(obj, wire.CARD_DOCUMENT_TYPE, "name"),
                      correspondent=wire.text(obj, wire.CARD_CORRESPONDENT, "name"),
                      incoming_number=wire.text(obj, wire.CARD_INCOMING_NUMBER),
                      incoming_date=wire.parse_date(wire.text(obj, wire.CARD_INCOMING_DATE)),
                      questions=tuple(rows))


def question_stage(s: OnecDmSettings, row: QuestionRow, answered: bool) -> CardStage:
    """As ``get_card`` reads a card: an answer wins, then the result, then an executor."""
    if answered:
        return CardStage.ANSWER_READY
    if row.result in s.redirect_results:
        return CardStage.REDIRECTED
    if row.result in s.refused_results:
        return CardStage.REFUSED
    if row.result in s.extended_results:
        return CardStage.EXTENDED
    return CardStage.IN_WORK if row.executor else CardStage.REGISTERED


def delivery_of(a: OnecAppealSettings, props: dict[str, str]) -> DeliveryForm:
    value = props.get(a.delivery_property, "").strip().casefold()
    for name, form in a.delivery_forms.items():
        if name.casefold() == value:
            return form
    return a.default_delivery


def card_facts(s: OnecDmSettings, card: AppealCard) -> tuple[DeliveryForm, Forwarding | None, Applicant, bool]:
    """Delivery form, forwarding (body and covering letter), applicant and the «не выгружать» flag."""
    a = s.appeals
    props = card.doc.properties
    delivery = delivery_of(a, props)
    body = props.get(a.forwarded_from_property, "").strip()
    forwarded = None
    if body:
        forwarded = Forwarding(body=body, letter_number=card.incoming_number, letter_date=card.incoming_date,
                               via_medo=delivery is DeliveryForm.ELECTRONIC)
    name = props.get(a.applicant_property, "").strip() or ("" if forwarded else card.correspondent)
    parts = name.split()
    applicant = Applicant(last_name=parts[0] if parts else "", first_name=parts[1] if len(parts) > 1 else "",
                          middle_name=" ".join(parts[2:]), address=props.get(a.address_property, ""),
                          email=props.get(a.email_property, ""))
    flagged = props.get(a.no_sstu_property, "").strip().casefold() in {v.casefold() for v in a.no_sstu_flag_values}
    return delivery, forwarded, applicant, flagged


def executor(name: str) -> Executor | None:
    return Executor(name=name) if name else None
