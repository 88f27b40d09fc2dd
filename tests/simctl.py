"""Drive the simulators over their /_sim endpoints, as an operator or the demo would; serve one per test."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import requests

from connector.simulators.server import SimServer


def seed(pos: SimServer, count: int, **extra: Any) -> list[str]:
    reply = requests.post(f"{pos.url}/_sim/seed", json={"count": count, "seed": 7, **extra}, timeout=60)
    reply.raise_for_status()
    return list(reply.json()["created"])


def pos_appeals(pos: SimServer) -> dict[str, dict[str, Any]]:
    reply = requests.get(f"{pos.url}/_sim/state", timeout=60)
    reply.raise_for_status()
    return {a["id"]: a for a in reply.json()["appeals"]}


def pos_summary(pos: SimServer) -> dict[str, Any]:
    reply = requests.get(f"{pos.url}/_sim/state", params={"summary": 1}, timeout=60)
    reply.raise_for_status()
    return dict(reply.json()["summary"])


def onec_act(onec: SimServer, **payload: Any) -> Any:
    reply = requests.post(f"{onec.url}/_sim/act", json=payload, timeout=120)
    reply.raise_for_status()
    return reply.json()


def onec_seed(onec: SimServer, **payload: Any) -> Any:
    """Make 1С hold cards we did not create (``cards=[{"id": …, "pos_id": …}]``), as a restored base would."""
    reply = requests.post(f"{onec.url}/_sim/seed", json=payload, timeout=60)
    reply.raise_for_status()
    return reply.json()


def onec_state(onec: SimServer) -> dict[str, Any]:
    reply = requests.get(f"{onec.url}/_sim/state", timeout=60)
    reply.raise_for_status()
    return dict(reply.json())


def cards_per_pos_id(onec: SimServer) -> dict[str, int]:
    reply = requests.get(f"{onec.url}/_sim/state", params={"summary": 1}, timeout=60)
    reply.raise_for_status()
    return dict(reply.json()["by_external_id"])


def faults(sim: SimServer, **spec: Any) -> None:
    requests.post(f"{sim.url}/_sim/faults", json=spec, timeout=10).raise_for_status()


def faults_state(sim: SimServer) -> dict[str, Any]:
    return requests.get(f"{sim.url}/_sim/faults", timeout=10).json()


def status_history(appeal: dict[str, Any]) -> list[str]:
    return [h["status"] if isinstance(h, dict) else h for h in appeal.get("statusHistory", [])]


class Loopback:
    """One loopback server per module serving a fresh simulator per test (stopping a server
    costs 0.5 s): ``with sim_loopback.serve(app) as server: …``."""

    def __init__(self, server: SimServer, swap: _SwappableApp) -> None:
        self.server, self._swap = server, swap

    @classmethod
    @contextmanager
    def start(cls) -> Iterator[Loopback]:
        swap = _SwappableApp()
        with SimServer(swap) as server:
            yield cls(server, swap)

    @contextmanager
    def serve(self, app: Any) -> Iterator[SimServer]:
        self._swap.app = app
        try:
            yield self.server
        finally:
            self._swap.app = None


class _SwappableApp:
    app: Any = None

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        assert self.app is not None
        return self.app(environ, start_response)

    def __getattr__(self, name: str) -> Any:  # the served app's own clock (http_date) and the like
        return getattr(self.app, name)
