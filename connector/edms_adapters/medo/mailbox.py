"""МЭДО mailboxes on disk: atomic package writes, safe ZIP containers, inbox scanning with archive/quarantine.

A *package* is a directory holding ``document.xml`` (plus the container ZIP and the INI envelope) or a
bare ``*.xml`` file.  Names starting with "." are work in progress of whoever writes them and are
never touched.  A processed package is moved to the archive; a rejected one to the quarantine with a
``<name>.reason.txt`` beside it.  Nothing is ever deleted.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sqlite3
import tempfile
import threading
import time
import uuid
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from connector.edms_adapters.medo import wire
from connector.edms_adapters.medo.wire import RejectedXml
from connector.safe_archive import ArchiveError, ZipLimits, check_entries

_CHUNK = 1024 * 1024
MAX_MEMBERS = 1000
MAX_RATIO = 200          # uncompressed/compressed above this (for members > 1 MB) looks like a ZIP bomb


# --- writing ---------------------------------------------------------------------------------------------
@contextlib.contextmanager
def atomic_package(parent: Path, name: str) -> Iterator[Path]:
    """Yield a temporary directory in ``parent`` (name starts with "."); rename it to ``name`` on success."""
    tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{name[:40]}-", dir=parent))
    try:
        yield tmp
        for f in tmp.iterdir():
            with open(f, "rb") as fh:
                os.fsync(fh.fileno())
        os.rename(tmp, parent / name)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def write_container(path: Path, members: list[tuple[str, bytes | Path]]) -> None:
    """Write a ZIP; Path members are streamed from disk (memory stays flat for big attachments)."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        for arcname, content in members:
            if isinstance(content, Path):
                zf.write(content, arcname)
            else:
                zf.writestr(arcname, content)


def unique_names(names: list[str]) -> list[str]:
    """Sanitised, case-insensitively unique member names, in order."""
    seen: set[str] = set()
    result = []
    for i, raw in enumerate(names, 1):
        name = wire.sanitize_name(raw, fallback=f"file-{i}")
        stem, dot, ext = name.rpartition(".")
        if not dot:
            stem, ext = name, ""
        n = 1
        while name.lower() in seen or name.lower() in (wire.PASSPORT_XML, wire.DOCUMENT_XML):
            n += 1
            name = f"{stem} ({n}).{ext}" if ext else f"{stem} ({n})"
        seen.add(name.lower())
        result.append(name)
    return result


# --- safe reading of containers ------------------------------------------------------------------------
def check_member_name(name: str) -> None:
    if (not name or name.startswith(("/", "\\")) or "\\" in name or "/" in name.rstrip("/")
            or ".." in name.split("/") or ":" in name or any(ord(c) < 32 for c in name)):
        raise RejectedXml(f"container member name {name!r} is a path (path traversal refused)")


def check_container(path: Path, max_bytes: int) -> dict[str, zipfile.ZipInfo]:
    """Open a received ZIP and refuse path members, encrypted members, too many members and bombs."""
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise RejectedXml(f"container {path.name} is not a readable ZIP ({type(exc).__name__})") from None
    limits = ZipLimits(max_members=MAX_MEMBERS, max_member_bytes=max_bytes, max_total_bytes=max_bytes,
                       max_ratio=MAX_RATIO, ratio_floor_bytes=_CHUNK)
    try:
        check_entries(f"container {path.name}", infos, limits)  # the one zip-bomb guard of the connector
    except ArchiveError as exc:
        raise RejectedXml(exc.operator_message) from None
    members: dict[str, zipfile.ZipInfo] = {}
    for info in infos:
        check_member_name(info.filename)
        if info.flag_bits & 0x1:
            raise RejectedXml(f"container member {info.filename!r} is encrypted")
        if info.filename in members:
            raise RejectedXml(f"container member {info.filename!r} appears twice")
        members[info.filename] = info
    return members


def read_member(path: Path, name: str, limit: int) -> bytes:
    """Read one member, refusing to inflate more than ``limit`` bytes whatever the header claims."""
    out = bytearray()
    with zipfile.ZipFile(path) as zf, zf.open(name) as fh:
        while chunk := fh.read(_CHUNK):
            out += chunk
            if len(out) > limit:
                raise RejectedXml(f"container member {name!r} inflates beyond {limit} bytes")
    return bytes(out)


