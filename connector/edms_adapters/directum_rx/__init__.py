"""Directum RX through its Integration service (OData v4, JSON, HTTP Basic)."""

from connector.edms_adapters.directum_rx.adapter import DirectumRxAdapter
from connector.edms_adapters.directum_rx.settings import DirectumRxSettings

__all__ = ["DirectumRxAdapter", "DirectumRxSettings"]
