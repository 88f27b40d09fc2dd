"""OnecDmAdapter: registers POS messages as cards in 1C:Document Management and follows them.

Error policy: the one table of :mod:`connector.transport`, and what the body says (the
:class:`_Reply` check, applied in :meth:`OnecDmAdapter._execute`):

=================================================  =====================================================
what came back                                     what we raise
=================================================  =====================================================
HTTP 401 / 403                                     AuthError (names URL and login, never the password)
requests Timeout / ConnectionError (after retries) Unreachable (health(): FatalAdapterError "cannot reach")
SOAP Fault (lock conflict, server exception)       TransientError, faultstring in ``detail`` (on a 5xx
                                                   retried by the session first)
HTTP 429 / 5xx after the session's retries         TransientError
HTTP 3xx                                           TransientError
other HTTP 4xx                                     RemoteRejected(status=…)
reply with a DTD / entities, or not XML            FatalAdapterError (protocol mismatch or hostile peer)
``return xsi:type="DMError"``                      RemoteRejected(code=kind by subject + description:
                                                   signature_required, size_mismatch, …), except "already
                                                   exists" on create (success), "not found" on retrieve
                                                   (absent); file storage unavailable: TransientError
a file whose decoded binaryData is not ``size``    TransientError (read again next cycle; nothing stored)
a card under our id whose externalObject/id is     ForeignCardError (straight to failures; the card is
not this message's POS id                          neither linked nor touched)
=================================================  =====================================================
"""

from __future__ import annotations

import logging
import mimetypes
import tempfile
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, time, timedelta
from typing import IO, TYPE_CHECKING, Any, ClassVar

import requests
from lxml import etree