# --- inbox -----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Package:
    name: str
    path: Path            # the directory, or the bare XML file
    xml: bytes

    @property
    def directory(self) -> Path | None:
        return self.path if self.path.is_dir() else None


class Incomplete(Exception):
    """The package is still being written (no envelope yet); look again later."""


class Mailbox:
    def __init__(self, inbox: Path, archive: Path, quarantine: Path, *, incomplete_grace: float = 600.0) -> None:
        self.inbox, self.archive_dir, self.quarantine_dir = inbox, archive, quarantine
        self.incomplete_grace = incomplete_grace

    def entries(self) -> list[Path]:
        """Candidate packages, oldest first; names starting with "." are in progress and skipped."""
        items = [p for p in self.inbox.iterdir() if not p.name.startswith(".")]
        return sorted(items, key=lambda p: (_mtime(p), p.name))

    def load(self, entry: Path) -> Package:
        """Read a package; raises :class:`Incomplete` (skip for now) or RejectedXml (quarantine)."""
        if entry.is_symlink():
            raise RejectedXml("symbolic links are not accepted in the inbox")
        if entry.is_dir():
            doc = entry / wire.DOCUMENT_XML
            ini = next((p for p in entry.iterdir() if p.suffix.lower() == ".ini"), None)
            if ini is None or not doc.is_file():
                if time.time() - _mtime(entry) < self.incomplete_grace:
                    raise Incomplete(entry.name)
                raise RejectedXml("package directory without document.xml or envelope (.ini)")
            for member in entry.iterdir():
                if member.is_symlink() or not member.is_file():
                    raise RejectedXml("package directory holds a link or a subdirectory")
            files = wire.parse_ini(wire.decode_ini(ini.read_bytes())).get(wire.INI_FILES, {})
            for listed in files.values():
                check_member_name(listed)
                if not (entry / listed).is_file():
                    raise RejectedXml(f"envelope lists {listed!r} which is not in the package")
            return Package(entry.name, entry, _read_limited(doc))
        if entry.is_file() and entry.suffix.lower() == ".xml":
            return Package(entry.name, entry, _read_limited(entry))
        raise RejectedXml("not a МЭДО package (expected a directory with document.xml or an *.xml file)")

    def archive_target(self, entry: Path) -> Path:
        """Where :meth:`archive` will put ``entry`` (known before the move, so the index can record it)."""
        return _free_name(self.archive_dir, entry.name)

    def archive(self, entry: Path, target: Path | None = None) -> Path:
        return self._move(entry, self.archive_dir, target)

    def quarantine(self, entry: Path, reason: str) -> Path:
        target = self._move(entry, self.quarantine_dir)
        target.with_name(target.name + ".reason.txt").write_text(reason + "\n", encoding="utf-8")
        return target

    def _move(self, entry: Path, where: Path, target: Path | None = None) -> Path:
        where.mkdir(parents=True, exist_ok=True)
        if target is None or target.exists():
            target = _free_name(where, entry.name)
        try:
            os.rename(entry, target)
        except OSError:   # another file system: copy, then remove the original
            shutil.move(str(entry), str(target))
        return target


def _free_name(where: Path, name: str) -> Path:
    target = where / name
    if target.exists() or target.is_symlink():
        target = where / f"{name}.{uuid.uuid4().hex[:8]}"
    return target


def _read_limited(path: Path) -> bytes:
    size = path.stat().st_size
    if size > wire.MAX_XML_BYTES:
        raise RejectedXml(f"{path.name} of {size} bytes exceeds the {wire.MAX_XML_BYTES} byte limit")
    return path.read_bytes()


def outbox_pos_id(package: Path) -> str | None:
    """The POS id of a package waiting in our outbox: from our INI subject (a 2.7 «Транспортный
    контейнер» has no ``document/@id``), else ``document/@id`` of packages written before (``""`` if it
    names none).  None when neither is readable there: no package, or one the gateway is taking away
    right now -- nothing to compare, which proves nothing either way."""
    try:
        subject = wire.parse_ini(wire.decode_ini(_read_limited(package / wire.ENVELOPE_INI)))
        found = wire.pos_id_of_subject(subject.get(wire.INI_LETTER, {}).get("ТЕМА", ""))
    except OSError:
        found = None
    if found is not None:
        return found
    try:
        root = wire.parse_safely(_read_limited(package / wire.DOCUMENT_XML))
    except (OSError, RejectedXml):
        return None
    if root.find(wire.q("document")) is None:
        return None
    return wire.attr(root.find(wire.q("document")), "id")


