"""The POS v1 wire contract (``docs/pos-api.md``): every path and field name lives here.

Both :class:`connector.pos_client.PosClient` and the POS simulator use these models and
paths, so adapting to the official specification is a change to this module only.
Models ignore unknown fields (POS grows) and fail with the field's name when a required
field is missing or holds garbage (:func:`decode`).
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any, Literal, TypeVar

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    model_validator,
)
from pydantic.alias_generators import to_camel

from connector.domain import (
    Applicant,
    PosAttachmentRef,
    PosCategoryRef,
    PosMessage,
    PosStatus,
    StoredFile,
)
from connector.errors import TransientError
from connector.i18n import N_, _
from connector.showcase.models import Channel, ShowcaseItem, ShowcaseStatus

# --- paths -------------------------------------------------------------------------------

PATH_TOKEN = "/auth/token"
PATH_APPEALS = "/v1/appeals"
PATH_APPEAL = "/v1/appeals/{id}"
PATH_FILE = "/v1/appeals/{id}/files/{file_id}"
PATH_STATUS = "/v1/appeals/{id}/status"
PATH_ANSWER = "/v1/appeals/{id}/answer"
PATH_REDIRECT = "/v1/appeals/{id}/redirect"
PATH_CATEGORIES = "/v1/categories"
PATH_SHOWCASE = "/v1/showcase/appeals"

# --- query parameters, headers, multipart parts ------------------------------------------

PARAM_UPDATED_SINCE = "updatedSince"
PARAM_STATUS = "status"
PARAM_LIMIT = "limit"
PARAM_CURSOR = "cursor"
MAX_LIMIT = 100

HEADER_AUTHORIZATION = "Authorization"
HEADER_IDEMPOTENCY_KEY = "Idempotency-Key"
BEARER = "Bearer"

PART_ANSWER = "answer"
PART_FILES = "files"

# --- error codes ---------------------------------------------------------------------------

ERR_UNAUTHORIZED = "UNAUTHORIZED"
ERR_NOT_FOUND = "NOT_FOUND"
ERR_BAD_REQUEST = "BAD_REQUEST"
ERR_VALIDATION = "VALIDATION_ERROR"
ERR_INVALID_TRANSITION = "INVALID_TRANSITION"
ERR_ALREADY_ANSWERED = "ALREADY_ANSWERED"
ERR_IDEMPOTENCY_REUSED = "IDEMPOTENCY_KEY_REUSED"
ERR_RATE_LIMITED = "RATE_LIMITED"
ERR_UNAVAILABLE = "SERVICE_UNAVAILABLE"

# --- statuses ------------------------------------------------------------------------------

STATUS_LABELS: dict[PosStatus, str] = {
    PosStatus.NEW: "Новое",
    PosStatus.EXECUTOR_ASSIGNED: "Назначен исполнитель",
    PosStatus.DEADLINE_EXTENDED: "Перенос срока обработки утвержден. Отправлен ответ Заявителю",
    PosStatus.ANSWERED: "Отправлен ответ заявителю",
    PosStatus.REDIRECTED_SUBORDINATE: "Направлено в подведомственную организацию",
    PosStatus.REDIRECTED_HIGHER: "Передано в вышестоящую организацию",
    PosStatus.MODERATION_REJECTED: "Отклонено модератором",
}

STAGE_IN_WORK = "Исполнение"
STAGE_DONE = "Завершено"
FINAL_STATUSES = frozenset({
    PosStatus.ANSWERED,
    PosStatus.REDIRECTED_SUBORDINATE,
    PosStatus.REDIRECTED_HIGHER,
    PosStatus.MODERATION_REJECTED,
})


def stage_for(status: PosStatus) -> str:
    return STAGE_DONE if status in FINAL_STATUSES else STAGE_IN_WORK


# --- models --------------------------------------------------------------------------------


class _Wire(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore")

    def to_wire(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


class WireTokenRequest(_Wire):
    login: str
    password: str


class WireTokenResponse(BaseModel):
    """The one snake_case body of the contract."""

    model_config = ConfigDict(extra="ignore")

    access_token: str = Field(min_length=1)
    expires_in: float = Field(gt=0)


class WireError(_Wire):
    code: str
    message: str = ""
    details: Any = None


class WireRef(_Wire):
    id: str
    name: str = ""


class WireApplicant(_Wire):
    last_name: str = ""
    first_name: str = ""
    middle_name: str = ""
    email: str = ""
    phone: str = ""
    address: str = ""


class WireCoordinates(_Wire):
    lat: float
    lon: float


class WireAttachment(_Wire):
    id: str = Field(min_length=1)
    name: str
    size: int = Field(ge=0)
    mime_type: str = "application/octet-stream"

    def ref(self) -> PosAttachmentRef:
        return PosAttachmentRef(id=self.id, name=self.name, size=self.size, mime_type=self.mime_type)


class WireListItem(_Wire):
    id: str = Field(min_length=1)
    status: PosStatus
    updated_at: AwareDatetime


class WireListPage(_Wire):
    items: list[WireListItem]
    next_cursor: str | None = None


class WireAppeal(_Wire):
    id: str = Field(min_length=1)
    epgu_number: str = ""
    source: str = ""
    org_id: str = ""
    org_name: str = ""
    org_received_name: str = ""
    category: WireRef | None = None
    subcategory: WireRef | None = None
    fact: WireRef | None = None
    text: str = ""
    applicant: WireApplicant = Field(default_factory=WireApplicant)
    problem_address: str = ""
    coordinates: WireCoordinates | None = None
    created_at: AwareDatetime
    planned_date: date | None = None
    status: PosStatus
    status_label: str = ""
    stage: str = ""
    fz59: bool = False
    fast_track: bool = False
    repeated: bool = False                      # «Повторное рассмотрение»
    rating: int | None = Field(None, ge=1, le=5)  # «Оценка ответа заявителем»
    # Our contract's extension (not in the public sources): the «Номер» of the earlier message a
    # repeat appeal refers to, "" when POS does not say.  The rating loop opens a control task on it.
    repeat_of: str = ""
    attachments: list[WireAttachment] = Field(default_factory=list)
    updated_at: AwareDatetime


class WireCategory(_Wire):
    id: str = Field(min_length=1)
    parent_id: str | None = None
    level: int = Field(ge=1, le=3)
    name: str


class WireStatusRequest(_Wire):
    status: PosStatus
    comment: str | None = None
    executor: str | None = None
    planned_date: date | None = None


class WireAnswer(_Wire):
    text: str
    decision: str
    signer: str
    date: date


class WireRedirect(_Wire):
    target_org_id: str = Field(min_length=1)
    comment: str = ""


class WireShowcaseResult(_Wire):
    index: int
    id: str | None = None
    accepted: bool
    code: str | None = None
    message: str | None = None


CATEGORY_LIST = TypeAdapter(list[WireCategory])
SHOWCASE_RESULTS = TypeAdapter(list[WireShowcaseResult])

# --- the data showcase («Витрина данных») ----------------------------------------------------
# Our reconstruction of the item format (no public specification): the names below and
# WireShowcaseItem are all a corrected official format would change.

SHOWCASE_STATUS: dict[ShowcaseStatus, str] = {
    ShowcaseStatus.NEW: "NEW",
    ShowcaseStatus.IN_WORK: "IN_WORK",
    ShowcaseStatus.ANSWERED: "ANSWERED",
    ShowcaseStatus.REDIRECTED: "REDIRECTED",
    ShowcaseStatus.REJECTED: "REJECTED",
}
SHOWCASE_CHANNEL: dict[Channel, str] = {
    Channel.POS: "POS",
    Channel.LETTER: "LETTER",
    Channel.EMAIL: "EMAIL",
    Channel.RECEPTION: "RECEPTION",
    Channel.FORWARDED: "FORWARDED",
}
SHOWCASE_OPEN = frozenset({"NEW", "IN_WORK"})
ShowcaseWireStatus = Literal["NEW", "IN_WORK", "ANSWERED", "REDIRECTED", "REJECTED"]
ShowcaseWireChannel = Literal["POS", "LETTER", "EMAIL", "RECEPTION", "FORWARDED"]


class WireShowcaseCoordinates(_Wire):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")

    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)


class WireShowcaseItem(_Wire):
    """One showcase item.  Strict (the simulator validates uploads with it, ``strict=True`` over the
    JSON): unknown fields, a wrong enum value, a date that is not ``YYYY-MM-DD`` are refused."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")

    id: str = Field(min_length=1, max_length=160)
    channel: ShowcaseWireChannel
    number: str = Field(min_length=1, max_length=128)
    category_id: str = Field(min_length=1)
    category_name: str = ""
    status: ShowcaseWireStatus
    received_date: date
    planned_date: date | None = None
    closed_date: date | None = None
    overdue: bool
    repeated: bool
    territory: str | None = Field(None, pattern=r"^(\d{8}|\d{11})$")
    coordinates: WireShowcaseCoordinates | None = None

    @model_validator(mode="after")
    def _dates(self) -> WireShowcaseItem:
        if self.status in SHOWCASE_OPEN and self.closed_date is not None:
            raise ValueError(_("closedDate: not allowed while the status is {status}").format(status=self.status))
        if self.status not in SHOWCASE_OPEN and self.closed_date is None:
            raise ValueError(_("closedDate: required when the status is {status}").format(status=self.status))
        if self.closed_date is not None and self.closed_date < self.received_date:
            raise ValueError(_("closedDate: before receivedDate"))
        return self


