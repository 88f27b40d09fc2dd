"""The portal's own checks of an imported appeal, written from ``docs/sstu-format.md``.

Deliberately independent of ``connector.sstu_export`` (no import from it: not its names,
not its tables, not its validator), so that a mistake in our builder or validator is
caught here as a 400, like the real portal would.

What public production senders send is taken, as the portal evidently takes it, and noted
(:func:`check_appeal` returns the notes; the simulator counts them as ``tolerated``, so a test
can still prove our own output never needs them): ``null`` for a field that may be left out,
``responseDate``/``attachment`` on InWork, Supported without ``actionsTaken``,
``isExtend: false``, upper-case GUIDs, a direct appeal in format Electronic.
"""

from __future__ import annotations

import base64
import binascii
import re
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

_GUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_CODE = re.compile(r"(\d{4})\.(\d{4})\.(\d{4})\.(\d{4})(?:\.(\d{4}))?")
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")

_TOP_REQUIRED = {"departmentId", "isDirect", "format", "number", "name", "questions"}
_TOP_ALLOWED = _TOP_REQUIRED | {"createDate", "address", "email"}

_REG = ("incomingDate", "registrationDate")
_ANS = (*_REG, "responseDate", "attachment")
# status → (required besides code/status, optional)
_STATUS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "NotReceived": ((), ()),
    "NotRegistered": (("incomingDate",), ()),
    "InWork": (_REG, ("isExtend",)),
    "Explained": (_ANS, ()),
    "Supported": ((*_ANS, "actionsTaken"), ()),
    "NotSupported": (_ANS, ()),
    "Answered": (_ANS, ()),
    "Transferred": ((*_REG, "transfer"), ()),
    "LeftWithoutAnswer": ((*_REG, "responseDate"), ()),
}


class Rejected(Exception):
    """The reason the portal gives for a 400."""


def portal_today() -> date:
    """The latest calendar date anywhere in Russia (UTC+12)."""
    return datetime.now(UTC).astimezone(timezone(timedelta(hours=12))).date()


def _day(value: Any, where: str, today: date) -> date:
    if not isinstance(value, str) or not _DAY.fullmatch(value):
        raise Rejected(f"{where}: expected a date YYYY-MM-DD")
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise Rejected(f"{where}: no such date {value}") from None
    if day > today:
        raise Rejected(f"{where}: date {value} is in the future")
    return day


def _guid(value: Any, where: str, notes: list[str]) -> None:
    if isinstance(value, str) and not _GUID.fullmatch(value) and _GUID.fullmatch(value.lower()):
        notes.append(f"{where}: upper-case GUID")
        return
    if not isinstance(value, str) or not _GUID.fullmatch(value):
        raise Rejected(f"{where}: not a GUID")


def _drop_nulls(obj: dict[str, Any], keep: set[str], where: str, notes: list[str]) -> dict[str, Any]:
    nulls = sorted(k for k, v in obj.items() if v is None and k not in keep)
    notes.extend(f"{where}{k}: null" for k in nulls)
    return {k: v for k, v in obj.items() if k not in nulls}


def _filled(value: Any, where: str) -> None:
    if not isinstance(value, str) or value.strip() == "":
        raise Rejected(f"{where}: must be a non-empty string")


def _code(value: Any, where: str, codes: set[str] | None) -> None:
    match = _CODE.fullmatch(value) if isinstance(value, str) and len(value) <= 24 else None
    if match is None:
        raise Rejected(f"{where}: not a classifier code")
    blocks = [b for b in match.groups() if b is not None]
    if blocks[0] not in ("0001", "0002", "0003", "0004", "0005"):
        raise Rejected(f"{where}: unknown section {blocks[0]}")
    for upper, lower in zip(blocks, blocks[1:], strict=False):
        if upper == "0000" and lower != "0000":
            raise Rejected(f"{where}: malformed code (a block under a zero block)")
    if blocks[3] == "0000":
        raise Rejected(f"{where}: {value} is a section or topic, not a question")
    if codes is not None and value not in codes:
        raise Rejected(f"{where}: {value} is not in the classifier in force")


def _question(q: Any, i: int, appeal: dict[str, Any], today: date, codes: set[str] | None,
              notes: list[str]) -> None:
    at = f"questions[{i}]"
    q = _question_fields(q, at, notes)
    _code(q["code"], f"{at}.code", codes)
    _question_dates(q, at, appeal, today)
    _question_flags(q, at, notes)
    if "attachment" in q:
        _attachment(q["attachment"], f"{at}.attachment")
    if "transfer" in q:
        _transfer(q["transfer"], f"{at}.transfer", today, notes)