from connector.domain import (
    Answer,
    AnswerFile,
    AppealAnswer,
    AppealQuestion,
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
from connector.edms_adapters.onec_dm import appeals, envelopes, replies, wire
from connector.edms_adapters.onec_dm.settings import OnecDmSettings
from connector.errors import AuthError, FatalAdapterError, Phrase, RemoteRejected, TransientError
from connector.i18n import N_
from connector.transport import Action, Peer, Resolution, Unreachable

if TYPE_CHECKING:
    import zeep

log = logging.getLogger(__name__)

_TEMP_BODY_THRESHOLD = 256 * 1024  # attachments above this are streamed from a temp file


class DmErrorRejected(RemoteRejected):
    """A ``DMError`` reply; ``reply`` tells callers whether it means "exists" or "not found"."""

    def __init__(self, request_type: str, reply: wire.DmErrorReply) -> None:
        code = reply.kind
        text = (N_("1C DMService refused {request} (DMError{code}) (the installation requires an electronic "
                   "signature: useDigitalSignatures)") if reply.signature_required
                else N_("1C DMService refused {request} (DMError{code})"))
        super().__init__(text, params={"request": request_type, "code": " " + code if code else ""},
                         code=code, detail=reply.text)
        self.reply = reply


def card_object_id(account: str, pos_id: str) -> str:
    return str(uuid.uuid5(wire.OBJECT_ID_NAMESPACE, f"{account}:{pos_id}"))


def file_object_id(doc_id: str, sha256: str, index: int) -> str:
    return str(uuid.uuid5(wire.OBJECT_ID_NAMESPACE, f"{doc_id}:{sha256}:{index}"))


class OnecDmAdapter:
    name: ClassVar[str] = "onec_dm"
    settings_model: ClassVar[type[AdapterSettings]] = OnecDmSettings
    capabilities: ClassVar[frozenset[str]] = frozenset({LIST_APPEALS, CREATE_CONTROL_TASK})

    def __init__(self, settings: OnecDmSettings, context: AdapterContext) -> None:
        self.settings = settings
        self._context = context
        session = context.session_factory()
        session.auth = (settings.login, settings.password.get_secret_value())
        self._session = session
        self._peer = Peer(Phrase(N_("1C DMService at {url}"), {"url": settings.url}),
                          credentials=Phrase(N_("the credentials of user {login}"), {"login": repr(settings.login)}))
        # zeep is imported here, not with the module: validating a configuration loads this class,
        # and `connector status` should not pay for a SOAP stack it never uses
        import zeep
        from zeep.transports import Transport

        self._zeep_settings = zeep.Settings(strict=True, forbid_dtd=True, forbid_entities=True,
                                            forbid_external=True, xml_huge_tree=settings.xml_huge_tree)
        # zeep uses OUR session (and so its retry policy) for everything it loads or sends.
        self._transport = Transport(session=session)
        self._client: zeep.Client | None = None
        #: what health() learnt about the installation, shown by ``connector edms check``
        self.health_details: dict[str, str] = {}

    # --- pipeline interface --------------------------------------------------------------------------
    def create_card(self, msg: PosMessage) -> CardRef:
        s = self.settings
        doc_id = card_object_id(msg.account, msg.pos_id)
        doc = self._retrieve_doc(doc_id, s.document_type)
        found = doc is not None
        if doc is None:
            try:
                ret = self._execute(wire.R_CREATE, self._create_envelope(doc_id, msg))
                doc = replies.parse_doc(wire.child(ret, "object")) if wire.child(ret, "object") is not None else None
                log.info("1C card created", extra={"doc_id": doc_id, "pos_id": msg.pos_id})
            except DmErrorRejected as exc:
                if not exc.reply.already_exists:
                    raise
                log.info("1C card already existed (earlier reply lost)", extra={"doc_id": doc_id})
                doc = self._retrieve_doc(doc_id, s.document_type)
                if doc is None:
                    raise TransientError(N_("1C DMService says card {doc_id} exists but does not return it "
                                            "as a {document_type}"),
                                         params={"doc_id": doc_id, "document_type": s.document_type}) from None
                found = True
        if found and doc is not None:
            # a card we did not just create is ours only if its externalObject carries this POS id
            prove_card_owner(msg, system="1C", card_id=doc_id, owner_pos_id=doc.external_id)
        self._reconcile_files(doc_id, msg.attachments)
        return CardRef(adapter=self.name, external_id=doc_id, url=doc.navigation_ref if doc else "")

    def get_card(self, ref: CardRef) -> CardState:
        doc = self._require_doc(ref)
        return self._state_of(ref, doc, self._find_answer(ref.external_id, doc.reg_date))

    def fetch_answer(self, ref: CardRef) -> Answer | None:
        doc = self._require_doc(ref)
        return self._answer_of(doc, self._find_answer(ref.external_id, doc.reg_date))

    def read_card(self, ref: CardRef) -> tuple[CardState, Answer | None]:
        """The document and its answer asked once for both (a ``CardReader``)."""
        doc = self._require_doc(ref)
        answer = self._find_answer(ref.external_id, doc.reg_date)
        state = self._state_of(ref, doc, answer)
        return state, self._answer_of(doc, answer) if state.stage is CardStage.ANSWER_READY else None

    def _state_of(self, ref: CardRef, doc: replies.DocInfo, answer: replies.DocInfo | None) -> CardState:
        s = self.settings
        tasks = self._tasks_of(ref.external_id, doc.reg_date)
        open_tasks = [t for t in tasks if not t.executed]
        dues = [t.due_date for t in (open_tasks or tasks) if t.due_date]
        latest = max(tasks, key=lambda t: (t.begin_date or date.min, t.id), default=None)
        result = doc.properties.get(s.result_property, "")
        stage = CardStage.REGISTERED
        if answer is not None:
            stage = CardStage.ANSWER_READY
        elif result in s.redirect_results:
            stage = CardStage.REDIRECTED
        elif result in s.refused_results:
            stage = CardStage.REFUSED
        elif result in s.extended_results:
            stage = CardStage.EXTENDED
        elif any(t.performer for t in open_tasks):
            stage = CardStage.IN_WORK
        return CardState(
            ref=ref,
            stage=stage,
            registration_number=doc.reg_number,
            registration_date=doc.reg_date,
            executors=self._executors(tasks),
            deadline=max(dues) if dues else None,
            resolution=latest.description if latest else "",
            redirect_org_id=doc.properties.get(s.redirect_org_property, "") if stage is CardStage.REDIRECTED else "",
            redirect_comment=doc.properties.get(s.redirect_comment_property, "")
            if stage is CardStage.REDIRECTED else "",
            redirect_letter_number=doc.properties.get(s.redirect_letter_number_property, "")
            if stage is CardStage.REDIRECTED else "",
            redirect_letter_date=wire.parse_date(doc.properties.get(s.redirect_letter_date_property, ""))
            if stage is CardStage.REDIRECTED else None,
            rubric_code=doc.properties.get(s.rubric_property, "").strip(),
        )

    def _executors(self, tasks: list[replies.TaskInfo]) -> tuple[Executor, ...]:
        """One executor per task, in turn order then task number; a person's later task of the same
        step (a re-assignment) replaces its earlier one."""
        zone = self._context.zone
        by_key: dict[tuple[str, int], Executor] = {}
        for task in sorted(tasks, key=lambda t: (t.order, t.number, t.id)):
            if not task.performer:
                continue
            by_key[(task.performer, task.order)] = Executor(
                name=task.performer, department=task.department, responsible=task.responsible, order=task.order,
                due=task.due_date, done_at=wire.parse_datetime(task.end_date, zone) if task.executed else None)
        return tuple(by_key.values())

    def _answer_of(self, doc: replies.DocInfo, answer: replies.DocInfo | None) -> Answer | None:
        if answer is None:
            return None
        return Answer(
            text=answer.summary or answer.title,
            signer=answer.signer,
            date=answer.reg_date or datetime.now(self._context.zone).date(),
            decision=doc.properties.get(self.settings.result_property, ""),
            files=self._answer_files(answer),
        )

    def _answer_files(self, answer: replies.DocInfo) -> tuple[AnswerFile, ...]:
        files = []
        for listed in self._files_of(answer.id, answer.type):
            full = self._retrieve_file(listed.id)
            name = full.name or listed.name
            ext = full.extension or listed.extension
            if ext and not name.lower().endswith("." + ext.lower()):
                name = f"{name}.{ext}"
            mime = mimetypes.guess_type(name)[0] or "application/octet-stream"
            files.append(AnswerFile(name=name, mime_type=mime, content=full.content or b""))
        return tuple(files)

    # --- capability list_appeals (appeals.py reads the cards) --------------------------------------------
    def appeals_enabled(self) -> bool:
        return self.settings.appeals.enabled

    def list_appeals(self, since: date, until: date) -> Iterator[EdmsAppeal]:
        kinds = set(self.settings.appeals.document_kinds)
        for obj in self._appeal_objects(since, until):
            card = appeals.parse_card(obj)
            if card.kind in kinds:
                yield self._appeal(card)

    def _appeal_objects(self, since: date, until: date) -> Iterator[etree._Element]:
        """Cards registered in [since, until]; a range 1С cuts is halved until each part comes whole."""
        env, req = wire.new_request(wire.R_OBJECT_LIST, self.settings.database_id)
        wire.sub(req, "type", self.settings.appeals.document_type)
        wire.add_query(req, [
            wire.Condition(wire.COND_REG_DATE, wire.format_datetime(since), wire.V_DATETIME, ">="),
            wire.Condition(wire.COND_REG_DATE_TO, wire.format_datetime(datetime.combine(until, time(23, 59, 59))),
                           wire.V_DATETIME, "<=")], self.settings.list_limit)
        ret = self._execute(wire.R_OBJECT_LIST, env)
        if replies.too_many(ret) and since < until:
            middle = since + (until - since) // 2
            yield from self._appeal_objects(since, middle)
            yield from self._appeal_objects(middle + timedelta(days=1), until)
            return
        if replies.too_many(ret):
            log.warning("1C appeal list of one day cut at its limit", extra={"day": since.isoformat(),
                                                                             "limit": self.settings.list_limit})
        yield from replies.objects_of(ret)

    def _appeal(self, card: appeals.AppealCard) -> EdmsAppeal:
        s, doc = self.settings, card.doc
        delivery, forwarded, applicant, flagged = appeals.card_facts(s, card)
        ref = CardRef(adapter=self.name, external_id=doc.id, url=doc.navigation_ref)
        if card.questions:
            questions = tuple(self._question(row) for row in card.questions)
        elif doc.external_id:
            questions = ()  # a POS card without question rows is reported through its message, as tracked
        else:
            questions = (self._card_question(ref, doc),)
        return EdmsAppeal(ref=ref, pos_id=doc.external_id, registration_number=doc.reg_number,
                          registration_date=doc.reg_date, delivery=delivery, forwarded=forwarded,
                          applicant=applicant, no_sstu=flagged, questions=questions)

    def _question(self, row: appeals.QuestionRow) -> AppealQuestion:
        answer_doc = self._retrieve_doc(row.answer_id, self.settings.answer_document_type) if row.answer_id else None
        answered = answer_doc is not None and bool(answer_doc.reg_number)
        answer = None
        if answer_doc is not None and answered:
            answer = AppealAnswer(text=answer_doc.summary or answer_doc.title, signer=answer_doc.signer,
                                  date=answer_doc.reg_date or datetime.now(self._context.zone).date(),
                                  files=self._answer_files(answer_doc))
        stage = appeals.question_stage(self.settings, row, answered)
        redirected = stage is CardStage.REDIRECTED
        return AppealQuestion(key=row.key, rubric_code=row.rubric, summary=row.summary,
                              executor=appeals.executor(row.executor), stage=stage, result=row.result, answer=answer,
                              redirect_org=row.redirect_org if redirected else "",
                              redirect_letter_number=row.redirect_number if redirected else "",
                              redirect_letter_date=row.redirect_date if redirected else None)

    def _card_question(self, ref: CardRef, doc: replies.DocInfo) -> AppealQuestion:
        """A card without question rows is one question: the card as ``get_card`` reads it."""
        state = self.get_card(ref)
        answer = self.fetch_answer(ref) if state.stage is CardStage.ANSWER_READY else None
        return AppealQuestion(
            key="1", rubric_code=state.rubric_code, summary=doc.title,
            executor=state.executors[0] if state.executors else None, stage=state.stage,
            result=doc.properties.get(self.settings.result_property, ""),
            answer=AppealAnswer(text=answer.text, signer=answer.signer, date=answer.date, files=answer.files)
            if answer is not None else None,
            redirect_org=state.redirect_org_id, redirect_letter_number=state.redirect_letter_number,
            redirect_letter_date=state.redirect_letter_date)

    def create_control_task(self, ref: CardRef, task: ControlTaskRequest) -> TaskRef:
        """The curator's «Поручение» on the card; its objectID is derived from ``task.key``: found, not
        created again, after a lost reply or a crash."""
        task_id = str(uuid.uuid5(wire.OBJECT_ID_NAMESPACE, "control:" + task.key))
        if self._retrieve(task_id, wire.T_CONTROL_TASK) is None:
            try:
                self._execute(wire.R_CREATE, envelopes.create_control_task(self.settings, task_id, ref.external_id,
                                                                           task))
                log.info("1C control task created", extra={"doc_id": ref.external_id, "task_id": task_id})
            except DmErrorRejected as exc:
                if not exc.reply.already_exists:
                    raise
        return TaskRef(adapter=self.name, external_id=task_id)

    def health(self) -> None:
        try:
            self.zeep_client()
            ret = self._execute(wire.R_GET_VERSION, wire.new_request(wire.R_GET_VERSION, self.settings.database_id)[0])
            version = wire.text(ret, "versionNumber")
            if version != wire.SUPPORTED_DM_VERSION:
                log.warning("untested DMService version", extra={"version": version})
            self._execute(wire.R_CURRENT_USER, wire.new_request(wire.R_CURRENT_USER, self.settings.database_id)[0])
            self.health_details = {"version": version, "useDigitalSignatures": self._use_digital_signatures()}
        except Unreachable as exc:
            raise FatalAdapterError(N_("cannot reach 1C DMService at {url}"), params={"url": self.settings.url},
                                    detail=exc.detail) from None

    def close(self) -> None:
        self._session.close()

    def zeep_client(self) -> zeep.Client:
        """The zeep client of the configured (or shipped) WSDL; loading it validates the WSDL."""
        import zeep

        if self._client is None:
            path = self.settings.wsdl or wire.WSDL_PATH
            try:
                self._client = zeep.Client(str(path), transport=self._transport, settings=self._zeep_settings)
            except (OSError, zeep.exceptions.Error, etree.XMLSyntaxError) as exc:
                raise FatalAdapterError(N_("cannot load the DMService WSDL {path}"), params={"path": path},
                                        detail=str(exc)) from None
        return self._client

    def _use_digital_signatures(self) -> str:
        """``DMGetSettingsRequest/useDigitalSignatures``: "true", "false", or "unknown" (older versions)."""
        try:
            ret = self._execute(wire.R_GET_SETTINGS, wire.new_request(wire.R_GET_SETTINGS, self.settings.database_id)[0])
        except (RemoteRejected, TransientError) as exc:
            if isinstance(exc, Unreachable):
                raise
            log.warning("1C DMGetSettingsRequest failed", extra={"problem": str(exc)})
            return "unknown"
        value = wire.text(ret, "useDigitalSignatures").lower()
        return value if value in ("true", "false") else "unknown"

    # --- building (pure envelopes in envelopes.py) ----------------------------------------------------
    def _new_object(self) -> etree._Element | None:  # S1: the template-filled card, asked before creating
        env = envelopes.new_object(self.settings)
        return wire.child(self._execute(wire.R_GET_NEW_OBJECT, env), "object") if env is not None else None

    def _create_envelope(self, doc_id: str, msg: PosMessage) -> etree._Element:
        return envelopes.create(self.settings, doc_id, msg, self._new_object())

    def _add_file(self, doc_id: str, file_id: str, att: StoredFile) -> None:
        env = envelopes.add_file(self.settings, doc_id, file_id, att, datetime.now(UTC))
        with tempfile.TemporaryFile() as body:
            wire.stream_envelope_with_file(env, att.path, body)
            body.seek(0)
            data: IO[bytes] | bytes = body if att.size > _TEMP_BODY_THRESHOLD else body.read()
            try:
                self._execute(wire.R_ADD_FILE, data)
            except DmErrorRejected as exc:
                if not exc.reply.already_exists:
                    raise
        log.info("1C file attached", extra={"doc_id": doc_id, "file_id": file_id, "size": att.size})

    # --- reading -----------------------------------------------------------------------------------
    def _retrieve(self, object_id: str, object_type: str, columns: tuple[str, ...] = ()) -> etree._Element | None:
        env, req = wire.new_request(wire.R_RETRIEVE, self.settings.database_id)
        wire.add_object_id(req, object_id, object_type, local="objectIds")
        for column in columns:
            wire.sub(req, "columnSet", column)
        try:
            ret = self._execute(wire.R_RETRIEVE, env)
        except DmErrorRejected as exc:
            if exc.reply.not_found:
                return None
            raise
        return replies.first(replies.objects_of(ret))

    def _retrieve_doc(self, doc_id: str, doc_type: str) -> replies.DocInfo | None:
        obj = self._retrieve(doc_id, doc_type)
        return replies.parse_doc(obj) if obj is not None else None

    def _require_doc(self, ref: CardRef) -> replies.DocInfo:
        doc = self._retrieve_doc(ref.external_id, self.settings.document_type)
        if doc is None:
            raise RemoteRejected(N_("1C card {card_id} not found"), params={"card_id": ref.external_id},
                                 code="not_found")
        return doc

    def _retrieve_file(self, file_id: str) -> replies.FileInfo:
        obj = self._retrieve(file_id, wire.T_FILE, ("objectId", "name", "extension", "size", wire.COLUMN_BINARY))
        if obj is None:
            raise RemoteRejected(N_("1C file {file_id} not found"), params={"file_id": file_id}, code="not_found")
        found = replies.parse_file(obj)
        if found.size_mismatch:
            # S4 checks this too: a cut reply or an empty binaryData must not become the answer's file
            raise TransientError(N_("1C file {file_id} arrived with {got} bytes, its size says {size}"),
                                 params={"file_id": file_id, "got": len(found.content or b""), "size": found.size})
        return found

    def _files_of(self, owner_id: str, owner_type: str) -> list[replies.FileInfo]:
        env, req = wire.new_request(wire.R_FILES_BY_OWNER, self.settings.database_id)
        owner = wire.sub(req, "owners")
        owner.set(f"{{{wire.XSI_NS}}}type", wire.dm_type(owner_type))
        wire.sub(owner, "name", "")
        wire.add_object_id(owner, owner_id, owner_type)
        for column in ("objectId", "name", "extension", "size"):
            wire.sub(req, "columnSet", column)
        return [replies.parse_file(o) for o in replies.objects_of(self._execute(wire.R_FILES_BY_OWNER, env))]

    def _object_list(self, object_type: str, attempts: list[list[wire.Condition]]) -> list[etree._Element]:
        """Objects of the first query in ``attempts`` (each narrower than the one before) that 1C returns
        whole.  DMService has no offset paging (S3): past ``query/limit`` it sets ``tooManyObjects``, so the
        only way to see everything that matters is to ask for less.  If even the narrowest is cut, its
        ``limit`` objects are used and a warning says so."""
        objs: list[etree._Element] = []
        for conditions in attempts:
            env, req = wire.new_request(wire.R_OBJECT_LIST, self.settings.database_id)
            wire.sub(req, "type", object_type)
            wire.add_query(req, conditions, self.settings.list_limit)
            ret = self._execute(wire.R_OBJECT_LIST, env)
            objs = list(replies.objects_of(ret))
            if not replies.too_many(ret):
                return objs
        log.warning("1C list cut at its limit even after narrowing",
                    extra={"type": object_type, "limit": self.settings.list_limit})
        return objs

    def _tasks_of(self, doc_id: str, registered: date | None) -> list[replies.TaskInfo]:
        s = self.settings
        target = [wire.Condition(wire.COND_TARGET, doc_id, wire.V_OBJECT_ID, ref_type=s.document_type)] \
            if s.task_target_condition else []
        attempts = [[*target, wire.Condition(wire.COND_EXECUTED, "true", wire.V_BOOLEAN)],
                    [*target, wire.Condition(wire.COND_EXECUTED, "false", wire.V_BOOLEAN)]]
        if registered is not None:  # a task is never older than its card's registration
            attempts.append([*attempts[-1], wire.Condition(wire.COND_BEGIN_DATE, wire.format_datetime(registered),
                                                           wire.V_DATETIME, ">=")])
        tasks = [replies.parse_task(o) for o in self._object_list(wire.T_TASK, attempts)]
        # A server that ignores the target condition (S3: unknown conditions are ignored) returns other
        # cards' tasks; their executors and deadlines must never land on this card.
        mine = [t for t in tasks if t.concerns(doc_id)]
        if len(mine) != len(tasks):
            log.info("1C returned tasks of other cards; dropped", extra={"doc_id": doc_id,
                                                                         "dropped": len(tasks) - len(mine)})
        return mine

    def _find_answer(self, doc_id: str, card_date: date | None) -> replies.DocInfo | None:
        s = self.settings
        link = [wire.Condition(s.answer_link_property, doc_id)]
        attempts = [link]
        if card_date is not None:  # an answer is registered on or after its card
            attempts.append([*link, wire.Condition(wire.COND_REG_DATE, wire.format_datetime(card_date),
                                                   wire.V_DATETIME, ">=")])
        docs = [replies.parse_doc(o) for o in self._object_list(s.answer_document_type, attempts)]
        # Checked again here: an installation that ignores an unknown condition must not hand us others' answers.
        registered = [d for d in docs if d.reg_number and d.properties.get(s.answer_link_property) == doc_id]
        return max(registered, key=lambda d: (d.reg_date or date.min, d.reg_number), default=None)

    def _reconcile_files(self, doc_id: str, attachments: tuple[StoredFile, ...]) -> None:
        if not attachments:
            return
        present = {f.id for f in self._files_of(doc_id, self.settings.document_type)}
        for index, att in enumerate(attachments):
            file_id = file_object_id(doc_id, att.sha256, index)
            if file_id not in present:
                self._add_file(doc_id, file_id, att)

    # --- transport and error table -------------------------------------------------------------------
    def _execute(self, request_type: str, envelope: etree._Element | bytes | IO[bytes]) -> etree._Element:
        s = self.settings
        data = wire.to_bytes(envelope) if isinstance(envelope, etree._Element) else envelope
        headers = {"Content-Type": wire.CONTENT_TYPE, "SOAPAction": f'"{wire.SOAP_ACTION}"'}
        reply = _Reply(self, request_type)
        self._session.call("POST", s.url, peer=self._peer, what=request_type, check=reply.check, data=data,
                           headers=headers).close()
        assert reply.ret is not None
        return reply.ret

    def _parse(self, content: bytes, *, strict: bool) -> etree._Element | None:
        """Parse a reply with zeep's safe loader.  ``strict``: a 2xx reply that is not clean XML is fatal;
        an error page (HTML from a proxy, say) just yields ``None``."""
        if not content.strip():
            if strict:
                raise FatalAdapterError(N_("{url} sent an empty reply"), params={"url": self.settings.url})
            return None
        import zeep.exceptions
        import zeep.loader

        parse: Callable[..., Any] = zeep.loader.parse_xml
        try:
            return parse(content, self._transport, settings=self._zeep_settings)  # type: ignore[no-any-return]
        except (zeep.exceptions.DTDForbidden, zeep.exceptions.EntitiesForbidden) as exc:
            raise FatalAdapterError(N_("refused a reply from {url}: it carries a DTD or entities"),
                                    params={"url": self.settings.url}, detail=type(exc).__name__) from None
        except zeep.exceptions.XMLSyntaxError as exc:
            if strict:
                text = (N_("{url} sent a reply that is not XML (a text node over 10 MB: set xml_huge_tree = true)")
                        if "huge" in str(exc).lower() else N_("{url} sent a reply that is not XML"))
                raise FatalAdapterError(text, params={"url": self.settings.url}, detail=str(exc)[:200]) from None
            return None


class _Reply:
    """The body check of one DMService call: a SOAP Fault (on any status), a reply without a
    ``return``, a ``DMError`` return.  Keeps the parsed ``return`` of a successful reply."""

    def __init__(self, adapter: OnecDmAdapter, request_type: str) -> None:
        self._adapter = adapter
        self._request_type = request_type
        self.ret: etree._Element | None = None

    def check(self, response: requests.Response, resolution: Resolution) -> Resolution:
        if resolution.error is AuthError:
            return resolution
        url = self._adapter.settings.url
        root = self._adapter._parse(response.content, strict=resolution.action is Action.SUCCESS)  # noqa: SLF001
        fault = wire.find_fault(root) if root is not None else None
        if fault is not None:
            return resolution.fail(TransientError, reason=f"SOAP Fault (HTTP {resolution.status})",
                                   detail=fault.faultstring)
        if resolution.action is not Action.SUCCESS:
            return resolution
        ret = wire.find_return(root) if root is not None else None
        if ret is None:
            return resolution.fail(FatalAdapterError(N_("{url} did not answer {request} like DMService "
                                                        "(no return element)"),
                                                     params={"url": url, "request": self._request_type}))
        error = wire.as_error(ret)
        if error is not None and error.storage_unavailable:
            return resolution.fail(TransientError(N_("1C file storage is unavailable ({request})"),
                                                  params={"request": self._request_type}, detail=error.text))
        if error is not None:
            return resolution.fail(DmErrorRejected(self._request_type, error))
        self.ret = ret
        return resolution
