"""The applicants' side of the rating loop in the POS simulator: ratings of answers, repeat appeals.

``rate_answers`` rates a share of the answered appeals that have no rating yet (1–5; a share of
them low, 1 or 2) and, for a share of the low ones, files a repeat appeal: a new message of the
same applicant, category and problem address with ``repeated`` set and ``repeatOf`` naming the
earlier number.  Deterministic for a seed, so tests can count what the connector should see.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import timedelta

from connector.domain import PosStatus
from connector.pos_client import wire
from connector.simulators.base import LOCAL_ZONE
from connector.simulators.pos.state import SimAppeal, SimState


@dataclass
class RatingOutcome:
    rated: dict[str, int] = field(default_factory=dict)      # appeal id → rating
    repeats: dict[str, str] = field(default_factory=dict)    # new appeal id → the earlier one


def rate_answers(state: SimState, *, share: float, low_share: float, repeat_share: float,
                 seed: int | None = None) -> RatingOutcome:
    rng = random.Random(seed)
    outcome = RatingOutcome()
    with state.lock:
        answered = sorted((sim for sim in state.appeals.values()
                           if sim.appeal.status is PosStatus.ANSWERED and sim.appeal.rating is None),
                          key=lambda s: s.appeal.id)
        for sim in answered:
            if rng.random() >= share:
                continue
            low = rng.random() < low_share
            rating = rng.randint(1, 2) if low else rng.randint(3, 5)
            before = sim.list_item()
            sim.appeal = sim.appeal.model_copy(update={"rating": rating, "updated_at": state.now()})
            state._becomes_visible(sim, before)
            outcome.rated[sim.appeal.id] = rating
            if low and rng.random() < repeat_share:
                repeat = _repeat_of(state, sim)
                outcome.repeats[repeat.appeal.id] = sim.appeal.id
    return outcome


def _repeat_of(state: SimState, earlier: SimAppeal) -> SimAppeal:
    number = int(earlier.appeal.id) + 50_000_000
    while str(number) in state.appeals:
        number += 1
    now = state.now()
    appeal = earlier.appeal.model_copy(update={
        "id": str(number), "epgu_number": "", "status": PosStatus.NEW, "status_label": wire.STATUS_LABELS[PosStatus.NEW],
        "stage": wire.STAGE_IN_WORK, "created_at": now, "planned_date": (now.astimezone(LOCAL_ZONE) + timedelta(days=30)).date(),
        "repeated": True, "repeat_of": earlier.appeal.id, "rating": None, "attachments": [], "updated_at": now,
        "text": f"Повторно по сообщению № {earlier.appeal.id}: проблема не решена. {earlier.appeal.text}"})
    sim = SimAppeal(appeal, 0.0, history=[{"status": PosStatus.NEW.value, "at": now.isoformat()}])
    state._becomes_visible(sim, None)
    state.appeals[appeal.id] = sim
    return sim
