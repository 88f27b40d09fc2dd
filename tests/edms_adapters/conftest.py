"""Fixtures for EDMS adapter tests: loopback simulators and adapters wired to them with a no-wait retry policy."""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from connector.domain import Applicant, PosCategoryRef, PosMessage, StoredFile
from connector.edms_adapters.base import AdapterContext
from connector.simulators.onec import OnecSimulator
from connector.simulators.server import SimServer
from connector.transport import RetryingSession, RetryPolicy


@pytest.fixture
def onec_sim() -> Iterator[tuple[OnecSimulator, SimServer]]:
    app = OnecSimulator()
    with SimServer(app) as server:
        yield app, server
    app.close()


@pytest.fixture
def adapter_context(tmp_path: Path) -> AdapterContext:
    def session_factory() -> RetryingSession:
        return RetryingSession(RetryPolicy(max_attempts=4), timeout=20, sleep=lambda s: None)

    return AdapterContext(target_name="test", session_factory=session_factory, data_dir=tmp_path)


@pytest.fixture
def make_file(tmp_path: Path) -> Callable[[str, bytes], StoredFile]:
    made = itertools.count()

    def make(name: str, content: bytes) -> StoredFile:
        # One file per call, as the pull stores them: two attachments may share a name.
        path = tmp_path / "files" / f"{next(made):04d}"
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(content)
        return StoredFile(name=name, size=len(content), sha256=hashlib.sha256(content).hexdigest(), path=path)

    return make


def make_message(pos_id: str = "1001", *, attachments: tuple[StoredFile, ...] = (), **extra: Any) -> PosMessage:
    now = datetime(2026, 11, 1, 9, 30, tzinfo=UTC)
    fields: dict[str, Any] = {
        "account": "lko-1", "pos_id": pos_id, "epgu_number": f"EPGU-{pos_id}",
        "category": PosCategoryRef(id="10", name="ЖКХ"), "subcategory": PosCategoryRef(id="11", name="Вывоз мусора"),
        "text": "Во дворе дома третью неделю не вывозят мусор. Прошу принять меры.",
        "applicant": Applicant(last_name="Петров", first_name="Иван", middle_name="Сергеевич", email="p@example.org"),
        "created_at": now, "updated_at": now, "attachments": attachments,
    }
    fields.update(extra)
    return PosMessage(**fields)


@pytest.fixture
def message() -> Callable[..., PosMessage]:
    """``message(pos_id, attachments=(...), **fields)`` builds a POS message."""
    return make_message
