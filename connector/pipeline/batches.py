"""The loop every queue job shares: claim a batch, handle each item, stop a whole group
(an account, an EDMS target) when its remote side refuses us as a whole."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import ColumnElement
from sqlalchemy.exc import InterfaceError, OperationalError

from connector.errors import AuthError, ConnectorError, FatalAdapterError, LocalStorageError
from connector.pipeline.context import PipelineContext
from connector.pipeline.outcomes import JobStats, batch_budget, record_item_error
from connector.store.leases import claim, release_ids

log = logging.getLogger(__name__)


def drain(ctx: PipelineContext, model: type[Any], *, job: str, max_batches: int | None,
          conditions: Callable[[set[str]], Sequence[ColumnElement[bool]]],
          handle: Callable[[PipelineContext, int, JobStats], None],
          group_of: Callable[[int], str]) -> JobStats:
    """``conditions(stopped_groups)`` selects claimable items; ``handle`` processes one id and
    records its own item-level errors; an AuthError/FatalAdapterError stops the item's group
    (``group_of(id)``) for the rest of this run and gives its claimed items back."""
    stats = JobStats()
    stopped: set[str] = set()
    for _ in batch_budget(max_batches):
        ids = claim(ctx.store.sessions, model, conditions(stopped), worker=ctx.worker,
                    lease_seconds=ctx.settings.daemon.lease_seconds, limit=ctx.settings.daemon.batch_size,
                    now=ctx.clock())
        if not ids:
            break
        for position, item_id in enumerate(ids):
            try:
                handle(ctx, item_id, stats)
            except LocalStorageError as exc:
                release_ids(ctx.store.sessions, model, ids[position:], ctx.worker)
                stats.notes.append(exc.operator_message)
                log.error(f"{job} stopped: local storage", extra={"job": job, "reason": exc.operator_message})
                return stats
            except (AuthError, FatalAdapterError) as exc:
                group = group_of(item_id)
                stopped.add(group)
                release_ids(ctx.store.sessions, model, ids[position:], ctx.worker)
                stats.failed += 1
                stats.notes.append(f"{group}: {exc.operator_message}")
                log.error(f"{job} stopped for {group}", extra={"job": job, "reason": exc.operator_message})
                break
            except (OperationalError, InterfaceError):
                release_ids(ctx.store.sessions, model, ids[position:], ctx.worker)
                raise
            except Exception as exc:  # noqa: BLE001 - a bug on one item must not hold the whole batch
                log.exception(f"{job}: internal error on one item (bug)", extra={"job": job, "item_id": item_id})
                reason = f"internal error ({type(exc).__name__}) in {job}; see the log"
                with ctx.store.sessions.begin() as session:
                    item = session.get(model, item_id)
                    if item is not None:
                        record_item_error(session, ctx, item, ConnectorError(reason), job=job, stats=stats)
                stats.notes.append(f"{reason} (item {item_id})")
    return stats
