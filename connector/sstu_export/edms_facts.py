"""EDMS appeal cards of every channel → the builder's :class:`AppealFacts` (pure).

:class:`StoredAppeal` is what ``edms_appeals.content`` holds: an :class:`~connector.domain.EdmsAppeal`
whose answer files are on our disk.  :func:`edms_appeal_facts` decides what ССТУ is told of a card
that did not come through POS; :func:`question_facts` is shared with POS messages whose card holds
several questions:

* one ССТУ question per card question, each with its own code (the question's rubric, else the
  card's, else the POS category mapping), status (its own stage and result, as for a POS card) and,
  when redirected, its own ``transfer`` -- a card whose second question went to another body reports
  ``Transferred`` for that question only;
* ``isDirect`` is false for a forwarded appeal: its ``number`` and ``createDate`` are the forwarding
  body's covering letter, and the incoming date is never before that letter; the format is
  ``Electronic`` only when the letter came over МЭДО (every other route, direct e-mail included, is
  ``Other``, as for POS appeals);
* the card's «не выгружать в ССТУ» is honoured by the caller: a flagged card is never built.
"""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict

from connector.domain import Applicant, DeliveryForm, Forwarding
from connector.errors import DataError
from connector.i18n import N_
from connector.sstu_export.builder import AppealFacts
from connector.sstu_export.facts import StoredQuestion, question_facts


class _Stored(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class StoredAppeal(_Stored):
    external_id: str
    url: str = ""
    pos_id: str = ""
    registration_number: str = ""
    registration_date: date | None = None
    received_on: date | None = None
    delivery: DeliveryForm = DeliveryForm.PAPER
    forwarded: Forwarding | None = None
    applicant: Applicant = Applicant()
    no_sstu: bool = False
    questions: tuple[StoredQuestion, ...] = ()


class EdmsAppealSnapshot(_Stored):
    """An appeal of another channel as the SSTU build reads it."""

    appeal_id: int
    department_id: str
    appeal: StoredAppeal
    changed_on: date          # when we last saw the card change: the date of a redirect or refusal we saw


def edms_appeal_facts(snap: EdmsAppealSnapshot) -> AppealFacts | None:
    """None while the card has no registration number or no question yet (the next listing brings them)."""
    a = snap.appeal
    registration_number = a.registration_number.strip()
    if not registration_number or not a.questions:
        return None
    registration = a.registration_date
    incoming = a.received_on or registration
    forwarded = a.forwarded
    number, create_date = registration_number, None
    if forwarded is not None:
        number, create_date = forwarded.letter_number.strip(), forwarded.letter_date
        if not number or create_date is None:
            raise DataError(N_("EDMS appeal {number}: forwarded by «{body}» without the covering letter's number and "
                               "date; ССТУ needs them as the appeal's number and date"),
                            params={"number": repr(registration_number), "body": forwarded.body})
        incoming = max(incoming, create_date) if incoming is not None else create_date
    if registration is not None and incoming is not None and registration < incoming:
        registration = incoming  # ССТУ: registered on or after receipt (the covering letter may postdate the card)
    questions = tuple(question_facts(q, incoming=incoming, registration=registration, seen=snap.changed_on)[0]
                      for q in a.questions)
    applicant = a.applicant
    return AppealFacts(department_id=snap.department_id, direct=forwarded is None,
                       via_medo=forwarded is not None and forwarded.via_medo, number=number, create_date=create_date,
                       author_name=applicant.full_name, author_address=applicant.address,
                       author_email=applicant.email, questions=questions)
