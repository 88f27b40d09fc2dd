"""Engine, sessions and schema migrations of the state store."""

from __future__ import annotations

import os
import re
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError

from connector.errors import DatabaseUnavailable, UsageError
from connector.i18n import N_

if TYPE_CHECKING:
    from alembic.config import Config
    from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
SUPPORTED_BACKENDS = ("sqlite", "postgresql")
POSTGRES_MISSING = N_("PostgreSQL support is not installed: pip install 'pos-connector[postgres]'")


def parse_database_url(url: str) -> URL:
    """The URL as SQLAlchemy reads it, or a one-line refusal naming the scheme."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        scheme = url.partition("://")[0] if "://" in url else url[:20]
        raise UsageError(N_("unsupported database URL {scheme!r}: expected sqlite:///PATH or "
                            "postgresql://USER@HOST:PORT/DB"), params={"scheme": scheme}) from None
    if parsed.get_backend_name() not in SUPPORTED_BACKENDS:
        raise UsageError(N_("unsupported database URL {scheme}: expected sqlite:///PATH or "
                            "postgresql://USER@HOST:PORT/DB"), params={"scheme": parsed.drivername})
    return parsed


def sqlite_path(url: str) -> Path | None:
    """The database file of a SQLite URL (None for PostgreSQL or an in-memory database)."""
    parsed = parse_database_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return None
    return Path(parsed.database).resolve()


def describe_location(url: str) -> str:
    """Where the store is, safe to print: the file, or host:port/database with the password masked."""
    path = sqlite_path(url)
    if path is not None:
        return str(path)
    parsed = parse_database_url(url)
    if parsed.get_backend_name() == "sqlite":
        return ":memory:"
    return parsed.render_as_string(hide_password=True)


def _host_port(url: str) -> str:
    if not url:
        return "the configured database"
    path = sqlite_path(url)
    if path is not None:
        return str(path)
    parsed = parse_database_url(url)
    return f"{parsed.host or 'localhost'}:{parsed.port or 5432}"


_PG_PREFIX = re.compile(r"^(connection failed: )?(connection to server (at|on) .*?failed: )?(FATAL: +)?")


def database_unavailable(exc: DBAPIError | OSError, url: str) -> DatabaseUnavailable:
    """The one translation of a driver's connection error into a line an operator can act on."""
    orig = getattr(exc, "orig", None) or exc
    first = (str(orig).strip().splitlines() or [type(orig).__name__])[0]
    reason = _PG_PREFIX.sub("", first).strip() or type(orig).__name__
    # the log gets the English text (for IT, README «Language»); the terminal its `shown` translation
    return DatabaseUnavailable(N_("database unavailable: {where}: {reason}"),
                               params={"where": _host_port(url), "reason": reason})


def make_engine(url: str) -> Engine:
    parsed = parse_database_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            try:
                Path(parsed.database).parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            except OSError as exc:
                raise database_unavailable(exc, url) from None
        engine = create_engine(url, connect_args={"timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            # Let SQLAlchemy issue BEGIN itself (below), instead of pysqlite's implicit one.
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _begin_immediate(conn: Any) -> None:
            # Take the write lock at BEGIN: a read-then-write transaction (a claim) can then
            # never fail half-way with "database is locked"; it waits up to busy_timeout.
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    if parsed.get_backend_name() == "postgresql" and parsed.drivername == "postgresql":
        url = parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    try:
        return create_engine(url, pool_pre_ping=True)
    except ImportError:
        raise UsageError(POSTGRES_MISSING) from None


def alembic_config(engine: Engine) -> Config:
    # alembic is imported where migrations run: most commands only read the store
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["engine"] = engine
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Apply migrations up to ``revision`` (idempotent)."""
    from alembic import command

    command.upgrade(alembic_config(engine), revision)


def head_revision() -> str | None:
    """The newest migration this program carries."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    return ScriptDirectory.from_config(cfg).get_current_head()


# The newest migration (tests/store/test_migrations.py holds it equal to alembic's head): a store
# already there is opened with one SELECT, and alembic is imported only when there is work for it.
SCHEMA_HEAD = "0010"


def current_revision(engine: Engine) -> str | None:
    from sqlalchemy import inspect, text

    with engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return None
        return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


class Store:
    """An engine plus a session factory; the one handle jobs and the CLI share.

    ``create=False`` (the read-only commands) refuses to bring a new, empty store into being:
    an operator in the wrong directory must learn that, not read an empty database."""

    def __init__(self, url: str, *, migrate: bool = True, create: bool = True) -> None:
        self.url = url
        path = sqlite_path(url)
        if not create and path is not None and not path.exists():
            raise UsageError(N_("no database at {path}: check daemon.data_dir / daemon.database_url "
                                "(relative paths resolve against the configuration file's directory), "
                                "or create it with connector db upgrade"), params={"path": path})
        self.engine = make_engine(url)
        try:
            if not create and path is None and current_revision(self.engine) is None:
                raise UsageError(N_("no connector database at {where}: create it with connector db upgrade"),
                                 params={"where": describe_location(url)})
            if migrate and current_revision(self.engine) != SCHEMA_HEAD:
                upgrade(self.engine)
        except DBAPIError as exc:
            self.engine.dispose()
            raise database_unavailable(exc, url) from None

    @cached_property
    def sessions(self) -> sessionmaker[Session]:
        # the ORM on first use only: `connector status` reads Core tables (store/read_tables.py)
        from sqlalchemy.orm import sessionmaker

        return sessionmaker(self.engine, expire_on_commit=False)

    @property
    def location(self) -> str:
        return describe_location(self.url)

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    def session(self) -> Session:
        return self.sessions()

    def dispose(self) -> None:
        self.engine.dispose()


def default_worker_id() -> str:
    return f"{os.uname().nodename}:{os.getpid()}"
