"""State of the МЭДО simulator: documents received from the adapter's outbox and the notifications sent back.

One lock guards everything, so the control app, the polling thread and tests may call in parallel.
"""

from __future__ import annotations

import hashlib
import random
import threading
import uuid
import zipfile
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from connector.edms_adapters.medo import incoming, mailbox, wire
from connector.simulators.base import LOCAL_ZONE
from connector.simulators.medo import control
from connector.simulators.medo.writer import SIM_ORGANIZATION, PackageWriter

EXECUTORS = ("Иванова Мария Сергеевна", "Кузнецов Алексей Петрович", "Соколова Ольга Николаевна")
SIGNERS = ("Смирнова Елена Викторовна", "Волков Сергей Михайлович")
MAX_BYTES = 512 * 1024 * 1024


class UnknownTarget(KeyError):
    """An act named a document the simulator does not hold."""


@dataclass
class SimDoc:
    uid: str
    pos_id: str
    received_at: str
    status: str = "received"
    reg_number: str = ""
    reg_date: str = ""
    executor: str = ""
    deadline: str = ""
    reason: str = ""
    redirect_org: str = ""
    answer_uid: str = ""
    # the document as its sender numbered it: the foundation of every notification about it
    number: str = ""
    date: str = ""
    sender_org: str = ""
    text_sha256: str = ""
    files: list[dict[str, Any]] = field(default_factory=list)
    notifications: list[dict[str, str]] = field(default_factory=list)
    control_tasks: list[dict[str, str]] = field(default_factory=list)  # our control notifications (control.py)


