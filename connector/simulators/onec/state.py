"""In-memory state of the 1C:Document Management simulator: documents, files, tasks, and executor acts.

Pure state logic, no HTTP.  Every public method takes the one lock, so the WSGI app may call it
from many threads.  Files up to ``memory_limit`` bytes stay in memory; bigger ones go to a
temporary directory removed when the state is closed or garbage-collected.
"""

from __future__ import annotations

import hashlib
import random
import shutil
import tempfile
import threading
import uuid
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from connector.edms_adapters.onec_dm import wire
from connector.simulators.base import LOCAL_ZONE
from connector.simulators.onec import control
from connector.simulators.onec.control import ControlTask
from connector.simulators.onec.team_acts import complete_task
from connector.simulators.teams import EXTENSION_DAYS, extends, plan_team, team_fields, unit_of

EXECUTORS = ("Иванова Мария Сергеевна", "Кузнецов Алексей Петрович", "Соколова Ольга Николаевна",
             "Попов Дмитрий Андреевич", "Лебедева Анна Игоревна")
SIGNERS = ("Смирнова Елена Викторовна", "Волков Сергей Михайлович")


class SimError(Exception):
    """Becomes a ``DMError`` reply; ``description`` follows 1C's wording."""

    def __init__(self, description: str, subject: str = "Ошибка при выполнении операции") -> None:
        super().__init__(description)
        self.description = description
        self.subject = subject


class UnknownTarget(KeyError):
    """An act named a document the simulator does not hold."""


@dataclass(frozen=True)
class SimNames:
    """Installation-dependent names; defaults match OnecDmSettings' defaults."""

    answer_link_property: str = "В ответ на"
    result_property: str = "Результат рассмотрения"
    redirect_org_property: str = "Перенаправлено в организацию"
    redirect_comment_property: str = "Комментарий к перенаправлению"
    redirect_letter_number_property: str = "Номер сопроводительного письма"
    redirect_letter_date_property: str = "Дата сопроводительного письма"
    extended_result: str = "Рассмотрение продлено"
    redirect_result: str = "Направлено по компетенции"
    refused_result: str = "Оставлено без ответа автору"
    answered_result: str = "Разъяснено"
    incoming_type: str = wire.T_INCOMING
    answer_type: str = wire.T_OUTGOING


@dataclass
class Doc:
    id: str
    type: str
    name: str = ""
    title: str = ""
    summary: str = ""
    external: dict[str, str] | None = None
    refs: dict[str, dict[str, str]] = field(default_factory=dict)   # documentType, folder, correspondent …
    reg_number: str = ""
    reg_date: date | None = None
    properties: dict[str, str] = field(default_factory=dict)
    signer: str = ""
    incoming_number: str = ""
    incoming_date: str = ""
    questions: list[dict[str, str]] = field(default_factory=list)  # an appeal's questions (appeals.py)

    @property
    def navigation_ref(self) -> str:
        return f"e1cib/data/Документ.{self.type[2:]}?ref={uuid.UUID(self.id).hex}" if _is_uuid(self.id) else ""


@dataclass
class FileRec:
    id: str
    owner_id: str
    owner_type: str
    name: str
    extension: str
    size: int
    sha256: str
    created: str
    data: bytes | None = None
    path: Path | None = None

    def read(self) -> bytes:
        if self.data is not None:
            return self.data
        assert self.path is not None
        return self.path.read_bytes()

    @property
    def full_name(self) -> str:
        return f"{self.name}.{self.extension}" if self.extension else self.name


@dataclass
class Task:
    id: str
    number: str
    target_id: str
    target_type: str
    performer: str
    description: str
    begin_date: date
    due_date: date
    executed: bool = False
    end_date: datetime | None = None
    department: str = ""       # the executor's unit
    responsible: bool = True   # ответственный исполнитель; False: соисполнитель
    order: int = 0             # 0: in parallel; 1, 2, …: in turn


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


