"""Conformance harness for the third-party example adapter (tests/thirdparty), found by entry point."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pos_connector_example_adapter.adapter import card_id
from pos_connector_example_adapter.sim import ExampleDeskSimulator

from connector.simulators.server import SimServer


class ExampleHarness:
    adapter_name = "example_edms"

    def __init__(self) -> None:
        self.sim = ExampleDeskSimulator()
        self.server = SimServer(self.sim).start()

    own_executor_terms = True

    def settings(self) -> dict[str, Any]:
        return {"type": "example_edms", "url": self.server.url, "api_key": "example-key"}

    def bad_credentials_settings(self) -> dict[str, Any]:
        return {**self.settings(), "api_key": "wrong"}

    def unreachable_settings(self) -> dict[str, Any]:
        return {**self.settings(), "url": "http://127.0.0.1:9"}

    def process(self) -> None:
        return None

    def act(self, action: str, pos_id: str, **kw: Any) -> None:
        self.sim.act(action, pos_id, **kw)

    def cards_for(self, pos_id: str) -> int:
        return self.sim.count_for(pos_id)

    def card_files(self, pos_id: str) -> list[tuple[str, str]]:
        card = next((c for c in self.sim.cards.values() if c["pos_id"] == pos_id), None)
        return [(f["name"], f["sha256"]) for f in card["files"]] if card else []

    def hold_foreign_card(self, account: str, pos_id: str, owner_pos_id: str) -> None:
        self.sim.hold_card(card_id(account, pos_id), owner_pos_id)

    def transient_burst(self, count: int) -> None:
        self.sim.fail_next = count

    def control_tasks_for(self, pos_id: str) -> list[str] | None:
        return None  # no control tasks (yet): the adapter must not claim the capability

    def close(self) -> None:
        self.server.stop()


def make_harness(tmp_path: Path) -> ExampleHarness:
    return ExampleHarness()
