"""MedoAdapter: sends POS messages as МЭДО 2.7 transport containers and follows them through notifications.

МЭДО is asynchronous: ``create_card`` drops a package into the outbox; ``get_card``/``fetch_answer``
first fold whatever the gateway dropped into the inbox (at most every ``scan_interval_seconds`` unless
the inbox changed) into a sqlite index, then answer from the index.

Decisions (edms.md leaves them open):

* Before ``documentAccepted`` arrives ``get_card`` returns stage REGISTERED with an empty registration
  number (not TransientError: acceptance can take days and must not burn the retry budget).
* A ``courseChanged`` whose courseText starts with «Продление срока» and carries a date
  (``YYYY-MM-DD`` or ``DD.MM.YYYY``) is a term extension → EXTENDED with that deadline; any other
  courseChanged is a redirect → REDIRECTED (redirect_org_id = ``reference``, comment = courseText).
* Deadline = the extension date if any, else registration date + ``answer_days`` once the card is past
  REGISTERED (МЭДО carries no deadline).
* Stages never go back: REGISTERED < IN_WORK < EXTENDED < {ANSWER_READY, REDIRECTED, REFUSED}.
* Card identity: the "card" is the package sent under the deterministic document uid.  What we hold
  under that uid -- a package still in the outbox (the POS id in our INI subject) and our send log -- must name
  this POS id, else ForeignCardError (a restored or hand-copied outbox, a copied data_dir).
  Notifications cannot be checked: xdms notifications carry only the document uid and the receiver's
  own registration, no POS id; and since the uid is derived from (account, POS id) in our namespace,
  a notification about it answers the package written for this message (or one lost in a crash
  before the send log was written), so it counts as sent.

Error table: a missing/unusable directory → FatalAdapterError naming it; other OSError while writing
the outbox → TransientError; a package bigger than ``max_package_mb`` → SkippableItemError; a hostile
or invalid inbox package → quarantined (never an exception).  No message carries applicant data.
"""

from __future__ import annotations

import dataclasses
import logging
import mimetypes
import os
import shutil
import threading
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

from connector.domain import (
    Answer,
    AnswerFile,
    CardRef,
    CardStage,
    CardState,
    ControlTaskRequest,
    Executor,
    PosMessage,
    TaskRef,
)
from connector.edms_adapters.base import (
    CREATE_CONTROL_TASK,
    LIST_APPEALS,
    AdapterContext,
    AdapterSettings,
    prove_card_owner,
)
from connector.edms_adapters.medo import control, incoming, mailbox, outgoing, pdf, wire
from connector.edms_adapters.medo.settings import MedoSettings
from connector.errors import FatalAdapterError, SkippableItemError, TransientError
from connector.i18n import N_

log = logging.getLogger(__name__)

#: Never change: document uids of packages already sent depend on it.
DOCUMENT_UID_NAMESPACE = uuid.UUID("3b0c6f0e-5d1a-5c7e-8f42-6a9d2e71c4b8")
_RANK = {CardStage.REGISTERED: 0, CardStage.IN_WORK: 1, CardStage.EXTENDED: 2, CardStage.ANSWER_READY: 3,
         CardStage.REDIRECTED: 3, CardStage.REFUSED: 3}


def document_uid(account: str, pos_id: str) -> str:
    return str(uuid.uuid5(DOCUMENT_UID_NAMESPACE, f"{account}:{pos_id}"))


