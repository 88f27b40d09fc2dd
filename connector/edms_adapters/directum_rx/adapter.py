"""DirectumRxAdapter: registers POS messages as incoming letters in Directum RX (OData) and follows them.

Error policy: the one table of :mod:`connector.transport`, with the server's error text added
(:func:`_error_text`, applied in :meth:`DirectumRxAdapter._send`):

=================================================  =====================================================
what came back                                     what we raise
=================================================  =====================================================
HTTP 401 / 403                                     AuthError (names URL and login, never the password)
requests Timeout / ConnectionError (after retries) Unreachable (health(): FatalAdapterError "cannot reach")
HTTP 429 / 5xx after the session's retries         TransientError, server text in ``detail``
HTTP 3xx                                           TransientError
HTTP 400 / 404 / 409 / 422 and other 4xx           RemoteRejected(status=…), server text (either error
                                                   shape) in ``detail``: it may echo our data
HTTP 204 / empty body on a collection              empty list
2xx whose body is not the promised JSON            TransientError (a proxy or a half-sent reply)
a letter found by the POS-id lookup that carries   ForeignCardError (straight to failures; the letter is
another POS id in that property                    neither linked nor touched, none is created)
=================================================  =====================================================

Creates are not idempotent in OData (the server assigns ids), and the session retries a 5xx -- so a
create whose reply was lost would be sent twice.  Every POST that creates therefore goes out
*once* per attempt (the session's :meth:`~connector.transport.RetryingSession.call_once`), and before each
further attempt the adapter looks the object up again by its key (POS id, version note,
person's name and contacts).  Lookups and reads keep the session's retries.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import mimetypes
import tempfile
from collections.abc import Callable, Iterator, Mapping
from datetime import date, datetime, time
from typing import IO, Any, ClassVar

import requests

from connector.domain import (
    Answer,
    AnswerFile,
    AppealAnswer,
    AppealQuestion,
    Applicant,
    CardRef,
    CardStage,
    CardState,
    ControlTaskRequest,
    EdmsAppeal,
    Executor,
    PosMessage,
    StoredFile,
    TaskRef,
)
from connector.edms_adapters.base import (
    CREATE_CONTROL_TASK,
    LIST_APPEALS,
    AdapterContext,
    AdapterSettings,
    prove_card_owner,
)
from connector.edms_adapters.directum_rx import appeals, wire
from connector.edms_adapters.directum_rx.checks import check_metadata, require_refs
from connector.edms_adapters.directum_rx.settings import DirectumRxSettings
from connector.errors import AuthError, FatalAdapterError, Phrase, RemoteRejected, TransientError
from connector.i18n import N_
from connector.transport import Peer, Resolution, Unreachable

log = logging.getLogger(__name__)

_MEMORY_BODY_LIMIT = 256 * 1024  # bodies above this are streamed from a temp file
Params = Mapping[str, str | int | None]


class DirectumRxAdapter:
    name: ClassVar[str] = "directum_rx"
    settings_model: ClassVar[type[AdapterSettings]] = DirectumRxSettings
    capabilities: ClassVar[frozenset[str]] = frozenset({LIST_APPEALS, CREATE_CONTROL_TASK})

    def __init__(self, settings: DirectumRxSettings, context: AdapterContext) -> None:
        self.settings = settings
        self._context = context
        session = context.session_factory()
        session.auth = (settings.login, settings.password.get_secret_value())
        session.headers["Accept"] = "application/json"
        self._session = session
        self._peer = Peer(Phrase(N_("Directum RX at {url}"), {"url": settings.url}),
                          credentials=Phrase(N_("the credentials of user {login}"), {"login": repr(settings.login)}))
        self._create_attempts = session.policy.max_attempts
        self._apps: dict[str, int] = {}

    # --- pipeline interface --------------------------------------------------------------------------
    def create_card(self, msg: PosMessage) -> CardRef:
        s = self.settings
        require_refs(s, self._context.target_name)
        letter = self._find_letter(msg)
        if letter is None:
            person_id = self._resolve_person(msg.applicant)
            body = self._letter_body(msg, person_id)
            letter = self._create(s.incoming_set, body, lambda: self._find_letter(msg), "incoming letter")
            log.info("Directum letter created", extra={"letter_id": letter[wire.P_ID], "pos_id": msg.pos_id})
        letter_id = int(letter[wire.P_ID])
        self._reconcile_versions(letter_id, msg.attachments)
        return CardRef(adapter=self.name, external_id=str(letter_id), url=self._card_url(letter_id))

    def get_card(self, ref: CardRef) -> CardState:
        return self._read(ref)[0]

    def read_card(self, ref: CardRef) -> tuple[CardState, Answer | None]:
        """``get_card`` and ``fetch_answer`` in one pass: the letter and its answer are read once."""
        state, letter, answer = self._read(ref)
        if state.stage is not CardStage.ANSWER_READY or answer is None:
            return state, None
        return state, self._answer_of(letter, answer)

    def _read(self, ref: CardRef) -> tuple[CardState, dict[str, Any], dict[str, Any] | None]:
        """The letter, its tasks and its answer, in that order (the golden exchanges' order)."""
        letter = self._require_letter(ref)
        tasks = self._tasks_of(int(letter[wire.P_ID]))
        answer = self._find_answer(int(letter[wire.P_ID]))
        return self._state_of(ref, letter, tasks, answer), letter, answer

    def _state_of(self, ref: CardRef, letter: dict[str, Any], tasks: list[dict[str, Any]],
                  answer: dict[str, Any] | None) -> CardState:
        s = self.settings
        open_tasks = [t for t in tasks if t.get(wire.P_STATUS) == wire.TASK_IN_PROCESS]
        dues = [d for d in (wire.parse_date(t.get(wire.P_DEADLINE)) for t in (open_tasks or tasks)) if d]
        latest = max(tasks, key=lambda t: int(t.get(wire.P_ID) or 0), default=None)
        result = str(letter.get(s.result_property) or "")
        stage = CardStage.REGISTERED
        if answer is not None:
            stage = CardStage.ANSWER_READY
        elif result in s.redirect_results:
            stage = CardStage.REDIRECTED
        elif result in s.refused_results:
            stage = CardStage.REFUSED
        elif result in s.extended_results:
            stage = CardStage.EXTENDED
        elif any(wire.nav_name(t, s.task_executor_property) for t in open_tasks):
            stage = CardStage.IN_WORK
        redirected = stage is CardStage.REDIRECTED
        return CardState(
            ref=ref,
            stage=stage,
            registration_number=str(letter.get(wire.P_REG_NUMBER) or ""),
            registration_date=wire.parse_date(letter.get(wire.P_REG_DATE)),
            executors=self._executors(tasks),
            deadline=max(dues) if dues else None,
            resolution=str(latest.get(s.task_resolution_property) or "") if latest else "",
            redirect_org_id=str(letter.get(s.redirect_org_property) or "") if redirected else "",
            redirect_comment=str(letter.get(s.redirect_comment_property) or "") if redirected else "",
            redirect_letter_number=str(letter.get(s.redirect_letter_number_property) or "") if redirected else "",
            redirect_letter_date=wire.parse_date(letter.get(s.redirect_letter_date_property)) if redirected else None,
            rubric_code=str(letter.get(s.rubric_property) or "").strip(),
        )

    def fetch_answer(self, ref: CardRef) -> Answer | None:
        letter = self._require_letter(ref)
        answer = self._find_answer(int(letter[wire.P_ID]))
        return None if answer is None else self._answer_of(letter, answer)

    def _answer_of(self, letter: dict[str, Any], answer: dict[str, Any]) -> Answer:
        s = self.settings
        return Answer(
            text=str(answer.get(wire.P_SUBJECT) or answer.get(wire.P_NOTE) or ""),
            signer=wire.nav_name(answer, wire.P_OUR_SIGNATORY),
            date=wire.parse_date(answer.get(wire.P_REG_DATE)) or datetime.now(self._context.zone).date(),
            decision=str(letter.get(s.result_property) or ""),
            files=self._answer_files(answer),
        )

    def _answer_files(self, answer: dict[str, Any]) -> tuple[AnswerFile, ...]:
        """The last version of an outgoing letter as the answer's file (none without a version)."""
        s = self.settings
        answer_id = int(answer[wire.P_ID])
        versions = self._get_list(f"{wire.key(s.outgoing_set, answer_id)}/{wire.P_VERSIONS}",
                                  {"$expand": wire.P_ASSOCIATED_APP})
        last = max(versions, key=lambda v: (int(v.get(wire.P_NUMBER) or 0), int(v.get(wire.P_ID) or 0)), default=None)
        if last is None:
            return ()
        body = self._get_entity(f"{wire.key(s.outgoing_set, answer_id)}/{wire.P_VERSIONS}({int(last[wire.P_ID])})"
                                f"/{wire.P_BODY}", what="answer file")
        content = _b64decode(body.get(wire.P_VALUE))
        ext = str((last.get(wire.P_ASSOCIATED_APP) or {}).get(wire.P_EXTENSION) or "")
        name = str(answer.get(wire.P_NAME) or f"Ответ {answer.get(wire.P_REG_NUMBER) or answer_id}")
        if ext and not name.lower().endswith("." + ext.lower()):
            name = f"{name}.{ext}"
        mime = mimetypes.guess_type(name)[0] or "application/octet-stream"
        return (AnswerFile(name=name, mime_type=mime, content=content),)

    # --- capability list_appeals (appeals.py reads the letters) -------------------------------------------
    def appeals_enabled(self) -> bool:
        return self.settings.appeals.enabled

    def list_appeals(self, since: date, until: date) -> Iterator[EdmsAppeal]:
        s = self.settings
        zone = self._context.zone
        params: dict[str, str | int | None] = {
            "$filter": wire.between(wire.P_REG_DATE, datetime.combine(since, time(0), zone),
                                    datetime.combine(until, time(23, 59, 59), zone)),
            "$expand": appeals.expand(s), "$top": s.appeals.page_size}
        kinds = set(s.appeals.document_kinds)
        skip = 0
        while True:
            page = self._get_list(s.incoming_set, {**params, "$skip": skip or None})
            for letter in page:
                if appeals.kind_of(letter) in kinds:
                    yield self._appeal(letter)
            if len(page) < s.appeals.page_size:
                return
            skip += len(page)

    def _appeal(self, letter: dict[str, Any]) -> EdmsAppeal:
        s = self.settings
        delivery, forwarded, applicant, flagged, pos_id = appeals.card_facts(s, letter)
        letter_id = int(letter[wire.P_ID])
        ref = CardRef(adapter=self.name, external_id=str(letter_id), url=self._card_url(letter_id))
        rows = appeals.rows_of(s, letter)
        if rows:
            questions = tuple(self._question(i, row) for i, row in enumerate(rows))
        elif pos_id:
            questions = ()  # a POS letter without question rows is reported through its message, as tracked
        else:
            questions = (self._letter_question(ref, letter),)
        return EdmsAppeal(ref=ref, pos_id=pos_id, registration_number=str(letter.get(wire.P_REG_NUMBER) or ""),
                          registration_date=wire.parse_date(letter.get(wire.P_REG_DATE)), delivery=delivery,
                          forwarded=forwarded, applicant=applicant, no_sstu=flagged, questions=questions)

    def _question(self, index: int, row: dict[str, Any]) -> AppealQuestion:
        answer_ref = row.get(wire.Q_ANSWER) if isinstance(row.get(wire.Q_ANSWER), dict) else None
        answered = bool(answer_ref and answer_ref.get(wire.P_REG_NUMBER)
                        and answer_ref.get(wire.P_REG_STATE) == wire.REG_STATE_REGISTERED)
        answer = None
        if answer_ref is not None and answered:
            answer = AppealAnswer(text=str(answer_ref.get(wire.P_SUBJECT) or ""),
                                  date=wire.parse_date(answer_ref.get(wire.P_REG_DATE))
                                  or datetime.now(self._context.zone).date(),
                                  files=self._answer_files(answer_ref))
        stage = appeals.question_stage(self.settings, row, answered)
        redirected = stage is CardStage.REDIRECTED
        assignee = wire.nav_name(row, wire.Q_ASSIGNEE)
        return AppealQuestion(
            key=str(row.get(wire.P_ID) or index + 1), rubric_code=str(row.get(wire.Q_RUBRIC) or "").strip(),
            summary=str(row.get(wire.Q_SUMMARY) or ""), executor=Executor(name=assignee) if assignee else None,
            stage=stage, result=str(row.get(wire.Q_RESULT) or ""), answer=answer,
            redirect_org=str(row.get(wire.Q_REDIRECT_ORG) or "") if redirected else "",
            redirect_letter_number=str(row.get(wire.Q_REDIRECT_NUMBER) or "") if redirected else "",
            redirect_letter_date=wire.parse_date(row.get(wire.Q_REDIRECT_DATE)) if redirected else None)

    def _letter_question(self, ref: CardRef, letter: dict[str, Any]) -> AppealQuestion:
        """A letter without question rows is one question: the letter as ``get_card`` reads it."""
        state = self.get_card(ref)
        answer = self.fetch_answer(ref) if state.stage is CardStage.ANSWER_READY else None
        return AppealQuestion(
            key="1", rubric_code=state.rubric_code, summary=str(letter.get(wire.P_SUBJECT) or ""),
            executor=state.executors[0] if state.executors else None, stage=state.stage,
            result=str(letter.get(self.settings.result_property) or ""),
            answer=AppealAnswer(text=answer.text, signer=answer.signer, date=answer.date, files=answer.files)
            if answer is not None else None,
            redirect_org=state.redirect_org_id, redirect_letter_number=state.redirect_letter_number,
            redirect_letter_date=state.redirect_letter_date)

    @property
    def control_tasks_enabled(self) -> bool:
        return bool(self.settings.control_tasks_set)

    def create_control_task(self, ref: CardRef, task: ControlTaskRequest) -> TaskRef:
        """A simple task on the letter for the curator; its subject ends with a marker of ``task.key``, by
        which a retry (or the pipeline's next attempt) finds it instead of creating it again."""
        s = self.settings
        if not s.control_tasks_set:
            raise RemoteRejected(N_("control tasks are off for this Directum RX target (control_tasks_set = '')"))
        letter_id = int(self._require_letter(ref)[wire.P_ID])
        head = "На контроль: низкая оценка заявителя" if task.reason == "rating" else "На контроль: повторное обращение"
        subject = f"{head} {wire.control_marker(task.key)}"

        def find() -> dict[str, Any] | None:
            found = self._get_list(s.control_tasks_set, {"$filter": wire.eq(wire.P_SUBJECT, subject), "$top": 1})
            return found[0] if found else None

        existing = find()
        if existing is None:
            body: dict[str, Any] = {wire.P_SUBJECT: subject, wire.P_ACTIVE_TEXT: task.text,
                                    wire.P_IMPORTANCE: "High",
                                    **wire.bind(s.control_document_property, s.incoming_set, letter_id)}
            if s.curator_id is not None:
                body.update(wire.bind(wire.P_SUPERVISOR, wire.S_EMPLOYEES, s.curator_id))
            existing = self._create(s.control_tasks_set, body, find, "control task")
            log.info("Directum control task created", extra={"letter_id": letter_id})
        return TaskRef(adapter=self.name, external_id=str(existing[wire.P_ID]))

    def health(self) -> None:
        s = self.settings
        require_refs(s, self._context.target_name)
        try:
            resp = self._send("GET", "$metadata", what="$metadata", accept="application/xml")
            check_metadata(s, resp.content)
            count = self._send("GET", f"{s.incoming_set}/$count", what="$count", accept="text/plain")
            try:
                wire.parse_count(count.content)
            except wire.MalformedReply as exc:
                raise FatalAdapterError(N_("{url}/{set}/$count is not a number"),
                                        params={"url": s.url, "set": s.incoming_set}, detail=str(exc)) from None
        except Unreachable as exc:
            raise FatalAdapterError(N_("cannot reach Directum RX at {url}"), params={"url": s.url},
                                    detail=exc.detail) from None

    def close(self) -> None:
        self._session.close()

    # --- create helpers ------------------------------------------------------------------------------
    def _letter_body(self, msg: PosMessage, person_id: int) -> dict[str, Any]:
        s = self.settings
        path = " / ".join(c.name for c in (msg.category, msg.subcategory, msg.fact) if c is not None)
        subject = f"Обращение ПОС №{msg.pos_id}" + (f": {path}" if path else "")
        body: dict[str, Any] = {
            wire.P_SUBJECT: subject[: s.subject_limit],
            s.pos_id_property: msg.pos_id,
            wire.P_DATED: wire.format_datetime(msg.created_at),
            wire.P_NOTE: "\n\n".join(p for p in (path, msg.text[: s.note_limit]) if p),
            **wire.bind(wire.P_CORRESPONDENT, s.persons_set, person_id),
        }
        for nav, set_name, ref_id in ((wire.P_DOCUMENT_KIND, wire.S_DOCUMENT_KINDS, s.document_kind_id),
                                      (wire.P_BUSINESS_UNIT, wire.S_BUSINESS_UNITS, s.business_unit_id),
                                      (wire.P_DEPARTMENT, wire.S_DEPARTMENTS, s.department_id),
                                      (wire.P_DELIVERY_METHOD, wire.S_DELIVERY_METHODS, s.delivery_method_id)):
            if ref_id is not None:
                body.update(wire.bind(nav, set_name, ref_id))
        return body

    def _resolve_person(self, applicant: Applicant) -> int:
        """Find the applicant among IPersons by name and e-mail/phone, else create them.  Personal data
        goes into the request only, never into a log line or an error text."""
        s = self.settings
        names = {wire.P_LAST_NAME: applicant.last_name or s.anonymous_last_name,
                 wire.P_FIRST_NAME: applicant.first_name, wire.P_MIDDLE_NAME: applicant.middle_name}
        clauses = [wire.eq(k, v) for k, v in names.items()]
        if applicant.email:
            clauses.append(wire.eq(wire.P_EMAIL, applicant.email))
        elif applicant.phone:
            clauses.append(wire.eq(wire.P_PHONES, applicant.phone))
        filter_ = wire.and_(*clauses)

        def find() -> dict[str, Any] | None:
            found = self._get_list(s.persons_set, {"$filter": filter_, "$top": 1, "$select": wire.P_ID})
            return found[0] if found else None

        person = find()
        if person is None:
            body = {**names, wire.P_EMAIL: applicant.email, wire.P_PHONES: applicant.phone,
                    wire.P_STATUS: wire.STATUS_ACTIVE}
            person = self._create(s.persons_set, body, find, "correspondent")
        return int(person[wire.P_ID])

    def _reconcile_versions(self, letter_id: int, attachments: tuple[StoredFile, ...]) -> None:
        if not attachments:
            return
        s = self.settings
        versions_path = f"{wire.key(s.incoming_set, letter_id)}/{wire.P_VERSIONS}"

        def present() -> dict[tuple[int, str], dict[str, Any]]:
            listed = self._get_list(versions_path, {"$expand": f"{wire.P_BODY}($select={wire.P_ID})"})
            keyed = ((wire.version_key(v.get(wire.P_NOTE)), v) for v in listed)
            return {k: v for k, v in keyed if k is not None}

        existing = present()
        for index, att in enumerate(attachments):
            file_key = (index, att.sha256)
            version = existing.get(file_key)
            if version is None:
                number = max((int(v.get(wire.P_NUMBER) or 0) for v in existing.values()), default=0) + 1
                body = {wire.P_NUMBER: number, wire.P_NOTE: wire.version_note(att.name, index, att.sha256),
                        **wire.bind(wire.P_ASSOCIATED_APP, s.applications_set, self._application_for(att.name))}
                def find(k: tuple[int, str] = file_key) -> dict[str, Any] | None:
                    return present().get(k)

                version = self._create(versions_path, body, find, "version")
                existing[file_key] = version
            if not version.get(wire.P_BODY):  # a body upload can be lost between the two POSTs
                self._upload_body(f"{versions_path}({int(version[wire.P_ID])})/{wire.P_BODY}", att)
                log.info("Directum version uploaded", extra={"letter_id": letter_id, "size": att.size})

    def _upload_body(self, path: str, att: StoredFile) -> None:
        """POST ``{"Value": base64}``; built in a temp file so a 30 MB attachment never sits in memory
        as a 40 MB string.  Setting a body is idempotent, so this goes through the retrying session."""
        with tempfile.TemporaryFile() as body, att.path.open("rb") as src:
            body.write(b'{"' + wire.P_VALUE.encode() + b'":"')
            for chunk in wire.b64_chunks(src):
                body.write(chunk)
            body.write(b'"}')
            body.seek(0)
            data: IO[bytes] | bytes = body if att.size > _MEMORY_BODY_LIMIT else body.read()
            self._send("POST", path, data=data, what="version body")

    def _application_for(self, file_name: str) -> int:
        s = self.settings
        if s.associated_application_id is not None:
            return s.associated_application_id
        ext = wire.split_extension(file_name)[1] or s.fallback_extension
        for candidate in dict.fromkeys((ext, s.fallback_extension)):
            if candidate not in self._apps:
                found = self._get_list(s.applications_set, {"$filter": wire.eq(wire.P_EXTENSION, candidate),
                                                            "$top": 1, "$select": wire.P_ID})
                if found:
                    self._apps[candidate] = int(found[0][wire.P_ID])
            if candidate in self._apps:
                return self._apps[candidate]
        raise FatalAdapterError(N_("Directum RX at {url} has no associated application for '.{ext}' nor for "
                                   "'.{fallback}' (set associated_application_id or fallback_extension)"),
                                params={"url": s.url, "ext": ext, "fallback": s.fallback_extension})

    def _create(self, path: str, body: dict[str, Any], find: Callable[[], dict[str, Any] | None],
                what: str) -> dict[str, Any]:
        """POST once per attempt; after a lost reply look the object up before trying again."""
        last: TransientError | None = None
        for attempt in range(self._create_attempts):
            if attempt:
                found = find()
                if found is not None:
                    log.info("Directum create had succeeded (reply lost)", extra={"what": what})
                    return found
            try:
                return wire.entity(self._send("POST", path, json_body=body, what=what, once=True).content)
            except wire.MalformedReply as exc:
                last = TransientError(N_("Directum RX sent a malformed reply creating a {what}"),
                                      params={"what": what}, detail=str(exc))
            except TransientError as exc:
                last = exc
        found = find()
        if found is not None:
            return found
        assert last is not None
        raise last

    # --- reading -----------------------------------------------------------------------------------
    def _find_letter(self, msg: PosMessage) -> dict[str, Any] | None:
        s = self.settings
        found = self._get_list(s.incoming_set, {"$filter": wire.eq(s.pos_id_property, msg.pos_id), "$top": 2,
                                                "$select": f"{wire.P_ID},{wire.P_REG_NUMBER},{s.pos_id_property}"})
        # Checked again here: a letter the lookup answers with is linked only if it carries this POS id
        # (a filter the installation does not honour, a restored base, an edited letter).
        for letter in found:
            prove_card_owner(msg, system="Directum RX", card_id=str(letter.get(wire.P_ID)),
                             owner_pos_id=letter.get(s.pos_id_property))
        if len(found) > 1:
            log.warning("several Directum letters carry one POS id; using the first",
                        extra={"pos_id": msg.pos_id, "letter_ids": [f.get(wire.P_ID) for f in found]})
        return min(found, key=lambda f: int(f[wire.P_ID])) if found else None

    def _require_letter(self, ref: CardRef) -> dict[str, Any]:
        try:
            letter_id = int(ref.external_id)
        except ValueError:
            raise RemoteRejected(N_("Directum letter id {card_id} is not a number"),
                                 params={"card_id": repr(ref.external_id)}, code="not_found") from None
        try:
            return self._get_entity(wire.key(self.settings.incoming_set, letter_id), what="incoming letter")
        except RemoteRejected as exc:
            if exc.status == 404:
                raise RemoteRejected(N_("Directum letter {letter_id} not found"), params={"letter_id": letter_id},
                                     status=404, code="not_found", detail=exc.detail) from None
            raise

    def _executors(self, tasks: list[dict[str, Any]]) -> tuple[Executor, ...]:
        """One executor per action-item task, the earliest task's being the responsible one; RX action
        items run in parallel (order 0).  The unit is the employee's Department."""
        nav = self.settings.task_executor_property
        found: dict[str, Executor] = {}
        for index, task in enumerate(sorted(tasks, key=lambda t: int(t.get(wire.P_ID) or 0))):
            name = wire.nav_name(task, nav)
            if not name:
                continue
            employee = task.get(nav) or {}
            done = task.get(wire.P_STATUS) != wire.TASK_IN_PROCESS
            found[name] = Executor(
                name=name, department=wire.nav_name(employee, wire.P_DEPARTMENT), responsible=index == 0,
                due=wire.parse_date(task.get(wire.P_DEADLINE)),
                done_at=wire.parse_moment(task.get(wire.P_COMPLETED), self._context.zone) if done else None)
        return tuple(found.values())

    def _tasks_of(self, letter_id: int) -> list[dict[str, Any]]:
        s = self.settings
        expand = [f"{s.task_executor_property}($expand={wire.P_DEPARTMENT})"]
        if s.task_attachment_check:
            collection, prop = s.task_attachment_check.split("/")
            expand.append(f"{collection}($select={prop})")
        tasks = self._get_list(s.tasks_set, {"$filter": s.task_document_filter.replace("{id}", str(letter_id)),
                                             "$expand": ",".join(expand)})
        if not s.task_attachment_check:
            return tasks
        # Checked again here: a server that ignores the lambda must not put other letters' tasks on ours.
        return [t for t in tasks if letter_id in wire.collection_ids(t, s.task_attachment_check)]

    def _find_answer(self, letter_id: int) -> dict[str, Any] | None:
        """The latest registered answer pointing at the letter through ``InResponseTo`` or, when it answers
        several letters (``IsManyResponses``), through its ``InResponseToDocuments`` rows."""
        s = self.settings
        link = f"{s.answer_link_property}/{wire.P_ID}"
        queries = [(wire.eq(link, letter_id), s.answer_link_property)]
        if s.answer_links_collection:
            collection, nav = s.answer_links_collection.split("/")
            queries.append((f"{collection}/any(d: d/{nav}/{wire.P_ID} eq {int(letter_id)})",
                            f"{collection}($expand={nav}($select={wire.P_ID}))"))
        answers: dict[int, dict[str, Any]] = {}
        for filter_, expand in queries:
            for answer in self._get_list(s.outgoing_set, {"$filter": filter_,
                                                          "$expand": f"{wire.P_OUR_SIGNATORY},{expand}"}):
                answers.setdefault(int(answer[wire.P_ID]), {}).update(answer)
        # Checked again here: an installation that ignores an unknown filter must not hand us others' answers.
        registered = [a for a in answers.values() if a.get(wire.P_REG_STATE) == wire.REG_STATE_REGISTERED
                      and a.get(wire.P_REG_NUMBER) and self._answers_letter(a, letter_id)]
        return max(registered, key=lambda a: (str(a.get(wire.P_REG_DATE) or ""), int(a[wire.P_ID])), default=None)

    def _answers_letter(self, answer: dict[str, Any], letter_id: int) -> bool:
        s = self.settings
        if wire.nav_id(answer, s.answer_link_property) == letter_id:
            return True
        return bool(s.answer_links_collection) and letter_id in wire.collection_ids(answer, s.answer_links_collection)

    def _get_list(self, path: str, params: Params) -> list[dict[str, Any]]:
        resp = self._send("GET", path, params=params, what=path.split("(")[0])
        try:
            return wire.collection(resp.content)
        except wire.MalformedReply as exc:
            raise TransientError(N_("Directum RX sent a malformed reply to GET {path}"),
                                 params={"path": path.split("(")[0]}, detail=str(exc)) from None

    def _get_entity(self, path: str, *, what: str) -> dict[str, Any]:
        resp = self._send("GET", path, what=what)
        try:
            return wire.entity(resp.content)
        except wire.MalformedReply as exc:
            raise TransientError(N_("Directum RX sent a malformed {what}"), params={"what": what},
                                 detail=str(exc)) from None

    def _card_url(self, letter_id: int) -> str:
        s = self.settings
        if not s.web_url or not s.incoming_type_guid:
            return ""
        return f"{s.web_url.rstrip('/')}/Client/#/card/{s.incoming_type_guid}/{letter_id}"

    # --- transport and error table -------------------------------------------------------------------
    def _send(self, method: str, path: str, *, what: str, params: Params | None = None,
              json_body: dict[str, Any] | None = None, data: IO[bytes] | bytes | None = None,
              accept: str = "application/json", once: bool = False) -> requests.Response:
        """One OData call through the one error table; ``once``: a create, never sent twice."""
        url = f"{self.settings.url}/{path}"
        if params:
            url += "?" + wire.query_string(params)
        headers = {"Accept": accept}
        if json_body is not None or data is not None:
            headers["Content-Type"] = wire.JSON_CONTENT_TYPE
        if json_body is not None:
            data = _json_bytes(json_body)
        send = self._session.call_once if once else self._session.call
        return send(method, url, peer=self._peer, what=f"{method} {what}", check=_error_text, data=data,
                    headers=headers)


def _error_text(response: requests.Response, resolution: Resolution) -> Resolution:
    """A refused or failed call carries the server's text (either OData error shape) in ``detail``:
    it may echo our data, so never in the operator message.  404 is ``not_found``."""
    if (resolution.status or 0) < 400 or resolution.error is AuthError:
        return resolution
    return resolution.refine(detail=wire.error_text(response.content) or None,
                             code="not_found" if resolution.status == 404 else None)


def _json_bytes(body: Mapping[str, Any]) -> bytes:
    return json.dumps(body, ensure_ascii=False).encode("utf-8")


def _b64decode(value: Any) -> bytes:
    if not isinstance(value, str):
        return b""
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise TransientError(N_("Directum RX sent a body that is not base64"), detail=str(exc)[:200]) from None
