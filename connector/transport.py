"""Where requests leave the process: one retry policy, one error table, one session per peer.

The error policy is data (the idea of airbyte-cdk's error mapping and meltano's
``validate_response``): :func:`classify` turns an answer or a ``requests`` exception into a
:class:`Resolution` -- succeed, retry, refresh the credentials and repeat once, or fail with an
error of :mod:`connector.errors`.  The table is :data:`DEFAULT_TABLE`; a client that needs
another row merges its own (``{**DEFAULT_TABLE, 403: ...}``), and a client whose peer reports
errors in the body (POS ``ALREADY_ANSWERED``, a 1С ``DMError``) hands :func:`classify` a
:data:`BodyCheck` that refines the status' resolution.

=====================================  ===============================================================
what came back                         resolution (default table)
=====================================  ===============================================================
2xx                                    success
3xx (a redirect requests could not     fail: TransientError
follow)
401                                    refresh the credentials and repeat once; again: AuthError
403                                    fail: AuthError
429, 5xx                               retry (Retry-After honoured, capped); after the last: TransientError
other 4xx                              fail: RemoteRejected(status, code) -- sent once, never retried
timeout, connection error              retry; after the last: :class:`Unreachable` (a TransientError)
invalid URL or scheme                  fail: FatalAdapterError
any other ``requests`` error           fail: TransientError
=====================================  ===============================================================

:class:`RetryingSession` is the ``requests.Session`` every client uses (zeep receives the same
session): :meth:`~RetryingSession.request` retries by the table and returns the last answer,
:meth:`~RetryingSession.call` raises the table's error, and :meth:`~RetryingSession.call_once`
/ :meth:`~RetryingSession.send_once` send once -- for a create whose id the server assigns,
where a lost reply must be answered by looking the object up, never by sending it again.
Sessions never read proxies or certificates from the environment (``trust_env`` is off): the
proxy comes from ``[http] proxy`` only.
"""

from __future__ import annotations

import dataclasses
import email.utils
import enum
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, Protocol
from urllib.parse import urlsplit

import requests
from requests.adapters import DEFAULT_POOLSIZE, HTTPAdapter
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential,
)

from connector.errors import (
    AuthError,
    ConnectorError,
    FatalAdapterError,
    Phrase,
    RemoteRejected,
    TransientError,
)
from connector.http_settings import HttpSettings, RetryPolicy
from connector.i18n import N_

log = logging.getLogger(__name__)


# --- the error table -------------------------------------------------------------------------------

class Action(enum.Enum):
    SUCCESS = "success"
    RETRY = "retry"
    REFRESH_AUTH = "refresh_auth"
    FAIL = "fail"


class Unreachable(TransientError):
    """A timeout or connection error outlived the retry policy.  A job retries the item later;
    a health check reports the endpoint as unreachable."""


@dataclasses.dataclass(frozen=True)
class Rule:
    """One row of the table: what to do, and the error raised when it ends in failure (on FAIL,
    after the last RETRY, after a REFRESH_AUTH that did not help)."""

    action: Action
    error: type[ConnectorError] | None = None


#: status → rule; a status not listed falls to its class ("4xx"), an unknown class fails transiently.
Table = Mapping[int | str, Rule]

DEFAULT_TABLE: Table = {
    "2xx": Rule(Action.SUCCESS),
    "3xx": Rule(Action.FAIL, TransientError),
    401: Rule(Action.REFRESH_AUTH, AuthError),
    403: Rule(Action.FAIL, AuthError),
    429: Rule(Action.RETRY, TransientError),
    "4xx": Rule(Action.FAIL, RemoteRejected),
    "5xx": Rule(Action.RETRY, TransientError),
}

_UNKNOWN_STATUS = Rule(Action.FAIL, TransientError)

#: exception → rule, first match wins (ConnectTimeout is both a Timeout and a ConnectionError).
EXCEPTION_TABLE: tuple[tuple[type[requests.RequestException], Rule], ...] = (
    (requests.Timeout, Rule(Action.RETRY, Unreachable)),
    (requests.ConnectionError, Rule(Action.RETRY, Unreachable)),
    (requests.exceptions.InvalidURL, Rule(Action.FAIL, FatalAdapterError)),
    (requests.exceptions.InvalidSchema, Rule(Action.FAIL, FatalAdapterError)),
    (requests.exceptions.MissingSchema, Rule(Action.FAIL, FatalAdapterError)),
    (requests.RequestException, Rule(Action.FAIL, TransientError)),
)


