"""``connector db backup | restore | check``: the store and the files beside it, as one archive.

A backup is a tar.gz holding ``manifest.json``, the database (SQLite through its online backup
API, so a running daemon keeps working; PostgreSQL through ``pg_dump -Fc``) and every file under
``data_dir`` (attachments, answers, the МЭДО index, alert state).  The database is copied first:
files are written before the transaction that names them commits, so every file the snapshot
refers to is already on disk when the files are copied.  Files written later are extra, and
``db check`` lists them as orphans.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from pydantic import BaseModel
from sqlalchemy import func, select
from sqlalchemy.engine import URL, make_url

from connector.errors import ConnectorError, DataError
from connector.i18n import N_
from connector.pipeline.outbox_payloads import read_answer
from connector.store.db import Store, current_revision
from connector.store.leased import LEASED_MODELS
from connector.store.leases import release_all
from connector.store.models import Attachment, Message, OutboxItem, OutboxKind

FORMAT = "pos-connector-backup/1"
MANIFEST = "manifest.json"
SQLITE_MEMBER = "database/connector.db"
PG_MEMBER = "database/connector.pgdump"
FILES_PREFIX = "files/"
# Never part of a backup: the lock of a running daemon, SQLite's side files (the snapshot holds
# their content), half-written downloads.
_SKIP_SUFFIXES = (".lock", "-wal", "-shm", "-journal", ".part")
_SQLITE_MAGIC = b"SQLite format 3\x00"


class BackupError(ConnectorError):
    """A backup or restore could not be made; nothing stored was changed."""


class BackupReport(BaseModel):
    path: Path
    backend: str
    schema_revision: str | None
    messages: int
    files: int
    bytes: int


class CheckProblem(BaseModel):
    kind: str  # integrity | missing_file | damaged_file | orphaned_file
    detail: str


class CheckReport(BaseModel):
    database: str
    schema_revision: str | None
    messages: int
    attachments: int
    problems: list[CheckProblem]

    @property
    def ok(self) -> bool:
        return not any(p.kind != "orphaned_file" for p in self.problems)


def _is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def _sqlite_path(url: str) -> Path:
    database = make_url(url).database
    if not database or database == ":memory:":
        raise BackupError(N_("cannot back up an in-memory SQLite database ({url})"), params={"url": url})
    return Path(database)


def _data_files(data_dir: Path, database: Path | None) -> list[Path]:
    if not data_dir.is_dir():
        return []
    skip = {database.resolve()} if database is not None else set()
    found = []
    for path in sorted(data_dir.rglob("*")):
        if not path.is_file() or path.is_symlink() or path.resolve() in skip:
            continue
        if path.name.endswith(_SKIP_SUFFIXES):
            continue
        found.append(path)
    return found


def _sqlite_snapshot(source: Path, target: Path) -> None:
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=30)
    try:
        dst = sqlite3.connect(target)
        try:
            src.backup(dst)
        finally:
            dst.close()
    finally:
        src.close()


def _pg_env(url: URL) -> tuple[str, dict[str, str]]:
    """A libpq URL without the password (argv is visible to every user) and the password in env."""
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    plain = url.set(drivername="postgresql", password=None).render_as_string(hide_password=False)
    return plain, env


def _pg_tool(name: str) -> str:
    tool = shutil.which(name)
    if tool is None:
        raise BackupError(N_("{tool} not found: install the PostgreSQL client tools (Debian/Astra: "
                             "postgresql-client, RED OS/ALT: postgresql) to back up or restore a PostgreSQL store"),
                          params={"tool": name})
    return tool


def backup(store: Store, data_dir: Path, dest: Path) -> BackupReport:
    """Write the archive to ``dest`` (atomically: a partial backup never carries the final name)."""
    if dest.exists():
        raise DataError(N_("{dest} already exists: choose a new name (a backup never overwrites one)"),
                        params={"dest": dest})
    dest.parent.mkdir(parents=True, exist_ok=True)
    url = store.url
    with store.sessions() as session:
        messages = int(session.scalar(select(func.count()).select_from(Message)) or 0)
    revision = current_revision(store.engine)
    with tempfile.TemporaryDirectory(dir=dest.parent, prefix=".backup-") as tmp:
        work = Path(tmp)
        if _is_sqlite(url):
            database: Path | None = _sqlite_path(url)
            member, dump = SQLITE_MEMBER, work / "connector.db"
            _sqlite_snapshot(database, dump)  # type: ignore[arg-type]
        else:
            database = None
            member, dump = PG_MEMBER, work / "connector.pgdump"
            plain, env = _pg_env(make_url(url))
            proc = subprocess.run([_pg_tool("pg_dump"), "-Fc", "--no-owner", "--no-privileges", "-f", str(dump),
                                   "-d", plain], capture_output=True, text=True, env=env, check=False)
            if proc.returncode != 0:
                raise BackupError(f"pg_dump failed: {proc.stderr.strip().splitlines()[-1:] or proc.returncode}")
        files = _data_files(data_dir, database)
        manifest = {"format": FORMAT, "created": datetime.now(UTC).isoformat(), "backend": "sqlite"
                    if database else "postgresql", "schema_revision": revision, "messages": messages,
                    "database": member, "files": len(files)}
        (work / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8")
        partial = work / "backup.tar.gz"
        total = dump.stat().st_size
        with tarfile.open(partial, "w:gz") as tar:
            tar.add(work / MANIFEST, arcname=MANIFEST)
            tar.add(dump, arcname=member)
            for path in files:
                # Snapshot SQLite side databases (the МЭДО index) the same safe way as the store.
                if _looks_like_sqlite(path):
                    copy = work / "side.sqlite"
                    _sqlite_snapshot(path, copy)
                    tar.add(copy, arcname=FILES_PREFIX + path.relative_to(data_dir).as_posix())
                    copy.unlink()
                else:
                    tar.add(path, arcname=FILES_PREFIX + path.relative_to(data_dir).as_posix())
                total += path.stat().st_size
        os.chmod(partial, 0o600)  # it holds applicants' messages
        os.replace(partial, dest)
    return BackupReport(path=dest, backend=str(manifest["backend"]), schema_revision=revision,
                        messages=messages, files=len(files), bytes=total)


def _looks_like_sqlite(path: Path) -> bool:
    try:
        with path.open("rb") as fh:
            return fh.read(16) == _SQLITE_MAGIC
    except OSError:
        return False


def read_manifest(tar: tarfile.TarFile, source: Path) -> dict[str, object]:
    try:
        member = tar.extractfile(MANIFEST)
    except KeyError:
        member = None
    if member is None:
        raise DataError(N_("{source}: not a pos-connector backup (no {manifest})"),
                        params={"source": source, "manifest": MANIFEST})
    try:
        manifest = json.loads(member.read())
    except ValueError as exc:
        raise DataError(N_("{source}: {manifest} is not JSON ({reason})"),
                        params={"source": source, "manifest": MANIFEST, "reason": exc}) from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise DataError(N_("{file}: unknown backup format {format}"),
                        params={"file": source, "format": manifest.get("format") if isinstance(manifest, dict) else "?"})
    return manifest


def _store_is_empty(store: Store) -> bool:
    try:
        with store.sessions() as session:
            return not session.scalar(select(func.count()).select_from(Message))
    except Exception:  # noqa: BLE001 -- no schema yet is as empty as it gets
        return True


def restore(url: str, data_dir: Path, source: Path, *, force: bool) -> BackupReport:
    """Replace the store and the data files with the archive's.  The daemon must be stopped (the
    caller holds its lock); a store that holds messages is replaced only with ``force``."""
    if not source.is_file():
        raise DataError(N_("{source}: no such backup file"), params={"source": source})
    try:
        tar = tarfile.open(source, "r:gz")
    except (tarfile.TarError, OSError) as exc:
        raise DataError(N_("{source}: not a readable tar.gz backup ({reason})"),
                        params={"source": source, "reason": exc}) from None
    with tar:
        manifest = read_manifest(tar, source)
        backend = "sqlite" if _is_sqlite(url) else "postgresql"
        if manifest.get("backend") != backend:
            raise DataError(N_("{source}: a {found} backup cannot be restored into a {backend} store"),
                            params={"source": source, "found": manifest.get("backend"), "backend": backend})
        if not force:
            existing = Store(url, migrate=False) if backend == "postgresql" or _sqlite_path(url).exists() else None
            if existing is not None:
                try:
                    if not _store_is_empty(existing):
                        raise DataError(N_("the store at {where} holds messages: pass --force to replace it "
                                           "with the backup"), params={"where": _display(url)})
                finally:
                    existing.engine.dispose()
        with tempfile.TemporaryDirectory(dir=_staging_parent(url, data_dir), prefix=".restore-") as tmp:
            work = Path(tmp)
            tar.extractall(work, filter="data")
            dump = work / str(manifest["database"])
            if not dump.is_file():
                raise DataError(N_("{source}: the database member {member} is missing"),
                                params={"source": source, "member": manifest["database"]})
            _restore_files(work / FILES_PREFIX.rstrip("/"), data_dir)
            if backend == "sqlite":
                _restore_sqlite(dump, _sqlite_path(url))
            else:
                _restore_pg(dump, url)
    store = Store(url)  # migrates a backup taken before an upgrade
    try:
        # The backup was taken under running workers: its leases name workers of the past, and on
        # PostgreSQL nothing else would free them before they expire.  No worker runs during a restore.
        release_all(store.sessions, LEASED_MODELS)
        with store.sessions() as session:
            messages = int(session.scalar(select(func.count()).select_from(Message)) or 0)
        revision = current_revision(store.engine)
    finally:
        store.engine.dispose()
    return BackupReport(path=source, backend=backend, schema_revision=revision, messages=messages,
                        files=int(str(manifest.get("files", 0))), bytes=source.stat().st_size)


def _staging_parent(url: str, data_dir: Path) -> Path:
    parent = _sqlite_path(url).parent if _is_sqlite(url) else data_dir
    parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    return parent


def _restore_files(files: Path, data_dir: Path) -> None:
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    if not files.is_dir():
        return
    for path in sorted(files.rglob("*")):
        if path.is_file():
            target = data_dir / path.relative_to(files)
            target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            os.replace(path, target)


def _restore_sqlite(dump: Path, database: Path) -> None:
    if dump.read_bytes()[:16] != _SQLITE_MAGIC:
        raise DataError(N_("{name} in the backup is not an SQLite database"), params={"name": dump.name})
    for side in ("-wal", "-shm", "-journal"):
        Path(f"{database}{side}").unlink(missing_ok=True)
    os.replace(dump, database)
    os.chmod(database, 0o600)


def _restore_pg(dump: Path, url: str) -> None:
    plain, env = _pg_env(make_url(url))
    proc = subprocess.run([_pg_tool("pg_restore"), "--clean", "--if-exists", "--no-owner", "--no-privileges",
                           "--single-transaction", "-d", plain, str(dump)], capture_output=True, text=True, env=env,
                          check=False)
    if proc.returncode != 0:
        raise BackupError(f"pg_restore failed: {proc.stderr.strip().splitlines()[-1:] or proc.returncode}")


def _display(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


def check(store: Store, data_dir: Path) -> CheckReport:
    """Database integrity, every attachment's file present with its checksum, and orphaned files."""
    problems: list[CheckProblem] = []
    if store.is_sqlite:
        with store.engine.connect() as conn:
            rows = [r[0] for r in conn.exec_driver_sql("PRAGMA integrity_check").fetchall()]
        if rows != ["ok"]:
            problems += [CheckProblem(kind="integrity", detail=f"SQLite: {row}") for row in rows[:20]]
    referenced: set[Path] = set()
    with store.sessions() as session:
        messages = int(session.scalar(select(func.count()).select_from(Message)) or 0)
        attachments = 0
        for att in session.scalars(select(Attachment).order_by(Attachment.id)):
            attachments += 1
            _check_file(Path(att.path), att.sha256, f"attachment {att.id} of message {att.message_id}",
                        referenced, problems)
        for item in session.scalars(select(OutboxItem).where(OutboxItem.kind == OutboxKind.ANSWER)):
            for file in read_answer(item.payload).files:
                _check_file(file.path, file.sha256, f"answer file of message {item.message_id}", referenced, problems)
    for folder in ("attachments", "answers"):
        root = data_dir / folder
        if not root.is_dir():
            continue
        for path in sorted(root.rglob("*")):
            if path.is_file() and not path.name.endswith(".part") and path.resolve() not in referenced:
                problems.append(CheckProblem(kind="orphaned_file", detail=f"{path} belongs to no stored message"))
    return CheckReport(database=_display(store.url), schema_revision=current_revision(store.engine),
                       messages=messages, attachments=attachments, problems=problems)


def _check_file(path: Path, sha256: str, what: str, referenced: set[Path], problems: list[CheckProblem]) -> None:
    referenced.add(path.resolve())
    if not path.is_file():
        problems.append(CheckProblem(kind="missing_file", detail=f"{what}: {path}"))
    elif _sha256(path) != sha256:
        problems.append(CheckProblem(kind="damaged_file", detail=f"{what}: {path} does not match its stored sha256"))


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
