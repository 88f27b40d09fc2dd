"""The pure builder: explicit facts about one appeal → a valid SSTU appeal and its bytes.

No store, no network, no clock unless given: the inputs are :class:`AppealFacts` (what our
stored message, card and answer say), a ``code_for`` lookup (POS category path → classifier
code, the rubric mapping), a configurable outcome → status table and the directory of
bodies (name → ССТУ GUID) for redirects.  Every refusal is a :class:`DataError` naming the
appeal number and what is wrong; the result has passed every rule of ``validate``.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable, Container, Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from connector.errors import DataError, Phrase
from connector.i18n import N_, _
from connector.sstu_export import wire
from connector.sstu_export.archive import ArchiveItem
from connector.sstu_export.canonical import appeal_uuid, canonical_appeal_bytes, content_hash
from connector.sstu_export.models import SstuAppeal
from connector.sstu_export.settings import OutcomeRule
from connector.sstu_export.validate import validate_appeal
from connector.sstu_export.wire import Format, Status

CodeLookup = Callable[[tuple[str, ...]], str | None]
CONSIDERED = frozenset({Status.EXPLAINED, Status.SUPPORTED, Status.NOT_SUPPORTED, Status.ANSWERED})


class _Input(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class AnswerFileInput(_Input):
    """The answer file: its name with extension and either its bytes or its path on disk."""

    name: str = Field(min_length=1)
    content: bytes | None = None
    path: Path | None = None

    @model_validator(mode="after")
    def _one_source(self) -> AnswerFileInput:
        if (self.content is None) == (self.path is None):
            raise ValueError("give exactly one of content or path")
        return self

    def size(self) -> int:
        return len(self.content) if self.content is not None else self.path.stat().st_size  # type: ignore[union-attr]

    def read(self) -> bytes:
        return self.content if self.content is not None else self.path.read_bytes()  # type: ignore[union-attr]


class QuestionFacts(_Input):
    """One question (one POS message) and the state of its card."""

    category_path: tuple[str, ...] = ()  # POS category → subcategory → fact, for the mapping lookup
    category_label: str = ""             # how errors name the category (default: the path joined)
    code: str | None = None              # the card's own rubric, when the EDMS supplies one
    outcome: str                         # key of the outcome table: in_work, extended, answered, …
    result: str = ""                     # the answer's result: «Разъяснено», «Поддержано», …
    measures_taken: bool = False         # «меры приняты» (Supported → actionsTaken)
    incoming_date: date | None = None
    registration_date: date | None = None
    response_date: date | None = None
    answer: AnswerFileInput | None = None
    unsent_files: tuple[str, ...] = ()   # the answer's other files: ССТУ takes one (facts.choose_answer_file)
    redirect_body: str = ""              # name of the receiving body (looked up in the directory)
    transfer_date: date | None = None    # outgoing covering letter's date (default: response_date)
    transfer_number: str = ""            # outgoing covering letter's number


class AppealFacts(_Input):
    department_id: str                   # the reporting body's ССТУ GUID (per account, config)
    direct: bool = True                  # False: forwarded by another body
    via_medo: bool = False               # forwarded over МЭДО → format Electronic
    number: str                          # registration number, or the covering letter's (forwarded)
    create_date: date | None = None      # covering letter's date (required when forwarded)
    author_name: str
    author_address: str = ""
    author_email: str = ""
    questions: tuple[QuestionFacts, ...] = Field(min_length=1)


def _key(text: str) -> str:
    text = text.casefold().replace("ё", "е").replace("_", " ")
    text = re.sub(r"[«»\"'“”„.]", "", text)
    return " ".join(text.split())


def default_outcomes() -> dict[str, OutcomeRule]:
    """Card outcome / answer result → SSTU status (overridable per key in config)."""
    considered = {
        "разъяснено": Status.EXPLAINED, "explained": Status.EXPLAINED,
        "поддержано": Status.SUPPORTED, "supported": Status.SUPPORTED,
        "не поддержано": Status.NOT_SUPPORTED, "not supported": Status.NOT_SUPPORTED,
        "дан ответ автору": Status.ANSWERED, "дан ответ": Status.ANSWERED,
        "answered": Status.ANSWERED, "answer ready": Status.ANSWERED,
    }
    table = {k: OutcomeRule(status=v) for k, v in considered.items()}
    table.update({
        "registered": OutcomeRule(status=Status.IN_WORK),
        "in work": OutcomeRule(status=Status.IN_WORK),
        "extended": OutcomeRule(status=Status.IN_WORK, is_extend=True),
        "measures taken": OutcomeRule(status=Status.SUPPORTED, actions_taken=True),
        "меры приняты": OutcomeRule(status=Status.SUPPORTED, actions_taken=True),
        "redirected": OutcomeRule(status=Status.TRANSFERRED),
        "closed without answer": OutcomeRule(status=Status.LEFT_WITHOUT_ANSWER),
        "refused": OutcomeRule(status=Status.LEFT_WITHOUT_ANSWER),
        "not registered": OutcomeRule(status=Status.NOT_REGISTERED),
        "not received": OutcomeRule(status=Status.NOT_RECEIVED),
    })
    return table


class BodyDirectory:
    """Receiving bodies: name → ССТУ GUID, matched case- and quote-insensitively."""

    def __init__(self, bodies: Mapping[str, str] | None = None) -> None:
        self._guids: dict[str, str] = {}
        for name, guid in (bodies or {}).items():
            value = guid.strip().lower()
            if not wire.GUID_RE.match(value):
                raise DataError(N_("directory of bodies: «{name}» has no valid ССТУ GUID ({guid})"),
                                params={"name": name, "guid": repr(guid)})
            self._guids[_key(name)] = value

    def guid(self, name: str) -> str | None:
        return self._guids.get(_key(name))

    def __len__(self) -> int:
        return len(self._guids)


@dataclass(frozen=True, slots=True)
class BuiltAppeal:
    appeal: SstuAppeal
    document: dict[str, Any]
    content: bytes          # canonical JSON bytes
    content_hash: str       # SHA-256 of ``content``
    uuid: str               # archive file name stem, stable across exports

    @property
    def number(self) -> str:
        return self.appeal.number

    @property
    def statuses(self) -> tuple[str, ...]:
        return self.appeal.statuses

    def archive_item(self) -> ArchiveItem:
        return ArchiveItem(uuid=self.uuid, number=self.appeal.number, name=self.appeal.name,
                           statuses=self.statuses, content=self.content)


class SstuBuilder:
    """Builds appeals with one configuration; :meth:`build` is pure."""

    def __init__(self, code_for: CodeLookup, *, outcomes: Mapping[str, OutcomeRule] | None = None,
                 bodies: BodyDirectory | Mapping[str, str] | None = None, codes: Container[str] | None = None,
                 today: date | None = None, send_is_extend: bool = False) -> None:
        self.code_for = code_for
        # isExtend is in one public sender only (a 2023 prototype); the fullest export model lacks it,
        # so an extension is reported only when `[sstu] send_is_extend` says the portal takes it
        self.send_is_extend = send_is_extend
        table = default_outcomes()
        table.update(outcomes or {})
        self.outcomes = {_key(k): v for k, v in table.items()}
        self.bodies = bodies if isinstance(bodies, BodyDirectory) else BodyDirectory(bodies)
        self.codes = codes
        self.today = today

    def rule_for(self, number: str, q: QuestionFacts) -> OutcomeRule:
        rule = self.outcomes.get(_key(q.outcome))
        if rule is None:
            raise DataError(N_("appeal {number}: card outcome «{outcome}» is not in the SSTU outcome table"),
                            params={"number": repr(number), "outcome": q.outcome})
        if rule.status in CONSIDERED and q.result.strip():
            by_result = self.outcomes.get(_key(q.result))
            if by_result is None or by_result.status not in CONSIDERED:
                raise DataError(N_("appeal {number}: answer result «{result}» is not in the SSTU outcome table"),
                                params={"number": repr(number), "result": q.result})
            rule = by_result
        return rule

    def _code(self, number: str, q: QuestionFacts) -> str:
        code = (q.code or "").strip() or self.code_for(tuple(q.category_path))
        if not code:
            path = q.category_label or " / ".join(q.category_path) or Phrase(N_("(none)"))
            raise DataError(N_("appeal {number}: no SSTU classifier code for POS category «{path}»"),
                            params={"number": repr(number), "path": path})
        return code

    def _attachment(self, number: str, q: QuestionFacts) -> dict[str, str]:
        if q.answer is None:
            raise DataError(N_("appeal {number}: the status needs the answer file, the card has none"),
                            params={"number": repr(number)})
        size = q.answer.size()
        encoded_len = 4 * ((size + 2) // 3)
        if encoded_len >= wire.MAX_ATTACHMENT_BASE64:
            raise DataError(N_("appeal {number}: answer file too large: «{name}» is {size:,} bytes, "
                               "{encoded:,} characters in base64; ССТУ accepts under {limit:,} "
                               "(the file is not truncated)"),
                            params={"number": repr(number), "name": q.answer.name, "size": size,
                                    "encoded": encoded_len, "limit": wire.MAX_ATTACHMENT_BASE64})
        return {wire.F_ATTACHMENT_NAME: q.answer.name,
                wire.F_ATTACHMENT_CONTENT: base64.b64encode(q.answer.read()).decode("ascii")}

    def _question(self, number: str, q: QuestionFacts) -> dict[str, Any]:
        rule = self.rule_for(number, q)
        doc: dict[str, Any] = {wire.F_CODE: self._code(number, q), wire.F_STATUS: rule.status.value}
        required, optional = wire.STATUS_FIELDS[rule.status]
        dates = {wire.F_INCOMING_DATE: q.incoming_date, wire.F_REGISTRATION_DATE: q.registration_date,
                 wire.F_RESPONSE_DATE: q.response_date}
        for name, value in dates.items():
            if name in required and value is not None:
                doc[name] = value
        if rule.is_extend and self.send_is_extend and wire.F_IS_EXTEND in optional:
            doc[wire.F_IS_EXTEND] = True
        if wire.F_ACTIONS_TAKEN in required:
            doc[wire.F_ACTIONS_TAKEN] = rule.actions_taken or q.measures_taken
        if wire.F_ATTACHMENT in required:
            doc[wire.F_ATTACHMENT] = self._attachment(number, q)
        if wire.F_TRANSFER in required:
            body = q.redirect_body.strip()
            guid = self.bodies.guid(body) if body else None
            if guid is None:
                raise DataError(N_("appeal {number}: redirect to «{body}»: the body is not in the directory of "
                                   "bodies, its ССТУ GUID is unknown"),
                                params={"number": repr(number), "body": body or Phrase(N_("(no body named)"))})
            transfer = {wire.F_TRANSFER_DEPARTMENT_ID: guid,
                        wire.F_TRANSFER_DATE: q.transfer_date or q.response_date,
                        wire.F_TRANSFER_NUMBER: q.transfer_number}
            doc[wire.F_TRANSFER] = {k: v for k, v in transfer.items() if v is not None}
        return doc

    def build(self, facts: AppealFacts) -> BuiltAppeal:
        number = facts.number.strip()
        raw = {
            wire.F_DEPARTMENT_ID: facts.department_id.strip().lower(),
            wire.F_IS_DIRECT: facts.direct,
            wire.F_FORMAT: (Format.ELECTRONIC if not facts.direct and facts.via_medo else Format.OTHER).value,
            wire.F_NUMBER: number,
            wire.F_CREATE_DATE: facts.create_date,
            wire.F_NAME: " ".join(facts.author_name.split()),
            wire.F_ADDRESS: facts.author_address.strip() or None,
            wire.F_EMAIL: facts.author_email.strip() or None,
            wire.F_QUESTIONS: [self._question(number, q) for q in facts.questions],
        }
        try:
            appeal = SstuAppeal.model_validate(raw)
        except ValidationError as exc:
            # pydantic's messages here are our validators' texts, already in the process language: {problem} takes them
            raise DataError(N_("appeal {number}: {problem}"),
                            params={"number": repr(number), "problem": _summary(exc)},
                            detail=f"{exc.error_count()} error(s)") from None
        document = appeal.to_wire()
        issues = validate_appeal(document, today=self.today, codes=self.codes, check_base64=False)
        if issues:
            more = _("; and {count} more").format(count=len(issues) - 5) if len(issues) > 5 else ""
            raise DataError("; ".join(map(str, issues[:5])) + more)
        content = canonical_appeal_bytes(document)
        return BuiltAppeal(appeal=appeal, document=document, content=content, content_hash=content_hash(content),
                           uuid=str(appeal_uuid(appeal.department_id, appeal.number)))


def _summary(exc: ValidationError, limit: int = 5) -> str:
    parts = []
    statuses = {s.value for s in Status}
    for err in exc.errors(include_input=False, include_url=False)[:limit]:
        loc = ".".join(str(p) for p in err["loc"] if p not in statuses) or "<appeal>"
        parts.append(_("field {field}: {message}").format(field=loc, message=err["msg"]))
    if exc.error_count() > limit:
        parts.append(_("and {count} more").format(count=exc.error_count() - limit))
    return "; ".join(parts)


def build_appeal(facts: AppealFacts, code_for: CodeLookup, **config: Any) -> BuiltAppeal:
    """One-off convenience: ``SstuBuilder(code_for, **config).build(facts)``."""
    return SstuBuilder(code_for, **config).build(facts)
