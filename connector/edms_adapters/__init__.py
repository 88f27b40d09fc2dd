"""EDMS adapters: one folder per adapter, found by name through the entry-point group
``connector.edms_adapters`` (ours exactly like a third party's)."""

from connector.edms_adapters.base import AdapterContext, AdapterSettings, EdmsAdapter

__all__ = ["AdapterContext", "AdapterSettings", "EdmsAdapter"]
