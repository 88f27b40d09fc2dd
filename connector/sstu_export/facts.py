"""What our store knows of one appeal → the builder's :class:`AppealFacts` (pure).

:class:`AppealSnapshot` is a plain copy of the stored message, its card and its answer (read
by :mod:`connector.sstu_export.refresh`); :func:`appeal_facts` decides what ССТУ is told:

* the question's outcome is the card's stage (``registered``, ``in work``, ``extended``,
  ``answered``, ``redirected``, ``refused``), the answer's result refining ``answered``;
* a card whose answer is announced but not stored yet is still «in work» — as it is in POS: only
  an answer queued for POS is stored (:mod:`connector.pipeline.answer_completeness` decides, so
  an answer held back for its missing file is «in work» on both sides);
* ССТУ takes one answer file: :func:`choose_answer_file` picks the signed main document — detached
  signatures (.sig, .p7s, .sgn) are never it, a PDF wins over an editable document, which wins over
  anything else, ties go to the EDMS's order — and the rest are reported (``unsent_files``);
  an answer queued without a file (a body that answers with text alone) gives ССТУ its text as
  ``Ответ.txt``, because ССТУ needs a file for every considered status and POS has the answer;
* dates are calendar dates in the body's zone: incoming = when POS received the message,
  registration = the card's, response = the answer's; a redirect or a refusal is dated when
  we saw it;
* POS appeals come straight from the author: ``isDirect``, format ``Other``;
* a card whose EDMS record holds several questions (``questions``, from ``edms_appeals``) is reported
  with one ССТУ question each (:func:`question_facts`: its own code, status and redirect).

A snapshot that is not reportable yet (no registration number while the card is only
registered) gives ``None``; one that can never be built raises :class:`DataError`.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict

from connector.domain import CardStage, Executor, PosMessage
from connector.errors import DataError
from connector.i18n import N_
from connector.sstu_export.builder import AnswerFileInput, AppealFacts, QuestionFacts

OUTCOME_OF_STAGE: dict[CardStage, str] = {
    CardStage.REGISTERED: "registered",
    CardStage.IN_WORK: "in work",
    CardStage.EXTENDED: "extended",
    CardStage.ANSWER_READY: "answered",
    CardStage.REDIRECTED: "redirected",
    CardStage.REFUSED: "refused",
}


class _Snapshot(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class StoredAnswerFile(_Snapshot):
    name: str
    path: Path
    sha256: str = ""  # identifies the content in the inputs hash without reading the file


TEXT_ANSWER_NAME = "Ответ.txt"
# Detached signatures travel with the document they sign; they are never the answer itself.
SIGNATURE_SUFFIXES = (".sig", ".p7s", ".sgn", ".sign")
_DOCUMENT_RANK = {".pdf": 0, ".docx": 1, ".doc": 1, ".odt": 1, ".rtf": 1}


def choose_answer_file(files: tuple[StoredAnswerFile, ...]) -> tuple[StoredAnswerFile | None,
                                                                      tuple[StoredAnswerFile, ...]]:
    """The signed main document ССТУ gets, and the files it does not (see the module's rule)."""
    candidates = [f for f in files if Path(f.name).suffix.lower() not in SIGNATURE_SUFFIXES]
    if not candidates:
        return None, files
    chosen = min(candidates, key=lambda f: (_DOCUMENT_RANK.get(Path(f.name).suffix.lower(), 2),
                                            files.index(f)))
    return chosen, tuple(f for f in files if f is not chosen)


class StoredAnswer(_Snapshot):
    date: date
    decision: str = ""
    text: str = ""
    files: tuple[StoredAnswerFile, ...] = ()


class StoredCard(_Snapshot):
    stage: CardStage
    registration_number: str = ""
    registration_date: date | None = None
    created_at: datetime
    checked_at: datetime | None = None
    redirect_org_id: str = ""
    redirect_letter_number: str = ""
    redirect_letter_date: date | None = None
    rubric_code: str = ""
    resolution: str = ""


class StoredQuestion(_Snapshot):
    key: str
    rubric_code: str = ""
    summary: str = ""
    executor: Executor | None = None
    stage: CardStage = CardStage.REGISTERED
    result: str = ""
    answer: StoredAnswer | None = None
    redirect_org: str = ""
    redirect_letter_number: str = ""
    redirect_letter_date: date | None = None


class AppealSnapshot(_Snapshot):
    message_id: int
    department_id: str
    message: PosMessage
    card: StoredCard
    answer: StoredAnswer | None = None
    #: the questions of the message's EDMS card when it holds several (``edms_appeals``): one ССТУ question each
    questions: tuple[StoredQuestion, ...] = ()


def local_date(moment: datetime, zone: ZoneInfo) -> date:
    return moment.astimezone(zone).date()


def appeal_facts(snap: AppealSnapshot, zone: ZoneInfo) -> AppealFacts | None:
    card, message = snap.card, snap.message
    number = card.registration_number.strip()
    if not number:
        if card.stage is CardStage.REGISTERED:
            return None  # the EDMS has not numbered the card yet: the next refresh will
        raise DataError(N_("POS message {pos_id}: the card has no registration number in the EDMS (stage {stage}); "
                           "ССТУ needs it as the appeal's number"),
                        params={"pos_id": message.pos_id, "stage": card.stage.value})
    outcome = OUTCOME_OF_STAGE[card.stage]
    if card.stage is CardStage.ANSWER_READY and snap.answer is None:
        outcome = "in work"
    seen = local_date(card.checked_at or card.created_at, zone)
    answer = snap.answer if outcome == "answered" else None
    answer_file = None
    chosen, unsent = choose_answer_file(answer.files) if answer is not None else (None, ())
    if chosen is not None:
        answer_file = AnswerFileInput(name=chosen.name, path=chosen.path)
    elif answer is not None and answer.text.strip():
        answer_file = AnswerFileInput(name=TEXT_ANSWER_NAME, content=answer.text.encode("utf-8"))
    category_refs = [r for r in (message.category, message.subcategory, message.fact) if r is not None]
    question = QuestionFacts(
        category_path=tuple(r.id for r in category_refs),
        category_label=" / ".join(r.name or r.id for r in category_refs),
        code=card.rubric_code or None,  # the EDMS's own rubric wins over the mapping
        outcome=outcome,
        result=answer.decision if answer is not None else "",
        incoming_date=local_date(message.created_at, zone),
        registration_date=card.registration_date or local_date(card.created_at, zone),
        response_date=answer.date if answer is not None else (seen if outcome in ("redirected", "refused") else None),
        answer=answer_file,
        unsent_files=tuple(f.name for f in unsent),
        redirect_body=card.redirect_org_id if outcome == "redirected" else "",
        transfer_date=(card.redirect_letter_date or seen) if outcome == "redirected" else None,
        transfer_number=card.redirect_letter_number if outcome == "redirected" else "",
    )
    questions: tuple[QuestionFacts, ...] = (question,)
    if snap.questions:  # the card holds several questions: each is reported with its own state
        questions = tuple(question_facts(
            q, incoming=question.incoming_date, registration=question.registration_date, seen=seen,
            category_path=question.category_path, category_label=question.category_label,
            card_rubric=card.rubric_code, fallback_answer=snap.answer)[0] for q in snap.questions)
    applicant = message.applicant
    return AppealFacts(department_id=snap.department_id, direct=True, via_medo=False, number=number,
                       author_name=applicant.full_name, author_address=applicant.address,
                       author_email=applicant.email, questions=questions)


def question_facts(q: StoredQuestion, *, incoming: date | None, registration: date | None, seen: date,
                   category_path: tuple[str, ...] = (), category_label: str = "", card_rubric: str = "",
                   fallback_answer: StoredAnswer | None = None) -> tuple[QuestionFacts, StoredAnswer | None]:
    """One card question → the builder's question (and the answer whose files it reports)."""
    outcome = OUTCOME_OF_STAGE[q.stage]
    answer = q.answer if q.answer is not None else (fallback_answer if q.stage is CardStage.ANSWER_READY else None)
    if q.stage is CardStage.ANSWER_READY and answer is None:
        outcome = "in work"  # announced, not stored yet: the next listing brings it
    answer = answer if outcome == "answered" else None
    answer_file = None
    chosen, unsent = choose_answer_file(answer.files) if answer is not None else (None, ())
    if chosen is not None:
        answer_file = AnswerFileInput(name=chosen.name, path=chosen.path)
    elif answer is not None and answer.text.strip():
        answer_file = AnswerFileInput(name=TEXT_ANSWER_NAME, content=answer.text.encode("utf-8"))
    redirected = outcome == "redirected"
    closed_on = answer.date if answer is not None else (
        (q.redirect_letter_date or seen) if redirected else seen if outcome == "refused" else None)
    facts = QuestionFacts(
        category_path=category_path,
        category_label=category_label or f"question «{q.summary or q.key}» (no rubric on the card)",
        code=(q.rubric_code or card_rubric).strip() or None,
        outcome=outcome,
        result=(q.result or answer.decision) if answer is not None else "",
        incoming_date=incoming,
        registration_date=registration,
        response_date=closed_on,
        answer=answer_file,
        unsent_files=tuple(f.name for f in unsent),
        redirect_body=q.redirect_org if redirected else "",
        transfer_date=(q.redirect_letter_date or seen) if redirected else None,
        transfer_number=q.redirect_letter_number if redirected else "",
    )
    return facts, answer