@dataclasses.dataclass(frozen=True)
class Peer:
    """Who is at the other end, as error messages name it: ``name`` ("Directum RX at https://…",
    "POS account 'demo'"), ``credentials`` (what an auth failure says was rejected: a login's
    name, never a password) and ``hint`` (appended to an auth failure: what to check); a
    :class:`~connector.errors.Phrase` is English in the logs and translated where the error is shown."""

    name: str | Phrase
    credentials: str | Phrase = Phrase(N_("the credentials"))
    hint: str | Phrase = ""


@dataclasses.dataclass(frozen=True)
class Resolution:
    """What one answer (or one ``requests`` exception) means.

    ``reason`` is the short label an error message carries ("HTTP 409 (ALREADY_ANSWERED)",
    "Timeout", or the server's own reason); ``code`` and ``detail`` go into the raised error.
    A body check may set ``exception``: its own error, raised as it is."""

    action: Action
    error: type[ConnectorError] | None = None
    status: int | None = None
    reason: str = ""
    code: str | None = None
    detail: str | None = None
    exception: ConnectorError | None = None
    retryable: bool = False  # the table said RETRY: a failure is one "after retries"
    timed_out: bool = False  # a timeout, not a refused or broken connection

    def refine(self, **changes: Any) -> Resolution:
        return dataclasses.replace(self, **changes)

    def succeed(self) -> Resolution:
        return dataclasses.replace(self, action=Action.SUCCESS, error=None, exception=None)

    def fail(self, error: type[ConnectorError] | ConnectorError, **changes: Any) -> Resolution:
        """Fail with ``error`` (a taxonomy class, or a finished error); a retryable answer stays retryable."""
        action = Action.RETRY if self.action is Action.RETRY else Action.FAIL
        if isinstance(error, ConnectorError):
            return dataclasses.replace(self, action=action, exception=error, **changes)
        return dataclasses.replace(self, action=action, error=error, exception=None, **changes)

    def failure(self, peer: Peer, what: str) -> ConnectorError:
        """The error this resolution ends in, worded for the operator."""
        if self.exception is not None:
            return self.exception
        error = self.error or TransientError
        said = {"peer": peer.name, "what": what, "reason": self.reason}
        if issubclass(error, Unreachable):
            text = (N_("{peer} did not answer {what} ({reason})") if self.timed_out
                    else N_("{peer}: cannot connect for {what} ({reason})"))
            return error(text, params=said, detail=self.reason)
        if issubclass(error, AuthError):
            return error(N_("{peer}: {credentials} rejected ({reason}) on {what}{hint}"),
                         params={**said, "credentials": peer.credentials, "hint": peer.hint}, detail=self.detail)
        if issubclass(error, RemoteRejected):
            return error(N_("{peer}: {what} rejected: {reason}"), params=said, status=self.status, code=self.code,
                         detail=self.detail)
        if issubclass(error, TransientError) and self.status is not None:
            text = N_("{peer}: {what} answered {reason} after retries") if self.retryable else N_(
                "{peer}: {what} answered {reason}")
            return error(text, params=said, detail=self.detail)
        return error(N_("{peer}: {what}: {reason}"), params=said, detail=self.detail)


#: ``check(response, resolution) -> resolution``: a client's look at the body, after the status table.
BodyCheck = Callable[[requests.Response, Resolution], Resolution]


def rule_for(status: int, table: Table = DEFAULT_TABLE) -> Rule:
    return table.get(status) or table.get(f"{status // 100}xx") or _UNKNOWN_STATUS


def classify(outcome: requests.Response | BaseException, *, table: Table = DEFAULT_TABLE,
             check: BodyCheck | None = None) -> Resolution:
    """The one error table: an answer or a ``requests`` exception → :class:`Resolution`."""
    if isinstance(outcome, BaseException):
        rule = next((r for kind, r in EXCEPTION_TABLE if isinstance(outcome, kind)), None)
        if rule is None:
            raise outcome
        return Resolution(rule.action, rule.error, reason=type(outcome).__name__,
                          retryable=rule.action is Action.RETRY, timed_out=isinstance(outcome, requests.Timeout))
    status = outcome.status_code
    rule = rule_for(status, table)
    resolution = Resolution(rule.action, rule.error, status=status, reason=f"HTTP {status}",
                            retryable=rule.action is Action.RETRY)
    return check(outcome, resolution) if check is not None else resolution


