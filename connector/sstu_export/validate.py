"""Every rule of ``docs/sstu-format.md`` as pure functions over a plain JSON value.

Independent of our models, so it checks documents written by any tool (ЛАРМ archives,
another EDMS's export).  Each problem is a :class:`Issue` naming the appeal number, the
question index (0-based, as in the JSON path) and the field.  Values of personal fields
(name, address, e-mail) never appear in a message.

Rules (numbers as in the format document):
1. ``number``/``name`` non-empty, ``questions`` non-empty, GUIDs lower case, known fields only;
2. forwarded (``isDirect`` false): ``createDate`` present, every ``incomingDate ≥ createDate``;
3. ``registrationDate ≥ incomingDate``, ``responseDate ≥ registrationDate``, no future date;
4. per status exactly the fields of the table (``wire.STATUS_FIELDS``);
5. ``code`` at question level or deeper (and in the given edition, when codes are given);
6. byte-identical output is a property of the writer (:mod:`.canonical`), not of a document.

Two severities.  An **error** is what the portal would refuse.  A **policy** issue is what our own
writer never produces but public production senders do send, so the portal evidently takes it
(``docs``: sstu-public-clients): ``null`` for a field that may be left out, ``responseDate`` or
``attachment`` on an InWork question, Supported without ``actionsTaken``, ``isExtend: false``,
upper-case GUIDs, a direct appeal in format Electronic.  Our builder refuses both kinds;
``connector sstu validate`` on another tool's archive reports policy issues as warnings.
"""

from __future__ import annotations

import binascii
from collections.abc import Container, Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

from connector.i18n import _
from connector.sstu_export import wire
from connector.sstu_export.wire import Format, Status

ERROR, POLICY = "error", "policy"
# Fields a public InWork sender fills once the answer exists; the portal takes them.
_INWORK_TOLERATED = frozenset({wire.F_RESPONSE_DATE, wire.F_ATTACHMENT})


@dataclass(frozen=True, slots=True)
class Issue:
    number: str | None
    question: int | None
    field: str
    message: str
    severity: str = ERROR

    def __str__(self) -> str:
        where = _("appeal {number}").format(number=repr(self.number)) if self.number \
            else _("appeal without a number")
        if self.question is not None:
            where += _(", question {index}").format(index=self.question)
        note = _(" (our policy; public senders send it)") if self.severity == POLICY else ""
        return _("{where}, field {field}: {message}{note}").format(where=where, field=self.field,
                                                                  message=self.message, note=note)

    def as_dict(self) -> dict[str, Any]:
        return {"number": self.number, "question": self.question, "field": self.field, "message": self.message,
                "severity": self.severity}


class _Checker:
    def __init__(self, number: str | None, today: date, codes: Container[str] | None) -> None:
        self.number, self.today, self.codes = number, today, codes
        self.issues: list[Issue] = []

    def add(self, field: str, message: str, question: int | None = None, *, policy: bool = False) -> None:
        self.issues.append(Issue(self.number, question, field, message, POLICY if policy else ERROR))

    def nulls(self, obj: dict[str, Any], allowed: Iterable[str], path: str, q: int | None = None) -> set[str]:
        """Names present with ``null``: the portal reads them as absent (a public sender writes
        them), we never write them.  Returns them so the caller treats them as absent."""
        found = {name for name, value in obj.items() if value is None and name in allowed}
        for name in sorted(found):
            self.add(f"{path}{name}", _("null: leave the field out instead"), q, policy=True)
        return found

    def text(self, obj: dict[str, Any], key: str, path: str, q: int | None = None, *, required: bool = True) -> None:
        value = obj.get(key)
        if value is None:
            if required:
                self.add(path, _("required"), q)
        elif not isinstance(value, str):
            self.add(path, _("must be a string"), q)
        elif required and not value.strip():
            self.add(path, _("must not be empty"), q)

    def guid(self, obj: dict[str, Any], key: str, path: str, q: int | None = None) -> None:
        value = obj.get(key)
        if value is None:
            self.add(path, _("required (a GUID)"), q)
        elif isinstance(value, str) and not wire.GUID_RE.match(value) and wire.GUID_RE.match(value.lower()):
            self.add(path, _("a GUID in upper case: we write it in lower case"), q, policy=True)
        elif not isinstance(value, str) or not wire.GUID_RE.match(value):
            self.add(path, _("must be a GUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)"), q)

    def day(self, obj: dict[str, Any], key: str, path: str, q: int | None = None) -> date | None:
        value = obj.get(key)
        if value is None:
            return None
        parsed = None
        if isinstance(value, str) and wire.DATE_RE.match(value):
            try:
                parsed = date.fromisoformat(value)
            except ValueError:
                parsed = None
        if parsed is None:
            self.add(path, _("must be a date YYYY-MM-DD"), q)
        elif parsed > self.today:
            self.add(path, _("{value} is in the future").format(value=value), q)
        return parsed

    def order(self, later: date | None, earlier: date | None, path: str, rule: str, q: int) -> None:
        if later is not None and earlier is not None and later < earlier:
            self.add(path, rule, q)


