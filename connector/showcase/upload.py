"""Pending ``showcase_items`` → the showcase endpoint of their POS account, in batches.

Each claimed batch is split by account and sent as one request per account; POS answers with
one result per item.  An accepted item records the hash it was sent with (``sent_hash``) and its
result; a rejected one lands in failures with POS's code and message (``connector failures retry``
sends it again).  A batch the transport gave up on (5xx, timeouts) backs off item by item like any
other work, and the account's uploads stop for this run.  Sending again is harmless: the showcase keys an item by its id and replaces it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, select
from sqlalchemy.exc import InterfaceError, OperationalError

from connector.errors import AuthError, ConnectorError, FatalAdapterError, LocalStorageError
from connector.i18n import N_, _
from connector.pipeline.context import PipelineContext
from connector.pipeline.outcomes import JobStats, batch_budget, dead_letter, record_item_error
from connector.pos_client.settings import pos_account
from connector.pos_client.wire import WireShowcaseResult
from connector.showcase.records import ShowcaseRecord, ShowcaseState
from connector.showcase.refresh import SEND_JOB, resolve_sent
from connector.store.leases import claim, release, release_ids

log = logging.getLogger(__name__)

MAX_RESULT = 500


def upload_pending(ctx: PipelineContext, *, max_batches: int | None = None,
                   only: Sequence[ColumnElement[bool]] = ()) -> JobStats:
    """Upload every pending item (``only``: further conditions, e.g. the back-fill's dates)."""
    stats = JobStats()
    stopped: set[str] = set()
    accounts = [a.name for a in ctx.settings.accounts]  # an account no longer configured has no showcase to go to
    for _batch in batch_budget(max_batches):
        conditions = [ShowcaseRecord.send_state == ShowcaseState.PENDING, ShowcaseRecord.account.in_(accounts), *only]
        if stopped:
            conditions.append(ShowcaseRecord.account.not_in(stopped))
        ids = claim(ctx.store.sessions, ShowcaseRecord, conditions, worker=ctx.worker,
                    lease_seconds=ctx.settings.daemon.lease_seconds, limit=ctx.settings.showcase.batch_size,
                    now=ctx.clock())
        if not ids:
            break
        for account, group in _by_account(ctx, ids).items():
            if account in stopped:
                release_ids(ctx.store.sessions, ShowcaseRecord, [i for i, _h, _p in group], ctx.worker)
                continue
            try:
                if not _upload_group(ctx, account, group, stats):
                    stopped.add(account)  # its showcase is down: the items back off, the next run tries again
            except (AuthError, FatalAdapterError) as exc:
                stopped.add(account)
                release_ids(ctx.store.sessions, ShowcaseRecord, [i for i, _h, _p in group], ctx.worker)
                stats.notes.append(f"{account}: {exc.operator_message}")
                log.error("showcase upload stopped for an account", extra={"account": account,
                                                                           "reason": exc.operator_message})
            except (LocalStorageError, OperationalError, InterfaceError):
                release_ids(ctx.store.sessions, ShowcaseRecord, ids, ctx.worker)
                raise
    return stats


Claimed = tuple[int, str, dict[str, Any]]  # record id, the hash and the payload being sent


def _by_account(ctx: PipelineContext, ids: Sequence[int]) -> dict[str, list[Claimed]]:
    groups: dict[str, list[Claimed]] = {}
    with ctx.store.sessions.begin() as session:
        for record in session.scalars(select(ShowcaseRecord).where(ShowcaseRecord.id.in_(ids))
                                      .order_by(ShowcaseRecord.id)):
            if record.payload is None:  # nothing to send: the next refresh builds it again
                record.send_state, record.content_hash = ShowcaseState.IDLE, ""
                release(record)
                continue
            groups.setdefault(record.account, []).append((record.id, record.content_hash, record.payload))
    return groups


def _upload_group(ctx: PipelineContext, account: str, group: list[Claimed], stats: JobStats) -> bool:
    """False when the whole upload failed (each item counted a failed attempt)."""
    try:
        results = ctx.pos(account).upload_showcase([payload for _i, _h, payload in group])
    except (AuthError, FatalAdapterError):
        raise
    except ConnectorError as exc:
        with ctx.store.sessions.begin() as session:
            for record_id, _h, _p in group:
                record = session.get(ShowcaseRecord, record_id)
                if record is not None:
                    record_item_error(session, ctx, record, exc, job=SEND_JOB, stats=stats)
        log.warning("showcase upload failed", extra={"account": account, "items": len(group),
                                                     "reason": exc.operator_message})
        return False
    by_index = {r.index: r for r in results}
    with ctx.store.sessions.begin() as session:
        for index, (record_id, sent_hash, _p) in enumerate(group):
            record = session.get(ShowcaseRecord, record_id)
            if record is not None:
                _apply_result(ctx, session, record, sent_hash, by_index.get(index), stats)
    return True


def _apply_result(ctx: PipelineContext, session: Any, record: ShowcaseRecord, sent_hash: str,
                  result: WireShowcaseResult | None, stats: JobStats) -> None:
    now = ctx.clock()
    if result is None:
        record_item_error(session, ctx, record, ConnectorError(
            N_("{account}: the showcase returned no result for item {item}"),
            params={"account": pos_account(record.account), "item": record.item_id}),
            job=SEND_JOB, stats=stats)
        return
    record.result = {"accepted": result.accepted, "id": result.id, "code": result.code,
                     "message": (result.message or "")[:MAX_RESULT] or None, "at": now.isoformat()}
    release(record)
    if result.accepted:
        record.sent_hash, record.sent_at, record.sends = sent_hash, now, (record.sends or 0) + 1
        record.attempts, record.next_attempt_at, record.last_error = 0, None, None
        changed_meanwhile = record.content_hash != sent_hash
        record.send_state = ShowcaseState.PENDING if changed_meanwhile else ShowcaseState.IDLE
        resolve_sent(session, record.id, now)
        stats.processed += 1
        return
    reason = _("POS account {account!r}: the showcase rejected item {item}: {code}").format(
        account=record.account, item=record.item_id, code=result.code or _("no code")) + (
        f": {result.message[:200]}" if result.message else "")
    record.attempts = (record.attempts or 0) + 1
    record.last_error, record.next_attempt_at = reason, None
    resolve_sent(session, record.id, now)  # one open failure per item: the latest refusal
    dead_letter(session, record, job=SEND_JOB, reason=reason)
    stats.failed += 1
    log.warning("showcase item rejected", extra={"item": record.item_id, "code": result.code or ""})
