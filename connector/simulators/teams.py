"""Who works on a card in the simulated EDMS: several executors in several units, some in turn.

Shared by the 1С, Directum and МЭДО simulators (each renders the plan in its own wire shape).
A plan is drawn from the simulator's seeded random, so a seed gives the same teams every run.

* about half the cards have one executor;
* a quarter have a responsible executor and a co-executor of another unit working in parallel;
* a quarter go through two or three units in turn (``order`` 1, 2, 3), each with its own term;
* about one card in five is already late: its executors' terms ran out before today;
* about one card in eight that is already being worked on gets its open terms extended before it is
  answered (see ``extends``), so a tracker sees the term move.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

UNITS: dict[str, tuple[str, ...]] = {
    "Отдел благоустройства": ("Иванова Мария Сергеевна", "Кузнецов Алексей Петрович"),
    "Управление ЖКХ": ("Соколова Ольга Николаевна", "Морозов Дмитрий Игоревич"),
    "Отдел дорожного хозяйства": ("Васильев Павел Андреевич", "Новикова Елена Викторовна"),
    "Отдел транспорта": ("Фёдоров Сергей Олегович",),
}

TERM_DAYS = 30
EXTENSION_DAYS = 15


@dataclass(frozen=True)
class Assignment:
    executor: str
    unit: str
    responsible: bool
    order: int          # 0: in parallel; 1, 2, …: in turn
    due: date


def plan_team(rng: random.Random, today: date, *, term_days: int = TERM_DAYS) -> list[Assignment]:
    units = rng.sample(sorted(UNITS), k=3)
    late = rng.random() < 0.2
    base = today - timedelta(days=rng.randint(1, 5)) if late else today + timedelta(days=term_days)
    roll = rng.random()
    if roll < 0.5:
        return [Assignment(rng.choice(UNITS[units[0]]), units[0], True, 0, base)]
    if roll < 0.75:
        return [Assignment(rng.choice(UNITS[units[0]]), units[0], True, 0, base),
                Assignment(rng.choice(UNITS[units[1]]), units[1], False, 0, base - timedelta(days=5))]
    steps = rng.choice((2, 3))
    span = max(1, term_days // steps)
    first_due = base - timedelta(days=span * (steps - 1))
    return [Assignment(rng.choice(UNITS[u]), u, i == 0, i + 1, first_due + timedelta(days=span * i))
            for i, u in enumerate(units[:steps])]


def extends(rng: random.Random) -> bool:
    """Whether this card's terms are extended (drawn after its plan)."""
    return rng.random() < 0.125


def unit_of(executor: str) -> str:
    return next((u for u, names in UNITS.items() if executor in names), "")


def team_fields(body: dict[str, Any]) -> dict[str, Any]:
    """The team fields of an ``assign`` act: ``department`` (default: the executor's unit in ``UNITS``),
    ``responsible`` (default true) and ``order`` (default 0, in parallel)."""
    executor = str(body.get("executor") or "")
    return {"department": str(body.get("department") or unit_of(executor)),
            "responsible": bool(body.get("responsible", True)), "order": int(body.get("order") or 0)}
