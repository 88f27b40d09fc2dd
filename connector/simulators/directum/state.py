"""In-memory state of the Directum RX simulator: entity sets, versions with bodies, tasks, executor acts,
``$select`` and nested ``$expand`` (``$filter`` is parsed in ``query.py``).

Shapes follow public RX code, not our adapter (docs/edms.md, «Directum RX»): a task carries its text in
``ActionItem`` (``Text`` when ``SimNames.task_text_property`` says so), ``Author``/``AssignedBy``/
``Supervisor``, ``ExecutionState`` and its documents in the ``AttachmentDetails`` collection; an answer
points at a letter by ``InResponseTo`` and its ``InResponseToDocuments`` rows (only the rows when it
answers several, ``IsManyResponses``); an incoming letter needs ``DocumentKind``, ``BusinessUnit`` and
``Department``.  Unknown properties anywhere are a 400, as on a real OData server.

Pure state logic, no HTTP.  Every public method takes the one lock.  Bodies up to ``memory_limit``
bytes stay in memory; bigger ones go to a temporary directory removed on close or garbage collection.
"""

from __future__ import annotations

import hashlib
import random
import re
import shutil
import tempfile
import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, TypeAlias

from connector.edms_adapters.directum_rx import wire
from connector.simulators.base import LOCAL_ZONE
from connector.simulators.directum.teams import complete, completed_now, place_in_unit
from connector.simulators.teams import EXTENSION_DAYS, extends, plan_team, unit_of

EXECUTORS = ("Иванова Мария Сергеевна", "Кузнецов Алексей Петрович", "Соколова Ольга Николаевна",
             "Попов Дмитрий Андреевич", "Лебедева Анна Игоревна")
SIGNERS = ("Смирнова Елена Викторовна", "Волков Сергей Михайлович")
APPLICATIONS = (("Adobe Acrobat", "pdf"), ("Текстовый документ", "txt"), ("Microsoft Word", "docx"),
                ("Microsoft Word 97-2003", "doc"), ("Microsoft Excel", "xlsx"), ("Изображение JPEG", "jpg"),
                ("Изображение PNG", "png"), ("Изображение TIFF", "tif"), ("Архив ZIP", "zip"), ("RTF", "rtf"))
VERSIONS = "Versions"  # pseudo set of document versions (contained in a document)
TASK_ATTACHMENTS = "IActionItemExecutionTaskAttachmentDetails"  # pseudo set: rows of a task's AttachmentDetails
RESPONSE_ROWS = "IOutgoingLetterInResponseToDocuments"         # pseudo set: rows of InResponseToDocuments
QUESTION_ROWS = "IIncomingLetterQuestions"                     # pseudo set: an appeal's questions (appeals.py)
#: letter properties of appeals of every channel (DirectumAppealSettings' defaults) [UNSEEN in real RX]
APPEAL_PROPERTIES = ("ForwardedFrom", "ApplicantName", "ApplicantAddress", "ApplicantEmail", "NotForSstu")


class ODataError(Exception):
    """Becomes an HTTP error with one of Directum's error shapes."""

    def __init__(self, status: int, message: str, *, plain: bool = False) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.plain = plain  # True: {"error": "<text>"}; False: {"error": {"message": {"value": …}}}

    def payload(self) -> dict[str, Any]:
        return {"error": self.message} if self.plain else wire.error_json(self.message)


class UnknownTarget(KeyError):
    """An act named a letter the simulator does not hold."""


@dataclass(frozen=True)
class SimNames:
    """Installation-dependent names; defaults match DirectumRxSettings' defaults."""

    pos_id_property: str = wire.P_IN_NUMBER
    answer_link_property: str = wire.P_IN_RESPONSE_TO
    result_property: str = "ConsiderationResult"
    redirect_org_property: str = "RedirectedTo"
    redirect_comment_property: str = "RedirectComment"
    redirect_letter_number_property: str = "RedirectLetterNumber"
    redirect_letter_date_property: str = "RedirectLetterDate"
    rubric_property: str = "SstuRubricCode"
    extended_result: str = "Рассмотрение продлено"
    redirect_result: str = "Направлено по компетенции"
    refused_result: str = "Оставлено без ответа автору"
    answered_result: str = "Разъяснено"
    task_text_property: str = wire.P_ACTION_ITEM  # "Text": an older installation


@dataclass
class BodyRec:
    id: int
    size: int
    sha256: str
    data: bytes | None = None
    path: Path | None = None

    def read(self) -> bytes:
        if self.data is not None:
            return self.data
        assert self.path is not None
        return self.path.read_bytes()


_DOC_SCALARS = (wire.P_NAME, wire.P_SUBJECT, wire.P_NOTE, wire.P_REG_NUMBER, wire.P_REG_DATE, wire.P_REG_STATE,
                wire.P_LIFE_CYCLE, "Created")
_REFS = (wire.P_NAME, wire.P_STATUS)


