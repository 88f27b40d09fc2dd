"""The EDMS side of ``connector demo``: one simulator per supported system.

Each demo target starts its simulator on loopback, gives the ``[edms.<name>]`` table the
daemon uses for it, and drives the simulated executors through the simulator's own
``/_sim/act`` endpoint, exactly as an operator could with ``curl``.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any, Protocol

import requests

from connector.simulators.server import SimServer


class DemoEdms(Protocol):
    label: str

    def settings(self) -> dict[str, Any]: ...

    def act(self, payload: dict[str, Any]) -> None: ...

    def cards_per_pos_id(self) -> dict[str, int]: ...

    def seed_appeals(self, appeals: list[dict[str, Any]]) -> bool:
        """Hold appeals of other channels (demo_appeals); False when the target lists none."""
        ...


class _HttpSimTarget:
    """A simulator reachable over HTTP with /_sim/act and /_sim/state?summary=1."""

    def __init__(self, label: str, server: SimServer, settings: dict[str, Any], count_key: str,
                 lists_appeals: bool = False) -> None:
        self.label = label
        self.lists_appeals = lists_appeals
        self.server = server
        self._settings = settings
        self._count_key = count_key
        self._http = requests.Session()
        self._http.trust_env = False  # the simulator is on loopback: never through a proxy from the environment

    def settings(self) -> dict[str, Any]:
        return self._settings

    def act(self, payload: dict[str, Any]) -> None:
        self._http.post(f"{self.server.url}/_sim/act", json=payload, timeout=600).raise_for_status()

    def seed_appeals(self, appeals: list[dict[str, Any]]) -> bool:
        if not self.lists_appeals:
            return False
        self._http.post(f"{self.server.url}/_sim/seed", json={"appeals": appeals}, timeout=120).raise_for_status()
        return True

    def cards_per_pos_id(self) -> dict[str, int]:
        reply = self._http.get(f"{self.server.url}/_sim/state", params={"summary": 1}, timeout=120)
        reply.raise_for_status()
        doc = reply.json()
        return dict((doc.get("summary") or doc)[self._count_key])


class _Running(AbstractContextManager["_HttpSimTarget"]):
    def __init__(self, make: Callable[[], _HttpSimTarget], cleanup: Callable[[], None] = lambda: None) -> None:
        self._make = make
        self._cleanup = cleanup
        self._target: _HttpSimTarget | None = None

    def __enter__(self) -> _HttpSimTarget:
        self._target = self._make()
        self._target.server.start()
        return self._target

    def __exit__(self, *exc: object) -> None:
        if self._target is not None:
            self._target.server.stop()
        self._cleanup()


def onec(data_dir: Path) -> _Running:
    from connector.simulators.onec import OnecSimulator

    sim = OnecSimulator()

    def make() -> _HttpSimTarget:
        server = SimServer(sim)
        settings = {"type": "onec_dm", "url": f"{server.url}/demo/ws/DMService",
                    "login": "integration", "password": "1c-secret", "appeals": {"enabled": True},
                    # the simulator dates every card at midnight: one day's cards must fit one list
                    # (DMService has no paging; list_appeals halves date ranges down to one day)
                    "list_limit": 2000}
        return _HttpSimTarget("1С:Документооборот", server, settings, "by_external_id", lists_appeals=True)

    return _Running(make, sim.close)


def medo(data_dir: Path) -> _Running:
    from connector.simulators.medo import MedoSimulator, control_app

    root = data_dir.resolve()
    sim = MedoSimulator(root / "outbox", root / "inbox")

    def make() -> _HttpSimTarget:
        server = SimServer(control_app(sim))
        settings = {"type": "medo", "outbox_dir": str(root / "outbox"), "inbox_dir": str(root / "inbox"),
                    "sender_uid": "6f1d2c3b-4a59-4e8f-9b7c-0d1e2f3a4b5c",
                    "sender_organization": "pos-connector (демо)",
                    "addressee_organization": "Администрация городского округа Демо",
                    "addressee_address": "МЭДО-ДЕМО-001", "scan_interval_seconds": 0}
        return _HttpSimTarget("МЭДО (СЭД «Дело»)", server, settings, "by_pos_id")

    return _Running(make, sim.close)


def directum(data_dir: Path) -> _Running:
    from connector.simulators.directum import DirectumSimulator

    sim = DirectumSimulator()

    def make() -> _HttpSimTarget:
        server = SimServer(sim)
        settings = {"type": "directum_rx", "url": f"{server.url}/Integration/odata",
                    "login": "integration", "password": "rx-secret",
                # the simulator's seeded kind, business unit and department: RX requires all three
                "document_kind_id": 1, "business_unit_id": 1, "department_id": 1, "appeals": {"enabled": True}}
        return _HttpSimTarget("Directum RX", server, settings, "by_pos_id", lists_appeals=True)

    return _Running(make, sim.close)


DEMO_TARGETS: dict[str, Callable[[Path], _Running]] = {"onec": onec, "medo": medo, "directum": directum}
