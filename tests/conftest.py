"""Shared fixtures: the store on both backends, simulators on loopback, pipeline contexts.

The PostgreSQL server is real (Debian's package, started by tests/pg_server.py) and is
never skipped: if it cannot start, the PostgreSQL variants fail with the reason.
"""

from __future__ import annotations

import itertools
import os
import socket
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))
# The shipped default is Russian; tests read English unless they ask for Russian (tests/test_i18n.py
# and the installed copy in tests/packaging).  Inherited by every subprocess a test starts.
os.environ["CONNECTOR_UI__LANGUAGE"] = "en"

from connector.config import Settings, settings_from_mapping  # noqa: E402
from connector.pipeline.context import PipelineContext  # noqa: E402
from connector.pipeline.runner import build_context  # noqa: E402
from connector.simulators.server import SimServer  # noqa: E402

import pg_server  # noqa: E402
import simctl  # noqa: E402
from testconfig import settings_mapping  # noqa: E402


@pytest.fixture(autouse=True)
def _only_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test talks to anything but loopback (zeep's guard idea, applied to every socket)."""
    real_connect = socket.socket.connect

    def guarded(self: socket.socket, address: Any) -> Any:
        if self.family in (socket.AF_INET, socket.AF_INET6):
            host = address[0]
            if host not in ("127.0.0.1", "::1", "localhost") and not str(host).startswith("127."):
                raise AssertionError(f"test tried to reach {address!r}: only loopback is allowed")
        return real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", guarded)


@pytest.fixture(scope="session")
def pg() -> Iterator[pg_server.PgServer]:
    server = pg_server.start_server()
    yield server
    server.stop()


_db_counter = itertools.count()


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'connector.db'}"
    server = request.getfixturevalue("pg")
    return pg_server.create_database(server, f"t_{next(_db_counter)}_{uuid.uuid4().hex[:8]}")


@pytest.fixture(scope="module")
def sim_loopback() -> Iterator[simctl.Loopback]:
    with simctl.Loopback.start() as loopback:
        yield loopback


@pytest.fixture
def pos_sim() -> Iterator[SimServer]:
    from connector.simulators.pos import PosSimulator

    with SimServer(PosSimulator()) as server:
        yield server


@pytest.fixture
def onec_sim() -> Iterator[SimServer]:
    from connector.simulators.onec import OnecSimulator

    with SimServer(OnecSimulator()) as server:
        yield server


@pytest.fixture
def settings(tmp_path: Path, db_url: str, pos_sim: SimServer, onec_sim: SimServer) -> Settings:
    return settings_from_mapping(settings_mapping(data_dir=tmp_path / "data", db_url=db_url,
                                                  pos_url=pos_sim.url, onec_url=onec_sim.url))


@pytest.fixture
def ctx(settings: Settings) -> Iterator[PipelineContext]:
    context = build_context(settings, sleep=lambda _s: None)
    yield context
    context.close()
    context.store.dispose()
