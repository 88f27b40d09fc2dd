"""``/healthz`` and ``/metrics`` on a small threaded HTTP server (loopback by default).

``/healthz`` answers 200 ``{"status": "ok", ...}`` while every job succeeded recently and
503 ``{"status": "stalled", "stalled": [...]}`` when a job has not succeeded for longer than
``stall_after_seconds``.  The reference point of a job is its last success or the start of
this daemon, whichever is later: a daemon that was down for a day is not "stalled" the
second it starts again, and a job that never succeeds is stalled once the daemon has been up
for ``stall_after_seconds``.  A store that cannot be read is 503 too.
"""

from __future__ import annotations

import errno
import json
import logging
import socket
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from connector.errors import ConnectorError
from connector.i18n import _
from connector.ops.metrics import Metrics, last_successes
from connector.ops.settings import MonitoringSettings
from connector.store.db import Store
from connector.store.models import utcnow

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class JobHealth:
    job: str
    last_success: datetime | None
    seconds_since: float  # since the last success, or since the daemon started if later
    stalled: bool

    def as_json(self) -> dict[str, Any]:
        return {"last_success": self.last_success.isoformat() if self.last_success else None,
                "seconds_since_success": round(self.seconds_since, 1), "stalled": self.stalled}


# Jobs that run once a day: a day between two successes is normal, not a stall.
RUN_GAP_SECONDS = {"sstu": 24 * 3600}


def job_health(store: Store, jobs: Sequence[str], *, now: datetime, started_at: datetime,
               stall_after_seconds: float) -> list[JobHealth]:
    """Health of each expected job (raises SQLAlchemyError when the store cannot be read)."""
    successes = last_successes(store)
    result = []
    for job in jobs:
        last = successes.get(job)
        reference = max(last, started_at) if last is not None else started_at
        since = (now - reference).total_seconds()
        result.append(JobHealth(job=job, last_success=last, seconds_since=since,
                                stalled=since > stall_after_seconds + RUN_GAP_SECONDS.get(job, 0)))
    return result


class HealthServer:
    """Serves ``/healthz`` and ``/metrics`` from a background thread; ``start()``/``stop()``."""

    def __init__(self, settings: MonitoringSettings, store: Store, metrics: Metrics, jobs: Sequence[str], *,
                 started_at: datetime | None = None, clock: Callable[[], datetime] = utcnow) -> None:
        self.settings = settings
        self.store = store
        self.metrics = metrics
        self.jobs = tuple(jobs)
        self.clock = clock
        self.started_at = started_at or clock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the health server is not running")
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        host = self.settings.host
        return f"http://{f'[{host}]' if ':' in host else host}:{self.port}"

    def start(self) -> None:
        if self._server is not None:
            return
        handler = _make_handler(self)
        server_class = _V6Server if ":" in self.settings.host else ThreadingHTTPServer
        try:
            self._server = server_class((self.settings.host, self.settings.port), handler)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                message = _("monitoring listen {listen} is in use: set [monitoring] listen")
            else:
                message = _("monitoring listen {listen} cannot be opened ({error}): set [monitoring] listen")
            raise ConnectorError(message.format(listen=self.settings.listen, error=exc.strerror)) from None
        self._thread = threading.Thread(target=self._server.serve_forever, name="health-server", daemon=True)
        self._thread.start()
        log.info("monitoring endpoint listening", extra={"url": self.url})

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = self._thread = None

    def health(self) -> tuple[int, dict[str, Any]]:
        """(HTTP status, JSON body) of ``/healthz``."""
        try:
            jobs = job_health(self.store, self.jobs, now=self.clock(), started_at=self.started_at,
                              stall_after_seconds=self.settings.stall_after_seconds)
        except SQLAlchemyError as exc:
            log.warning("healthz: state store unavailable", extra={"error": type(exc).__name__})
            return HTTPStatus.SERVICE_UNAVAILABLE, {"status": "error", "error": "state store unavailable"}
        stalled = [j.job for j in jobs if j.stalled]
        body: dict[str, Any] = {"status": "stalled" if stalled else "ok", "stalled": stalled,
                                "stall_after_seconds": self.settings.stall_after_seconds,
                                "jobs": {j.job: j.as_json() for j in jobs}}
        return (HTTPStatus.SERVICE_UNAVAILABLE if stalled else HTTPStatus.OK), body


class _V6Server(ThreadingHTTPServer):
    address_family = socket.AF_INET6


def _make_handler(owner: HealthServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "pos-connector"
        sys_version = ""

        def do_GET(self) -> None:
            self._answer(send_body=True)

        def do_HEAD(self) -> None:
            self._answer(send_body=False)

        def _answer(self, *, send_body: bool) -> None:
            path = self.path.split("?", 1)[0]
            if path == "/healthz":
                status, doc = owner.health()
                body, ctype = json.dumps(doc, ensure_ascii=False).encode(), "application/json; charset=utf-8"
            elif path == "/metrics":
                status = HTTPStatus.OK
                body, ctype = owner.metrics.render()
            else:
                status, body, ctype = HTTPStatus.NOT_FOUND, b"not found\n", "text/plain; charset=utf-8"
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            if send_body:
                self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            log.debug("monitoring request: " + format, *args)

    return Handler
