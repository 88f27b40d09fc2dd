"""The accountability rule on a table of cases (issue 14)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from connector.discipline.accountability import (
    Hold,
    Holder,
    Outcome,
    attribute,
    holder_at,
    received_overdue,
    term_expiry,
)

MSK = ZoneInfo("Europe/Moscow")
TERM = date(2026, 11, 20)              # runs out at 2026-11-21 00:00 MSK = 2026-11-20 21:00 UTC
BEFORE = datetime(2026, 11, 20, 20, 59, tzinfo=UTC)
AT = datetime(2026, 11, 20, 21, 0, tzinfo=UTC)
LATER = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
EARLY = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
MID = datetime(2026, 11, 10, 9, 0, tzinfo=UTC)

ROAD = Holder(organisation="Адм.", unit="Дороги", executor="Васильев")
HOUSING = Holder(organisation="Адм.", unit="ЖКХ", executor="Соколова")
PARKS = Holder(organisation="Адм.", unit="Благоустройство", executor="Иванова")


def test_the_term_runs_out_at_midnight_in_the_bodys_zone() -> None:
    assert term_expiry(TERM, MSK) == AT


@pytest.mark.parametrize(("received", "answered", "holds", "now", "outcome", "culprit"), [
    # answered a minute before the term ran out
    (EARLY, BEFORE, [Hold(holder=ROAD, started_at=EARLY)], LATER, Outcome.ON_TIME, None),
    # answered exactly when it ran out: late, the road unit held it
    (EARLY, AT, [Hold(holder=ROAD, started_at=EARLY)], LATER, Outcome.OVERDUE_OWN, ROAD),
    # redirected to us after the term ran out: received overdue, nobody's fault here
    (AT, LATER, [Hold(holder=ROAD, started_at=AT)], LATER, Outcome.RECEIVED_OVERDUE, None),
    # the road unit handed it to housing before the term ran out: housing let it expire
    (EARLY, LATER, [Hold(holder=ROAD, started_at=EARLY, ended_at=MID), Hold(holder=HOUSING, started_at=MID)],
     LATER, Outcome.OVERDUE_OWN, HOUSING),
    # still unanswered after the term: overdue, whoever holds it
    (EARLY, None, [Hold(holder=ROAD, started_at=EARLY)], LATER, Outcome.OVERDUE_OWN, ROAD),
    # still unanswered, term still running
    (EARLY, None, [Hold(holder=ROAD, started_at=EARLY)], MID, Outcome.PENDING, None),
    # two in parallel: the responsible executor answers for it, not the co-executor
    (EARLY, LATER, [Hold(holder=HOUSING, started_at=EARLY), Hold(holder=PARKS, started_at=EARLY, responsible=True)],
     LATER, Outcome.OVERDUE_OWN, PARKS),
    # in turn: the earlier turn still holds it
    (EARLY, LATER, [Hold(holder=HOUSING, started_at=EARLY, turn=2), Hold(holder=ROAD, started_at=EARLY, turn=1)],
     LATER, Outcome.OVERDUE_OWN, ROAD),
    # nobody assigned when it ran out: the organisation's own fault, no unit
    (EARLY, LATER, [Hold(holder=ROAD, started_at=EARLY, ended_at=MID)], LATER, Outcome.OVERDUE_OWN, Holder()),
])
def test_attribution(received: datetime, answered: datetime | None, holds: list[Hold], now: datetime,
                     outcome: Outcome, culprit: Holder | None) -> None:
    result = attribute(TERM, received, answered, holds, zone=MSK, now=now)
    assert (result.outcome, result.culprit) == (outcome, culprit)


def test_no_term_is_never_overdue() -> None:
    assert attribute(None, EARLY, LATER, [], zone=MSK, now=LATER).outcome is Outcome.NO_TERM


@pytest.mark.parametrize(("got", "expected"), [(BEFORE, False), (AT, True), (LATER, True)])
def test_a_hop_that_started_after_the_term_received_it_overdue(got: datetime, expected: bool) -> None:
    assert received_overdue(TERM, got, zone=MSK) is expected
    assert received_overdue(None, got, zone=MSK) is False


def test_a_hop_ending_at_the_moment_no_longer_holds_it() -> None:
    holds = [Hold(holder=ROAD, started_at=EARLY, ended_at=AT), Hold(holder=HOUSING, started_at=AT)]
    assert holder_at(holds, AT) == HOUSING
