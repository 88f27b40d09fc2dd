"""Client of the POS integration API (v1, ``docs/pos-api.md``); wire models in :mod:`.wire`."""

from __future__ import annotations

from typing import Any

__all__ = ["PosClient"]


def __getattr__(attr: str) -> Any:
    """The client (and requests) only when asked for: ``settings`` and ``wire`` are imported
    by every command and by the simulators."""
    if attr == "PosClient":
        from connector.pos_client.client import PosClient

        return PosClient
    raise AttributeError(f"module {__name__!r} has no attribute {attr!r}")
