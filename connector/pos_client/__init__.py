"""Client of the POS integration API (v1, ``docs/pos-api.md``); wire models in :mod:`.wire`."""

from __future__ import annotations

from connector.pos_client.client import PosClient

__all__ = ["PosClient"]