def check_code(code: str, codes: Container[str] | None = None) -> str | None:
    """Why ``code`` cannot stand on a question, or None when it can (rule 5)."""
    if len(code) > wire.MAX_CODE_LENGTH or not wire.CODE_RE.match(code):
        return _("must be a classifier code NNNN.NNNN.NNNN.NNNN[.NNNN]")
    blocks = code.split(".")
    if blocks[0] not in wire.SECTIONS:
        return _("section {section} does not exist (sections are 0001–0005)").format(section=blocks[0])
    zero = [b == "0000" for b in blocks]
    if any(zero[i] and not zero[i + 1] for i in range(len(blocks) - 1)):
        return _("a lower block is set under a zero block: not a code of the classifier")
    if zero[3]:
        return _("a section/topic header, not a question: use a code at question level or deeper")
    if codes is not None and code not in codes:
        return _("not a question of the classifier edition in force")
    return None


def question_codes(tree: Any) -> frozenset[str]:
    """Question-level codes (4 blocks with the 4th not 0000, and 5-block codes) of a
    classifier tree ``[{code, name, children}]`` -- or of a flat list of codes/objects."""
    found: set[str] = set()
    stack = list(tree) if isinstance(tree, list) else [tree]
    while stack:
        node = stack.pop()
        code = node.get("code") if isinstance(node, dict) else node
        if isinstance(code, str) and check_code(code.strip()) is None:
            found.add(code.strip())
        if isinstance(node, dict) and isinstance(node.get("children"), list):
            stack.extend(node["children"])
    return frozenset(found)


def _attachment(c: _Checker, value: Any, q: int, check_base64: bool) -> None:
    path = f"questions[{q}].{wire.F_ATTACHMENT}"
    if not isinstance(value, dict):
        c.add(path, _("must be an object {name, content}"), q)
        return
    for extra in sorted(set(value) - wire.ATTACHMENT_FIELDS):
        c.add(f"{path}.{extra}", _("field not allowed in an attachment"), q)
    c.text(value, wire.F_ATTACHMENT_NAME, f"{path}.{wire.F_ATTACHMENT_NAME}", q)
    name = value.get(wire.F_ATTACHMENT_NAME)
    if isinstance(name, str) and name.strip() and "." not in name.strip(". "):
        c.add(f"{path}.{wire.F_ATTACHMENT_NAME}", _("the file name needs an extension"), q)
    content = value.get(wire.F_ATTACHMENT_CONTENT)
    cpath = f"{path}.{wire.F_ATTACHMENT_CONTENT}"
    if not isinstance(content, str) or not content:
        c.add(cpath, _("required: the answer file in base64"), q)
    elif len(content) >= wire.MAX_ATTACHMENT_BASE64:
        c.add(cpath, _("answer file too large: base64 is {size:,} characters, must stay under "
                       "{limit:,} (not truncated)").format(size=len(content), limit=wire.MAX_ATTACHMENT_BASE64), q)
    elif check_base64:
        try:
            binascii.a2b_base64(content, strict_mode=True)
        except (binascii.Error, ValueError):
            c.add(cpath, _("is not valid base64"), q)


