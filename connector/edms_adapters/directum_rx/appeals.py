"""Directum RX letters of every channel → :class:`~connector.domain.EdmsAppeal` (capability ``list_appeals``).

Listing: ``GET <incoming_set>?$filter=RegistrationDate ge … and RegistrationDate le …`` in pages of
``appeals.page_size`` (``$top``/``$skip``), with the kind, delivery method, correspondent and question
rows expanded; letters whose ``DocumentKind/Name`` is not one of ``appeals.document_kinds`` are dropped
here.  Reading a letter (:func:`card_facts`, :func:`question_stage`) is pure; answers are fetched by the
adapter.
"""

from __future__ import annotations

from typing import Any

from connector.domain import Applicant, CardStage, DeliveryForm, Forwarding
from connector.edms_adapters.directum_rx import wire
from connector.edms_adapters.directum_rx.settings import DirectumRxSettings


def expand(s: DirectumRxSettings) -> str:
    return (f"{wire.P_DOCUMENT_KIND},{wire.P_DELIVERY_METHOD},{wire.P_CORRESPONDENT},"
            f"{s.appeals.questions_collection}($expand={wire.Q_ASSIGNEE},{wire.Q_ANSWER})")


def kind_of(letter: dict[str, Any]) -> str:
    return wire.nav_name(letter, wire.P_DOCUMENT_KIND)


def rows_of(s: DirectumRxSettings, letter: dict[str, Any]) -> list[dict[str, Any]]:
    rows = letter.get(s.appeals.questions_collection)
    return [r for r in rows if isinstance(r, dict)] if isinstance(rows, list) else []


def _text(entity: dict[str, Any], prop: str) -> str:
    value = entity.get(prop)
    return "" if value is None else str(value).strip()


def card_facts(s: DirectumRxSettings, letter: dict[str, Any]
               ) -> tuple[DeliveryForm, Forwarding | None, Applicant, bool, str]:
    """Delivery form, forwarding, applicant, the «не выгружать» flag and the POS id of a letter."""
    a = s.appeals
    method = wire.nav_name(letter, wire.P_DELIVERY_METHOD).casefold()
    delivery = next((form for name, form in a.delivery_forms.items() if name.casefold() == method),
                    a.default_delivery)
    body = _text(letter, a.forwarded_from_property)
    forwarded = None
    if body:
        forwarded = Forwarding(body=body, letter_number=_text(letter, wire.P_IN_NUMBER),
                               letter_date=wire.parse_date(letter.get(wire.P_DATED)),
                               via_medo=delivery is DeliveryForm.ELECTRONIC)
    correspondent = letter.get(wire.P_CORRESPONDENT) if isinstance(letter.get(wire.P_CORRESPONDENT), dict) else {}
    named = _text(letter, a.applicant_property)
    if named or forwarded:
        parts = named.split()
        applicant = Applicant(last_name=parts[0] if parts else "", first_name=parts[1] if len(parts) > 1 else "",
                              middle_name=" ".join(parts[2:]))
    else:
        applicant = Applicant(last_name=_text(correspondent or {}, wire.P_LAST_NAME) or
                              _text(correspondent or {}, wire.P_NAME),
                              first_name=_text(correspondent or {}, wire.P_FIRST_NAME),
                              middle_name=_text(correspondent or {}, wire.P_MIDDLE_NAME))
    applicant = applicant.model_copy(update={"address": _text(letter, a.address_property),
                                             "email": _text(letter, a.email_property)})
    flag = letter.get(a.no_sstu_property)
    flagged = flag is True or str(flag or "").strip().casefold() in {v.casefold() for v in a.no_sstu_flag_values}
    pos_id = "" if forwarded else _text(letter, s.pos_id_property)
    return delivery, forwarded, applicant, flagged, pos_id


def question_stage(s: DirectumRxSettings, row: dict[str, Any], answered: bool) -> CardStage:
    """As ``get_card`` reads a letter: an answer wins, then the result, then an assignee."""
    result = _text(row, wire.Q_RESULT)
    if answered:
        return CardStage.ANSWER_READY
    if result in s.redirect_results:
        return CardStage.REDIRECTED
    if result in s.refused_results:
        return CardStage.REFUSED
    if result in s.extended_results:
        return CardStage.EXTENDED
    return CardStage.IN_WORK if wire.nav_name(row, wire.Q_ASSIGNEE) else CardStage.REGISTERED
