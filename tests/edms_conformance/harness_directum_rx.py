"""Conformance harness for directum_rx against the Directum RX simulator."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from connector.simulators.directum import DirectumFaultSpec, DirectumSimulator
from connector.simulators.server import SimServer


class DirectumRxHarness:
    adapter_name = "directum_rx"

    def __init__(self) -> None:
        self.sim = DirectumSimulator()
        self.server = SimServer(self.sim).start()

    own_executor_terms = True

    def settings(self) -> dict[str, Any]:
        return {"type": "directum_rx", "url": f"{self.server.url}/Integration/odata",
                "login": "integration", "password": "rx-secret",
                # the simulator's seeded kind, business unit and department: RX requires all three
                "document_kind_id": 1, "business_unit_id": 1, "department_id": 1}

    def bad_credentials_settings(self) -> dict[str, Any]:
        return {**self.settings(), "password": "wrong-password"}

    def unreachable_settings(self) -> dict[str, Any]:
        return {**self.settings(), "url": "http://127.0.0.1:9/Integration/odata"}

    def process(self) -> None:
        return None  # Directum RX answers synchronously

    def act(self, action: str, pos_id: str, **kw: Any) -> None:
        self.sim.act({"action": action, "pos_id": pos_id, **kw})

    def cards_for(self, pos_id: str) -> int:
        return int(self.sim.summary()["by_pos_id"].get(pos_id, 0))

    def card_files(self, pos_id: str) -> list[tuple[str, str]]:
        for letter in self.sim.state()["letters"].values():
            if letter.get("pos_id") == pos_id:
                return [(v["name"], v["sha256"]) for v in letter["versions"] if v["sha256"]]
        return []

    def hold_foreign_card(self, account: str, pos_id: str, owner_pos_id: str) -> None:
        # Directum has no id of ours: the "id" is the lookup by the POS-id property, so it answers with the letter
        self.sim.seed({"cards": [{"pos_id": owner_pos_id, "found_as": pos_id}]})

    def transient_burst(self, count: int) -> None:
        self.sim.faults.configure(DirectumFaultSpec(fail_next=count))

    def control_tasks_for(self, pos_id: str) -> list[str] | None:
        for letter in self.sim.state()["letters"].values():
            if letter.get("pos_id") == pos_id:
                return [t["text"] for t in letter["control_tasks"]]
        return []

    def close(self) -> None:
        self.server.stop()
        self.sim.close()


def make_harness(tmp_path: Path) -> DirectumRxHarness:
    return DirectumRxHarness()


def _appeals_settings(self: Any) -> dict[str, Any]:
    return {**self.settings(), "appeals": {"enabled": True}}


def _seed_appeals(self: Any, appeals: list[dict[str, Any]]) -> None:
    self.sim.seed({"appeals": appeals})


DirectumRxHarness.appeals_settings = _appeals_settings  # type: ignore[attr-defined]
DirectumRxHarness.seed_appeals = _seed_appeals  # type: ignore[attr-defined]
