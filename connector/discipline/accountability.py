"""Whose fault an overdue is: the rule of issue 14, as pure functions.

* The POS term (``plannedDate``) runs out at the end of that day in the body's zone.
* A message our organisation received when its term had already run out (redirected to us late)
  is **received overdue**: nobody of ours is at fault.  The same holds for a unit or an executor
  who got it (a hop that started) after the term ran out.
* Otherwise a message answered after the term ran out, or still unanswered after it, is overdue
  by the **own fault** of the hop (organisation, unit, executor) that held it when the term ran
  out: of several holders the responsible executor, then the earliest turn, then the one who got
  it first.  Nobody holding it (not yet assigned, or between hops) is the organisation's own fault
  with no unit or executor.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from datetime import date, datetime, time, timedelta, tzinfo

from pydantic import BaseModel, ConfigDict


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Holder(_Model):
    organisation: str = ""
    unit: str = ""
    executor: str = ""


class Hold(_Model):
    """One hop of the message: who held it from ``started_at`` to ``ended_at`` (None: still)."""

    holder: Holder
    started_at: datetime
    ended_at: datetime | None = None
    responsible: bool = False
    turn: int = 0


class Outcome(enum.StrEnum):
    ON_TIME = "on_time"                    # answered before the term ran out
    OVERDUE_OWN = "overdue_own"            # the term ran out while one of ours held it
    RECEIVED_OVERDUE = "received_overdue"  # it came to us with the term already run out
    PENDING = "pending"                    # not answered, term still running
    NO_TERM = "no_term"                    # POS gave no term


class Attribution(_Model):
    outcome: Outcome
    culprit: Holder | None = None   # only for OVERDUE_OWN


def term_expiry(term: date, zone: tzinfo) -> datetime:
    """The moment a term runs out: the start of the next day in the body's zone."""
    return datetime.combine(term + timedelta(days=1), time.min, tzinfo=zone)


def holder_at(holds: Sequence[Hold], moment: datetime) -> Holder:
    """Who held the message at ``moment`` (see the module's rule); an empty Holder when nobody did."""
    holding = [h for h in holds if h.started_at <= moment and (h.ended_at is None or h.ended_at > moment)]
    if not holding:
        return Holder()
    best = min(holding, key=lambda h: (not h.responsible, h.turn or 0, h.started_at))
    return best.holder


def attribute(term: date | None, received_at: datetime, answered_at: datetime | None, holds: Sequence[Hold],
              *, zone: tzinfo, now: datetime) -> Attribution:
    """The outcome of one message: on time, overdue by whose fault, received overdue, or pending."""
    if term is None:
        return Attribution(outcome=Outcome.NO_TERM)
    expiry = term_expiry(term, zone)
    if received_at >= expiry:
        return Attribution(outcome=Outcome.RECEIVED_OVERDUE)
    if answered_at is not None and answered_at < expiry:
        return Attribution(outcome=Outcome.ON_TIME)
    if answered_at is None and now < expiry:
        return Attribution(outcome=Outcome.PENDING)
    return Attribution(outcome=Outcome.OVERDUE_OWN, culprit=holder_at(holds, expiry))


def received_overdue(term: date | None, got_at: datetime, *, zone: tzinfo) -> bool:
    """Whether a unit or an executor got the message (its hop started) after the term had run out."""
    return term is not None and got_at >= term_expiry(term, zone)
