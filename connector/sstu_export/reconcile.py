"""Compare what we sent with what the portal holds (pure; the caller fetches both sides).

* **missing**  -- we sent it (and it was accepted), the portal does not list it;
* **stale**    -- the portal lists it with other question statuses than our last sent state;
* **rejected** -- the portal lists it with an ``exceptionMessage``;
* **unknown**  -- the portal lists an appeal we have no record of sending (for the operator);
* **undelivered** -- the portal lists it, received but not delivered yet (``dispatchDate`` and
  ``uploadDate`` empty): neither a match nor an error, it is looked at again next time;
* **presidential** -- numbers «А26…», registered by the Presidential Administration and on the
  portal before the body reports them: not unknown, not an error;
* **unnumbered** -- portal items without a number: counted, they cannot be matched.

Each of missing/stale/rejected is a candidate for ``sstu resend``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from connector.sstu_export import wire
from connector.sstu_export.client import ReadBackItem


@dataclass(frozen=True, slots=True)
class SentRecord:
    number: str
    content_hash: str
    statuses: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Discrepancy:
    number: str
    kind: str                      # missing | stale | rejected
    reason: str
    content_hash: str = ""


@dataclass
class ReconcileReport:
    missing: list[Discrepancy] = field(default_factory=list)
    stale: list[Discrepancy] = field(default_factory=list)
    rejected: list[Discrepancy] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)
    undelivered: list[str] = field(default_factory=list)
    presidential: list[str] = field(default_factory=list)
    unnumbered: int = 0
    matched: int = 0

    @property
    def to_resend(self) -> list[str]:
        return sorted({d.number for d in (*self.missing, *self.stale, *self.rejected)})

    @property
    def ok(self) -> bool:
        return not (self.missing or self.stale or self.rejected)


def reconcile(sent: Iterable[SentRecord], held: Iterable[ReadBackItem]) -> ReconcileReport:
    """``sent``: our latest sent state per appeal number; ``held``: the read-back list."""
    portal: dict[str, ReadBackItem] = {}
    report = ReconcileReport()
    for item in held:
        key = item.number.strip()
        if not key:
            report.unnumbered += 1
            continue
        # several entries for one number (a rejected try, then an accepted one): a clean one wins
        if key not in portal or portal[key].exception_message:
            portal[key] = item
    seen: set[str] = set()
    for record in sent:
        number = record.number.strip()
        seen.add(number)
        held_item = portal.get(number)
        if held_item is None:
            report.missing.append(Discrepancy(number, "missing", "not listed by the portal", record.content_hash))
        elif not held_item.delivered and not held_item.exception_message:
            report.undelivered.append(number)
        elif held_item.exception_message:
            report.rejected.append(Discrepancy(number, "rejected", held_item.exception_message,
                                               record.content_hash))
        elif held_item.statuses and tuple(held_item.statuses) != tuple(record.statuses):
            report.stale.append(Discrepancy(
                number, "stale", f"portal holds {', '.join(held_item.statuses)}; last sent {', '.join(record.statuses)}",
                record.content_hash))
        else:
            report.matched += 1
    others = sorted(n for n in portal if n not in seen)
    report.presidential = [n for n in others if wire.PRESIDENTIAL_NUMBER_RE.match(n)]
    report.unknown = [n for n in others if not wire.PRESIDENTIAL_NUMBER_RE.match(n)]
    return report