def _question_fields(q: Any, at: str, notes: list[str]) -> dict[str, Any]:
    """Exactly the fields of the question's status (nulls dropped); returns the question without them."""
    if not isinstance(q, dict):
        raise Rejected(f"{at}: must be an object")
    status = q.get("status")
    if status not in _STATUS:
        raise Rejected(f"{at}.status: unknown status {status!r}")
    required, optional = _STATUS[status]
    need = {"code", "status", *required}
    q = _drop_nulls(q, need, f"{at}.", notes)
    if status == "Supported" and "actionsTaken" not in q:
        notes.append(f"{at}: Supported without actionsTaken")
        need.discard("actionsTaken")
    absent = sorted(need - q.keys())
    if absent:
        raise Rejected(f"{at}: status {status} requires {', '.join(absent)}")
    allowed = set(optional) | ({"responseDate", "attachment"} if status == "InWork" else set())
    notes.extend(f"{at}: InWork with {k}" for k in sorted((q.keys() - need) & (allowed - set(optional))))
    extra = sorted(q.keys() - need - allowed)
    if extra:
        raise Rejected(f"{at}: status {status} does not allow {', '.join(extra)}")
    return q


def _question_dates(q: dict[str, Any], at: str, appeal: dict[str, Any], today: date) -> None:
    days = {k: _day(q[k], f"{at}.{k}", today) for k in ("incomingDate", "registrationDate", "responseDate")
            if k in q}
    if appeal["isDirect"] is False and "incomingDate" in days:
        if days["incomingDate"] < _day(appeal["createDate"], "createDate", today):
            raise Rejected(f"{at}.incomingDate: Дата поступления должна быть не ранее даты обращения")
    if "registrationDate" in days and days["registrationDate"] < days["incomingDate"]:
        raise Rejected(f"{at}.registrationDate: earlier than incomingDate")
    if "responseDate" in days and "registrationDate" in days and days["responseDate"] < days["registrationDate"]:
        raise Rejected(f"{at}.responseDate: earlier than registrationDate")


def _question_flags(q: dict[str, Any], at: str, notes: list[str]) -> None:
    if "isExtend" in q and q["isExtend"] is False:
        notes.append(f"{at}.isExtend: false")
    elif "isExtend" in q and q["isExtend"] is not True:
        raise Rejected(f"{at}.isExtend: must be a boolean")
    if "actionsTaken" in q and type(q["actionsTaken"]) is not bool:
        raise Rejected(f"{at}.actionsTaken: must be a boolean")


def _attachment(att: Any, at: str) -> None:
    if not isinstance(att, dict) or set(att) != {"name", "content"}:
        raise Rejected(f"{at}: must be exactly {{name, content}}")
    _filled(att["name"], f"{at}.name")
    content = att["content"]
    if not isinstance(content, str) or not content:
        raise Rejected(f"{at}.content: empty")
    if len(content) >= 10_000_000:
        raise Rejected(f"{at}.content: {len(content)} characters of base64, limit is under 10000000")
    try:
        base64.b64decode(content, validate=True)
    except (binascii.Error, ValueError):
        raise Rejected(f"{at}.content: not base64") from None


def _transfer(tr: Any, at: str, today: date, notes: list[str]) -> None:
    if not isinstance(tr, dict) or set(tr) != {"departmentId", "transferDate", "transferNumber"}:
        raise Rejected(f"{at}: must be exactly {{departmentId, transferDate, transferNumber}}")
    _guid(tr["departmentId"], f"{at}.departmentId", notes)
    _day(tr["transferDate"], f"{at}.transferDate", today)
    _filled(tr["transferNumber"], f"{at}.transferNumber")


def check_appeal(doc: Any, *, today: date | None = None, codes: set[str] | None = None) -> list[str]:
    """Raise :class:`Rejected` with the first reason the portal refuses ``doc``; return what it
    took although our own writer never sends it (see the module's note)."""
    today = today or portal_today()
    notes: list[str] = []
    if not isinstance(doc, dict):
        raise Rejected("the body must be one JSON object (one appeal per request)")
    doc = _drop_nulls(doc, _TOP_REQUIRED, "", notes)
    absent = sorted(_TOP_REQUIRED - doc.keys())
    if absent:
        raise Rejected(f"required: {', '.join(absent)}")
    extra = sorted(doc.keys() - _TOP_ALLOWED)
    if extra:
        raise Rejected(f"unknown field(s): {', '.join(extra)}")
    _guid(doc["departmentId"], "departmentId", notes)
    if type(doc["isDirect"]) is not bool:
        raise Rejected("isDirect: must be a boolean")
    if doc["format"] not in ("Electronic", "Other"):
        raise Rejected("format: must be Electronic or Other")
    if doc["isDirect"] and doc["format"] == "Electronic":
        notes.append("format: Electronic on a direct appeal")
    _filled(doc["number"], "number")
    _filled(doc["name"], "name")
    for key in ("address", "email"):
        if key in doc and not isinstance(doc[key], str):
            raise Rejected(f"{key}: must be a string")
    if doc["isDirect"] is False and "createDate" not in doc:
        raise Rejected("createDate: required for an appeal forwarded by another body")
    if "createDate" in doc:
        _day(doc["createDate"], "createDate", today)
    questions = doc["questions"]
    if not isinstance(questions, list) or len(questions) == 0:
        raise Rejected("questions: at least one question is required")
    for i, q in enumerate(questions):
        _question(q, i, doc, today, codes, notes)
    return notes