def schema(names: SimNames) -> dict[str, tuple[tuple[str, ...], dict[str, str]]]:
    """Per entity set: (scalar properties, {navigation property: target set}).  ``Id`` is implicit."""
    return {
        wire.S_INCOMING: (_DOC_SCALARS + (wire.P_IN_NUMBER, wire.P_DATED, names.pos_id_property,
                                          names.result_property, names.redirect_org_property,
                                          names.redirect_comment_property, names.redirect_letter_number_property,
                                          names.redirect_letter_date_property, names.rubric_property,
                                          *APPEAL_PROPERTIES),
                          {wire.P_CORRESPONDENT: wire.S_PERSONS, wire.P_DOCUMENT_KIND: wire.S_DOCUMENT_KINDS,
                           wire.P_BUSINESS_UNIT: wire.S_BUSINESS_UNITS, wire.P_DEPARTMENT: wire.S_DEPARTMENTS,
                           wire.P_DELIVERY_METHOD: wire.S_DELIVERY_METHODS, "Addressee": wire.S_EMPLOYEES}),
        wire.S_OUTGOING: (_DOC_SCALARS + (wire.P_IS_MANY_RESPONSES,), {names.answer_link_property: wire.S_INCOMING,
                                         wire.P_OUR_SIGNATORY: wire.S_EMPLOYEES, wire.P_CORRESPONDENT: wire.S_PERSONS}),
        wire.S_PERSONS: ((wire.P_NAME, wire.P_LAST_NAME, wire.P_FIRST_NAME, wire.P_MIDDLE_NAME, wire.P_EMAIL,
                          wire.P_PHONES, wire.P_STATUS), {}),
        wire.S_TASKS: ((wire.P_SUBJECT, names.task_text_property, wire.P_STATUS, wire.P_DEADLINE, "Created",
                        wire.P_EXECUTION_STATE, wire.P_CLIENT_HYPERLINK, wire.P_COMPLETED),
                       {nav: wire.S_EMPLOYEES for nav in (wire.P_ASSIGNEE, wire.P_AUTHOR, wire.P_ASSIGNED_BY,
                                                          wire.P_SUPERVISOR)}),
        wire.S_SIMPLE_TASKS: ((wire.P_SUBJECT, wire.P_ACTIVE_TEXT, wire.P_IMPORTANCE, wire.P_STATUS, "Created"),
                              {wire.P_CONTROL_DOCUMENT: wire.S_INCOMING, wire.P_SUPERVISOR: wire.S_EMPLOYEES}),
        TASK_ATTACHMENTS: ((wire.P_ATTACHMENT_ID, wire.P_ENTITY_TYPE_GUID, wire.P_GROUP_ID), {}),
        RESPONSE_ROWS: ((), {wire.P_DOCUMENT: wire.S_INCOMING}),
        QUESTION_ROWS: ((wire.Q_RUBRIC, wire.Q_SUMMARY, wire.Q_RESULT, wire.Q_REDIRECT_ORG, wire.Q_REDIRECT_NUMBER,
                         wire.Q_REDIRECT_DATE), {wire.Q_ASSIGNEE: wire.S_EMPLOYEES, wire.Q_ANSWER: wire.S_OUTGOING}),
        wire.S_ASSIGNMENTS: ((wire.P_SUBJECT, wire.P_STATUS, wire.P_DEADLINE, "Created"),
                             {"Performer": wire.S_EMPLOYEES, "Task": wire.S_TASKS}),
        wire.S_EMPLOYEES: (_REFS, {wire.P_DEPARTMENT: wire.S_DEPARTMENTS}),
        wire.S_APPLICATIONS: ((wire.P_NAME, wire.P_EXTENSION), {}),
        wire.S_DOCUMENT_KINDS: (_REFS, {}),
        wire.S_BUSINESS_UNITS: (_REFS, {}),
        wire.S_DEPARTMENTS: (_REFS, {}),
        wire.S_DELIVERY_METHODS: (_REFS, {}),
        VERSIONS: ((wire.P_NUMBER, wire.P_NOTE, "Created"), {wire.P_ASSOCIATED_APP: wire.S_APPLICATIONS}),
    }


#: child collections: (parent set, collection property) → the pseudo set of its rows
COLLECTIONS = {(wire.S_TASKS, wire.P_ATTACHMENT_DETAILS): TASK_ATTACHMENTS,
               (wire.S_OUTGOING, wire.P_IN_RESPONSE_TO_DOCUMENTS): RESPONSE_ROWS,
               (wire.S_INCOMING, wire.P_QUESTIONS): QUESTION_ROWS}
CHILD_SETS = (VERSIONS, TASK_ATTACHMENTS, RESPONSE_ROWS, QUESTION_ROWS)
#: [INFERRED] captions of the required card properties in RX's refusal
REQUIRED_LETTER_REFS = {wire.P_DOCUMENT_KIND: "Вид документа", wire.P_BUSINESS_UNIT: "Наша организация",
                        wire.P_DEPARTMENT: "Подразделение"}
#: [INFERRED] the attachment group of an action item's documents (DocumentsGroup in Sungero's source)
DOCUMENTS_GROUP_ID = "804f50fe-f3da-411b-bb2e-e5373936e029"
#: [SEEN] the type GUID public RX code puts into task card links
TASK_TYPE_GUID = "83f2a537-0cf0-4429-ae76-e9a386ca53aa"
Expand: TypeAlias = dict[str, tuple[list[str] | None, "Expand"]]
DOCUMENT_SETS = (wire.S_INCOMING, wire.S_OUTGOING)
CREATABLE = (wire.S_INCOMING, wire.S_OUTGOING, wire.S_PERSONS, wire.S_SIMPLE_TASKS)


def _today() -> date:
    # Russian EDMS installations date their cards in local time, not UTC
    return datetime.now(LOCAL_ZONE).date()


def _dto(day: date, clock: str = "00:00:00") -> str:
    return f"{day.isoformat()}T{clock}+03:00"


