"""Conformance harness for medo against the МЭДО simulator (a file exchange through tmp directories).

* ``process()`` makes the simulator pick up the outbox (and complete delayed packages) — nothing else.
* ``act()`` performs the action, then ``process()``.
* ``transient_burst(count)``: a file exchange has no 5xx; the transient failure of a mailbox is a package
  still being copied.  The next ``count`` notifications arrive without their envelope; the adapter must
  neither fail nor quarantine them, and sees them once the next ``process()`` completes them.
* ``bad_credentials_settings()``: МЭДО has no credentials; the outbox is a missing directory instead,
  so ``health()`` must fail naming it.  ``unreachable_settings()``: a nonexistent inbox directory.
* ``hold_foreign_card()``: МЭДО has no card store we can read; what the adapter holds under a document uid
  is its outbox and its send log.  So the owner's package, written by the adapter itself, is put into the
  outbox under the other message's uid (a restored or hand-copied outbox), before the gateway takes it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests

from connector.domain import PosMessage
from connector.edms_adapters.base import AdapterContext
from connector.edms_adapters.medo.adapter import MedoAdapter, document_uid
from connector.edms_adapters.medo.settings import MedoSettings
from connector.simulators.medo import MedoFaultSpec, MedoSimulator


class MedoHarness:
    adapter_name = "medo"

    def __init__(self, root: Path) -> None:
        self.root = root
        self.outbox, self.inbox = root / "outbox", root / "inbox"
        self.sim = MedoSimulator(self.outbox, self.inbox)

    def settings(self) -> dict[str, Any]:
        return {"type": "medo", "outbox_dir": str(self.outbox), "inbox_dir": str(self.inbox),
                "archive_dir": str(self.root / "archive"), "quarantine_dir": str(self.root / "quarantine"),
                "sender_uid": "0f3c2b1a-4d5e-4f60-8a7b-9c0d1e2f3a4b", "sender_organization": "Коннектор ПОС",
                "addressee_organization": "Администрация города", "addressee_address": "МЭДО-АДМ-001",
                "scan_interval_seconds": 0}

    def bad_credentials_settings(self) -> dict[str, Any]:
        return {**self.settings(), "outbox_dir": str(self.root / "no-such-outbox")}

    def unreachable_settings(self) -> dict[str, Any]:
        return {**self.settings(), "inbox_dir": str(self.root / "no-such-inbox")}

    def process(self) -> None:
        self.sim.process()

    def act(self, action: str, pos_id: str, **kw: Any) -> None:
        self.sim.act({"action": action, "pos_id": pos_id, **kw})
        self.process()

    def cards_for(self, pos_id: str) -> int:
        return int(self.sim.summary()["by_pos_id"].get(pos_id, 0))

    def card_files(self, pos_id: str) -> list[tuple[str, str]]:
        for doc in self.sim.state()["documents"].values():
            if doc["pos_id"] == pos_id:
                return [(f["name"], f["sha256"]) for f in doc["files"]]
        return []

    def hold_foreign_card(self, account: str, pos_id: str, owner_pos_id: str) -> None:
        scratch = self.root / "foreign"
        (scratch / "outbox").mkdir(parents=True, exist_ok=True)
        settings = MedoSettings.model_validate({**self.settings(), "outbox_dir": str(scratch / "outbox")})
        writer = MedoAdapter(settings, AdapterContext(target_name="foreign", session_factory=requests.Session,
                                                      data_dir=scratch / "data"))
        now = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
        ref = writer.create_card(PosMessage(account=account, pos_id=owner_pos_id, text="Обращение из резервной копии",
                                            created_at=now, updated_at=now))
        writer.close()
        (scratch / "outbox" / ref.external_id).rename(self.outbox / document_uid(account, pos_id))

    def transient_burst(self, count: int) -> None:
        self.sim.set_faults(MedoFaultSpec(delay_next=count))

    def control_tasks_for(self, pos_id: str) -> list[str] | None:
        for doc in self.sim.state()["documents"].values():
            if doc.get("pos_id") == pos_id:
                return [t["text"] for t in doc["control_tasks"]]
        return []

    def close(self) -> None:
        self.sim.close()


def make_harness(tmp_path: Path) -> MedoHarness:
    return MedoHarness(tmp_path / "medo")
