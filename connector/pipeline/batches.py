"""The loop every queue job shares: claim a batch, handle each item, stop a whole group
(an account, an EDMS target) when its remote side refuses us as a whole."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import ColumnElement

from connector.errors import AuthError, FatalAdapterError, LocalStorageError
from connector.pipeline.context import PipelineContext
from connector.pipeline.outcomes import JobStats, batch_budget
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
    return stats