def showcase_item(item: ShowcaseItem) -> dict[str, Any]:
    """The wire form of a showcase item (what is hashed, stored and sent)."""
    coordinates = item.coordinates
    return WireShowcaseItem(
        id=item.item_id, channel=SHOWCASE_CHANNEL[item.channel], number=item.number,
        category_id=item.category.id, category_name=item.category.name, status=SHOWCASE_STATUS[item.status],
        received_date=item.received, planned_date=item.planned, closed_date=item.closed, overdue=item.overdue,
        repeated=item.repeated, territory=item.territory,
        coordinates=WireShowcaseCoordinates(lat=coordinates.lat, lon=coordinates.lon) if coordinates else None,
    ).to_wire()

# --- decoding ------------------------------------------------------------------------------

M = TypeVar("M")


def validation_summary(exc: ValidationError, limit: int = 3) -> str:
    """``"field 'applicant.email': Field required"`` -- names and messages only, never values."""
    parts = []
    for err in exc.errors(include_input=False, include_url=False)[:limit]:
        loc = ".".join(str(p) for p in err["loc"]) or "<body>"
        parts.append(f"field '{loc}': {err['msg']}")
    more = exc.error_count() - limit
    if more > 0:
        parts.append(f"and {more} more")
    return "; ".join(parts)


