"""What an outbox entry carries to POS, as typed models: written by ``track``, read by ``push``,
by the ССТУ report (the answer that was queued) and by ``db check`` (the answer's files).

The stored JSON keeps the shape the first wave wrote (these field names), so entries queued
before an upgrade read back unchanged; unknown keys are ignored for the same reason.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from connector.store.models import OutboxKind


class _Payload(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


class StatusPush(_Payload):
    """A POS status with what the EDMS knows at that moment."""

    executor: str = ""
    planned_date: date | None = None
    comment: str = ""


class AnswerFile(_Payload):
    """One file of the answer, stored under ``<data_dir>/answers/<message>/``."""

    name: str
    mime_type: str = "application/octet-stream"
    path: Path
    size: int = 0
    sha256: str = ""


class AnswerPush(_Payload):
    text: str = ""
    decision: str = ""
    signer: str = ""
    date: date
    files: tuple[AnswerFile, ...] = ()


class RedirectPush(_Payload):
    target_org_id: str
    comment: str = ""


OutboxPayload = StatusPush | AnswerPush | RedirectPush

_MODELS: dict[OutboxKind, type[_Payload]] = {
    OutboxKind.STATUS: StatusPush,
    OutboxKind.ANSWER: AnswerPush,
    OutboxKind.REDIRECT: RedirectPush,
}


def read_payload(kind: str, stored: dict[str, Any] | None) -> OutboxPayload:
    """The stored JSON of an entry of ``kind`` as its model."""
    return _MODELS[OutboxKind(kind)].model_validate(stored or {})  # type: ignore[return-value]


def read_answer(stored: dict[str, Any] | None) -> AnswerPush:
    return AnswerPush.model_validate(stored or {})
