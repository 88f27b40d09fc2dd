"""Run a WSGI simulator on loopback, in a background thread or in the foreground."""

from __future__ import annotations

import threading
from collections.abc import Callable
from email.utils import formatdate
from typing import Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server


class _QuietHandler(WSGIRequestHandler):
    def date_time_string(self, timestamp: float | None = None) -> str:
        # A simulator with a clock of its own (POS under clock skew) dates its replies by it.
        http_date = getattr(getattr(self.server, "app", None), "http_date", None)
        if timestamp is None and callable(http_date):
            return formatdate(http_date().timestamp(), usegmt=True)
        return super().date_time_string(timestamp)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return  # simulators are noisy enough; state is inspectable at /_sim/state


class SimServer:
    """A threaded HTTP server bound to 127.0.0.1 (port 0 picks a free one)."""

    def __init__(self, app: Callable[..., Any], *, host: str = "127.0.0.1", port: int = 0) -> None:
        self._server: BaseWSGIServer = make_server(host, port, app, threaded=True, request_handler=_QuietHandler)
        self._server.daemon_threads = True  # type: ignore[attr-defined]
        self._thread: threading.Thread | None = None
        self.app = app

    @property
    def port(self) -> int:
        return int(self._server.server_port)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> SimServer:
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name=f"sim:{self.port}", daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self._server.serve_forever(poll_interval=0.05)

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> SimServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
