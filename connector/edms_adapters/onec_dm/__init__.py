"""1C:Document Management (1С:Документооборот) through its SOAP web service DMService."""

from __future__ import annotations

from typing import Any

__all__ = ["OnecDmAdapter", "OnecDmSettings"]


def __getattr__(attr: str) -> Any:
    """Import the adapter (and its wire libraries) or its settings only when asked for:
    loading a configuration or importing ``wire`` must not pay for the whole adapter."""
    if attr == "OnecDmAdapter":
        from connector.edms_adapters.onec_dm.adapter import OnecDmAdapter

        return OnecDmAdapter
    if attr == "OnecDmSettings":
        from connector.edms_adapters.onec_dm.settings import OnecDmSettings

        return OnecDmSettings
    raise AttributeError(f"module {__name__!r} has no attribute {attr!r}")
