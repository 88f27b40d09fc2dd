"""The pull watermark rules (pure): lookback, signpost, clock warnings.

Ideas from the Singer SDK's replication *signpost* (the bookmark never passes the moment the
sync started, so a change committed while we listed cannot fall behind it) and Airbyte's
*lookback window* (every incremental listing re-reads a stretch before the bookmark, so a
change that became visible late, or was dated by a clock that stepped back, is still seen).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class Signpost:
    """POS's "now" when a listing started (its ``Date`` header, else our clock) and the allowance
    for clocks that disagree."""

    reference: datetime
    allowance: timedelta

    @property
    def limit(self) -> datetime:
        """The watermark never goes past this."""
        return self.reference - self.allowance

    def is_future(self, updated_at: datetime) -> bool:
        """Dated beyond now + allowance: a clock or data error at POS (ingested, never a watermark)."""
        return updated_at > self.reference + self.allowance


def listing_since(watermark: datetime | None, lookback: timedelta) -> datetime | None:
    """Where an incremental listing starts: ``lookback`` before the watermark (None: from the start)."""
    return None if watermark is None else watermark - lookback


def advanced(watermark: datetime | None, newest: datetime | None, signpost: Signpost) -> datetime | None:
    """The watermark after committing items up to ``newest`` (future-dated ones left out).

    It moves forward to ``newest`` but never past the signpost; a watermark already past the
    signpost (the POS clock stepped back since it was set) comes back to it, so the next
    listing re-reads the stretch the step moved new changes into.
    """
    mark = newest if watermark is None or (newest is not None and newest > watermark) else watermark
    if mark is not None and mark > signpost.limit:
        mark = signpost.limit
    return mark
