"""Simulator of Directum RX's Integration service (OData v4) for tests, ``connector sim`` and the demo."""

from connector.simulators.directum.app import DirectumFaultSpec, DirectumSimulator
from connector.simulators.directum.state import SimNames

__all__ = ["DirectumFaultSpec", "DirectumSimulator", "SimNames"]
