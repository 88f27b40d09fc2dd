"""Run a WSGI simulator on loopback, in a background thread or in the foreground.

The server speaks HTTP/1.1 with keep-alive on a thread per connection, as the systems it stands
for do: a client's session reuses its TCP connection.  werkzeug's development server closes every
connection (it cannot tell whether an application read the whole request body), so the handler
here does what it needs for keep-alive itself: it drains what the application left of a request
body and closes the connection only when it must -- a reply shorter than its ``Content-Length``
(a truncated download), a body it cannot drain, a client that asked for ``Connection: close``.
"""

from __future__ import annotations

import io
import socket
import threading
from collections.abc import Callable, Iterator
from email.utils import formatdate
from typing import IO, Any

from werkzeug.serving import ThreadedWSGIServer, WSGIRequestHandler

_DRAIN_LIMIT = 64 << 20  # a larger unread request body closes the connection instead


class _CountingInput:
    """``wsgi.input`` that knows how much of the request body the application read."""

    def __init__(self, stream: IO[bytes]) -> None:
        self._stream = stream
        self.consumed = 0

    def read(self, size: int = -1) -> bytes:
        data = self._stream.read(size)
        self.consumed += len(data)
        return data

    def readinto(self, buffer: bytearray | memoryview) -> int:
        n = self._stream.readinto(buffer)  # type: ignore[attr-defined]
        self.consumed += n or 0
        return int(n or 0)

    def readline(self, size: int = -1) -> bytes:
        data = self._stream.readline(size)
        self.consumed += len(data)
        return data

    def __iter__(self) -> Iterator[bytes]:
        while line := self.readline():
            yield line


class _CountingOutput:
    """The connection's write side, counting the body bytes of the current reply."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream
        self.written = 0

    def write(self, data: bytes) -> int:
        self.written += len(data)
        return self._stream.write(data)

    def flush(self) -> None:
        self._stream.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


class _KeepAliveHandler(WSGIRequestHandler):
    """werkzeug's request handler, kept alive between requests.

    werkzeug ends each reply with ``Connection: close`` and then discards whatever the socket
    still holds -- which, on a kept-alive connection, would be the client's next request.  So
    while werkzeug runs the application it sees a socket at end-of-file instead of the client's
    (the application reads the body through ``wsgi.input``, made before the swap), and this
    handler drains the unread rest of the body itself, by its ``Content-Length``."""

    protocol_version = "HTTP/1.1"
    server: _SimWsgiServer

    def setup(self) -> None:
        super().setup()
        # headers and body are separate writes: without this, Nagle's algorithm holds the body
        # until the client's delayed ACK of the headers (40 ms per reply on a kept-alive connection)
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.wfile = _CountingOutput(self.wfile)  # type: ignore[assignment]  # counts, then writes

    def handle(self) -> None:
        self.server.opened(self.connection)
        try:
            super().handle()
        finally:
            self.server.closed(self.connection)

    def handle_one_request(self) -> None:
        self._announced: int | None = None
        self._input: _CountingInput | None = None
        super().handle_one_request()

    def make_environ(self) -> Any:
        environ = super().make_environ()
        self._input = _CountingInput(environ["wsgi.input"])
        environ["wsgi.input"] = self._input
        self._real = (self.connection, self.rfile)
        self.connection, self.rfile = self.server.at_eof, io.BytesIO()  # what werkzeug's discard sees
        return environ

    def send_header(self, keyword: str, value: str) -> None:
        if keyword.lower() == "connection" and value.lower() == "close":
            return  # this handler decides in run_wsgi whether the connection ends
        if keyword.lower() == "content-length" and value.isdigit():
            self._announced = int(value)
        super().send_header(keyword, value)

    def end_headers(self) -> None:
        super().end_headers()
        self.wfile.written = 0  # type: ignore[attr-defined]  # count the body only

    def run_wsgi(self) -> None:
        try:
            super().run_wsgi()
        finally:
            if self._input is not None:
                self.connection, self.rfile = self._real
        # a reply cut short of its Content-Length (a truncated download) ends the connection,
        # so the client sees the cut instead of waiting for bytes that never come
        short = self.command != "HEAD" and self._announced is not None \
            and self.wfile.written < self._announced  # type: ignore[attr-defined]
        if short or not self._drain():
            self.close_connection = True

    def _drain(self) -> bool:
        """Read what the application left of the request body; False when that is not possible."""
        if self._input is None:
            return True
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            return False  # werkzeug's chunked reader cannot say where the body ended
        length = self.headers.get("Content-Length") or ""
        left = (int(length) if length.isdigit() else 0) - self._input.consumed
        if left > _DRAIN_LIMIT:
            return False
        while left > 0:
            chunk = self._input.read(min(left, 1 << 16))
            if not chunk:
                return False
            left -= len(chunk)
        return True

    def date_time_string(self, timestamp: float | None = None) -> str:
        # A simulator with a clock of its own (POS under clock skew) dates its replies by it.
        http_date = getattr(self.server.app, "http_date", None)
        if timestamp is None and callable(http_date):
            return formatdate(http_date().timestamp(), usegmt=True)
        return super().date_time_string(timestamp)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return  # simulators are noisy enough; state is inspectable at /_sim/state


class _SimWsgiServer(ThreadedWSGIServer):
    """werkzeug's threaded server with keep-alive handlers; counts accepted connections and
    closes the open ones on stop, so a stopped simulator is unreachable even over a kept-alive
    connection."""

    daemon_threads = True

    def __init__(self, host: str, port: int, app: Callable[..., Any]) -> None:
        super().__init__(host, port, app, handler=_KeepAliveHandler)
        self.connections_accepted = 0
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        self.at_eof, peer = socket.socketpair()  # always readable, always at end-of-file
        peer.close()

    def opened(self, connection: socket.socket) -> None:
        with self._open_lock:
            self.connections_accepted += 1
            self._open.add(connection)

    def closed(self, connection: socket.socket) -> None:
        with self._open_lock:
            self._open.discard(connection)

    def server_close(self) -> None:
        super().server_close()
        with self._open_lock:
            open_now = list(self._open)
        for connection in open_now:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self.at_eof.close()


class SimServer:
    """A threaded HTTP/1.1 keep-alive server bound to 127.0.0.1 (port 0 picks a free one)."""

    def __init__(self, app: Callable[..., Any], *, host: str = "127.0.0.1", port: int = 0) -> None:
        self._server = _SimWsgiServer(host, port, app)
        self._thread: threading.Thread | None = None
        self.app = app

    @property
    def port(self) -> int:
        return int(self._server.server_port)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def connections_accepted(self) -> int:
        """TCP connections accepted so far (a client that reuses its connection costs one)."""
        return self._server.connections_accepted

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
