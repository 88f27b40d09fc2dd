"""The POS simulator: a WSGI app implementing ``docs/pos-api.md`` with state and faults."""

from __future__ import annotations

from connector.simulators.pos.app import PosSimulator
from connector.simulators.pos.state import DEFAULT_ACCOUNT, SimAccount

__all__ = ["DEFAULT_ACCOUNT", "PosSimulator", "SimAccount"]