class MedoState:
    def __init__(self, outbox: Path, inbox: Path, store: Path, *, encoding: str, seed: int,
                 clock: Callable[[], datetime], version: str = "2.2", header_created: bool = False) -> None:
        self.outbox, self.store = outbox, store
        self.writer = PackageWriter(inbox, encoding, version=version, header_created=header_created)
        self.clock = clock
        self.lock = threading.RLock()
        self.docs: dict[str, SimDoc] = {}
        self.rejected: list[dict[str, str]] = []
        self.answers: dict[str, dict[str, Any]] = {}
        self.hostile: list[dict[str, str]] = []
        self.delayed: list[Path] = []
        self.counters = {"reg": 0, "answer": 0, "duplicates": 0, "notifications": 0}
        self._random = random.Random(seed)
        # fault hooks, set by the app: called per notification; return names of hostile packages to precede it
        self.before_notification: Callable[[], list[str]] = lambda: []
        self.duplicate: Callable[[], bool] = lambda: False
        self.delay: Callable[[], bool] = lambda: False
        self.traversal: Callable[[], bool] = lambda: False

    def new_uid(self) -> str:
        return str(uuid.UUID(int=self._random.getrandbits(128), version=4))

    # --- intake of the adapter's outbox -------------------------------------------------------------------
    def process(self) -> dict[str, Any]:
        """Complete delayed packages, then take every new outbox package and answer it."""
        with self.lock:
            for package in self.delayed:
                self.writer.complete(package)
            self.delayed.clear()
            taken: list[str] = []
            for entry in sorted(p for p in self.outbox.iterdir() if not p.name.startswith(".")):
                if entry.is_dir() and (entry / wire.DOCUMENT_XML).is_file():
                    taken.append(self._take(entry))
            return {"taken": taken}

    def _take(self, entry: Path) -> str:
        self.store.mkdir(parents=True, exist_ok=True)
        target = self.store / entry.name
        if target.exists():
            target = self.store / f"{entry.name}.{self.new_uid()[:8]}"
        entry.rename(target)
        uid = entry.name
        try:
            root = wire.parse_safely((target / wire.DOCUMENT_XML).read_bytes())
            if control.is_notification(root):
                return control.take(self, root, entry.name)
            doc_el = root.find(wire.q("document"))
            uid = wire.attr(doc_el, "uid") or incoming.header_of(root).uid or uid
            wire.validate(root)
            info = incoming.parse_document(root)
            uid = info.uid or uid
            files, text_sha = self._files(target, info.container)
        except (wire.RejectedXml, OSError) as exc:
            return self._reject(uid, entry.name, str(exc))
        if uid in self.docs:
            self.counters["duplicates"] += 1
            return uid
        doc = SimDoc(uid=uid, pos_id=_pos_id(target, doc_el), received_at=self.clock().isoformat(),
                     files=files, text_sha256=text_sha, number=info.number, date=info.date,
                     sender_org=incoming.header_of(root).source_org)
        self.docs[uid] = doc
        self.counters["reg"] += 1
        doc.reg_number, doc.reg_date = f"ВХ-МЭДО-{self.counters['reg']:06d}", self.today().isoformat()
        doc.status = "accepted"
        self.notify(doc, wire.N_ACCEPTED, number=doc.reg_number, on=self.today())
        return uid

    def _files(self, package: Path, container: str) -> tuple[list[dict[str, Any]], str]:
        if not container:
            raise wire.RejectedXml("document without a transport container (2.7 expected)")
        mailbox.check_member_name(container)
        zpath = package / container
        if not zpath.is_file():
            raise wire.RejectedXml(f"container {container} named in document.xml is missing")
        members = mailbox.check_container(zpath, MAX_BYTES)
        if wire.PASSPORT_XML not in members:
            raise wire.RejectedXml("container without passport.xml")
        passport = wire.parse_safely(mailbox.read_member(zpath, wire.PASSPORT_XML, wire.MAX_XML_BYTES))
        wire.validate(passport, wire.CONTAINER_XSD)
        main, attachments = wire.parse_passport(passport)
        _check_as_receiver(passport, main, members)
        files = []
        text_sha = ""
        with zipfile.ZipFile(zpath) as zf:
            for name in (main, *attachments):
                if name not in members:
                    raise wire.RejectedXml(f"passport names {name!r} which is not in the container")
                digest, size = hashlib.sha256(), 0
                with zf.open(name) as fh:
                    while chunk := fh.read(1024 * 1024):
                        digest.update(chunk)
                        size += len(chunk)
                if name == main:
                    with zf.open(name) as fh:
                        if not fh.read(5).startswith(b"%PDF-"):
                            raise wire.RejectedXml(f"main document {name!r} is not a PDF file")
                    text_sha = digest.hexdigest()
                else:
                    files.append({"name": name, "size": size, "sha256": digest.hexdigest()})
        return files, text_sha

    def _reject(self, uid: str, package: str, reason: str) -> str:
        self.rejected.append({"uid": uid, "package": package, "reason": reason})
        if _is_guid(uid):
            doc = self.docs.setdefault(uid, SimDoc(uid=uid, pos_id="", received_at=self.clock().isoformat()))
            doc.status, doc.reason = "refused", reason
            self.notify(doc, wire.N_REFUSED, reason=f"Документ не прошёл проверку: {reason}"[:2000])
        return uid

    # --- notifications -----------------------------------------------------------------------------------
    def today(self) -> date:
        # Russian EDMS installations date their documents in local time, not UTC
        return self.clock().astimezone(LOCAL_ZONE).date()

    def notify(self, doc: SimDoc, kind: str, **kw: Any) -> str:
        for hostile in self.before_notification():
            self.write_hostile(hostile, doc.uid)
        uid, created = self.new_uid(), self.clock()
        root = self.writer.message(wire.TYPE_NOTIFICATION, uid, created)
        body = wire.notification(root, kind, doc.uid)
        self.writer.common_block(body, created, doc.sender_org, doc.number, doc.date)
        if kind == wire.N_ACCEPTED:
            wire.add_num(body, kw["number"], kw["on"])
        elif kind == wire.N_REFUSED:
            wire.sub(body, "reason", kw["reason"])
        elif kind == wire.N_EXECUTOR:
            wire.add_person(body, "executor", kw["executor"])
        elif kind == wire.N_PREPARED:
            wire.add_person(body, "signatory", wire.PersonInfo(person=kw["signer"]), signed=self.today())
        elif kind == wire.N_SENT:  # a document reference without a uid, as real senders write it (M4)
            report = wire.sub(body, "report")
            wire.sub(report, "organization", SIM_ORGANIZATION)
            wire.sub(report, "person", kw["signer"])
            wire.add_num(report, kw["number"], self.today())
            wire.sub(report, "comment", "Ответ заявителю")
        elif kind == wire.N_COURSE:
            wire.sub(body, "courseText", kw["course_text"])
            if kw.get("reference"):  # a document reference naming the organization it went to (M4)
                wire.sub(wire.sub(body, "reference"), "organization", kw["reference"])
        if kw.get("comment"):
            wire.sub(root.find(wire.q("notification")), "comment", kw["comment"][: wire.COMMENT_MAX])
        data = {wire.DOCUMENT_XML: self.writer.encode(root)}
        delayed = self.delay()
        self.delayed += [self.writer.write(uid, data, envelope=not delayed)] if delayed else []
        if not delayed:
            self.writer.write(uid, data)
        copies = 1
        if self.duplicate():
            self.writer.write(f"{uid}-dup", data)
            copies = 2
        self.counters["notifications"] += copies
        doc.notifications.append({"kind": kind, "uid": uid, "at": created.isoformat(), "copies": str(copies),
                                  "delayed": str(delayed).lower()})
        return uid

    def write_hostile(self, kind: str, doc_uid: str = "") -> str:
        with self.lock:
            uid = self.new_uid()
            self.writer.hostile(kind, uid, self.clock(), doc_uid or uid)
            self.hostile.append({"kind": kind, "package": uid})
            return uid

    # --- acts ----------------------------------------------------------------------------------------------
    def target(self, body: dict[str, Any]) -> SimDoc:
        uid, pos_id = str(body.get("uid") or ""), str(body.get("pos_id") or "")
        doc = self.docs.get(uid) if uid else next((d for d in self.docs.values() if d.pos_id == pos_id), None)
        if doc is None:
            raise UnknownTarget(f"no document for {uid or pos_id!r} (was it processed?)")
        return doc

    def assign(self, doc: SimDoc, body: dict[str, Any]) -> dict[str, Any]:
        doc.executor = str(body.get("executor") or self._random.choice(EXECUTORS))
        department = str(body.get("department") or "Отдел по работе с обращениями граждан")
        doc.status = "in_work"
        if doc.reg_date and not doc.deadline:
            doc.deadline = (date.fromisoformat(doc.reg_date) + timedelta(days=30)).isoformat()
        self.notify(doc, wire.N_EXECUTOR, executor=wire.PersonInfo(person=doc.executor, department=department),
                    comment=str(body.get("resolution") or "Рассмотреть и подготовить ответ заявителю"))
        return {"uid": doc.uid, "executor": doc.executor, "deadline": doc.deadline}

    def extend(self, doc: SimDoc, body: dict[str, Any]) -> dict[str, Any]:
        if body.get("deadline"):
            new = date.fromisoformat(str(body["deadline"]))
        else:
            base = date.fromisoformat(doc.deadline or doc.reg_date or self.today().isoformat())
            new = base + timedelta(days=int(body.get("days", 30)))
        doc.deadline, doc.status = new.isoformat(), "extended"
        self.notify(doc, wire.N_COURSE, course_text=f"{wire.EXTENSION_PREFIX} рассмотрения до {new.isoformat()}",
                    comment=str(body.get("comment") or ""))
        return {"uid": doc.uid, "deadline": doc.deadline}

    def redirect(self, doc: SimDoc, body: dict[str, Any]) -> dict[str, Any]:
        doc.status, doc.redirect_org = "redirected", str(body.get("org_id") or "")
        self.notify(doc, wire.N_COURSE, course_text=str(body.get("comment") or "Направлено по компетенции"),
                    reference=doc.redirect_org)
        return {"uid": doc.uid}

    def refuse(self, doc: SimDoc, body: dict[str, Any]) -> dict[str, Any]:
        doc.status, doc.reason = "refused", str(body.get("reason") or "Обращение не по компетенции")
        self.notify(doc, wire.N_REFUSED, reason=doc.reason)
        return {"uid": doc.uid}

    def answer(self, doc: SimDoc, body: dict[str, Any]) -> dict[str, Any]:
        signer = str(body.get("signer") or self._random.choice(SIGNERS))
        text = str(body.get("text") or "Ваше обращение рассмотрено. Вывоз мусора организован.")
        self.notify(doc, wire.N_PREPARED, signer=signer)
        self.counters["answer"] += 1
        uid, number = self.new_uid(), f"ИСХ-МЭДО-{self.counters['answer']:06d}"
        file_name = str(body.get("file_name") or "Ответ.pdf")
        content = str(body["content"]).encode() if body.get("content") else _pdf(text, uid)
        # without_file: the СЭД sends the signed answer with no file; a later answer act re-sends it complete
        sent: bytes | None = None if body.get("without_file") else content
        traversal = self.traversal()
        files = self.writer.answer_files(
            uid=uid, number=number, on=self.today(), text=text, signer=signer, decision=str(body.get("decision") or
                                                                                            "Разъяснено"),
            doc_uid=doc.uid, addressee="", file_name=file_name, content=sent, created=self.clock(),
            traversal=traversal)
        self.writer.write(uid, files)
        self.answers[uid] = {"doc_uid": doc.uid, "number": number, "signer": signer, "text": text,
                             "traversal": traversal,
                             "files": [] if sent is None else [{"name": file_name, "size": len(sent),
                                                                "sha256": hashlib.sha256(sent).hexdigest()}]}
        doc.status, doc.answer_uid = "answered", uid
        self.notify(doc, wire.N_SENT, signer=signer, number=number)
        return {"uid": doc.uid, "answer_uid": uid, "number": number}

    # --- views ---------------------------------------------------------------------------------------------
    def state(self) -> dict[str, Any]:
        with self.lock:
            return {"documents": {u: asdict(d) for u, d in self.docs.items()}, "answers": dict(self.answers),
                    "rejected": list(self.rejected), "hostile": list(self.hostile), "counters": dict(self.counters)}

    def summary(self) -> dict[str, Any]:
        with self.lock:
            by_pos: dict[str, int] = {}
            by_status: dict[str, int] = {}
            for d in self.docs.values():
                if d.pos_id:
                    by_pos[d.pos_id] = by_pos.get(d.pos_id, 0) + 1
                by_status[d.status] = by_status.get(d.status, 0) + 1
            return {"documents": len(self.docs), "by_pos_id": by_pos, "by_status": by_status,
                    "answers": len(self.answers), "rejected": len(self.rejected), "hostile": len(self.hostile),
                    "delayed": len(self.delayed), **self.counters}


