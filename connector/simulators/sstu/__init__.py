"""The ССТУ.РФ simulator: the import plugin and read-back API, with independent format checks."""

from __future__ import annotations

from connector.simulators.sstu.app import SstuSimulator
from connector.simulators.sstu.checks import Rejected, check_appeal

__all__ = ["Rejected", "SstuSimulator", "check_appeal"]