def _transfer(c: _Checker, value: Any, q: int) -> None:
    path = f"questions[{q}].{wire.F_TRANSFER}"
    if not isinstance(value, dict):
        c.add(path, _("must be an object {departmentId, transferDate, transferNumber}"), q)
        return
    for extra in sorted(set(value) - wire.TRANSFER_FIELDS):
        c.add(f"{path}.{extra}", _("field not allowed in a transfer"), q)
    c.guid(value, wire.F_TRANSFER_DEPARTMENT_ID, f"{path}.{wire.F_TRANSFER_DEPARTMENT_ID}", q)
    if value.get(wire.F_TRANSFER_DATE) is None:
        c.add(f"{path}.{wire.F_TRANSFER_DATE}", _("required"), q)
    c.day(value, wire.F_TRANSFER_DATE, f"{path}.{wire.F_TRANSFER_DATE}", q)
    c.text(value, wire.F_TRANSFER_NUMBER, f"{path}.{wire.F_TRANSFER_NUMBER}", q)


def _question(c: _Checker, question: Any, q: int, create: date | None, forwarded: bool,
              check_base64: bool) -> None:
    base = f"questions[{q}]"
    if not isinstance(question, dict):
        c.add(base, _("must be an object"), q)
        return
    raw_status = question.get(wire.F_STATUS)
    try:
        if not isinstance(raw_status, str):
            raise ValueError
        status = Status(str(raw_status))
    except ValueError:
        allowed = ", ".join(s.value for s in Status)
        c.add(f"{base}.{wire.F_STATUS}", _("required") if raw_status is None else _("unknown status (one of {allowed})").format(allowed=allowed), q)
        return
    required, optional = wire.STATUS_FIELDS[status]
    present = set(question) - c.nulls(question, set(question) - required, f"{base}.", q)
    if present != set(question):
        question = {k: v for k, v in question.items() if k in present}
    for name in sorted(required - present):
        tolerated = status is Status.SUPPORTED and name == wire.F_ACTIONS_TAKEN
        c.add(f"{base}.{name}", _("required for status {status}").format(status=status.value), q, policy=tolerated)
    for name in sorted(present - required - optional):
        tolerated = status is Status.IN_WORK and name in _INWORK_TOLERATED
        c.add(f"{base}.{name}", _("not allowed for status {status}").format(status=status.value), q, policy=tolerated)
    code = question.get(wire.F_CODE)
    if code is not None:
        problem = check_code(code, c.codes) if isinstance(code, str) else _("must be a string")
        if problem:
            c.add(f"{base}.{wire.F_CODE}", problem, q)
    incoming = c.day(question, wire.F_INCOMING_DATE, f"{base}.{wire.F_INCOMING_DATE}", q)
    registered = c.day(question, wire.F_REGISTRATION_DATE, f"{base}.{wire.F_REGISTRATION_DATE}", q)
    response = c.day(question, wire.F_RESPONSE_DATE, f"{base}.{wire.F_RESPONSE_DATE}", q)
    if forwarded:
        c.order(incoming, create, f"{base}.{wire.F_INCOMING_DATE}",
                _("the receipt date must not be before the appeal date (incomingDate ≥ createDate)"), q)
    c.order(registered, incoming, f"{base}.{wire.F_REGISTRATION_DATE}", _("must not be before incomingDate"), q)
    c.order(response, registered, f"{base}.{wire.F_RESPONSE_DATE}", _("must not be before registrationDate"), q)
    if wire.F_IS_EXTEND in question and question[wire.F_IS_EXTEND] is False:
        c.add(f"{base}.{wire.F_IS_EXTEND}", _("false: we leave it out when the term was not extended"), q, policy=True)
    elif wire.F_IS_EXTEND in question and question[wire.F_IS_EXTEND] is not True:
        c.add(f"{base}.{wire.F_IS_EXTEND}", _("must be true or false"), q)
    if wire.F_ACTIONS_TAKEN in question and not isinstance(question[wire.F_ACTIONS_TAKEN], bool):
        c.add(f"{base}.{wire.F_ACTIONS_TAKEN}", _("must be true or false"), q)
    if wire.F_ATTACHMENT in question:
        _attachment(c, question[wire.F_ATTACHMENT], q, check_base64)
    if wire.F_TRANSFER in question:
        _transfer(c, question[wire.F_TRANSFER], q)