def _pos_id(package: Path, doc_el: Any) -> str:
    """The sender's POS id, for the simulator's own bookkeeping (cards per POS id): the gateway's envelope
    subject names it; a «Документ» also carries it as document@id."""
    try:
        ini = wire.parse_ini(wire.decode_ini((package / wire.ENVELOPE_INI).read_bytes()))
    except OSError:
        ini = {}
    return wire.pos_id_of_subject(ini.get(wire.INI_LETTER, {}).get("ТЕМА", "")) or wire.attr(doc_el, "id")


def _check_as_receiver(passport: Any, main: str, members: dict[str, zipfile.ZipInfo]) -> None:
    """What a receiver of 2.7 containers checks, after the real writers (edms-public-clients.md M1): a PDF
    main document with its page count, attachments counted from 0, a named signature that is there."""
    ns = wire.C_NSMAP
    if not main.lower().endswith(".pdf"):
        raise wire.RejectedXml(f"main document {main!r} is not a PDF")
    pages = passport.findtext("c:document/c:pagesQuantity", namespaces=ns) or ""
    if not pages.isdigit() or int(pages) < 1:
        raise wire.RejectedXml("passport gives no pagesQuantity for the main document")
    orders = [a.findtext("c:order", namespaces=ns) for a in passport.iterfind("c:attachments/c:attachment",
                                                                               namespaces=ns)]
    if orders and orders != [str(i) for i in range(len(orders))]:
        raise wire.RejectedXml(f"attachment order {orders} does not count from 0")
    for sig in passport.iterfind("c:authors/c:author/c:sign/c:documentSignature", namespaces=ns):
        name = wire.attr(sig, "localName", wire.CONTAINER_NS)
        if name not in members or members[name].file_size == 0:
            raise wire.RejectedXml(f"signature {name!r} named in the passport is missing or empty")


def _pdf(text: str, uid: str) -> bytes:
    return (b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj << /Type /Catalog >> endobj\n% answer " + uid.encode() + b"\n"
            + text.encode("utf-8") + b"\n%%EOF\n")


def _is_guid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def utc_now() -> datetime:
    return datetime.now(UTC)
