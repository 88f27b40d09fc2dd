"""Where requests leave the process: one retry policy, one error table.

The policy is declared once here and applied to the ``requests.Session`` every client
uses (zeep receives the same session).  Retries happen only for 429, 5xx, timeouts
and connection errors -- never for 4xx -- and honour ``Retry-After``.
"""

from __future__ import annotations

import email.utils
import enum
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import requests
from pydantic import BaseModel, ConfigDict, Field
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential,
)

log = logging.getLogger(__name__)


class RetryPolicy(BaseModel):
    """Limits of the one retry policy (``[retry]`` in the configuration)."""

    model_config = ConfigDict(extra="forbid")

    max_attempts: int = Field(5, ge=1, le=20, description="attempts per request, the first included")
    initial_wait: float = Field(0.5, ge=0, description="seconds before the first retry; doubles each time")
    max_wait: float = Field(30.0, ge=0, description="upper bound of one exponential wait")
    max_retry_after: float = Field(120.0, ge=0, description="a longer Retry-After fails the request instead")


class Action(enum.Enum):
    SUCCESS = "success"
    RETRY = "retry"
    REFRESH_AUTH = "refresh_auth"
    FAIL = "fail"


def action_for_status(status: int) -> Action:
    """The error policy as a table: HTTP status → what the caller does."""
    if status < 400:
        return Action.SUCCESS
    if status == 429 or status >= 500:
        return Action.RETRY
    if status == 401:
        return Action.REFRESH_AUTH
    return Action.FAIL


class RetryableStatus(requests.HTTPError):
    """Raised inside the retry loop for a 429/5xx answer; carries the response."""


def parse_retry_after(value: str | None) -> float | None:
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _is_retryable(exc: BaseException) -> bool:
    return isinstance(exc, RetryableStatus | requests.Timeout | requests.ConnectionError)


class _Wait:
    """Exponential back-off, replaced by the server's Retry-After when it sent one."""

    def __init__(self, policy: RetryPolicy) -> None:
        self._policy = policy
        self._exp = wait_exponential(multiplier=policy.initial_wait, max=policy.max_wait)

    def __call__(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, RetryableStatus) and exc.response is not None:
            retry_after = parse_retry_after(exc.response.headers.get("Retry-After"))
            if retry_after is not None:
                return min(retry_after, self._policy.max_retry_after)
        return float(self._exp(state))


def endpoint_of(url: str) -> str:
    """scheme://host[:port]/path of a URL: never its user:password, never its query string."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


def build_retrying(policy: RetryPolicy, sleep: Callable[[float], None] = time.sleep, *,
                   system: str = "", endpoint: str = "") -> Retrying:
    """The one tenacity policy.  Tests pass ``sleep=lambda s: None``.  ``system`` and
    ``endpoint`` name in each retry warning who failed, so an operator knows where to look."""

    def before_sleep(state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        reason = type(exc).__name__
        if isinstance(exc, RetryableStatus) and exc.response is not None:
            reason = f"HTTP {exc.response.status_code}"
        where = " ".join(p for p in (system, endpoint) if p)
        log.warning(f"retrying request to {where}" if where else "retrying request",
                    extra={"attempt": state.attempt_number, "reason": reason, "system": system,
                           "endpoint": endpoint})

    return Retrying(
        retry=retry_if_exception(_is_retryable),
        stop=stop_after_attempt(policy.max_attempts),
        wait=_Wait(policy),
        sleep=sleep,
        before_sleep=before_sleep,
        reraise=True,
    )


class RetryingSession(requests.Session):
    """A ``requests.Session`` whose every request goes through the retry policy.

    A 429/5xx answer is retried; after the last attempt the final response is returned
    (not raised) so that callers map it through their own error table.  Timeouts and
    connection errors that outlive the policy propagate as ``requests`` exceptions.

    ``retry=False`` sends a request once: for a create whose id the server assigns, where
    a lost reply must be answered by looking the object up, never by sending it again.
    """

    def __init__(self, policy: RetryPolicy, *, timeout: float = 30.0, verify: bool | str = True,
                 sleep: Callable[[float], None] = time.sleep, system: str = "") -> None:
        super().__init__()
        self.system = system  # who is at the other end, for the retry warnings ("POS demo", "edms.onec")
        self.policy = policy
        self.default_timeout = timeout
        self.verify = verify
        self._sleep = sleep

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        method = method.decode() if isinstance(method, bytes) else method
        url = url.decode() if isinstance(url, bytes) else url
        kwargs.setdefault("timeout", self.default_timeout)
        if not kwargs.pop("retry", True):
            return super().request(method, url, *args, **kwargs)
        last: list[requests.Response] = []

        def attempt() -> requests.Response:
            # Seekable bodies (files) must restart from the beginning on every attempt.
            for name in ("data", "files"):
                _rewind(kwargs.get(name))
            response = super(RetryingSession, self).request(method, url, *args, **kwargs)
            if action_for_status(response.status_code) is Action.RETRY:
                last[:] = [response]
                raise RetryableStatus(f"HTTP {response.status_code}", response=response)
            return response

        try:
            return build_retrying(self.policy, self._sleep, system=self.system,
                                  endpoint=f"{method.upper()} {endpoint_of(url)}")(attempt)
        except RetryableStatus:
            return last[0]


def _rewind(body: Any) -> None:
    if hasattr(body, "seek"):
        body.seek(0)
    elif isinstance(body, dict):
        for value in body.values():
            _rewind(value[1] if isinstance(value, tuple) and len(value) > 1 else value)
    elif isinstance(body, list):
        for item in body:
            _rewind(item[1] if isinstance(item, tuple) else item)