class OnecState:
    def __init__(self, *, seed: int = 1, names: SimNames | None = None, memory_limit: int = 1024 * 1024) -> None:
        self.names = names or SimNames()
        self.memory_limit = memory_limit
        self.lock = threading.RLock()
        self._random = random.Random(seed)
        self.docs: dict[str, Doc] = {}
        self.files: dict[str, FileRec] = {}
        self.tasks: dict[str, Task] = {}
        # what "now" is for executors' acts (a test moves it to let terms run out); the EDMS's local time
        self.clock: Callable[[], datetime] = lambda: datetime.now(UTC)
        self.control_tasks: dict[str, ControlTask] = {}  # the rating loop's «Поручение» (simulators/onec/control.py)
        # Indexes, so 10 000 cards cost what a real infobase's indexes cost, not a full scan each.
        self._files_by_owner: dict[str, list[FileRec]] = {}
        self._tasks_by_target: dict[str, list[Task]] = {}
        self._docs_by_key: dict[tuple[str, str, str], list[Doc]] = {}
        self._counters = {"in": 0, "out": 0, "task": 0}
        self._dir = Path(tempfile.mkdtemp(prefix="onec-sim-"))
        self._finalizer = weakref.finalize(self, shutil.rmtree, self._dir, True)
        # The simulator's fault ``answer_without_file_next``: the clerk signs the answer and forgets the scan.
        self.forget_answer_file: Callable[[], bool] = lambda: False
        # Faults the SOAP handlers consult by name (file_storage_down, file_size_mismatch); the app wires
        # them to its FaultInjector.
        self.take_fault: Callable[[str], bool] = lambda name: False
        # S3: "this DO ignores byUser/limit": a server that drops conditions it does not know and
        # returns every task.  Off: unknown conditions and wrongly typed values are refused, as XDTO does.
        self.ignore_conditions = False
        # DMGetSettingsRequest/useDigitalSignatures; on: a file added without a signature is refused.
        self.use_digital_signatures = False

    def now(self) -> datetime:
        return self.clock().astimezone(LOCAL_ZONE)

    def today(self) -> date:
        # Russian EDMS installations date their cards in local time, not UTC
        return self.now().date()

    def close(self) -> None:
        self._finalizer()

    def new_id(self) -> str:
        return str(uuid.UUID(int=self._random.getrandbits(128), version=4))

    # --- SOAP-side operations ------------------------------------------------------------------
    def create_doc(self, doc: Doc) -> Doc:
        with self.lock:
            doc.id = doc.id or self.new_id()
            if doc.id in self.docs:
                raise SimError(f"Объект {doc.type} с идентификатором {doc.id} уже существует (object already exists)")
            if not doc.reg_number:
                self._register(doc)
            self.docs[doc.id] = doc
            for prop in self._indexed_properties():
                value = _doc_value(doc, prop)
                if value:
                    self._docs_by_key.setdefault((doc.type, prop, value), []).append(doc)
            return doc

    def _indexed_properties(self) -> tuple[str, ...]:
        """Properties fixed at creation (so an index on them never goes stale)."""
        return ("externalObject", self.names.answer_link_property)

    def _register(self, doc: Doc) -> None:
        kind, prefix = ("out", "ИСХ") if doc.type == self.names.answer_type else ("in", "ВХ")
        self._counters[kind] += 1
        today = self.today()
        doc.reg_number = f"{prefix}-{today.year}-{self._counters[kind]:06d}"
        doc.reg_date = today

    def add_file(self, rec: FileRec, content: bytes) -> FileRec:
        with self.lock:
            if rec.owner_id not in self.docs:
                raise SimError(f"Объект-владелец {rec.owner_id} не найден (object not found)")
            rec.id = rec.id or self.new_id()
            if rec.id in self.files:
                raise SimError(f"Файл с идентификатором {rec.id} уже существует (object already exists)")
            if rec.size and rec.size != len(content):
                raise SimError(f"Размер файла {rec.size} не совпадает с полученными данными ({len(content)})")
            rec.size = len(content)
            rec.sha256 = hashlib.sha256(content).hexdigest()
            if len(content) > self.memory_limit:
                rec.path = self._dir / rec.id
                rec.path.write_bytes(content)
            else:
                rec.data = content
            self.files[rec.id] = rec
            self._files_by_owner.setdefault(rec.owner_id, []).append(rec)
            return rec

    def lookup(self, object_id: str) -> Doc | FileRec | Task | ControlTask:
        with self.lock:
            found = self.docs.get(object_id) or self.files.get(object_id) or self.tasks.get(object_id) \
                or self.control_tasks.get(object_id)
            if found is None:
                raise SimError(f"Объект {object_id} не найден (object not found)")
            return found

    def files_of(self, owner_id: str) -> list[FileRec]:
        with self.lock:
            return list(self._files_by_owner.get(owner_id, ()))

    def tasks_of(self, target_id: str) -> list[Task]:
        with self.lock:
            return list(self._tasks_by_target.get(target_id, ()))

    def docs_where(self, doc_type: str, conditions: list[tuple[str, str, str]]) -> list[Doc]:
        with self.lock:
            candidates: list[Doc] | None = None
            for prop, value, op in conditions:
                if op.upper() != "LIKE" and prop in self._indexed_properties():
                    candidates = self._docs_by_key.get((doc_type, prop, value), [])
                    break
            pool = self.docs.values() if candidates is None else candidates
            return [d for d in pool if d.type == doc_type
                    and all(_match(_doc_value(d, p), v, op) for p, v, op in conditions)]

    # --- seeding ----------------------------------------------------------------------------------
    def seed(self, body: dict[str, Any]) -> dict[str, Any]:
        """Cards the adapter did not create: ``{"cards": [{"id": …, "pos_id": …}]}`` holds an incoming
        card under the given object id whose externalObject names ``pos_id`` (``""``: none) -- what a
        restored backup, a copied base or a hand-edited card leaves under another message's id."""
        if isinstance(body.get("appeals"), list):
            from connector.simulators.onec.appeals import seed_appeals

            return seed_appeals(self, body["appeals"])
        cards = body.get("cards")
        if not isinstance(cards, list) or not cards:
            raise ValueError('seed expects {"cards": [{"id": "<object id>", "pos_id": "<its POS id>"}]}')
        created = []
        with self.lock:
            for card in cards:
                if not isinstance(card, dict) or not _is_uuid(str(card.get("id", ""))):
                    raise ValueError(f"a seeded card needs a UUID id, got {card!r}")
                pos_id = str(card.get("pos_id", ""))
                title = f"Обращение ПОС №{pos_id}" if pos_id else "Обращение гражданина"
                doc = Doc(id=str(card["id"]), type=self.names.incoming_type, name=title, title=title,
                          summary=str(card.get("summary", "Зарегистрировано вручную")),
                          external={"name": "POS", "id": pos_id, "type": wire.EXTERNAL_TYPE_POS} if pos_id else None)
                try:
                    created.append(self.create_doc(doc).id)
                except SimError as exc:
                    raise ValueError(exc.description) from None
        return {"created": created}

    # --- executor acts ---------------------------------------------------------------------------
    def act(self, body: dict[str, Any]) -> dict[str, Any]:
        action = body.get("action")
        if action not in ("auto", "assign", "extend", "answer", "attach_answer_file", "redirect", "refuse",
                          "set_property", "complete"):
            raise ValueError(f"unknown action {action!r} (assign, complete, extend, answer, attach_answer_file, "
                             "redirect, refuse, auto, set_property)")
        with self.lock:
            if action == "auto":
                return self._auto(bool(body.get("assign", True)), bool(body.get("answer", False)))
            doc = self._target(body)
            if action == "set_property":  # what a clerk types into a card field
                doc.properties[str(body["name"])] = str(body.get("value", ""))
                return {"doc_id": doc.id}
            if action == "assign":
                task = self._assign(doc, body.get("executor"), body.get("due_date"), body.get("resolution"),
                                    team_fields(body))
                return {"doc_id": doc.id, "task_id": task.id}
            if action == "complete":  # one executor finishes its part (the first open one in turn by default)
                task = complete_task(self.tasks_of(doc.id), body.get("executor"), self.now())
                return {"doc_id": doc.id, "task_id": task.id}
            if action == "extend":
                return {"doc_id": doc.id, "due_date": self._extend(doc, int(body.get("days", 30))).isoformat()}
            if action == "answer":
                answer = self._answer(doc, body)
                return {"doc_id": doc.id, "answer_id": answer.id, "reg_number": answer.reg_number}
            if action == "attach_answer_file":  # the forgotten scan is added to the answer later
                answer = self._answer_of(doc)
                rec = self._attach(answer, (doc.external or {}).get("id") or doc.id, body)
                return {"doc_id": doc.id, "answer_id": answer.id, "file_id": rec.id}
            if action == "redirect":
                self._counters["letter"] = self._counters.get("letter", 0) + 1
                self._close(doc, self.names.redirect_result, {
                    self.names.redirect_org_property: str(body.get("org_id", "")),
                    self.names.redirect_comment_property: str(body.get("comment", "")),
                    self.names.redirect_letter_number_property: str(
                        body.get("letter_number") or f"ИСХ-{self.today().year}-{self._counters['letter']:06d}"),
                    self.names.redirect_letter_date_property: self.today().isoformat()})
                return {"doc_id": doc.id}
            self._close(doc, self.names.refused_result, {})
            return {"doc_id": doc.id}

    def _target(self, body: dict[str, Any]) -> Doc:
        if body.get("doc_id"):
            doc = self.docs.get(str(body["doc_id"]))
        else:
            pos_id = str(body.get("pos_id", ""))
            doc = next((d for d in self.docs.values() if d.type != self.names.answer_type
                        and d.external and d.external.get("id") == pos_id), None)
        if doc is None:
            raise UnknownTarget(f"no document for {body.get('doc_id') or body.get('pos_id')!r}")
        return doc

    def _assign(self, doc: Doc, executor: str | None, due: str | None, resolution: str | None,
                team: dict[str, Any] | None = None) -> Task:
        self._counters["task"] += 1
        today = self.today()
        performer = executor or self._random.choice(EXECUTORS)
        task = Task(id=self.new_id(), number=f"{self._counters['task']:08d}", target_id=doc.id, target_type=doc.type,
                    performer=performer,
                    description=resolution or "Рассмотреть обращение и подготовить ответ заявителю",
                    begin_date=today, due_date=date.fromisoformat(due) if due else today + timedelta(days=30),
                    **(team or {"department": unit_of(performer)}))
        self.tasks[task.id] = task
        self._tasks_by_target.setdefault(task.target_id, []).append(task)
        return task

    def _extend(self, doc: Doc, days: int) -> date:
        open_tasks = [t for t in self.tasks_of(doc.id) if not t.executed] or [self._assign(doc, None, None, None)]
        for task in open_tasks:
            task.due_date += timedelta(days=days)
        doc.properties[self.names.result_property] = self.names.extended_result
        return max(t.due_date for t in open_tasks)

    def _close(self, doc: Doc, result: str, extra: dict[str, str]) -> None:
        for task in self.tasks_of(doc.id):
            if not task.executed:
                task.executed, task.end_date = True, self.now()
        doc.properties[self.names.result_property] = result
        doc.properties.update(extra)

    def _answer(self, doc: Doc, body: dict[str, Any]) -> Doc:
        pos_id = (doc.external or {}).get("id") or doc.id
        answer = self.create_doc(Doc(
            id="", type=self.names.answer_type, name=f"Ответ на обращение №{pos_id}",
            title=f"Ответ на обращение №{pos_id}",
            summary=str(body.get("text") or f"Уважаемый заявитель! По вашему обращению №{pos_id} сообщаем, "
                                            "что вопрос рассмотрен и необходимые меры приняты."),
            signer=str(body.get("signer") or self._random.choice(SIGNERS)),
            properties={self.names.answer_link_property: doc.id}))
        if not (body.get("without_file") or self.forget_answer_file()):
            self._attach(answer, pos_id, body)
        self._close(doc, str(body.get("result") or self.names.answered_result), {})
        return answer

    def attach_file(self, answer: Doc, pos_id: str, body: dict[str, Any]) -> FileRec:
        return self._attach(answer, pos_id, body)

    def _attach(self, answer: Doc, pos_id: str, body: dict[str, Any]) -> FileRec:
        file_name = str(body.get("file_name") or f"Ответ на обращение №{pos_id}.pdf")
        stem, dot, ext = file_name.rpartition(".")
        content = _pdf_bytes(pos_id, int(body.get("file_size") or 0))
        return self.add_file(FileRec(id="", owner_id=answer.id, owner_type=answer.type,
                                     name=stem if dot else file_name, extension=ext if dot else "", size=0,
                                     sha256="", created=wire.format_datetime(datetime.now(UTC))), content)

    def _answer_of(self, doc: Doc) -> Doc:
        found = self._docs_by_key.get((self.names.answer_type, self.names.answer_link_property, doc.id))
        if not found:
            raise UnknownTarget(f"document {doc.id!r} has no answer yet")
        return found[-1]

    def _auto(self, assign: bool, answer: bool) -> dict[str, Any]:
        counts = {"assigned": 0, "answered": 0}
        closed = {self.names.redirect_result, self.names.refused_result}
        answered = {d.properties.get(self.names.answer_link_property) for d in self.docs.values()
                    if d.type == self.names.answer_type}
        for doc in [d for d in self.docs.values() if d.type != self.names.answer_type]:
            if doc.properties.get(self.names.result_property) in closed or doc.id in answered or doc.questions:
                continue  # an appeal with question rows is answered per question (appeals.py)
            if assign and not self.tasks_of(doc.id):
                for step in plan_team(self._random, self.today()):
                    self._assign(doc, step.executor, step.due.isoformat(), None,
                                 {"department": step.unit, "responsible": step.responsible, "order": step.order})
                counts["assigned"] += 1
            elif answer and extends(self._random):  # a term extended on a card already worked on
                self._extend(doc, EXTENSION_DAYS)
            if answer:
                self._answer(doc, {})
                counts["answered"] += 1
        return counts

    # --- inspection ------------------------------------------------------------------------------
    def state(self) -> dict[str, Any]:
        with self.lock:
            return {"documents": {d.id: self._doc_json(d) for d in self.docs.values()}}

    def _doc_json(self, d: Doc) -> dict[str, Any]:
        return {
            "type": d.type, "name": d.name, "title": d.title, "summary": d.summary, "externalObject": d.external,
            "registrationNumber": d.reg_number, "registrationDate": d.reg_date.isoformat() if d.reg_date else None,
            "properties": dict(d.properties), "signer": d.signer, "refs": dict(d.refs), "questions": list(d.questions),
            "files": [{"id": f.id, "name": f.full_name, "size": f.size, "sha256": f.sha256} for f in self.files_of(d.id)],
            "tasks": [{"id": t.id, "performer": t.performer, "dueDate": t.due_date.isoformat(),
                       "executed": t.executed, "description": t.description, "department": t.department,
                       "responsible": t.responsible, "order": t.order,
                       "endDate": t.end_date.isoformat() if t.end_date else None} for t in self.tasks_of(d.id)],
            "controlTasks": control.as_json(self, d.id),
        }

    def summary(self) -> dict[str, Any]:
        with self.lock:
            by_external: dict[str, int] = {}
            for d in self.docs.values():
                if d.external and d.external.get("id"):
                    by_external[d.external["id"]] = by_external.get(d.external["id"], 0) + 1
            return {
                "documents": len(self.docs),
                "incoming": sum(d.type != self.names.answer_type for d in self.docs.values()),
                "answers": sum(d.type == self.names.answer_type for d in self.docs.values()),
                "files": len(self.files), "tasks": len(self.tasks), "by_external_id": by_external,
            }


def _doc_value(doc: Doc, prop: str) -> str:
    if prop in ("name", "title", "summary"):
        return str(getattr(doc, prop))
    if prop == "regNumber":
        return doc.reg_number
    if prop == "regDate":
        return wire.format_datetime(doc.reg_date) if doc.reg_date else ""
    if prop == "externalObject":
        return (doc.external or {}).get("id", "")
    return doc.properties.get(prop, "")


def _match(actual: str, expected: str, operator: str) -> bool:
    op = operator.upper()
    if op == "LIKE":
        return expected.strip("%").lower() in actual.lower()
    if op in (">=", "<="):  # ISO dates and datetimes compare as text
        return actual >= expected if op == ">=" else actual <= expected
    return actual == expected


def _pdf_bytes(pos_id: str, size: int) -> bytes:
    head = (f"%PDF-1.4\n% Ответ на обращение №{pos_id}\n1 0 obj << /Type /Catalog >> endobj\n").encode()
    tail = b"\n%%EOF\n"
    if size <= len(head) + len(tail):
        return head + tail
    filler = hashlib.sha256(pos_id.encode()).digest() * ((size - len(head) - len(tail)) // 32 + 1)
    return head + filler[: size - len(head) - len(tail)] + tail