def validate_appeal(doc: Any, *, today: date | None = None, codes: Container[str] | None = None,
                    check_base64: bool = True) -> list[Issue]:
    """All problems of one appeal document (empty list: it may leave the building).
    ``check_base64=False`` skips decoding attachments (for content we encoded ourselves)."""
    if not isinstance(doc, dict):
        return [Issue(None, None, "<appeal>", _("must be a JSON object"))]
    raw_number = doc.get(wire.F_NUMBER)
    number = raw_number.strip() if isinstance(raw_number, str) and raw_number.strip() else None
    c = _Checker(number, today or wire.today_latest(), codes)
    optional = wire.APPEAL_FIELDS - {wire.F_DEPARTMENT_ID, wire.F_IS_DIRECT, wire.F_FORMAT, wire.F_NUMBER,
                                     wire.F_NAME, wire.F_QUESTIONS}
    absent = c.nulls(doc, optional, "")
    if absent:
        doc = {k: v for k, v in doc.items() if k not in absent}
    for name in sorted(set(doc) - wire.APPEAL_FIELDS):
        c.add(name, _("field not allowed in an appeal"))
    c.guid(doc, wire.F_DEPARTMENT_ID, wire.F_DEPARTMENT_ID)
    is_direct = doc.get(wire.F_IS_DIRECT)
    if not isinstance(is_direct, bool):
        c.add(wire.F_IS_DIRECT, _("required: true or false"))
    fmt = doc.get(wire.F_FORMAT)
    if fmt not in {f.value for f in Format}:
        c.add(wire.F_FORMAT, _("required: Electronic or Other"))
    elif is_direct is True and fmt == Format.ELECTRONIC:
        c.add(wire.F_FORMAT, _("Electronic means forwarded over МЭДО: we report a direct appeal as Other"),
              policy=True)
    c.text(doc, wire.F_NUMBER, wire.F_NUMBER)
    c.text(doc, wire.F_NAME, wire.F_NAME)
    c.text(doc, wire.F_ADDRESS, wire.F_ADDRESS, required=False)
    c.text(doc, wire.F_EMAIL, wire.F_EMAIL, required=False)
    create = c.day(doc, wire.F_CREATE_DATE, wire.F_CREATE_DATE)
    forwarded = is_direct is False
    if forwarded and doc.get(wire.F_CREATE_DATE) is None:
        c.add(wire.F_CREATE_DATE, _("required when isDirect is false (the covering letter's date)"))
    questions = doc.get(wire.F_QUESTIONS)
    if not isinstance(questions, list) or not questions:
        c.add(wire.F_QUESTIONS, _("at least one question is required"))
    else:
        for index, question in enumerate(questions):
            _question(c, question, index, create, forwarded, check_base64)
    return c.issues


def validate_document(doc: Any, *, today: date | None = None,
                      codes: Container[str] | None = None) -> Iterator[Issue]:
    """A JSON file holds one appeal object or an array of them."""
    items: Iterable[Any] = doc if isinstance(doc, list) else [doc]
    if isinstance(doc, list) and not doc:
        yield Issue(None, None, "<file>", _("an empty array: no appeal in the file"))
    for item in items:
        yield from validate_appeal(item, today=today, codes=codes)

