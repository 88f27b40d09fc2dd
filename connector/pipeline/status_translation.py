"""EDMS card state → what POS must be told.  Pure: no I/O, no database.

The table itself is configuration (``[status_map]``); this module only knows the POS
transition graph of pos-api.md, so that a status POS requires first (an executor before
an extension or an answer) is queued before the one the table asks for.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from connector.domain import CardStage, CardState, PosStatus
from connector.pipeline.outbox_payloads import OutboxPayload, RedirectPush, StatusPush
from connector.store.models import OutboxKind

# What POS requires to have been set before each status can be reached from an integration.
_PREREQUISITES: dict[PosStatus, tuple[PosStatus, ...]] = {
    PosStatus.EXECUTOR_ASSIGNED: (),
    PosStatus.DEADLINE_EXTENDED: (PosStatus.EXECUTOR_ASSIGNED,),
    PosStatus.ANSWERED: (PosStatus.EXECUTOR_ASSIGNED,),
    PosStatus.REDIRECTED_SUBORDINATE: (),
    PosStatus.REDIRECTED_HIGHER: (),
}

# Order of progress, used to decide that POS is already past a status we wanted to set.
PROGRESS: dict[PosStatus, int] = {
    PosStatus.NEW: 0,
    PosStatus.EXECUTOR_ASSIGNED: 1,
    PosStatus.DEADLINE_EXTENDED: 2,
    PosStatus.ANSWERED: 3,
    PosStatus.REDIRECTED_SUBORDINATE: 3,
    PosStatus.REDIRECTED_HIGHER: 3,
    PosStatus.MODERATION_REJECTED: 3,
}

REDIRECT_STATUSES = (PosStatus.REDIRECTED_SUBORDINATE, PosStatus.REDIRECTED_HIGHER)


@dataclass(frozen=True)
class OutboxIntent:
    """One outbound write; (kind, target) is its idempotency key within a message."""

    kind: OutboxKind
    target: str
    payload: OutboxPayload = field(default_factory=StatusPush, compare=False)


def plan_outbox(state: CardState, status_map: dict[CardStage, PosStatus | None]) -> list[OutboxIntent]:
    """Intents, in the order POS must receive them, for a card in ``state``.

    The answer itself (kind ANSWER) is added by the caller once the answer is fetched,
    because it carries files; this returns the status steps leading to it.
    """
    target = status_map.get(state.stage)
    if target is None:
        return []
    executor = ", ".join(e.name for e in state.executors)
    status_payload = StatusPush(executor=executor, planned_date=state.deadline, comment=state.resolution)
    intents = [OutboxIntent(OutboxKind.STATUS, pre.value, status_payload) for pre in _PREREQUISITES.get(target, ())]
    if target == PosStatus.ANSWERED:
        return intents
    if target in REDIRECT_STATUSES:
        intents.append(OutboxIntent(OutboxKind.REDIRECT, target.value, RedirectPush(
            target_org_id=state.redirect_org_id, comment=state.redirect_comment or state.resolution)))
        return intents
    intents.append(OutboxIntent(OutboxKind.STATUS, target.value, status_payload))
    return intents


def is_past(current: PosStatus, wanted: PosStatus) -> bool:
    """POS is already at or beyond ``wanted``: sending it again is pointless, not an error."""
    return PROGRESS[current] >= PROGRESS[wanted] and current != PosStatus.NEW