class MedoAdapter:
    name: ClassVar[str] = "medo"
    settings_model: ClassVar[type[AdapterSettings]] = MedoSettings
    # control tasks travel as a notification package («courseChanged», На контроль) about our document
    capabilities: ClassVar[frozenset[str]] = frozenset({CREATE_CONTROL_TASK})
    unsupported: ClassVar[dict[str, str]] = {
        LIST_APPEALS: "МЭДО carries documents between bodies and holds no registry of the receiver's appeal "
                      "cards; list the appeals in the receiving body's own EDMS (1С, Directum) instead",
    }

    def __init__(self, settings: MedoSettings, context: AdapterContext) -> None:
        self.settings = settings
        self._context = context
        self.answer_days = settings.answer_days or context.answer_days
        self.mailbox = mailbox.Mailbox(settings.inbox_dir, settings.archive_path, settings.quarantine_path,
                                       incomplete_grace=settings.incomplete_grace_seconds)
        safe_target = wire.sanitize_name(context.target_name or "default")
        self._index_path = context.data_dir / f"medo-index-{safe_target}.sqlite3"
        self._index: mailbox.Index | None = None
        self._last_scan = -1e9
        self._last_mtime: int | None = None
        self._incomplete = 0
        self._scan_lock = threading.Lock()

    @property
    def index(self) -> mailbox.Index:
        if self._index is None:
            self._index = mailbox.Index(self._index_path)
        return self._index

    # --- pipeline interface --------------------------------------------------------------------------
    def create_card(self, msg: PosMessage) -> CardRef:
        s = self.settings
        uid = document_uid(msg.account, msg.pos_id)
        ref = CardRef(adapter=self.name, external_id=uid)
        self._require_dir(s.outbox_dir, "outbox_dir", write=False)
        if self._prove_sent(msg, uid):
            log.info("МЭДО package already sent", extra={"uid": uid, "pos_id": msg.pos_id})
            return ref
        limit = s.max_package_mb * 1024 * 1024
        total = sum(a.size for a in msg.attachments) + len(msg.text.encode())
        if total > limit:
            raise SkippableItemError(N_("МЭДО package for POS message {pos_id} would be {total} bytes "
                                        "(max_package_mb = {max_mb})"),
                                     params={"pos_id": msg.pos_id, "total": total, "max_mb": s.max_package_mb})
        for stale in s.outbox_dir.glob(f".tmp-{uid}-*"):  # a crash of ours mid-write
            shutil.rmtree(stale, ignore_errors=True)
        try:
            with mailbox.atomic_package(s.outbox_dir, uid) as tmp:
                outgoing.write(tmp, uid, msg, s, self._context.zone, _now())
        except FileExistsError:  # another attempt got there first: what it left must be ours too
            self._prove_sent(msg, uid)
            return ref
        except wire.RejectedXml as exc:
            raise SkippableItemError(N_("МЭДО package for POS message {pos_id} fails our schema"),
                                     params={"pos_id": msg.pos_id}, detail=str(exc)) from None
        except pdf.NoFont as exc:
            raise FatalAdapterError(exc.template, params=exc.params) from None
        except outgoing.SignatureFailed as exc:
            raise TransientError(N_("МЭДО package for POS message {pos_id} not signed"), params={"pos_id": msg.pos_id},
                                 detail=str(exc)) from None
        except OSError as exc:
            if (s.outbox_dir / uid).is_dir():  # rename lost a race with an earlier attempt
                return ref
            raise TransientError(N_("cannot write the МЭДО package into {path}"), params={"path": s.outbox_dir},
                                 detail=f"{type(exc).__name__} errno={exc.errno}") from None
        self.index.mark_sent(uid, msg.pos_id, _now().isoformat())
        log.info("МЭДО package written", extra={"uid": uid, "pos_id": msg.pos_id, "files": len(msg.attachments)})
        return ref

    def _prove_sent(self, msg: PosMessage, uid: str) -> bool:
        """Whether the package ``uid`` was already sent, after proving that what our own records hold
        under it -- the package still in the outbox, the send log -- is ``msg``'s (see the module doc)."""
        package = self.settings.outbox_dir / uid
        for owner in (mailbox.outbox_pos_id(package), self.index.sent_pos_id(uid)):
            if owner is not None:
                prove_card_owner(msg, system="МЭДО", card_id=uid, owner_pos_id=owner)
        return package.exists() or self.index.was_sent(uid)

    def create_control_task(self, ref: CardRef, task: ControlTaskRequest) -> TaskRef:
        """A «courseChanged» notification about our document, once per task key (see medo/control.py)."""
        s = self.settings
        uid = control.package_uid(task.key)
        self._require_dir(s.outbox_dir, "outbox_dir", write=False)
        if not control.already_written(s, self.index, uid):
            try:
                with mailbox.atomic_package(s.outbox_dir, uid) as tmp:
                    control.write(tmp, uid, ref.external_id, task, s, _now())
            except FileExistsError:
                pass  # another attempt wrote it first
            except wire.RejectedXml as exc:
                raise SkippableItemError(N_("МЭДО control notification fails our schema"), detail=str(exc)) from None
            except OSError as exc:
                if not (s.outbox_dir / uid).is_dir():
                    raise TransientError(N_("cannot write the МЭДО package into {path}"),
                                         params={"path": s.outbox_dir}, detail=f"{type(exc).__name__} errno={exc.errno}") from None
            self.index.mark_sent(uid, "", _now().isoformat())
            log.info("МЭДО control notification written", extra={"uid": uid, "document": ref.external_id})
        return TaskRef(adapter=self.name, external_id=uid)

    def get_card(self, ref: CardRef) -> CardState:
        self.scan_inbox()
        return self._fold(ref)

    def fetch_answer(self, ref: CardRef) -> Answer | None:
        self.scan_inbox()
        found = self._answer_of(ref.external_id)
        if found is None:
            return None
        package, meta = found
        limit = self.settings.max_package_mb * 1024 * 1024
        files = []
        try:
            for source, member, name in meta["files"]:
                if source == "zip":
                    content = mailbox.read_member(package / meta["container"], member, limit)
                else:
                    content = (package / member).read_bytes()
                files.append(AnswerFile(name=name, mime_type=mimetypes.guess_type(name)[0] or
                                        "application/octet-stream", content=content))
        except (OSError, wire.RejectedXml) as exc:
            raise TransientError(N_("cannot read the МЭДО answer package {name}"), params={"name": package.name},
                                 detail=f"{type(exc).__name__}") from None
        return Answer(text=meta["text"], signer=meta["signer"],
                      date=wire.parse_date(meta["date"]) or _now().astimezone(self._context.zone).date(), decision=meta["decision"],
                      files=tuple(files))

    def health(self) -> None:
        s = self.settings
        try:
            pdf.find_font(s.pdf_font)
        except pdf.NoFont as exc:
            raise FatalAdapterError(exc.template, params=exc.params) from None
        self._require_dir(s.outbox_dir, "outbox_dir", write=True)
        self._require_dir(s.inbox_dir, "inbox_dir", write=True)
        for key, path in (("archive_dir", s.archive_path), ("quarantine_dir", s.quarantine_path)):
            try:
                path.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise FatalAdapterError(N_("МЭДО {key} {path} cannot be created: {reason}"),
                                        params={"key": key, "path": path, "reason": exc.strerror}) from None
            self._require_dir(path, key, write=True)

    def close(self) -> None:
        if self._index is not None:
            self._index.close()
            self._index = None

    # --- inbox ---------------------------------------------------------------------------------------
    def scan_inbox(self, *, force: bool = False) -> dict[str, int]:
        """Fold new inbox packages into the index; archive or quarantine each.  Returns counts."""
        with self._scan_lock:
            return self._scan(force)

    def _scan(self, force: bool) -> dict[str, int]:
        counts = {"processed": 0, "quarantined": 0, "incomplete": 0, "skipped": 0}
        inbox = self.settings.inbox_dir
        try:
            mtime = inbox.stat().st_mtime_ns
        except OSError:
            raise TransientError(N_("МЭДО inbox_dir {path} cannot be read"), params={"path": inbox}) from None
        now = time.monotonic()
        fresh = mtime == self._last_mtime and not self._incomplete  # an incomplete package completes in place
        if not force and fresh and now - self._last_scan < self.settings.scan_interval_seconds:
            return counts
        self._last_scan, self._last_mtime = now, mtime
        try:
            entries = self.mailbox.entries()
        except OSError:
            raise TransientError(N_("МЭДО inbox_dir {path} cannot be listed"), params={"path": inbox}) from None
        for entry in entries:
            counts[self._process_entry(entry)] += 1
        self._incomplete = counts["incomplete"]
        if counts["processed"] or counts["quarantined"]:
            log.info("МЭДО inbox scanned", extra=counts)
        return counts

    def _process_entry(self, entry: Path) -> str:
        try:
            pkg = self.mailbox.load(entry)
            target = self.mailbox.archive_target(entry)
            self._accept(pkg, target)
            self.mailbox.archive(entry, target)
            return "processed"
        except mailbox.Incomplete:
            return "incomplete"
        except wire.RejectedXml as exc:
            try:
                self.mailbox.quarantine(entry, str(exc))
            except OSError as move_exc:
                log.error("cannot quarantine МЭДО package", extra={"package": entry.name, "error": str(move_exc)})
                return "skipped"
            # the reason file has the detail; the log gets the category only (XSD messages may quote values)
            log.warning("МЭДО package quarantined", extra={"package": entry.name, "reason": str(exc).split(":")[0]})
            return "quarantined"
        except OSError as exc:  # vanished or unreadable right now: look again on the next scan
            log.warning("МЭДО package not readable yet", extra={"package": entry.name, "error": type(exc).__name__})
            return "skipped"

    def _accept(self, pkg: mailbox.Package, target: Path) -> None:
        root = wire.parse_safely(pkg.xml)
        header = incoming.check_message(root)  # read by name, not by our schema: real senders write more
        if header.type == wire.TYPE_NOTIFICATION:
            note = incoming.parse_notification(root, received=_now().isoformat())
            self.index.add_notification(note.as_dict())
        elif header.type in (wire.TYPE_DOCUMENT, wire.TYPE_CONTAINER):
            self._accept_document(pkg, root, target)
        else:
            raise wire.RejectedXml(f"unknown message type {header.type!r}")

    def _accept_document(self, pkg: mailbox.Package, root: Any, target: Path) -> None:
        doc = incoming.parse_document(root)
        directory = pkg.directory
        files: list[tuple[str, str, str]] = []
        text = doc.annotation
        if doc.container:
            if directory is None:
                raise wire.RejectedXml("a document with a container must come as a package directory")
            mailbox.check_member_name(doc.container)
            zpath = directory / doc.container
            if not zpath.is_file():
                raise wire.RejectedXml("the container named in document.xml is not in the package")
            limit = self.settings.max_package_mb * 1024 * 1024
            members = mailbox.check_container(zpath, limit)
            if wire.PASSPORT_XML not in members:
                raise wire.RejectedXml("container without passport.xml")
            passport = incoming.read_passport(
                wire.parse_safely(mailbox.read_member(zpath, wire.PASSPORT_XML, wire.MAX_XML_BYTES)))
            main, attachments = passport.main, passport.attachments
            # a «Транспортный контейнер» has its requisites only in the passport (M1)
            doc = dataclasses.replace(doc, number=doc.number or passport.number, date=doc.date or passport.date,
                                      signer=doc.signer or passport.signer)
            listed = [main, *attachments]
            for name in listed:
                if name not in members:
                    raise wire.RejectedXml("passport names a file that is not in the container")
            names = mailbox.unique_names(listed)
            files = [("zip", m, n) for m, n in zip(listed, names, strict=True)]
            if not text and main.lower().endswith(".txt"):
                text = mailbox.read_member(zpath, main, limit).decode("utf-8", errors="replace")
            text = text or passport.annotation
        elif doc.files:
            if directory is None:
                raise wire.RejectedXml("a document with files must come as a package directory")
            for name in doc.files:
                mailbox.check_member_name(name)
                if not (directory / name).is_file():
                    raise wire.RejectedXml("document.xml names a file that is not in the package")
            files = [("file", m, n) for m, n in zip(doc.files, mailbox.unique_names(list(doc.files)), strict=True)]
        keys = [f"link:{uid}" for uid in doc.links]
        if doc.number:
            keys += [incoming.number_key(doc.number, doc.date), incoming.number_key(doc.number)]
        self.index.put_answer(doc.uid, target, {
            "text": text, "signer": doc.signer, "date": doc.date or doc.signed, "decision": doc.comment,
            "container": doc.container, "files": files, "number": doc.number}, tuple(keys))

    # --- folding -------------------------------------------------------------------------------------
    def _answer_of(self, doc_uid: str) -> tuple[Path, dict[str, Any]] | None:
        for note in reversed(self.index.notifications(doc_uid)):
            if note["kind"] == wire.N_SENT:
                found = self._reported(note)
                if found is not None:
                    return found
        return None

    def _reported(self, note: dict[str, Any]) -> tuple[Path, dict[str, Any]] | None:
        """The answer a ``reportSent`` names: by uid when the sender gives one; else by the registration
        number of its report reference (real senders, M4); else an answer document linking to our document."""
        if note.get("report_uid"):
            found = self.index.answer(note["report_uid"])
            if found is not None:
                return found
        number = note.get("report_number", "")
        if number:
            # numbers restart every year: a dated reference matches only an answer of that date
            found = self.index.answer_by(incoming.number_key(number, note.get("report_date", "")))
            if found is not None:
                return found
        return self.index.answer_by(f"link:{note['doc_uid']}")

    def _fold(self, ref: CardRef) -> CardState:
        stage = CardStage.REGISTERED
        reg_number, reg_date, extended = "", None, None
        executors: list[Executor] = []
        resolution = redirect_org = redirect_comment = ""

        def advance(new: CardStage) -> None:
            nonlocal stage
            if _RANK[new] >= _RANK[stage]:  # a later terminal notification wins over an earlier one
                stage = new

        for n in self.index.notifications(ref.external_id):
            kind = n["kind"]
            if kind == wire.N_ACCEPTED:
                reg_number, reg_date = n["number"], wire.parse_date(n["date"])
            elif kind == wire.N_REFUSED:
                advance(CardStage.REFUSED)
                resolution = n["reason"] or n["comment"]
            elif kind == wire.N_EXECUTOR:
                advance(CardStage.IN_WORK)
                ex = n.get("executor") or {}
                executor = Executor(name=ex.get("person", ""), department=ex.get("department", ""))
                if executor.name and executor not in executors:
                    executors.append(executor)
                resolution = n["comment"] or resolution
            elif kind == wire.N_PREPARED:
                advance(CardStage.IN_WORK)
            elif kind == wire.N_SENT:
                if self._reported(n) is not None:
                    advance(CardStage.ANSWER_READY)
            elif kind == wire.N_COURSE:
                new_date = wire.parse_date(n["course_text"])
                if n["course_text"].startswith(wire.EXTENSION_PREFIX) and new_date is not None:
                    advance(CardStage.EXTENDED)
                    extended = max(extended or new_date, new_date)
                else:
                    advance(CardStage.REDIRECTED)
                    redirect_org, redirect_comment = n["reference"], n["course_text"]
        deadline: date | None = extended
        if deadline is None and reg_date is not None and stage is not CardStage.REGISTERED:
            deadline = reg_date + timedelta(days=self.answer_days)
        redirected = stage is CardStage.REDIRECTED
        # МЭДО carries no executor's own term nor a completion time: each executor holds the card's term;
        # the first one named is the responsible executor, later ones co-executors.
        executors = [e.model_copy(update={"responsible": i == 0, "due": deadline}) for i, e in enumerate(executors)]
        return CardState(ref=ref, stage=stage, registration_number=reg_number, registration_date=reg_date,
                         executors=tuple(executors), deadline=deadline, resolution=resolution,
                         redirect_org_id=redirect_org if redirected else "",
                         redirect_comment=redirect_comment if redirected else "")

    def _require_dir(self, path: Path, key: str, *, write: bool) -> None:
        if not path.exists():
            raise FatalAdapterError(N_("МЭДО {key} {path} does not exist"), params={"key": key, "path": path})
        if not path.is_dir():
            raise FatalAdapterError(N_("МЭДО {key} {path} is not a directory"), params={"key": key, "path": path})
        if not os.access(path, os.R_OK | os.X_OK):
            raise FatalAdapterError(N_("МЭДО {key} {path} is not readable"), params={"key": key, "path": path})
        if write:
            probe = path / f".health-{uuid.uuid4().hex}"
            try:
                probe.write_bytes(b"")
                probe.unlink()
            except OSError as exc:
                raise FatalAdapterError(N_("МЭДО {key} {path} is not writable: {reason}"),
                                        params={"key": key, "path": path, "reason": exc.strerror}) from None


def _now() -> datetime:
    return datetime.now(UTC)
