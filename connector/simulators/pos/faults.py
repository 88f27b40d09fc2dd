"""Faults only POS has: its clock, the order in which changes become visible, an endless listing.

Each breaks a rule of the pull watermark (README «Reliability»): a clock that steps back or an
item dated in the future would move a naive watermark past later changes; changes that show
in the listing out of ``updatedAt`` order slip behind it; a listing that never ends would keep
``run --once`` running for ever.
"""

from __future__ import annotations

import random
import threading
import time
from datetime import UTC, datetime, timedelta

from pydantic import Field

from connector.simulators.faults import FaultSpec

ENDLESS_PREFIX = "~"  # not in the urlsafe base64 alphabet of real cursors


class PosFaultSpec(FaultSpec):
    """FaultSpec plus faults specific to POS."""

    visibility_spread: float = Field(0.0, ge=0, description="each change shows in the listing after the "
                                     "visibility delay plus a random 0..N seconds: out of updatedAt order")
    clock_step_back: float = Field(0.0, ge=0, description="the POS clock (updatedAt and the Date header) steps "
                                   "back N seconds ...")
    clock_step_after: float = Field(0.0, ge=0, description="... this many seconds after the spec is set")
    future_dated_next: int = Field(0, ge=0, description="the next N changes carry an updatedAt future_seconds ahead")
    future_seconds: float = Field(365 * 24 * 3600.0, gt=0)
    showcase_reject_next: int = Field(0, ge=0, description="the data showcase refuses the next N valid items")
    showcase_partial_next: int = Field(0, ge=0, description="the next N showcase uploads store their first half, "
                                       "then answer 503")
    endless_cursor: bool = Field(False, description="the listing never ends: past its last page every page hands "
                                 "out a fresh cursor to the same items (empty pages when there are none)")


class PosClock:
    """The simulator's wall clock, stepped back by ``clock_step_back`` from a set moment.

    Ties are broken by a microsecond so that (updatedAt, id) orders every change, but a real
    step back is kept: that is the fault.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._step = 0.0
        self._step_from = 0.0
        self._last = datetime.now(UTC)
        self._rng = random.Random(1)
        self._spread = 0.0

    def configure(self, spec: PosFaultSpec) -> None:
        with self._lock:
            self._step = spec.clock_step_back
            self._step_from = time.monotonic() + spec.clock_step_after
            self._spread = spec.visibility_spread
            self._rng = random.Random(spec.seed if spec.seed is not None else 1)

    def wall(self) -> datetime:
        """What the POS server believes the time is (no tie-breaking): its Date header."""
        with self._lock:
            return self._wall()

    def _wall(self) -> datetime:
        stepped = self._step and time.monotonic() >= self._step_from
        return datetime.now(UTC) - timedelta(seconds=self._step if stepped else 0)

    def stamp(self) -> datetime:
        """An ``updatedAt`` for a change made now."""
        with self._lock:
            now = self._wall()
            if self._last - timedelta(milliseconds=5) < now <= self._last:
                now = self._last + timedelta(microseconds=1)
            self._last = now
            return now

    def visibility_lag(self, delay: float) -> float:
        """Seconds until a change made now shows in the listing."""
        with self._lock:
            return delay + (self._rng.uniform(0, self._spread) if self._spread else 0.0)
