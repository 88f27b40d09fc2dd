"""Find adapters by name through entry points; import each only when configured.

An adapter registers its class under ``connector.edms_adapters`` -- all a third party needs.
It may also register its settings model under ``connector.edms_settings`` (same name), so the
settings can be validated without importing the adapter and its SOAP/XML libraries: every
command loads the settings, few build an adapter.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from importlib.metadata import EntryPoint, entry_points
from typing import Any

from connector.edms_adapters.base import AdapterContext, AdapterSettings, EdmsAdapter
from connector.i18n import _

GROUP = "connector.edms_adapters"
SETTINGS_GROUP = "connector.edms_settings"


@functools.cache
def _registered(group: str) -> dict[str, EntryPoint]:
    """The group's entry points by name (scanning the installed distributions costs ~10 ms)."""
    found: dict[str, EntryPoint] = {}
    for point in entry_points(group=group):
        found.setdefault(point.name, point)
    return found


def available_adapters() -> list[str]:
    return sorted(_registered(GROUP))


def adapter_class(name: str) -> Any:
    point = _registered(GROUP).get(name)
    if point is None:
        known = ", ".join(available_adapters()) or _("none installed")
        raise LookupError(_("no EDMS adapter named {name!r} (installed: {known})").format(name=name, known=known))
    return point.load()


def settings_model(name: str) -> type[AdapterSettings]:
    """The settings model of adapter ``name``: its light entry point, else the adapter class's."""
    if name not in _registered(GROUP):
        adapter_class(name)  # raises LookupError naming the installed adapters
    light = _registered(SETTINGS_GROUP).get(name)
    model: type[AdapterSettings] = light.load() if light is not None else adapter_class(name).settings_model
    return model


def adapter_settings(raw: Mapping[str, Any], context: dict[str, Any] | None = None) -> AdapterSettings:
    """Validate one ``[edms.<name>]`` table against its adapter's model (LookupError: no such adapter)."""
    return settings_model(str(raw.get("type"))).model_validate(dict(raw), context=context)


def create_adapter(settings: AdapterSettings | Mapping[str, Any], context: AdapterContext) -> EdmsAdapter:
    """Build the adapter of a target from its typed settings (a raw table is validated first)."""
    typed = settings if isinstance(settings, AdapterSettings) else adapter_settings(settings)
    adapter: EdmsAdapter = adapter_class(typed.type)(typed, context)
    return adapter
