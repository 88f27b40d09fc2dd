"""Sources → ``showcase_items``: build every appeal's item, keep its hash, mark what must go.

A pass asks every source for the appeals in scope and compares each item's wire form (canonical
JSON, SHA-256) with the record: a new or changed item becomes ``pending``, an unchanged one is left
alone.  An item that cannot be built is ``invalid`` and in failures with the reason once; the
failure resolves itself when the appeal can be built again.  ``plan`` answers the same question
without writing anything (``connector showcase upload --dry-run``).
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from connector.pos_client.wire import showcase_item, validation_summary
from connector.showcase.records import ShowcaseRecord, ShowcaseState
from connector.showcase.sources import SOURCES, SourceScope
from connector.store.db import Store
from connector.store.models import Failure

log = logging.getLogger(__name__)

BUILD_JOB = "showcase.build"
SEND_JOB = "showcase.upload"
COMMIT_EVERY = 200


@dataclass
class RefreshStats:
    looked_at: int = 0
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    invalid: int = 0
    pending: int = 0          # items to upload after this pass (new, changed, or still waiting)
    errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"looked_at": self.looked_at, "new": self.new, "changed": self.changed,
                "unchanged": self.unchanged, "invalid": self.invalid, "pending": self.pending}


def content_hash(payload: dict[str, Any]) -> str:
    canonical = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def refresh(store: Store, scope: SourceScope, *, clock: Callable[[], datetime], write: bool = True) -> RefreshStats:
    """One pass over every source; ``write=False`` only counts (nothing in the store changes)."""
    stats = RefreshStats()
    with store.session() as session:
        for source in SOURCES.values():
            for sourced in source(session, scope):
                _apply(session, sourced.source, sourced.source_id, sourced.account, sourced.item_id,
                       sourced.message_id, _wire(sourced), stats, clock(), write)
                if write and stats.looked_at % COMMIT_EVERY == 0:
                    session.commit()
        if write:
            session.commit()
        else:
            session.rollback()
    if stats.invalid:
        log.warning("showcase items that cannot be built", extra={"count": stats.invalid})
    return stats


def _wire(sourced: Any) -> dict[str, Any] | str:
    """The item's wire form, or the reason it cannot be built."""
    if sourced.item is None:
        return str(sourced.problem or "the appeal cannot be shown")
    try:
        return showcase_item(sourced.item)
    except ValidationError as exc:
        return f"showcase item {sourced.item_id}: {validation_summary(exc)}"


def _apply(session: Session, source: str, source_id: int, account: str, item_id: str, message_id: int | None,
           wire: dict[str, Any] | str, stats: RefreshStats, now: datetime, write: bool) -> None:
    stats.looked_at += 1
    record = session.scalar(select(ShowcaseRecord).where(ShowcaseRecord.source == source,
                                                         ShowcaseRecord.source_id == source_id))
    if isinstance(wire, str):
        stats.invalid += 1
        stats.errors.append(wire)
        if write:
            record = record or _new(session, source, source_id, account, item_id, message_id)
            _mark_invalid(session, record, wire, now)
        return
    digest = content_hash(wire)
    if record is not None and record.content_hash == digest and record.send_state != ShowcaseState.INVALID:
        stats.unchanged += 1
        stats.pending += record.send_state == ShowcaseState.PENDING
        return
    stats.new += record is None
    stats.changed += record is not None
    due = record is None or record.sent_hash != digest
    stats.pending += due
    if not write:
        return
    record = record or _new(session, source, source_id, account, item_id, message_id)
    if record.send_state == ShowcaseState.INVALID:
        _resolve(session, record.id, BUILD_JOB, now)
        record.build_error = None
    record.payload, record.content_hash, record.changed_at = wire, digest, now
    record.received = _received(wire)
    record.attempts, record.next_attempt_at, record.last_error = 0, None, None
    record.send_state = ShowcaseState.PENDING if due else ShowcaseState.IDLE


def _received(wire: dict[str, Any]) -> date | None:
    value = wire.get("receivedDate")
    return date.fromisoformat(value) if isinstance(value, str) else None


def _new(session: Session, source: str, source_id: int, account: str, item_id: str,
         message_id: int | None) -> ShowcaseRecord:
    record = ShowcaseRecord(source=source, source_id=source_id, account=account, item_id=item_id,
                            message_id=message_id, content_hash="", sent_hash="", send_state=ShowcaseState.IDLE,
                            sends=0, attempts=0)
    session.add(record)
    session.flush()
    return record


def _mark_invalid(session: Session, record: ShowcaseRecord, reason: str, now: datetime) -> None:
    if record.send_state == ShowcaseState.INVALID and record.build_error == reason:
        return  # said once
    _resolve(session, record.id, BUILD_JOB, now)  # an earlier, different reason is superseded
    record.build_error = reason
    record.send_state = ShowcaseState.INVALID
    session.add(Failure(item_kind="showcase", item_id=record.id, message_id=record.message_id, job=BUILD_JOB,
                        reason=reason))


def _resolve(session: Session, record_id: int, job: str, now: datetime) -> None:
    for failure in session.scalars(select(Failure).where(
            Failure.item_kind == "showcase", Failure.item_id == record_id, Failure.job == job,
            Failure.resolved_at.is_(None))):
        failure.resolved_at = now


def resolve_sent(session: Session, record_id: int, now: datetime) -> None:
    _resolve(session, record_id, SEND_JOB, now)