class DirectumState:
    def __init__(self, *, seed: int = 1, names: SimNames | None = None, memory_limit: int = 1024 * 1024,
                 required_refs: tuple[str, ...] = tuple(REQUIRED_LETTER_REFS)) -> None:
        self.names = names or SimNames()
        self.schema = schema(self.names)
        self.entity_sets = [name for name in self.schema if name not in CHILD_SETS]
        self.required_refs = required_refs
        # (parent set, parent id, collection property) → ids of its rows in the collection's pseudo set
        self.children: dict[tuple[str, int, str], list[int]] = {}
        self.memory_limit = memory_limit
        self.lock = threading.RLock()
        self._random = random.Random(seed)
        self.entities: dict[str, dict[int, dict[str, Any]]] = {name: {} for name in self.schema}
        self.links: dict[tuple[str, int], dict[str, tuple[str, int]]] = {}
        self.owner: dict[int, tuple[str, int]] = {}     # version id → (document set, document id)
        self.bodies: dict[int, BodyRec] = {}            # version id → body
        self._ids: dict[str, int] = {}
        self._reg = {wire.S_INCOMING: 0, wire.S_OUTGOING: 0}
        # POS-id value → the letter a lookup on the POS-id property answers with (see :meth:`seed`)
        self.lookup_aliases: dict[str, int] = {}
        self.appeal_keys: dict[str, int] = {}  # seed key → letter (appeals.py)
        self._dir = Path(tempfile.mkdtemp(prefix="directum-sim-"))
        self._finalizer = weakref.finalize(self, shutil.rmtree, self._dir, True)
        # The simulator's fault ``answer_without_file_next``: the letter is signed with no version (no file).
        self.forget_answer_file: Callable[[], bool] = lambda: False
        for name in EXECUTORS + SIGNERS:
            self._insert(wire.S_EMPLOYEES, {wire.P_NAME: name, wire.P_STATUS: "Active"})
        for name, ext in APPLICATIONS:
            self._insert(wire.S_APPLICATIONS, {wire.P_NAME: name, wire.P_EXTENSION: ext})
        for set_name, name in ((wire.S_DOCUMENT_KINDS, "Обращение гражданина"), (wire.S_BUSINESS_UNITS, "Администрация"),
                               (wire.S_DEPARTMENTS, "Общий отдел"), (wire.S_DELIVERY_METHODS, "Эл. почта")):
            self._insert(set_name, {wire.P_NAME: name, wire.P_STATUS: "Active"})

    def close(self) -> None:
        self._finalizer()

    # --- entities ----------------------------------------------------------------------------------
    def _insert(self, set_name: str, values: dict[str, Any], links: dict[str, tuple[str, int]] | None = None) -> int:
        new_id = self._ids.get(set_name, 0) + 1
        self._ids[set_name] = new_id
        scalars: dict[str, Any] = {p: None for p in self.schema[set_name][0]}
        scalars.update(values)
        scalars[wire.P_ID] = new_id
        self.entities[set_name][new_id] = scalars
        self.links[(set_name, new_id)] = dict(links or {})
        return new_id

    def get(self, set_name: str, entity_id: int) -> dict[str, Any]:
        with self.lock:
            found = self.entities.get(set_name, {}).get(entity_id)
            if found is None:
                raise ODataError(404, f"Сущность {set_name}({entity_id}) не найдена.")
            return found

    def link(self, set_name: str, entity_id: int, nav: str) -> tuple[str, int] | None:
        return self.links.get((set_name, entity_id), {}).get(nav)

    def create(self, set_name: str, body: dict[str, Any]) -> int:
        """POST on an entity set or (``set_name == VERSIONS``) handled by :meth:`create_version`."""
        with self.lock:
            if set_name not in CREATABLE:
                raise ODataError(405, f"Создание сущностей {set_name} через сервис интеграции не поддерживается.")
            scalars, links = self._split_body(set_name, body)
            if set_name == wire.S_INCOMING:
                missing = [caption for prop, caption in ((wire.P_SUBJECT, "Содержание"),) if not scalars.get(prop)]
                missing += [caption for nav, caption in ((wire.P_CORRESPONDENT, "Корреспондент"),
                                                         *REQUIRED_LETTER_REFS.items())
                            if nav not in links and (nav == wire.P_CORRESPONDENT or nav in self.required_refs)]
                if missing:
                    raise ODataError(400, "Заполните обязательные свойства: " + ", ".join(missing) + ".")
            if set_name == wire.S_PERSONS:
                if not scalars.get(wire.P_LAST_NAME):
                    raise ODataError(400, "Заполните обязательное свойство: Фамилия.")
                full = " ".join(str(scalars.get(p) or "") for p in (wire.P_LAST_NAME, wire.P_FIRST_NAME,
                                                                     wire.P_MIDDLE_NAME)).split()
                scalars[wire.P_NAME] = " ".join(full)
            if set_name == wire.S_SIMPLE_TASKS:
                if not scalars.get(wire.P_SUBJECT) or wire.P_CONTROL_DOCUMENT not in links:
                    raise ODataError(400, "Заполните обязательные свойства: Тема, Документ.")
                scalars.setdefault(wire.P_STATUS, wire.TASK_IN_PROCESS)
                scalars.setdefault("Created", _dto(_today(), "09:00:00"))
            if set_name in DOCUMENT_SETS:
                scalars.setdefault("Created", _dto(_today(), "09:00:00"))
                scalars.setdefault(wire.P_LIFE_CYCLE, "Active")
                if not scalars.get(wire.P_NAME):
                    scalars[wire.P_NAME] = str(scalars.get(wire.P_SUBJECT) or "")
                self._register(set_name, scalars)
            return self._insert(set_name, scalars, links)

    def _register(self, set_name: str, scalars: dict[str, Any]) -> None:
        self._reg[set_name] += 1
        prefix = "ВХ" if set_name == wire.S_INCOMING else "ИСХ"
        scalars[wire.P_REG_NUMBER] = f"{prefix}-RX-{self._reg[set_name]:06d}"
        scalars[wire.P_REG_DATE] = _dto(_today())
        scalars[wire.P_REG_STATE] = wire.REG_STATE_REGISTERED

    def _split_body(self, set_name: str, body: dict[str, Any]) -> tuple[dict[str, Any], dict[str, tuple[str, int]]]:
        if not isinstance(body, dict):
            raise ODataError(400, "Тело запроса должно быть объектом JSON.")
        scalar_names, navs = self.schema[set_name]
        scalars: dict[str, Any] = {}
        links: dict[str, tuple[str, int]] = {}
        for name, value in body.items():
            if name.startswith("@odata."):
                continue
            if name.endswith("@odata.bind") and name[: -len("@odata.bind")] in navs:
                nav = name[: -len("@odata.bind")]
                links[nav] = self._bound(navs[nav], value)
            elif name in navs and isinstance(value, dict) and isinstance(value.get(wire.P_ID), int):
                links[name] = self._bound(navs[name], f"{navs[name]}({value[wire.P_ID]})")
            elif name in scalar_names:
                if isinstance(value, dict | list):
                    raise ODataError(400, f"Свойство '{name}' должно быть простым значением.")
                scalars[name] = value
            elif name != wire.P_ID:
                raise ODataError(400, f"The property '{name}' does not exist on type '{set_name[1:]}'. Make sure "
                                      "to only use property names that are defined by the type.")
        return scalars, links

    def _bound(self, target_set: str, value: Any) -> tuple[str, int]:
        match = re.search(r"(I\w+)\((\d+)\)$", str(value))
        if match is None:
            raise ODataError(400, f"Неверная ссылка на сущность: {str(value)[:80]}")
        bound_set, bound_id = match.group(1), int(match.group(2))
        if bound_set not in (target_set, "ICounterparties") or bound_id not in self.entities[target_set]:
            raise ODataError(400, f"Сущность {bound_set}({bound_id}) не найдена.")
        return target_set, bound_id

    # --- versions and bodies ---------------------------------------------------------------------------
    def versions_of(self, set_name: str, doc_id: int) -> list[dict[str, Any]]:
        with self.lock:
            return [v for vid, v in self.entities[VERSIONS].items() if self.owner.get(vid) == (set_name, doc_id)]

    def create_version(self, set_name: str, doc_id: int, body: dict[str, Any]) -> int:
        with self.lock:
            self.get(set_name, doc_id)
            scalars, links = self._split_body(VERSIONS, body)
            if wire.P_ASSOCIATED_APP not in links:
                raise ODataError(400, "Заполните обязательное свойство: Приложение-обработчик.")
            scalars.setdefault(wire.P_NUMBER, len(self.versions_of(set_name, doc_id)) + 1)
            scalars["Created"] = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
            version_id = self._insert(VERSIONS, scalars, links)
            self.owner[version_id] = (set_name, doc_id)
            return version_id

    def version(self, set_name: str, doc_id: int, version_id: int) -> dict[str, Any]:
        with self.lock:
            if self.owner.get(version_id) != (set_name, doc_id):
                raise ODataError(404, f"Версия {version_id} документа {set_name}({doc_id}) не найдена.")
            return self.entities[VERSIONS][version_id]

    def set_body(self, set_name: str, doc_id: int, version_id: int, content: bytes) -> BodyRec:
        with self.lock:
            self.version(set_name, doc_id, version_id)
            old = self.bodies.get(version_id)
            rec = BodyRec(id=version_id, size=len(content), sha256=hashlib.sha256(content).hexdigest())
            if len(content) > self.memory_limit:
                rec.path = self._dir / f"body-{version_id}"
                rec.path.write_bytes(content)
            else:
                rec.data = content
                if old is not None and old.path is not None:
                    old.path.unlink(missing_ok=True)
            self.bodies[version_id] = rec
            return rec

    def body(self, set_name: str, doc_id: int, version_id: int) -> BodyRec | None:
        with self.lock:
            self.version(set_name, doc_id, version_id)
            return self.bodies.get(version_id)

    # --- queries -------------------------------------------------------------------------------------
    def query(self, set_name: str, filter_text: str | None, *, ignore_lambdas: bool = False) -> list[dict[str, Any]]:
        """Entities matching ``filter_text``; ``ignore_lambdas``: every ``any(…)`` matches (a server that
        skips conditions it does not support)."""
        with self.lock:
            from connector.simulators.directum.query import parse_filter  # query.py reads this state back

            predicate = parse_filter(filter_text, self, set_name, ignore_lambdas) if filter_text else None
            return [e for e in self.entities[set_name].values() if predicate is None or predicate(e)]

    def resolve(self, set_name: str, entity: dict[str, Any], path: list[str]) -> Any:
        """Value of a property path (``Correspondent/Id``) on an entity; None through an empty link."""
        current_set, current = set_name, entity
        for nav in path[:-1]:
            target = self.link(current_set, int(current[wire.P_ID]), nav)
            if target is None:
                return None
            current_set, current = target[0], self.entities[target[0]][target[1]]
        return current.get(path[-1])

    def check_path(self, set_name: str, path: list[str]) -> None:
        current = set_name
        for nav in path[:-1]:
            navs = self.schema[current][1]
            if nav not in navs:
                raise ODataError(400, f"Could not find a property named '{nav}' on type '{current[1:]}'.")
            current = navs[nav]
        if path[-1] != wire.P_ID and path[-1] not in self.schema[current][0]:
            raise ODataError(400, f"Could not find a property named '{path[-1]}' on type '{current[1:]}'.")

    def collection_set(self, set_name: str, name: str) -> str | None:
        """The pseudo set of the rows of collection ``name`` of ``set_name``, None if there is none."""
        return COLLECTIONS.get((set_name, name))

    def rows(self, set_name: str, entity_id: int, name: str) -> list[dict[str, Any]]:
        child_set = COLLECTIONS[(set_name, name)]
        return [self.entities[child_set][i] for i in self.children.get((set_name, entity_id, name), [])]

    def add_row(self, set_name: str, entity_id: int, name: str, values: dict[str, Any],
                links: dict[str, tuple[str, int]] | None = None) -> int:
        row_id = self._insert(COLLECTIONS[(set_name, name)], values, links)
        self.children.setdefault((set_name, entity_id, name), []).append(row_id)
        return row_id

    def check_options(self, set_name: str, select: list[str] | None, expand: Expand) -> None:
        """A 400 for an unknown property in ``$select`` or ``$expand`` (also when nothing matches)."""
        scalars, navs = self.schema[set_name]
        for name in select or ():
            if name != wire.P_ID and name not in scalars:
                raise ODataError(400, f"Could not find a property named '{name}' on type '{set_name[1:]}'.")
        for nav, (nested_select, nested_expand) in expand.items():
            if set_name == VERSIONS and nav == wire.P_BODY:
                continue
            target = navs.get(nav) or self.collection_set(set_name, nav)
            if target is None:
                raise ODataError(400, f"Could not find a property named '{nav}' on type '{set_name[1:]}'.")
            self.check_options(target, nested_select, nested_expand)

    def serialize(self, set_name: str, entity: dict[str, Any], select: list[str] | None,
                  expand: Expand) -> dict[str, Any]:
        self.check_options(set_name, select, expand)
        out = {k: v for k, v in entity.items() if select is None or k in select}
        for nav, (nested_select, nested_expand) in expand.items():
            if set_name == VERSIONS and nav == wire.P_BODY:
                rec = self.bodies.get(int(entity[wire.P_ID]))
                out[nav] = None if rec is None else {wire.P_ID: rec.id}
                continue
            child_set = self.collection_set(set_name, nav)
            if child_set is not None:
                out[nav] = [self.serialize(child_set, row, nested_select, nested_expand)
                            for row in self.rows(set_name, int(entity[wire.P_ID]), nav)]
                continue
            target = self.link(set_name, int(entity[wire.P_ID]), nav)
            out[nav] = None if target is None else self.serialize(
                target[0], self.entities[target[0]][target[1]], nested_select, nested_expand)
        return out

    # --- seeding ---------------------------------------------------------------------------------------
    def seed(self, body: dict[str, Any]) -> dict[str, Any]:
        """Letters the adapter did not create: ``{"cards": [{"pos_id": …, "found_as": …}]}`` registers an
        incoming letter whose POS-id property is ``pos_id`` (``""``: empty) and, with ``found_as``, makes
        ``$filter=<POS-id property> eq '<found_as>'`` answer with it as well -- the foreign letter under
        another message's key that a restored base, a stale index or a property the installation computes
        or customises leaves behind."""
        if isinstance(body.get("appeals"), list):
            from connector.simulators.directum.appeals import seed_appeals

            return seed_appeals(self, body["appeals"])
        cards = body.get("cards")
        if not isinstance(cards, list) or not cards:
            raise ValueError('seed expects {"cards": [{"pos_id": "<its POS id>", "found_as": "<POS id>"}]}')
        created = []
        with self.lock:
            for card in cards:
                if not isinstance(card, dict):
                    raise ValueError(f"a seeded card is an object, got {card!r}")
                pos_id = str(card.get("pos_id", ""))
                person = self._insert(wire.S_PERSONS, {wire.P_LAST_NAME: "Заявитель", wire.P_NAME: "Заявитель",
                                                       wire.P_STATUS: wire.STATUS_ACTIVE})
                letter_id = self.create(wire.S_INCOMING, {
                    wire.P_SUBJECT: f"Обращение ПОС №{pos_id}" if pos_id else "Обращение гражданина",
                    self.names.pos_id_property: pos_id or None,
                    f"{wire.P_CORRESPONDENT}@odata.bind": wire.key(wire.S_PERSONS, person),
                    **{f"{nav}@odata.bind": wire.key(target, 1) for nav, target in
                       self.schema[wire.S_INCOMING][1].items() if nav in REQUIRED_LETTER_REFS}})
                if card.get("found_as"):
                    self.lookup_aliases[str(card["found_as"])] = letter_id
                created.append(letter_id)
        return {"created": created}

    def aliased(self, set_name: str, path: list[str], expected: Any, entity: dict[str, Any]) -> bool:
        """Whether a lookup of ``expected`` on the POS-id property answers with ``entity`` by a seeded alias."""
        return (set_name == wire.S_INCOMING and path == [self.names.pos_id_property]
                and self.lookup_aliases.get(str(expected)) == entity[wire.P_ID])

    # --- executor acts ---------------------------------------------------------------------------------
    def act(self, body: dict[str, Any]) -> dict[str, Any]:
        action = body.get("action")
        if action == "complete":  # one executor finishes its own task (connector.simulators.directum.teams)
            with self.lock:
                return complete(self, self._target(body), body.get("executor"))
        if action not in ("auto", "assign", "extend", "answer", "attach_answer_file", "redirect", "refuse"):
            raise ValueError(f"unknown action {action!r} (assign, extend, answer, attach_answer_file, redirect, "
                             "refuse, auto)")
        with self.lock:
            if action == "auto":
                return self._auto(bool(body.get("assign", True)), bool(body.get("answer", False)))
            letter_id = self._target(body)
            if action == "assign":
                task_id = self._assign(letter_id, body.get("executor"), body.get("due_date") or body.get("deadline"),
                                       body.get("resolution"), str(body.get("department") or ""))
                return {"letter_id": letter_id, "task_id": task_id}
            if action == "extend":
                due = self._extend(letter_id, int(body.get("days", 30)))
                return {"letter_id": letter_id, "deadline": due.isoformat()}
            if action == "answer":
                answer_id = self._answer(letter_id, body)
                return {"letter_id": letter_id, "answer_id": answer_id,
                        "reg_number": self.entities[wire.S_OUTGOING][answer_id][wire.P_REG_NUMBER]}
            if action == "attach_answer_file":  # the missing body is added to the answer later
                answer_id = self._answer_of(letter_id)
                return {"letter_id": letter_id, "answer_id": answer_id,
                        "version_id": self._attach(letter_id, answer_id, body)}
            n = self.names
            if action == "redirect":
                self._close(letter_id, n.redirect_result, {
                    n.redirect_org_property: str(body.get("org_id", "")),
                    n.redirect_comment_property: str(body.get("comment", "")),
                    n.redirect_letter_number_property: str(body.get("letter_number") or f"ИСХ-RX-{letter_id:06d}"),
                    n.redirect_letter_date_property: _dto(_today())})
            else:
                self._close(letter_id, n.refused_result, {})
            return {"letter_id": letter_id}

    def _target(self, body: dict[str, Any]) -> int:
        letters = self.entities[wire.S_INCOMING]
        if body.get("letter_id") is not None:
            found = int(body["letter_id"]) if int(body["letter_id"]) in letters else None
        else:
            pos_id = str(body.get("pos_id", ""))
            found = next((i for i, e in letters.items() if str(e.get(self.names.pos_id_property)) == pos_id), None)
        if found is None:
            raise UnknownTarget(f"no letter for {body.get('letter_id') or body.get('pos_id')!r}")
        return found

    def _employee(self, name: str, unit: str = "") -> int:
        emp_id = next((i for i, e in self.entities[wire.S_EMPLOYEES].items() if e[wire.P_NAME] == name), None)
        if emp_id is None:
            emp_id = self._insert(wire.S_EMPLOYEES, {wire.P_NAME: name, wire.P_STATUS: "Active"})
        place_in_unit(self, emp_id, unit or unit_of(name))
        return emp_id

    def tasks_of(self, letter_id: int) -> list[dict[str, Any]]:
        return [t for t in self.entities[wire.S_TASKS].values()
                if any(row[wire.P_ATTACHMENT_ID] == letter_id
                       for row in self.rows(wire.S_TASKS, t[wire.P_ID], wire.P_ATTACHMENT_DETAILS))]

    def _assign(self, letter_id: int, executor: str | None, due: str | None, resolution: str | None,
                unit: str = "") -> int:
        deadline = date.fromisoformat(due) if due else _today() + timedelta(days=30)
        employee = self._employee(executor or self._random.choice(EXECUTORS), unit)
        letter = self.entities[wire.S_INCOMING][letter_id]
        chief = (wire.S_EMPLOYEES, len(EXECUTORS) + 1)  # the first signer gives the resolution
        task_id = self._insert(wire.S_TASKS, {
            wire.P_SUBJECT: f"Исполнить поручение по документу {letter[wire.P_REG_NUMBER]}",
            self.names.task_text_property: resolution or "Рассмотреть обращение и подготовить ответ заявителю",
            wire.P_STATUS: wire.TASK_IN_PROCESS, wire.P_DEADLINE: _dto(deadline, "18:00:00"),
            "Created": _dto(_today(), "10:00:00"), wire.P_EXECUTION_STATE: wire.EXECUTION_ON_EXECUTION,
        }, {wire.P_ASSIGNEE: (wire.S_EMPLOYEES, employee), wire.P_AUTHOR: chief, wire.P_ASSIGNED_BY: chief,
            wire.P_SUPERVISOR: chief})
        self.entities[wire.S_TASKS][task_id][wire.P_CLIENT_HYPERLINK] = (
            f"https://rx.sim/DirectumRX/Client/#/card/{TASK_TYPE_GUID}/{task_id}")
        self.add_row(wire.S_TASKS, task_id, wire.P_ATTACHMENT_DETAILS, {
            wire.P_ATTACHMENT_ID: letter_id, wire.P_ENTITY_TYPE_GUID: wire.INCOMING_LETTER_TYPE_GUID,
            wire.P_GROUP_ID: DOCUMENTS_GROUP_ID})
        self._insert(wire.S_ASSIGNMENTS, {
            wire.P_SUBJECT: "Исполнение поручения", wire.P_STATUS: wire.TASK_IN_PROCESS,
            wire.P_DEADLINE: _dto(deadline, "18:00:00"), "Created": _dto(_today(), "10:00:00"),
        }, {"Performer": (wire.S_EMPLOYEES, employee), "Task": (wire.S_TASKS, task_id)})
        return task_id

    def _open_tasks(self, letter_id: int) -> list[dict[str, Any]]:
        return [t for t in self.tasks_of(letter_id) if t[wire.P_STATUS] == wire.TASK_IN_PROCESS]

    def _extend(self, letter_id: int, days: int) -> date:
        if not self._open_tasks(letter_id):
            self._assign(letter_id, None, None, None)
        dues = []
        for task in self._open_tasks(letter_id):
            due = (wire.parse_date(task[wire.P_DEADLINE]) or _today()) + timedelta(days=days)
            task[wire.P_DEADLINE] = _dto(due, "18:00:00")
            dues.append(due)
        self.entities[wire.S_INCOMING][letter_id][self.names.result_property] = self.names.extended_result
        return max(dues)

    def _close(self, letter_id: int, result: str, extra: dict[str, str]) -> None:
        task_ids = {t[wire.P_ID] for t in self.tasks_of(letter_id)}
        for task in self._open_tasks(letter_id):
            task[wire.P_STATUS] = "Completed"
            task[wire.P_COMPLETED] = completed_now()
        for assignment in self.entities[wire.S_ASSIGNMENTS].values():
            task_link = self.link(wire.S_ASSIGNMENTS, assignment[wire.P_ID], "Task")
            if task_link and task_link[1] in task_ids:
                assignment[wire.P_STATUS] = "Completed"
        letter = self.entities[wire.S_INCOMING][letter_id]
        letter[self.names.result_property] = result
        letter.update(extra)

    def _answer(self, letter_id: int, body: dict[str, Any]) -> int:
        letter = self.entities[wire.S_INCOMING][letter_id]
        pos_id = letter.get(self.names.pos_id_property) or letter_id
        text = str(body.get("text") or f"Уважаемый заявитель! По вашему обращению №{pos_id} сообщаем, "
                                       "что вопрос рассмотрен и необходимые меры приняты.")
        stem, _ext = wire.split_extension(self._file_name(letter_id, body))
        signer = self._employee(str(body.get("signer") or self._random.choice(SIGNERS)))
        # ``also_pos_ids``: one letter answers several (IsManyResponses): InResponseTo stays empty and the
        # rows of InResponseToDocuments name every letter, as RX's BeforeSave leaves it; a single answer
        # has InResponseTo and one row.
        answered = [letter_id] + [self._target({"pos_id": p}) for p in body.get("also_pos_ids") or ()]
        many = len(answered) > 1
        answer_id = self.create(wire.S_OUTGOING, {wire.P_SUBJECT: text, wire.P_NAME: stem,
                                                  wire.P_IS_MANY_RESPONSES: many})
        links = {wire.P_OUR_SIGNATORY: (wire.S_EMPLOYEES, signer)}
        if not many:
            links[self.names.answer_link_property] = (wire.S_INCOMING, letter_id)
        self.links[(wire.S_OUTGOING, answer_id)].update(links)
        for answered_id in answered:
            self.add_row(wire.S_OUTGOING, answer_id, wire.P_IN_RESPONSE_TO_DOCUMENTS, {},
                         {wire.P_DOCUMENT: (wire.S_INCOMING, answered_id)})
        if not (body.get("without_file") or self.forget_answer_file()):
            self._attach(letter_id, answer_id, body)
        for answered_id in answered:
            self._close(answered_id, str(body.get("result") or self.names.answered_result), {})
        return answer_id

    def answered_letters(self, answer_id: int) -> list[int]:
        """Letters an answer responds to: its InResponseTo and every InResponseToDocuments row."""
        found = [link[1] for link in [self.link(wire.S_OUTGOING, answer_id, self.names.answer_link_property)] if link]
        for row in self.rows(wire.S_OUTGOING, answer_id, wire.P_IN_RESPONSE_TO_DOCUMENTS):
            doc = self.link(RESPONSE_ROWS, row[wire.P_ID], wire.P_DOCUMENT)
            if doc and doc[1] not in found:
                found.append(doc[1])
        return found

    def _file_name(self, letter_id: int, body: dict[str, Any]) -> str:
        pos_id = self.entities[wire.S_INCOMING][letter_id].get(self.names.pos_id_property) or letter_id
        return str(body.get("file_name") or f"Ответ на обращение №{pos_id}.pdf")

    def attach_version(self, letter_id: int, answer_id: int, body: dict[str, Any]) -> int:
        return self._attach(letter_id, answer_id, body)

    def _attach(self, letter_id: int, answer_id: int, body: dict[str, Any]) -> int:
        _stem, ext = wire.split_extension(self._file_name(letter_id, body))
        pos_id = self.entities[wire.S_INCOMING][letter_id].get(self.names.pos_id_property) or letter_id
        app = next((i for i, a in self.entities[wire.S_APPLICATIONS].items() if a[wire.P_EXTENSION] == (ext or "pdf")), 1)
        version_id = self.create_version(wire.S_OUTGOING, answer_id, {
            wire.P_NOTE: "", f"{wire.P_ASSOCIATED_APP}@odata.bind": wire.key(wire.S_APPLICATIONS, app)})
        self.set_body(wire.S_OUTGOING, answer_id, version_id, _pdf_bytes(str(pos_id), int(body.get("file_size") or 0)))
        return version_id

    def _answer_of(self, letter_id: int) -> int:
        for answer_id in self.entities[wire.S_OUTGOING]:
            if letter_id in self.answered_letters(answer_id):
                return answer_id
        raise UnknownTarget(f"letter {letter_id} has no answer yet")

    def _auto(self, assign: bool, answer: bool) -> dict[str, Any]:
        counts = {"assigned": 0, "answered": 0}
        closed = {self.names.redirect_result, self.names.refused_result}
        answered = {i for answer_id in self.entities[wire.S_OUTGOING] for i in self.answered_letters(answer_id)}
        for letter_id, letter in list(self.entities[wire.S_INCOMING].items()):
            if letter.get(self.names.result_property) in closed or letter_id in answered \
                    or self.children.get((wire.S_INCOMING, letter_id, wire.P_QUESTIONS)):
                continue  # an appeal with question rows is answered per question (appeals.py)
            if assign and not self.tasks_of(letter_id):
                for step in plan_team(self._random, _today()):
                    self._assign(letter_id, step.executor, step.due.isoformat(), None, step.unit)
                counts["assigned"] += 1
            elif answer and extends(self._random):  # a term extended on a letter already worked on
                self._extend(letter_id, EXTENSION_DAYS)
            if answer:
                self._answer(letter_id, {})
                counts["answered"] += 1
        return counts

    # --- inspection --------------------------------------------------------------------------------------
    def _versions_json(self, set_name: str, doc_id: int) -> list[dict[str, Any]]:
        out = []
        for v in self.versions_of(set_name, doc_id):
            rec = self.bodies.get(v[wire.P_ID])
            app = self.link(VERSIONS, v[wire.P_ID], wire.P_ASSOCIATED_APP)
            out.append({"id": v[wire.P_ID], "number": v[wire.P_NUMBER], "note": v[wire.P_NOTE],
                        "name": wire.version_file_name(v[wire.P_NOTE]),
                        "extension": self.entities[wire.S_APPLICATIONS][app[1]][wire.P_EXTENSION] if app else "",
                        "size": rec.size if rec else None, "sha256": rec.sha256 if rec else None})
        return out

    def state(self) -> dict[str, Any]:
        with self.lock:
            n = self.names
            letters = {}
            for letter_id, e in self.entities[wire.S_INCOMING].items():
                corr = self.link(wire.S_INCOMING, letter_id, wire.P_CORRESPONDENT)
                letters[str(letter_id)] = {
                    "pos_id": e.get(n.pos_id_property), "subject": e[wire.P_SUBJECT],
                    "registration_number": e[wire.P_REG_NUMBER], "registration_date": e[wire.P_REG_DATE],
                    "correspondent_id": corr[1] if corr else None, "result": e.get(n.result_property),
                    "redirect_org": e.get(n.redirect_org_property), "redirect_comment": e.get(n.redirect_comment_property),
                    "refs": {nav: t[1] for nav, t in self.links[(wire.S_INCOMING, letter_id)].items()},
                    "versions": self._versions_json(wire.S_INCOMING, letter_id),
                    "tasks": [{"id": t[wire.P_ID], "status": t[wire.P_STATUS], "deadline": t[wire.P_DEADLINE],
                               "assignee": self._name_of(wire.S_TASKS, t[wire.P_ID], wire.P_ASSIGNEE)}
                              for t in self.tasks_of(letter_id)],
                    "control_tasks": [{"id": t[wire.P_ID], "subject": t[wire.P_SUBJECT], "text": t[wire.P_ACTIVE_TEXT]}
                                      for tid, t in self.entities[wire.S_SIMPLE_TASKS].items()
                                      if self.link(wire.S_SIMPLE_TASKS, tid, wire.P_CONTROL_DOCUMENT)
                                      == (wire.S_INCOMING, letter_id)],
                }
            outgoing = {}
            for answer_id, e in self.entities[wire.S_OUTGOING].items():
                link = self.link(wire.S_OUTGOING, answer_id, n.answer_link_property)
                outgoing[str(answer_id)] = {
                    "subject": e[wire.P_SUBJECT], "registration_number": e[wire.P_REG_NUMBER],
                    "in_response_to": link[1] if link else None,
                    "in_response_to_documents": self.answered_letters(answer_id),
                    "is_many_responses": bool(e.get(wire.P_IS_MANY_RESPONSES)),
                    "signer": self._name_of(wire.S_OUTGOING, answer_id, wire.P_OUR_SIGNATORY),
                    "versions": self._versions_json(wire.S_OUTGOING, answer_id)}
            return {"letters": letters, "outgoing": outgoing, "persons": len(self.entities[wire.S_PERSONS])}

    def _name_of(self, set_name: str, entity_id: int, nav: str) -> str:
        target = self.link(set_name, entity_id, nav)
        return str(self.entities[target[0]][target[1]][wire.P_NAME]) if target else ""

    def summary(self) -> dict[str, Any]:
        with self.lock:
            by_pos: dict[str, int] = {}
            for e in self.entities[wire.S_INCOMING].values():
                pos_id = str(e.get(self.names.pos_id_property) or "")
                if pos_id:
                    by_pos[pos_id] = by_pos.get(pos_id, 0) + 1
            return {"letters": len(self.entities[wire.S_INCOMING]), "outgoing": len(self.entities[wire.S_OUTGOING]),
                    "persons": len(self.entities[wire.S_PERSONS]), "versions": len(self.entities[VERSIONS]),
                    "bodies": len(self.bodies), "tasks": len(self.entities[wire.S_TASKS]), "by_pos_id": by_pos}


def _pdf_bytes(pos_id: str, size: int) -> bytes:
    head = (f"%PDF-1.4\n% Ответ на обращение №{pos_id}\n1 0 obj << /Type /Catalog >> endobj\n").encode()
    tail = b"\n%%EOF\n"
    if size <= len(head) + len(tail):
        return head + tail
    filler = hashlib.sha256(pos_id.encode()).digest() * ((size - len(head) - len(tail)) // 32 + 1)
    return head + filler[: size - len(head) - len(tail)] + tail
