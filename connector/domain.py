"""Domain types that travel between modules.

Wire formats of each system live next to their clients; these models are what the
pipeline, the store and the adapters agree on.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field


class _Model(BaseModel):
    # the schema is built on first use: most verbs (status) import these types and never validate one
    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)


class Applicant(_Model):
    """Personal data: never logged in clear (see ``connector.logs``)."""

    last_name: str = ""
    first_name: str = ""
    middle_name: str = ""
    email: str = ""
    phone: str = ""
    address: str = ""

    @property
    def full_name(self) -> str:
        return " ".join(p for p in (self.last_name, self.first_name, self.middle_name) if p)


class PosCategoryRef(_Model):
    id: str
    name: str


class PosAttachmentRef(_Model):
    """An attachment as POS announces it (content not yet downloaded)."""

    id: str
    name: str
    size: int
    mime_type: str = "application/octet-stream"


class StoredFile(_Model):
    """A file whose content is on our disk, verified."""

    name: str
    size: int
    sha256: str
    mime_type: str = "application/octet-stream"
    path: Path


class PosStatus(enum.StrEnum):
    NEW = "NEW"
    EXECUTOR_ASSIGNED = "EXECUTOR_ASSIGNED"
    DEADLINE_EXTENDED = "DEADLINE_EXTENDED"
    ANSWERED = "ANSWERED"
    REDIRECTED_SUBORDINATE = "REDIRECTED_SUBORDINATE"
    REDIRECTED_HIGHER = "REDIRECTED_HIGHER"
    MODERATION_REJECTED = "MODERATION_REJECTED"


class PosMessage(_Model):
    """One POS message (сообщение / обращение) of one account (ЛКО)."""

    account: str
    pos_id: str
    epgu_number: str = ""
    source: str = ""
    org_id: str = ""
    org_name: str = ""
    category: PosCategoryRef | None = None
    subcategory: PosCategoryRef | None = None
    fact: PosCategoryRef | None = None
    text: str = ""
    applicant: Applicant = Field(default_factory=Applicant)
    problem_address: str = ""
    created_at: datetime
    planned_date: date | None = None
    status: PosStatus = PosStatus.NEW
    stage: str = ""
    fz59: bool = False
    fast_track: bool = False
    repeated: bool = False
    rating: int | None = None
    updated_at: datetime
    attachments: tuple[StoredFile, ...] = ()


class CardRef(_Model):
    """Where a message's registration card lives in an EDMS."""

    adapter: str
    external_id: str
    url: str = ""


class CardStage(enum.StrEnum):
    """The EDMS-side state of a card, as every adapter reports it."""

    REGISTERED = "registered"      # card exists, nobody works on it yet
    IN_WORK = "in_work"            # an executor is assigned
    EXTENDED = "extended"          # the term was extended
    ANSWER_READY = "answer_ready"  # the answer is signed and can be fetched
    REDIRECTED = "redirected"      # sent to another organisation
    REFUSED = "refused"            # registration refused / closed without an answer


class Executor(_Model):
    """One executor of a card (ответственный исполнитель or соисполнитель) with its own term.

    ``order`` is the place in turn when executors answer one after another (1, 2, …) and 0 when
    they work in parallel; ``due`` is the executor's own term, ``done_at`` when it finished."""

    name: str
    department: str = ""               # the unit (подразделение)
    organisation: str = ""             # empty: the organisation that holds the card
    responsible: bool = False          # ответственный исполнитель (the others are co-executors)
    order: int = 0
    due: date | None = None
    done_at: datetime | None = None


CardExecutor = Executor


class CardState(_Model):
    ref: CardRef
    stage: CardStage
    registration_number: str = ""
    registration_date: date | None = None
    executors: tuple[Executor, ...] = ()
    deadline: date | None = None
    resolution: str = ""
    redirect_org_id: str = ""
    redirect_comment: str = ""
    redirect_letter_number: str = ""           # our outgoing covering letter of a redirect (ССТУ transferNumber)
    rubric_code: str = ""                      # the card's own ССТУ classifier code, when the EDMS keeps one
    redirect_letter_date: date | None = None


class AnswerFile(_Model):
    name: str
    mime_type: str = "application/octet-stream"
    content: bytes


class Answer(_Model):
    text: str
    signer: str
    date: date
    decision: str = ""
    files: tuple[AnswerFile, ...] = ()


# --- appeals of every channel (adapter capability ``list_appeals``) --------------------------------

class DeliveryForm(enum.StrEnum):
    """How an appeal reached the body (its EDMS card's «форма поступления»)."""

    ELECTRONIC = "electronic"  # POS, e-mail, the web form, МЭДО
    PAPER = "paper"            # a letter
    ORAL = "oral"              # personal reception, phone line


class Forwarding(_Model):
    """An appeal another body forwarded to us: who, and its covering letter (ССТУ ``number``/``createDate``)."""

    body: str
    letter_number: str = ""
    letter_date: date | None = None
    via_medo: bool = False     # the covering letter came over МЭДО (ССТУ format Electronic)


class AppealAnswer(_Model):
    text: str = ""
    signer: str = ""
    date: date
    files: tuple[AnswerFile, ...] = ()


class AppealQuestion(_Model):
    """One question of an appeal card, with its own executor, state, result and answer."""

    key: str                                   # stable within its card (the EDMS's row id or position)
    rubric_code: str = ""                      # ССТУ classifier code the EDMS keeps for the question
    summary: str = ""
    executor: Executor | None = None
    stage: CardStage = CardStage.REGISTERED
    result: str = ""                           # «Разъяснено», «Поддержано», …
    answer: AppealAnswer | None = None
    redirect_org: str = ""                     # sent to another body by competence
    redirect_letter_number: str = ""
    redirect_letter_date: date | None = None


class EdmsAppeal(_Model):
    """An appeal card of the EDMS, whatever channel brought it (POS, letter, e-mail, reception, forwarded)."""

    ref: CardRef
    pos_id: str = ""                           # the card of a POS message (its questions enrich that report)
    registration_number: str = ""
    registration_date: date | None = None
    received_on: date | None = None            # when the body received it (default: registration date)
    delivery: DeliveryForm = DeliveryForm.PAPER
    forwarded: Forwarding | None = None
    applicant: Applicant = Field(default_factory=Applicant)
    no_sstu: bool = False                      # the card's «не выгружать в ССТУ»
    questions: tuple[AppealQuestion, ...] = ()
class ControlTaskRequest(_Model):
    """A control task for the curator on an answered card: the applicant rated the answer low, or
    came back with a repeat appeal.  ``key`` is what the EDMS deduplicates the task by."""

    key: str
    reason: str                  # "rating" | "repeat"
    text: str
    rating: int | None = None
    repeat_number: str = ""      # the repeat appeal's POS number


class TaskRef(_Model):
    adapter: str
    external_id: str