def action_for_status(status: int, table: Table = DEFAULT_TABLE) -> Action:
    """The table's action for a bare status."""
    return rule_for(status, table).action


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """``Retry-After`` in seconds (delta-seconds or an HTTP date, relative to ``now``)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


# --- the retry policy ----------------------------------------------------------------------------

class RetryableStatus(requests.HTTPError):
    """Raised inside the retry loop for an answer the table retries; carries it and its resolution."""

    def __init__(self, resolution: Resolution, response: requests.Response) -> None:
        super().__init__(resolution.reason, response=response)
        self.resolution = resolution


def _is_retryable(exc: BaseException) -> bool:
    if isinstance(exc, RetryableStatus):
        return True
    return isinstance(exc, requests.RequestException) and classify(exc).action is Action.RETRY


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
                   system: str = "", endpoint: str = "", attempts: int | None = None) -> Retrying:
    """The one tenacity policy.  Tests pass ``sleep=lambda s: None``.  ``system`` and
    ``endpoint`` name in each retry warning who failed, so an operator knows where to look."""

    def before_sleep(state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        reason = exc.resolution.reason if isinstance(exc, RetryableStatus) else type(exc).__name__
        where = " ".join(p for p in (system, endpoint) if p)
        log.warning(f"retrying request to {where}" if where else "retrying request",
                    extra={"attempt": state.attempt_number, "reason": reason, "system": system,
                           "endpoint": endpoint})

    return Retrying(
        retry=retry_if_exception(_is_retryable),
        stop=stop_after_attempt(attempts or policy.max_attempts),
        wait=_Wait(policy),
        sleep=sleep,
        before_sleep=before_sleep,
        reraise=True,
    )


# --- the session --------------------------------------------------------------------------------

class Credentials(Protocol):
    """Credentials that can be refreshed (a bearer token): ``header()`` and ``invalidate()``."""

    def header(self) -> dict[str, str]: ...

    def invalidate(self, rejected: dict[str, str] | None = None) -> None:
        """Forget the credentials; ``rejected``: only if they are still those of that header (another
        thread may have renewed them meanwhile, and the new ones must not be thrown away)."""
        ...


class RetryingSession(requests.Session):
    """The ``requests.Session`` of one peer; every request goes through the retry policy.

    * :meth:`request` (and so ``get``/``post``, zeep's calls included): retried by the table; the
      last answer is returned, not raised; timeouts and connection errors that outlive the policy
      propagate as ``requests`` exceptions.
    * :meth:`call`: as ``request``, then the table's error is raised; a 401 refreshes ``auth``
      once; ``check`` looks at the body.
    * :meth:`call_once` / :meth:`send_once`: the same, sent exactly once, never retried.
    """

    def __init__(self, policy: RetryPolicy, *, timeout: float = 30.0, verify: bool | str = True,
                 proxy: str = "", no_proxy: Iterable[str] = (),
                 sleep: Callable[[float], None] = time.sleep, system: str = "", pool_size: int = 0) -> None:
        super().__init__()
        if pool_size > DEFAULT_POOLSIZE:  # requests keeps 10 connections per host; a job may run more calls at once
            for prefix in ("https://", "http://"):
                self.mount(prefix, HTTPAdapter(pool_connections=DEFAULT_POOLSIZE, pool_maxsize=pool_size))
        self.system = system  # who is at the other end, for the retry warnings ("POS demo", "edms.onec")
        self.policy = policy
        self.default_timeout = timeout
        self.verify = verify
        self.trust_env = False  # no HTTP(S)_PROXY, NO_PROXY, REQUESTS_CA_BUNDLE or .netrc from the environment
        self.proxies = {"http": proxy, "https": proxy} if proxy else {}
        self.no_proxy = tuple(h.strip().lower().lstrip(".") for h in no_proxy if h.strip())
        self._sleep = sleep

    # requests' own API ------------------------------------------------------------------------
    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        return self._attempts(method, url, args, kwargs, table=DEFAULT_TABLE, check=None, once=False)[1]

    def send_once(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        """One attempt, never retried, whatever comes back."""
        return self._attempts(method, url, (), kwargs, table=DEFAULT_TABLE, check=None, once=True)[1]

    # the error table applied -----------------------------------------------------------------------
    def call(self, method: str, url: str, *, peer: Peer, what: str, table: Table = DEFAULT_TABLE,
             check: BodyCheck | None = None, auth: Credentials | None = None, **kwargs: Any) -> requests.Response:
        """Send with retries; return a successful answer, raise the table's error for any other."""
        return self._call(method, url, peer, what, table, check, auth, once=False, kwargs=kwargs)

    def call_once(self, method: str, url: str, *, peer: Peer, what: str, table: Table = DEFAULT_TABLE,
                  check: BodyCheck | None = None, auth: Credentials | None = None,
                  **kwargs: Any) -> requests.Response:
        """As :meth:`call`, sent once: a create the caller answers by a lookup if the reply is lost."""
        return self._call(method, url, peer, what, table, check, auth, once=True, kwargs=kwargs)

    def _call(self, method: str, url: str, peer: Peer, what: str, table: Table, check: BodyCheck | None,
              auth: Credentials | None, *, once: bool, kwargs: dict[str, Any]) -> requests.Response:
        headers = dict(kwargs.pop("headers", None) or {})
        for attempt in (1, 2):
            credentials = auth.header() if auth is not None else {}
            sent = {**kwargs, "headers": {**headers, **credentials}}
            try:
                resolution, response = self._attempts(method, url, (), sent, table=table, check=check, once=once)
            except requests.RequestException as exc:
                raise classify(exc).failure(peer, what) from None
            if resolution.action is Action.SUCCESS:
                return response
            response.close()
            if resolution.action is Action.REFRESH_AUTH and auth is not None and attempt == 1:
                auth.invalidate(credentials)
                continue
            raise resolution.failure(peer, what)
        raise AssertionError("unreachable")  # pragma: no cover

    def _attempts(self, method: str | bytes, url: str | bytes, args: tuple[Any, ...], kwargs: dict[str, Any], *,
                  table: Table, check: BodyCheck | None, once: bool) -> tuple[Resolution, requests.Response]:
        method = method.decode() if isinstance(method, bytes) else method
        url = url.decode() if isinstance(url, bytes) else url
        kwargs.setdefault("timeout", self.default_timeout)
        if self.no_proxy and self.proxies and _bypasses(url, self.no_proxy):
            kwargs["proxies"] = {"http": None, "https": None}

        def attempt() -> tuple[Resolution, requests.Response]:
            for name in ("data", "files"):  # a seekable body restarts from its beginning every attempt
                _rewind(kwargs.get(name))
            response = super(RetryingSession, self).request(method, url, *args, **kwargs)
            resolution = classify(response, table=table, check=check)
            if resolution.action is Action.RETRY:
                raise RetryableStatus(resolution, response)
            return resolution, response

        try:
            return build_retrying(self.policy, self._sleep, system=self.system, attempts=1 if once else None,
                                  endpoint=f"{method.upper()} {endpoint_of(url)}")(attempt)
        except RetryableStatus as exc:
            assert exc.response is not None
            return exc.resolution, exc.response


def session_for(http: HttpSettings, policy: RetryPolicy, *, system: str = "", timeout: float | None = None,
                sleep: Callable[[float], None] = time.sleep, concurrency: int = 1) -> RetryingSession:
    """The one session factory: ``[http]`` (timeout, TLS, proxy) and the retry policy applied; its
    connection pool keeps at least ``concurrency`` connections per host (``[daemon] concurrency``
    threads share one session per peer), so no call opens a connection that is then thrown away."""
    return RetryingSession(policy, timeout=http.timeout_seconds if timeout is None else timeout,
                           verify=http.verify(), proxy=http.proxy, no_proxy=http.no_proxy, sleep=sleep,
                           system=system, pool_size=concurrency)


def _bypasses(url: str, no_proxy: tuple[str, ...]) -> bool:
    """Whether ``url``'s host is one of ``no_proxy`` (a host name, a domain suffix, or ``*``)."""
    host = (urlsplit(url).hostname or "").lower()
    return any(entry == "*" or host == entry or host.endswith("." + entry) for entry in no_proxy)


def _rewind(body: Any) -> None:
    if hasattr(body, "seek"):
        body.seek(0)
    elif isinstance(body, dict):
        for value in body.values():
            _rewind(value[1] if isinstance(value, tuple) and len(value) > 1 else value)
    elif isinstance(body, list):
        for item in body:
            _rewind(item[1] if isinstance(item, tuple) else item)
