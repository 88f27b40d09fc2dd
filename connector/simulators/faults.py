"""Fault injection shared by every simulator (architecture §3.4).

A spec is given as ``--faults "error_rate=0.1,rate_limit=0.05,latency_ms=20"`` or as JSON to
``POST /_sim/faults``.  Rates are probabilities per request; ``*_next`` counters make
deterministic bursts for tests ("the next 3 requests fail").
"""

from __future__ import annotations

import random
import threading
import time
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError


class FaultSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    error_rate: float = Field(0.0, ge=0, le=1, description="share of requests answered 503")
    rate_limit: float = Field(0.0, ge=0, le=1, description="share of requests answered 429 + Retry-After")
    retry_after: int = Field(1, ge=0, description="seconds announced in Retry-After")
    timeout_rate: float = Field(0.0, ge=0, le=1, description="share of requests held for hang_seconds")
    hang_seconds: float = Field(5.0, ge=0)
    latency_ms: int = Field(0, ge=0, description="added to every request")
    malformed_rate: float = Field(0.0, ge=0, le=1, description="share of bodies garbled")
    duplicate_pages: float = Field(0.0, ge=0, le=1, description="share of list pages that repeat an item")
    truncate_rate: float = Field(0.0, ge=0, le=1, description="share of file downloads cut short")
    token_ttl: float | None = Field(None, gt=0, description="seconds an access token lives")
    fail_next: int = Field(0, ge=0, description="the next N requests get 503")
    throttle_next: int = Field(0, ge=0, description="the next N requests get 429")
    malformed_next: int = Field(0, ge=0, description="the next N bodies are garbled")
    truncate_next: int = Field(0, ge=0, description="the next N file downloads are cut short")
    timeout_next: int = Field(0, ge=0, description="the next N requests are held for hang_seconds, then done")
    seed: int | None = None


def parse_fault_spec(text: str, model: type[FaultSpec] = FaultSpec) -> FaultSpec:
    """``"error_rate=0.1,latency_ms=5"`` → a spec of ``model`` (a simulator may extend
    FaultSpec with its own faults); raises ValueError naming the bad key."""
    values: dict[str, Any] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        key, sep, value = part.partition("=")
        if not sep:
            raise ValueError(f"fault {part!r}: expected key=value")
        values[key.strip()] = value.strip()
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise ValueError(f"fault {'.'.join(map(str, first['loc']))}: {first['msg']}") from None


class FaultInjector:
    """Thread-safe dice and counters for one simulator."""

    def __init__(self, spec: FaultSpec | None = None) -> None:
        self._lock = threading.Lock()
        self.configure(spec or FaultSpec())

    def configure(self, spec: FaultSpec) -> None:
        with self._lock:
            self.spec = spec
            # Every ``<name>_next`` field of the spec (a simulator's own included) is a burst counter.
            self._counters = {field[: -len("_next")]: int(getattr(spec, field))
                              for field in type(spec).model_fields if field.endswith("_next")}
            self._random = random.Random(spec.seed)
            self.injected: dict[str, int] = {}

    def _take(self, counter: str, rate: float) -> bool:
        with self._lock:
            if self._counters[counter] > 0:
                self._counters[counter] -= 1
                hit = True
            else:
                hit = rate > 0 and self._random.random() < rate
            if hit:
                self.injected[counter] = self.injected.get(counter, 0) + 1
            return hit

    def take(self, counter: str) -> bool:
        """Consume one of a ``<counter>_next`` burst (a simulator-specific fault)."""
        return self._take(counter, 0.0)

    def server_error(self) -> bool:
        return self._take("fail", self.spec.error_rate)

    def throttled(self) -> bool:
        return self._take("throttle", self.spec.rate_limit)

    def malformed(self) -> bool:
        return self._take("malformed", self.spec.malformed_rate)

    def truncated(self) -> bool:
        return self._take("truncate", self.spec.truncate_rate)

    def hang(self) -> bool:
        """Hold this request past the client's timeout; it is still carried out afterwards, like
        a real server that finishes the work of a caller who stopped waiting."""
        return self._take("timeout", self.spec.timeout_rate)

    def delay(self) -> None:
        """The slowness every request sees: ``latency_ms``, plus ``hang_seconds`` when it hangs."""
        if self.spec.latency_ms:
            time.sleep(self.spec.latency_ms / 1000)
        if self.hang():
            time.sleep(self.spec.hang_seconds)

    def chance(self, rate: float) -> bool:
        with self._lock:
            return rate > 0 and self._random.random() < rate

    def state(self) -> dict[str, Any]:
        with self._lock:
            return {"spec": self.spec.model_dump(), "remaining": dict(self._counters), "injected": dict(self.injected)}
