"""Directum RX through its Integration service (OData v4, JSON, HTTP Basic)."""

from __future__ import annotations

from typing import Any

__all__ = ["DirectumRxAdapter", "DirectumRxSettings"]


def __getattr__(attr: str) -> Any:
    """Import the adapter (and its wire libraries) or its settings only when asked for:
    loading a configuration or importing ``wire`` must not pay for the whole adapter."""
    if attr == "DirectumRxAdapter":
        from connector.edms_adapters.directum_rx.adapter import DirectumRxAdapter

        return DirectumRxAdapter
    if attr == "DirectumRxSettings":
        from connector.edms_adapters.directum_rx.settings import DirectumRxSettings

        return DirectumRxSettings
    raise AttributeError(f"module {__name__!r} has no attribute {attr!r}")
