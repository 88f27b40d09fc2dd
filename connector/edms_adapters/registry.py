"""Find adapters by name through entry points; import each only when configured."""

from __future__ import annotations

from importlib.metadata import entry_points
from typing import Any

from connector.edms_adapters.base import AdapterContext, EdmsAdapter

GROUP = "connector.edms_adapters"


def available_adapters() -> list[str]:
    return sorted(ep.name for ep in entry_points(group=GROUP))


def adapter_class(name: str) -> Any:
    matches = [ep for ep in entry_points(group=GROUP) if ep.name == name]
    if not matches:
        known = ", ".join(available_adapters()) or "none installed"
        raise LookupError(f"no EDMS adapter named {name!r} (installed: {known})")
    return matches[0].load()


def create_adapter(raw_settings: dict[str, Any], context: AdapterContext) -> EdmsAdapter:
    cls = adapter_class(raw_settings["type"])
    settings = cls.settings_model.model_validate(raw_settings)
    adapter: EdmsAdapter = cls(settings, context)
    return adapter