def _mtime(path: Path) -> float:
    try:
        return path.lstat().st_mtime
    except OSError:
        return 0.0


# --- index -----------------------------------------------------------------------------------------------
_SCHEMA = """
CREATE TABLE IF NOT EXISTS sent (uid TEXT PRIMARY KEY, pos_id TEXT NOT NULL, at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS notes (message_uid TEXT NOT NULL, kind TEXT NOT NULL, doc_uid TEXT NOT NULL,
    created TEXT NOT NULL, body TEXT NOT NULL, PRIMARY KEY (message_uid, kind));
CREATE INDEX IF NOT EXISTS notes_doc ON notes (doc_uid, created);
CREATE TABLE IF NOT EXISTS answers (uid TEXT PRIMARY KEY, package TEXT NOT NULL, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS answer_keys (key TEXT NOT NULL, uid TEXT NOT NULL, PRIMARY KEY (key, uid));
"""


class Index:
    """What the inbox told us, so get_card never re-parses the inbox: sqlite, one transaction per package.

    Notifications are keyed by (message uid, kind): a duplicated notification is stored once."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._lock = threading.Lock()
        with self._lock:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.executescript(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def mark_sent(self, uid: str, pos_id: str, at: str) -> None:
        with self._lock:
            self._db.execute("INSERT OR IGNORE INTO sent VALUES (?, ?, ?)", (uid, pos_id, at))

    def sent_pos_id(self, uid: str) -> str | None:
        """The POS id we recorded when we wrote the package ``uid``; None: no record."""
        with self._lock:
            row = self._db.execute("SELECT pos_id FROM sent WHERE uid = ?", (uid,)).fetchone()
        return None if row is None else str(row[0])

    def was_sent(self, uid: str) -> bool:
        with self._lock:
            if self._db.execute("SELECT 1 FROM sent WHERE uid = ?", (uid,)).fetchone():
                return True
            return self._db.execute("SELECT 1 FROM notes WHERE doc_uid = ? LIMIT 1", (uid,)).fetchone() is not None

    def add_notification(self, note: dict[str, Any]) -> bool:
        with self._lock:
            cur = self._db.execute("INSERT OR IGNORE INTO notes VALUES (?, ?, ?, ?, ?)",
                                   (note["message_uid"], note["kind"], note["doc_uid"], note["created"],
                                    json.dumps(note, ensure_ascii=False)))
            return cur.rowcount > 0

    def notifications(self, doc_uid: str) -> list[dict[str, Any]]:
        with self._lock:
            rows = self._db.execute("SELECT body FROM notes WHERE doc_uid = ? ORDER BY created, rowid",
                                    (doc_uid,)).fetchall()
        return [json.loads(r[0]) for r in rows]

    def put_answer(self, uid: str, package: Path, body: dict[str, Any], keys: tuple[str, ...] = ()) -> None:
        """Store an answer document; ``keys`` are the other names it can be found by (its registration
        number, the documents it links to), since real ``reportSent`` notices name it without a uid."""
        with self._lock:
            self._db.execute("BEGIN")
            self._db.execute("INSERT OR REPLACE INTO answers VALUES (?, ?, ?)",
                             (uid, str(package), json.dumps(body, ensure_ascii=False)))
            self._db.executemany("INSERT OR IGNORE INTO answer_keys VALUES (?, ?)", [(k, uid) for k in keys])
            self._db.execute("COMMIT")

    def answer_by(self, key: str) -> tuple[Path, dict[str, Any]] | None:
        """The latest answer stored under ``key`` (see put_answer)."""
        with self._lock:
            row = self._db.execute("SELECT a.package, a.body FROM answer_keys k JOIN answers a ON a.uid = k.uid "
                                   "WHERE k.key = ? ORDER BY a.rowid DESC LIMIT 1", (key,)).fetchone()
        return (Path(row[0]), json.loads(row[1])) if row else None

    def answer(self, uid: str) -> tuple[Path, dict[str, Any]] | None:
        with self._lock:
            row = self._db.execute("SELECT package, body FROM answers WHERE uid = ?", (uid,)).fetchone()
        return (Path(row[0]), json.loads(row[1])) if row else None
