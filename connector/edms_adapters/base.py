"""The small typed interface every EDMS adapter implements (architecture §3.3)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar, Protocol, runtime_checkable

import requests

from connector.domain import Answer, CardRef, CardState, PosMessage
from connector.settings_base import StrictModel


class AdapterSettings(StrictModel):
    """Base of an adapter's settings model: the ``[edms.<name>]`` table, ``type`` included.

    Unknown keys are errors and ``<secret>_file`` keys fill SecretStr fields, as everywhere."""

    type: str


@dataclass(frozen=True)
class AdapterContext:
    """What the daemon hands every adapter: how to make HTTP sessions, where data lives."""

    target_name: str
    session_factory: Callable[[], requests.Session]
    data_dir: Path
    answer_days: int = 30
    extra: dict[str, object] = field(default_factory=dict)


@runtime_checkable
class EdmsAdapter(Protocol):
    name: ClassVar[str]
    settings_model: ClassVar[type[AdapterSettings]]

    def create_card(self, msg: PosMessage) -> CardRef:
        """Register ``msg``; finds an existing card by the POS id first, so it never duplicates."""
        ...

    def get_card(self, ref: CardRef) -> CardState:
        """Registration number/date, executors, deadline, stage, resolution."""
        ...

    def fetch_answer(self, ref: CardRef) -> Answer | None:
        """The signed answer (text, signer, date, files) once the card is answered."""
        ...

    def health(self) -> None:
        """Raise a ConnectorError with a clear reason when the EDMS cannot be used."""
        ...

    def close(self) -> None:
        ...


AdapterFactory = Callable[[AdapterSettings, AdapterContext], EdmsAdapter]
