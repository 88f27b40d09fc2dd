"""Conformance harness for onec_dm against the 1С:Документооборот simulator."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from connector.edms_adapters.onec_dm.adapter import card_object_id
from connector.simulators.onec import OnecFaultSpec, OnecSimulator
from connector.simulators.server import SimServer


class OnecHarness:
    adapter_name = "onec_dm"

    def __init__(self) -> None:
        self.sim = OnecSimulator()
        self.server = SimServer(self.sim).start()

    own_executor_terms = True

    def settings(self) -> dict[str, Any]:
        return {"type": "onec_dm", "url": f"{self.server.url}/base/ws/DMService",
                "login": "integration", "password": "1c-secret", "xml_huge_tree": True}

    def bad_credentials_settings(self) -> dict[str, Any]:
        return {**self.settings(), "password": "wrong-password"}

    def unreachable_settings(self) -> dict[str, Any]:
        return {**self.settings(), "url": "http://127.0.0.1:9/base/ws/DMService"}

    def process(self) -> None:
        return None  # 1С answers synchronously

    def act(self, action: str, pos_id: str, **kw: Any) -> None:
        self.sim.act({"action": action, "pos_id": pos_id, **kw})

    def cards_for(self, pos_id: str) -> int:
        return int(self.sim.summary()["by_external_id"].get(pos_id, 0))

    def card_files(self, pos_id: str) -> list[tuple[str, str]]:
        for doc in self.sim.state()["documents"].values():
            if (doc.get("externalObject") or {}).get("id") == pos_id:
                return [(f["name"], f["sha256"]) for f in doc["files"]]
        return []

    def hold_foreign_card(self, account: str, pos_id: str, owner_pos_id: str) -> None:
        self.sim.seed({"cards": [{"id": card_object_id(account, pos_id), "pos_id": owner_pos_id}]})

    def transient_burst(self, count: int) -> None:
        self.sim.faults.configure(OnecFaultSpec(fail_next=count))

    def control_tasks_for(self, pos_id: str) -> list[str] | None:
        for doc in self.sim.state()["documents"].values():
            if (doc.get("externalObject") or {}).get("id") == pos_id:
                return [t["description"] for t in doc["controlTasks"]]
        return []

    def close(self) -> None:
        self.server.stop()
        self.sim.close()


def make_harness(tmp_path: Path) -> OnecHarness:
    return OnecHarness()


def _appeals_settings(self: OnecHarness) -> dict[str, Any]:
    return {**self.settings(), "appeals": {"enabled": True}}


def _seed_appeals(self: OnecHarness, appeals: list[dict[str, Any]]) -> None:
    self.sim.seed({"appeals": appeals})


OnecHarness.appeals_settings = _appeals_settings  # type: ignore[attr-defined]
OnecHarness.seed_appeals = _seed_appeals  # type: ignore[attr-defined]
