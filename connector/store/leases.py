"""Claiming work in small batches with leases (architecture §1).

On PostgreSQL the candidate rows are locked with ``FOR UPDATE SKIP LOCKED`` so several
daemons never claim the same item; on SQLite (one daemon, guarded by a lockfile) the
clause is a no-op.  A crashed worker's lease simply expires.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from connector.store.models import LeaseMixin


def claim(sessions: sessionmaker[Session], model: type[Any], conditions: Sequence[ColumnElement[bool]], *,
          worker: str, lease_seconds: int, limit: int, now: datetime) -> list[int]:
    """Claim up to ``limit`` ids of ``model`` matching ``conditions``; commit the lease."""
    with sessions.begin() as session:
        stmt = (
            select(model.id)
            .where(*conditions,
                   or_(model.lease_until.is_(None), model.lease_until < now),
                   or_(model.next_attempt_at.is_(None), model.next_attempt_at <= now))
            .order_by(model.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        ids = list(session.scalars(stmt))
        if ids:
            session.execute(
                update(model).where(model.id.in_(ids))
                .values(claimed_by=worker, lease_until=now + timedelta(seconds=lease_seconds))
            )
    return ids


def release(item: LeaseMixin) -> None:
    item.claimed_by = None
    item.lease_until = None


def release_ids(sessions: sessionmaker[Session], model: type[Any], ids: Sequence[int], worker: str) -> None:
    """Give back claimed items that were not processed (the job stopped early)."""
    if not ids:
        return
    with sessions.begin() as session:
        session.execute(
            update(model).where(model.id.in_(ids), model.claimed_by == worker)
            .values(claimed_by=None, lease_until=None)
        )


def release_all(sessions: sessionmaker[Session], models: Sequence[type[Any]]) -> int:
    """Free every lease: only safe when this is the one daemon on the database (SQLite)."""
    freed = 0
    with sessions.begin() as session:
        for model in models:
            result = session.execute(
                update(model).where(model.claimed_by.is_not(None)).values(claimed_by=None, lease_until=None)
            )
            freed += result.rowcount or 0  # type: ignore[attr-defined]
    return freed
