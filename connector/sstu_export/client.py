"""HTTP client of the ССТУ import plugin: one appeal per POST, and the read-back list.

The session is the project's :class:`~connector.transport.RetryingSession`, and its one error
table decides (429/5xx/timeouts retried there by the one policy):

* 2xx → accepted; the body (undocumented) is kept as the :class:`Receipt`;
* 401/403 → :class:`AuthError`; any other 4xx → :class:`RemoteRejected` with the server's reason;
* 3xx (a redirect not followed: nothing was imported), 5xx/429 after the session's retries,
  timeouts, connection errors → :class:`TransientError`.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import requests
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from connector.errors import RemoteRejected, TransientError
from connector.sstu_export import wire
from connector.transport import Action, Peer, Resolution, RetryingSession

MAX_REASON = 500
_PEER = Peer("ССТУ")


class Receipt(BaseModel):
    model_config = ConfigDict(frozen=True)

    status: int
    body: str
    content_type: str = ""
    received_at: datetime


class ReadBackItem(BaseModel):
    """One appeal as the portal holds it."""

    model_config = ConfigDict(frozen=True)

    number: str
    department_id: str = ""
    statuses: tuple[str, ...] = ()
    exception_message: str | None = None
    delivered: bool = True  # False: received by the plugin, dispatchDate and uploadDate still empty


class _WireQuestion(BaseModel):
    model_config = ConfigDict(extra="ignore")
    status: str = ""


class _WireItem(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)
    number: str | None = ""  # an item without one is counted, not a failure of the whole read-back
    department_id: str = Field("", alias=wire.F_DEPARTMENT_ID)
    questions: list[_WireQuestion] = Field(default_factory=list)
    exception_message: str | None = Field(None, alias=wire.F_EXCEPTION_MESSAGE)
    dispatch_date: str | None = Field(None, alias=wire.F_DISPATCH_DATE)
    upload_date: str | None = Field(None, alias=wire.F_UPLOAD_DATE)

    @property
    def delivered(self) -> bool:
        """A portal that does not list the dates at all says nothing: only empty dates mean «not yet»."""
        listed = {"dispatch_date", "upload_date"} & self.model_fields_set
        return not listed or bool(self.dispatch_date or self.upload_date)


def _reason(response: requests.Response) -> str:
    text = response.text or ""
    try:
        body = json.loads(text)
    except ValueError:
        body = None
    if isinstance(body, dict):
        for key in ("reason", "message", wire.F_EXCEPTION_MESSAGE, "error", "detail", "title"):
            value = body.get(key)
            if isinstance(value, str) and value.strip():
                return value.strip()[:MAX_REASON]
    return " ".join(text.split())[:MAX_REASON] or response.reason or f"HTTP {response.status_code}"


def _server_reason(response: requests.Response, resolution: Resolution) -> Resolution:
    """A refusal is worded by the server's reason and keeps the whole body in ``detail``; any other
    failure keeps the status in its message and the reason in ``detail``."""
    if resolution.action is Action.SUCCESS:
        return resolution
    reason = _reason(response)
    if resolution.error is RemoteRejected:
        return resolution.refine(reason=reason, detail=response.text[:4000])
    return resolution.refine(detail=reason)


class SstuClient:
    def __init__(self, base_url: str, session: RetryingSession) -> None:
        self.base_url = base_url.rstrip("/")
        self.session = session

    def _call(self, method: str, path: str, what: str, **kwargs: Any) -> requests.Response:
        return self.session.call(method, self.base_url + path, peer=_PEER, what=what, check=_server_reason, **kwargs)

    def import_appeal(self, content: bytes) -> Receipt:
        """POST one appeal (canonical JSON bytes); a 2xx answer is acceptance."""
        response = self._call("POST", wire.PATH_IMPORT, "import", data=content,
                              headers={"Content-Type": f"{wire.CONTENT_TYPE}; charset=utf-8"})
        return Receipt(status=response.status_code, body=response.text,
                       content_type=response.headers.get("Content-Type", ""), received_at=datetime.now(UTC))

    def read_back(self, department_id: str) -> list[ReadBackItem]:
        """What the portal holds for the body, with ``exceptionMessage`` per appeal."""
        response = self._call("GET", wire.read_back_path(department_id), "read-back")
        try:
            body = response.json()
        except ValueError:
            raise TransientError("ССТУ read-back: malformed JSON body") from None
        if isinstance(body, dict):
            body = next((body[k] for k in wire.READ_BACK_LIST_KEYS if isinstance(body.get(k), list)), None)
        if not isinstance(body, list):
            raise TransientError("ССТУ read-back: expected a list of appeals")
        items = []
        for index, raw in enumerate(body):
            try:
                item = _WireItem.model_validate(raw)
            except ValidationError as exc:
                first = exc.errors(include_input=False)[0]
                field = ".".join(map(str, first["loc"])) or "<item>"
                raise TransientError(f"ССТУ read-back: item {index}: field {field}: {first['msg']}") from None
            items.append(ReadBackItem(number=item.number or "", department_id=item.department_id,
                                      statuses=tuple(q.status for q in item.questions),
                                      exception_message=item.exception_message or None,
                                      delivered=item.delivered))
        return items
