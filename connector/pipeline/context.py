"""Everything a job needs, built once per process: settings, store, clients, adapters."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from connector.config import Settings
from connector.edms_adapters.base import AdapterContext, EdmsAdapter
from connector.edms_adapters.registry import create_adapter
from connector.store.db import Store
from connector.store.models import utcnow
from connector.transport import RetryingSession, session_for

if TYPE_CHECKING:
    from connector.pos_client import PosClient


@dataclass
class PipelineContext:
    settings: Settings
    store: Store
    worker: str
    clock: Callable[[], datetime] = utcnow
    sleep: Callable[[float], None] = time.sleep
    _pos: dict[str, PosClient] = field(default_factory=dict)
    _adapters: dict[str, EdmsAdapter] = field(default_factory=dict)

    @property
    def data_dir(self) -> Path:
        return self.settings.daemon.data_dir

    def new_session(self, system: str = "") -> RetryingSession:
        """A session for one peer, kept by its client for the context's life (its connections reused)."""
        return session_for(self.settings.http, self.settings.retry, sleep=self.sleep, system=system,
                           concurrency=self.settings.daemon.concurrency)

    def pos(self, account_name: str) -> PosClient:
        from connector.pos_client import PosClient

        if account_name not in self._pos:
            account = self.settings.account(account_name)
            self._pos[account_name] = PosClient(account, self.new_session(f"POS {account_name}"))
        return self._pos[account_name]

    def adapter_for_account(self, account_name: str) -> tuple[str, EdmsAdapter]:
        target = self.settings.account(account_name).edms
        return target, self.adapter(target)

    def adapter(self, target: str) -> EdmsAdapter:
        if target not in self._adapters:
            answer_days = next((a.answer_days for a in self.settings.accounts if a.edms == target), 30)
            context = AdapterContext(target_name=target, session_factory=lambda: self.new_session(f"edms.{target}"),
                                     data_dir=self.data_dir / "edms" / target, answer_days=answer_days,
                                     zone=self.settings.sstu.zone)
            self._adapters[target] = create_adapter(self.settings.edms[target], context)
        return self._adapters[target]

    def close(self) -> None:
        for client in self._pos.values():
            client.close()
        for adapter in self._adapters.values():
            adapter.close()
        self._pos.clear()
        self._adapters.clear()