def decode(model: type[M] | TypeAdapter[M], body: bytes | str | Any, *, what: str) -> M:
    """Parse a POS response body into ``model``.

    A garbled body or one that does not satisfy the contract is a transport fault
    (:class:`TransientError`); the message names the field, never its value.
    """
    if isinstance(body, bytes | str):
        try:
            body = json.loads(body)
        except ValueError:
            raise TransientError(N_("POS sent a malformed JSON body for {what}"), params={"what": what}) from None
    adapter: TypeAdapter[M] = model if isinstance(model, TypeAdapter) else TypeAdapter(model)
    try:
        return adapter.validate_python(body)
    except ValidationError as exc:
        raise TransientError(N_("POS response for {what} does not match the contract: {problems}"),
                             params={"what": what, "problems": validation_summary(exc)}, detail=f"{exc.error_count()} validation error(s)") from None


# --- mapping to the domain -----------------------------------------------------------------


def _ref(ref: WireRef | None) -> PosCategoryRef | None:
    return PosCategoryRef(id=ref.id, name=ref.name) if ref is not None else None


def to_pos_message(account: str, appeal: WireAppeal, files: tuple[StoredFile, ...]) -> PosMessage:
    """The domain message of ``appeal`` with its downloaded, verified ``files``."""
    a = appeal.applicant
    return PosMessage(
        account=account,
        pos_id=appeal.id,
        epgu_number=appeal.epgu_number,
        source=appeal.source,
        org_id=appeal.org_id,
        org_name=appeal.org_name,
        category=_ref(appeal.category),
        subcategory=_ref(appeal.subcategory),
        fact=_ref(appeal.fact),
        text=appeal.text,
        applicant=Applicant(last_name=a.last_name, first_name=a.first_name, middle_name=a.middle_name,
                            email=a.email, phone=a.phone, address=a.address),
        problem_address=appeal.problem_address,
        created_at=appeal.created_at,
        planned_date=appeal.planned_date,
        status=appeal.status,
        stage=appeal.stage,
        fz59=appeal.fz59,
        fast_track=appeal.fast_track,
        repeated=appeal.repeated,
        rating=appeal.rating,
        updated_at=appeal.updated_at,
        attachments=files,
    )
