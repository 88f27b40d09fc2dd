"""The one error table and the session that applies it, against real loopback servers.

Nothing sleeps: the session's ``sleep`` is recorded instead.  Each scripted server answers its
requests from a list and remembers what it was sent.
"""

from __future__ import annotations

import io
import socket
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import pytest
import requests
from pydantic import SecretStr

from connector.config import AccountSettings, HttpSettings
from connector.errors import AuthError, ConnectorError, FatalAdapterError, RemoteRejected, TransientError
from connector.pos_client import PosClient
from connector.simulators.pos import PosSimulator
from connector.simulators.server import SimServer
from connector.transport import (
    Action,
    Peer,
    Resolution,
    RetryingSession,
    RetryPolicy,
    Unreachable,
    classify,
    parse_retry_after,
    session_for,
)

PEER = Peer("Test peer", credentials="login 'robot'")
Reply = tuple[int, dict[str, str], bytes]


class Scripted:
    """A WSGI app answering from ``replies`` (the last one repeats); records each request."""

    def __init__(self, *replies: Reply, hang: threading.Event | None = None) -> None:
        self.replies = list(replies)
        self.seen: list[dict[str, Any]] = []
        self.hang = hang

    def __call__(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        self.seen.append({"path": environ.get("PATH_INFO", ""), "body": body, "host": environ.get("HTTP_HOST", ""),
                          "auth": environ.get("HTTP_AUTHORIZATION", "")})
        if self.hang is not None:
            self.hang.wait(5)
        status, headers, content = self.replies[min(len(self.seen), len(self.replies)) - 1]
        start_response(f"{status} X", [("Content-Length", str(len(content))), *headers.items()])
        return [content]


@pytest.fixture
def serve() -> Iterator[Callable[..., tuple[SimServer, Scripted]]]:
    servers: list[SimServer] = []

    def start(*replies: Reply, hang: threading.Event | None = None) -> tuple[SimServer, Scripted]:
        app = Scripted(*replies, hang=hang)
        servers.append(SimServer(app).start())
        return servers[-1], app

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def waits() -> list[float]:
    return []


@pytest.fixture
def session(waits: list[float]) -> Iterator[RetryingSession]:
    made = RetryingSession(RetryPolicy(max_attempts=3, initial_wait=0.5, max_wait=4, max_retry_after=60),
                           timeout=2, sleep=waits.append, system="test")
    yield made
    made.close()


def _dead_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --- the table --------------------------------------------------------------------------------------

@pytest.mark.parametrize(("status", "action", "error"), [
    (200, Action.SUCCESS, None),
    (204, Action.SUCCESS, None),
    (302, Action.FAIL, TransientError),
    (400, Action.FAIL, RemoteRejected),
    (401, Action.REFRESH_AUTH, AuthError),
    (403, Action.FAIL, AuthError),
    (404, Action.FAIL, RemoteRejected),
    (408, Action.FAIL, RemoteRejected),
    (409, Action.FAIL, RemoteRejected),
    (422, Action.FAIL, RemoteRejected),
    (429, Action.RETRY, TransientError),
    (500, Action.RETRY, TransientError),
    (503, Action.RETRY, TransientError),
])
def test_a_status_resolves_by_the_table(status: int, action: Action, error: type[ConnectorError] | None) -> None:
    response = requests.Response()
    response.status_code = status
    resolution = classify(response)
    assert (resolution.action, resolution.error, resolution.reason) == (action, error, f"HTTP {status}")


@pytest.mark.parametrize(("exc", "action", "error"), [
    (requests.ConnectTimeout(), Action.RETRY, Unreachable),
    (requests.ReadTimeout(), Action.RETRY, Unreachable),
    (requests.ConnectionError(), Action.RETRY, Unreachable),
    (requests.exceptions.ChunkedEncodingError(), Action.FAIL, TransientError),
    (requests.exceptions.InvalidURL(), Action.FAIL, FatalAdapterError),
    (requests.exceptions.MissingSchema(), Action.FAIL, FatalAdapterError),
])
def test_an_exception_resolves_by_the_table(exc: requests.RequestException, action: Action,
                                            error: type[ConnectorError]) -> None:
    resolution = classify(exc)
    assert (resolution.action, resolution.error) == (action, error)


def test_a_body_check_refines_the_status_resolution() -> None:
    response = requests.Response()
    response.status_code = 409

    def already_done(_response: requests.Response, resolution: Resolution) -> Resolution:
        return resolution.succeed() if resolution.status == 409 else resolution

    assert classify(response, check=already_done).action is Action.SUCCESS
    assert classify(response).action is Action.FAIL


# --- Retry-After ---------------------------------------------------------------------------------

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(("header", "seconds"), [
    ("7", 7.0),
    (" 0 ", 0.0),
    (format_datetime(NOW + timedelta(seconds=42), usegmt=True), 42.0),
    (format_datetime(NOW - timedelta(seconds=42), usegmt=True), 0.0),  # a date gone by: now
    ("soon", None),
    ("", None),
])
def test_retry_after_in_seconds_or_as_an_http_date(header: str, seconds: float | None) -> None:
    assert parse_retry_after(header, now=NOW) == seconds


@pytest.mark.parametrize(("header", "waited"), [
    ("7", 7.0),
    ("3600", 60.0),  # clamped to max_retry_after
    ("a day from now", 60.0),  # as an HTTP date, made when the test runs (xdist workers collect alike)
])
def test_the_session_waits_what_retry_after_says_clamped(serve: Callable[..., tuple[SimServer, Scripted]],
                                                         session: RetryingSession, waits: list[float],
                                                         header: str, waited: float) -> None:
    if header == "a day from now":
        header = format_datetime(datetime.now(UTC) + timedelta(days=1), usegmt=True)
    server, app = serve((429, {"Retry-After": header}, b""), (200, {}, b"ok"))
    assert session.get(server.url + "/x").content == b"ok"
    assert waits == [waited] and len(app.seen) == 2


def test_without_retry_after_the_wait_grows_exponentially(serve: Callable[..., tuple[SimServer, Scripted]],
                                                           session: RetryingSession, waits: list[float]) -> None:
    server, app = serve((503, {}, b"down"))
    with pytest.raises(TransientError, match=r"Test peer: GET /x answered HTTP 503 after retries"):
        session.call("GET", server.url + "/x", peer=PEER, what="GET /x")
    assert len(app.seen) == 3 and waits == [0.5, 1.0]


# --- what is sent how often -------------------------------------------------------------------------

@pytest.mark.parametrize("status", [400, 403, 404, 409, 422])
def test_a_4xx_is_sent_once(serve: Callable[..., tuple[SimServer, Scripted]], session: RetryingSession,
                            waits: list[float], status: int) -> None:
    server, app = serve((status, {}, b"no"))
    with pytest.raises(RemoteRejected if status != 403 else AuthError):
        session.call("POST", server.url + "/x", peer=PEER, what="POST /x", data=b"payload")
    assert len(app.seen) == 1 and waits == []


def test_a_rejection_carries_status_and_the_checks_code(serve: Callable[..., tuple[SimServer, Scripted]],
                                                        session: RetryingSession) -> None:
    server, _ = serve((422, {}, b"CODE_X"))

    def code(response: requests.Response, resolution: Resolution) -> Resolution:
        return resolution.refine(code=response.text, reason=f"{resolution.reason} ({response.text})")

    with pytest.raises(RemoteRejected, match=r"Test peer: POST /x rejected: HTTP 422 \(CODE_X\)") as caught:
        session.call("POST", server.url + "/x", peer=PEER, what="POST /x", check=code)
    assert (caught.value.status, caught.value.code) == (422, "CODE_X")


def test_the_body_is_rewound_on_every_retry(serve: Callable[..., tuple[SimServer, Scripted]],
                                            session: RetryingSession) -> None:
    server, app = serve((503, {}, b""), (502, {}, b""), (200, {}, b"ok"))
    body = io.BytesIO(b"the whole body " * 1000)
    files = {"part": ("a.txt", io.BytesIO(b"file content"), "text/plain")}
    session.call("POST", server.url + "/data", peer=PEER, what="POST /data", data=body)
    assert [s["body"] for s in app.seen] == [body.getvalue()] * 3
    app.seen.clear()
    session.call("POST", server.url + "/files", peer=PEER, what="POST /files", files=files)
    assert len(app.seen) == 3 and all(b"file content" in s["body"] for s in app.seen)


@pytest.mark.parametrize("send", ["send_once", "call_once"])
def test_send_once_is_never_retried(serve: Callable[..., tuple[SimServer, Scripted]], session: RetryingSession,
                                    waits: list[float], send: str) -> None:
    server, app = serve((503, {}, b"down"), (200, {}, b"ok"))
    if send == "send_once":
        assert session.send_once("POST", server.url + "/create", data=b"x").status_code == 503
    else:
        with pytest.raises(TransientError, match="HTTP 503"):
            session.call_once("POST", server.url + "/create", peer=PEER, what="create", data=b"x")
    assert len(app.seen) == 1 and waits == []


def test_a_lost_reply_to_send_once_is_not_sent_again(serve: Callable[..., tuple[SimServer, Scripted]],
                                                     session: RetryingSession, waits: list[float]) -> None:
    hang = threading.Event()
    server, app = serve((201, {}, b"made"), hang=hang)
    session.default_timeout = 0.2
    try:
        with pytest.raises(Unreachable, match="Test peer did not answer create"):
            session.call_once("POST", server.url + "/create", peer=PEER, what="create", data=b"x")
    finally:
        hang.set()
    assert len(app.seen) == 1 and waits == []


def test_timeouts_are_retried_then_unreachable(serve: Callable[..., tuple[SimServer, Scripted]],
                                               session: RetryingSession, waits: list[float]) -> None:
    hang = threading.Event()
    server, app = serve((200, {}, b"late"), hang=hang)
    session.default_timeout = 0.2
    try:
        with pytest.raises(Unreachable, match=r"Test peer did not answer GET /slow \(ReadTimeout\)"):
            session.call("GET", server.url + "/slow", peer=PEER, what="GET /slow")
    finally:
        hang.set()
    assert len(app.seen) == 3 and len(waits) == 2


def test_connection_errors_are_retried_then_unreachable(session: RetryingSession, waits: list[float]) -> None:
    with pytest.raises(Unreachable, match=r"Test peer: cannot connect for GET /x \(ConnectionError\)") as caught:
        session.call("GET", f"http://127.0.0.1:{_dead_port()}/x", peer=PEER, what="GET /x")
    assert isinstance(caught.value, TransientError) and len(waits) == 2
    with pytest.raises(requests.ConnectionError):  # the requests API keeps requests' exceptions
        session.get(f"http://127.0.0.1:{_dead_port()}/x")


class _Tokens:
    def __init__(self) -> None:
        self.current, self.refreshed = "old", 0

    def header(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.current}"}

    def invalidate(self, rejected: dict[str, str] | None = None) -> None:
        assert rejected == {"Authorization": "Bearer old"}  # the header POS refused, so a renewal is kept
        self.current, self.refreshed = "new", self.refreshed + 1


def test_a_401_refreshes_the_credentials_and_repeats_once(serve: Callable[..., tuple[SimServer, Scripted]],
                                                          session: RetryingSession) -> None:
    server, app = serve((401, {}, b""), (200, {}, b"ok"))
    tokens = _Tokens()
    body = io.BytesIO(b"payload")
    assert session.call("POST", server.url + "/x", peer=PEER, what="POST /x", auth=tokens, data=body).text == "ok"
    assert [s["auth"] for s in app.seen] == ["Bearer old", "Bearer new"] and tokens.refreshed == 1
    assert [s["body"] for s in app.seen] == [b"payload", b"payload"]


def test_a_401_after_the_refresh_is_an_auth_error(serve: Callable[..., tuple[SimServer, Scripted]],
                                                  session: RetryingSession) -> None:
    server, app = serve((401, {}, b""))
    tokens = _Tokens()
    with pytest.raises(AuthError, match=r"Test peer: login 'robot' rejected \(HTTP 401\) on GET /x"):
        session.call("GET", server.url + "/x", peer=PEER, what="GET /x", auth=tokens)
    assert len(app.seen) == 2 and tokens.refreshed == 1
    app.seen.clear()
    with pytest.raises(AuthError):  # nothing to refresh (a login and password): no repeat
        session.call("GET", server.url + "/x", peer=PEER, what="GET /x")
    assert len(app.seen) == 1


# --- connections -----------------------------------------------------------------------------------

def test_the_environment_is_never_read_proxies_come_from_the_configuration(
        serve: Callable[..., tuple[SimServer, Scripted]], monkeypatch: pytest.MonkeyPatch) -> None:
    target, target_app = serve((200, {}, b"direct"))
    proxy, proxy_app = serve((200, {}, b"via proxy"))
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{_dead_port()}")
    monkeypatch.setenv("NO_PROXY", "")
    plain = session_for(HttpSettings(), RetryPolicy(max_attempts=1))
    assert plain.get(target.url + "/a").text == "direct"  # the environment's proxy is ignored

    proxied = session_for(HttpSettings(proxy=proxy.url), RetryPolicy(max_attempts=1))
    assert proxied.get("http://pos.example.invalid:8080/b").text == "via proxy"
    assert proxy_app.seen[-1]["host"] == "pos.example.invalid:8080"

    bypass = session_for(HttpSettings(proxy=proxy.url, no_proxy=["127.0.0.1", "example.org"]),
                         RetryPolicy(max_attempts=1))
    assert bypass.get(target.url + "/c").text == "direct"
    assert [s["path"] for s in target_app.seen] == ["/a", "/c"] and len(proxy_app.seen) == 1


def test_a_client_session_keeps_one_connection_to_a_simulator() -> None:
    with SimServer(PosSimulator(seed=3)) as server:
        account = AccountSettings(name="demo", pos_base_url=server.url, login="lko-demo",
                                  password=SecretStr("demo-secret"), edms="onec")
        client = PosClient(account, RetryingSession(RetryPolicy(max_attempts=1), timeout=5))
        try:
            for _ in range(20):
                client.categories()
        finally:
            client.close()
        assert server.connections_accepted == 1  # the token and 20 calls over one TCP connection


@pytest.mark.parametrize("concurrency", [1, 4, 32])
def test_a_session_keeps_a_connection_for_each_concurrent_call(concurrency: int) -> None:
    """``[daemon] concurrency`` threads share one session per peer: a pool smaller than that would open
    connections it then throws away (urllib3: "Connection pool is full, discarding connection")."""
    made = session_for(HttpSettings(), RetryPolicy(max_attempts=1), concurrency=concurrency)
    for url in ("http://127.0.0.1:8080/", "https://pos.example.org/"):
        adapter = made.get_adapter(url)
        assert isinstance(adapter, requests.adapters.HTTPAdapter)
        assert adapter.poolmanager.connection_pool_kw["maxsize"] >= concurrency


def test_a_stopped_simulator_is_unreachable_over_a_kept_alive_connection(session: RetryingSession) -> None:
    server = SimServer(Scripted((200, {}, b"ok"))).start()
    assert session.get(server.url + "/x").text == "ok"
    url = server.url
    server.stop()
    with pytest.raises(Unreachable):
        session.call("GET", url + "/x", peer=PEER, what="GET /x")


@pytest.mark.parametrize("proxy", ["socks5://proxy:1080", "proxy.corp:3128", "http://"])
def test_a_proxy_that_is_not_an_http_url_is_refused(proxy: str) -> None:
    with pytest.raises(ValueError, match="proxy"):
        HttpSettings(proxy=proxy)
