"""Work that only one worker may do at a time, across daemons sharing a PostgreSQL database.

A session-level advisory lock, released by the server if the holder dies.  On SQLite there is
one daemon per database (the lockfile guards it), so the lock is always granted.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import text

from connector.store.db import Store


def lock_key(name: str) -> int:
    return int.from_bytes(hashlib.sha256(f"pos-connector:{name}".encode()).digest()[:8], "big", signed=True)


@contextmanager
def exclusive(store: Store, name: str) -> Iterator[bool]:
    """Yield True when this worker holds ``name`` now, False when another one does."""
    if store.is_sqlite:
        yield True
        return
    key = lock_key(name)
    with store.engine.connect() as conn:
        if not conn.scalar(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}):
            yield False
            return
        conn.commit()
        try:
            yield True
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
            conn.commit()
