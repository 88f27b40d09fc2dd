"""Pydantic models of the SSTU appeal: one question model per status, exactly its fields.

``extra="forbid"`` plus a discriminated union on ``status`` make a question with a missing
required field or a field its status does not allow impossible to construct.  Field names
on the wire come from :mod:`connector.sstu_export.wire` (checked by a test against
``wire.STATUS_FIELDS``).  The cross-field rules (date order, future dates, classifier level)
live in :mod:`connector.sstu_export.validate`, which runs on the dumped JSON.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic.alias_generators import to_camel

from connector.i18n import _
from connector.sstu_export import wire
from connector.sstu_export.wire import Format, Status

Guid = Annotated[str, Field(pattern=wire.GUID_RE.pattern)]
NonEmpty = Annotated[str, Field(min_length=1, pattern=r"\S")]
Code = Annotated[str, Field(pattern=wire.CODE_RE.pattern, max_length=wire.MAX_CODE_LENGTH)]


class _Sstu(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True)

    def to_wire(self) -> dict[str, Any]:
        """The JSON document of this object: camelCase, dates as ``YYYY-MM-DD``, no nulls."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


class Attachment(_Sstu):
    name: NonEmpty
    content: Annotated[str, Field(max_length=wire.MAX_ATTACHMENT_BASE64 - 1)]


class Transfer(_Sstu):
    department_id: Guid
    transfer_date: date
    transfer_number: NonEmpty


class _Question(_Sstu):
    code: Code


class NotReceived(_Question):
    status: Literal[Status.NOT_RECEIVED]


class NotRegistered(_Question):
    status: Literal[Status.NOT_REGISTERED]
    incoming_date: date


class _Registered(_Question):
    incoming_date: date
    registration_date: date


class InWork(_Registered):
    status: Literal[Status.IN_WORK]
    is_extend: Literal[True] | None = None


class _Considered(_Registered):
    response_date: date
    attachment: Attachment


class Explained(_Considered):
    status: Literal[Status.EXPLAINED]


class Supported(_Considered):
    status: Literal[Status.SUPPORTED]
    actions_taken: bool


class NotSupported(_Considered):
    status: Literal[Status.NOT_SUPPORTED]


class Answered(_Considered):
    status: Literal[Status.ANSWERED]


class Transferred(_Registered):
    status: Literal[Status.TRANSFERRED]
    transfer: Transfer


class LeftWithoutAnswer(_Registered):
    status: Literal[Status.LEFT_WITHOUT_ANSWER]
    response_date: date


SstuQuestion = Annotated[
    NotReceived | NotRegistered | InWork | Explained | Supported | NotSupported | Answered | Transferred
    | LeftWithoutAnswer,
    Field(discriminator="status"),
]

QUESTION_MODELS: dict[Status, type[_Question]] = {
    Status.NOT_RECEIVED: NotReceived,
    Status.NOT_REGISTERED: NotRegistered,
    Status.IN_WORK: InWork,
    Status.EXPLAINED: Explained,
    Status.SUPPORTED: Supported,
    Status.NOT_SUPPORTED: NotSupported,
    Status.ANSWERED: Answered,
    Status.TRANSFERRED: Transferred,
    Status.LEFT_WITHOUT_ANSWER: LeftWithoutAnswer,
}


class SstuAppeal(_Sstu):
    department_id: Guid
    is_direct: bool
    format: Format
    number: NonEmpty
    create_date: date | None = None
    name: NonEmpty
    address: str | None = None
    email: str | None = None
    questions: list[SstuQuestion] = Field(min_length=1)

    @field_validator("address", "email")
    @classmethod
    def _blank_is_absent(cls, value: str | None) -> str | None:
        return value if value and value.strip() else None

    @model_validator(mode="after")
    def _routing(self) -> SstuAppeal:
        if not self.is_direct and self.create_date is None:
            raise ValueError(_("{create_date} is required when {is_direct} is false")
                             .format(create_date=wire.F_CREATE_DATE, is_direct=wire.F_IS_DIRECT))
        if self.is_direct and self.format is Format.ELECTRONIC:
            raise ValueError(f"{wire.F_FORMAT} Electronic means forwarded over МЭДО: not allowed when "
                             f"{wire.F_IS_DIRECT} is true")
        return self

    @property
    def statuses(self) -> tuple[str, ...]:
        return tuple(str(q.status) for q in self.questions)
