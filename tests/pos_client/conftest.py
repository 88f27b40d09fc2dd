"""Fixtures of the POS client tests: a real POS simulator on loopback and clients for it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests

from connector.pos_client import PosClient
from connector.pos_client.settings import AccountSettings
from connector.simulators.pos import PosSimulator
from connector.simulators.server import SimServer
from connector.transport import RetryingSession, RetryPolicy

import simctl

PASSWORD = "demo-secret"


@pytest.fixture
def sim() -> PosSimulator:
    return PosSimulator(seed=7)


@pytest.fixture
def server(sim: PosSimulator, sim_loopback: simctl.Loopback) -> Iterator[SimServer]:
    with sim_loopback.serve(sim) as srv:
        yield srv


@pytest.fixture
def make_client() -> Iterator[Callable[..., PosClient]]:
    """``make_client(url, page_size=…, password=…)``: a client with a no-wait retry policy."""
    made: list[PosClient] = []

    def make(url: str, *, page_size: int = 100, password: str = PASSWORD) -> PosClient:
        account = AccountSettings(name="demo", pos_base_url=url, login="lko-demo", password=password,  # type: ignore[arg-type]
                                  edms="onec", page_size=page_size)
        session = RetryingSession(RetryPolicy(max_attempts=4), timeout=5.0, sleep=lambda s: None)
        made.append(PosClient(account, session))
        return made[-1]

    yield make
    for c in made:
        c.close()


@pytest.fixture
def client(server: SimServer, make_client: Callable[..., PosClient]) -> PosClient:
    return make_client(server.url)


@pytest.fixture
def sim_requests(server: SimServer) -> Callable[[], dict[str, int]]:
    """Requests per protocol endpoint, as the simulator reports them over HTTP."""

    def fetch() -> dict[str, int]:
        body = requests.get(server.url + "/_sim/state", params={"summary": 1}, timeout=5).json()
        return dict(body["summary"]["requests"])

    return fetch


@pytest.fixture
def set_faults(server: SimServer) -> Callable[..., dict[str, Any]]:
    def post(**spec: Any) -> dict[str, Any]:
        response = requests.post(server.url + "/_sim/faults", json=spec, timeout=5)
        response.raise_for_status()
        return dict(response.json())

    return post
