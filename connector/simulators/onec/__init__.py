"""Simulator of 1C:Document Management (DMService SOAP) for tests, ``connector sim edms`` and the demo."""

from connector.simulators.onec.app import OnecFaultSpec, OnecSimulator
from connector.simulators.onec.state import SimNames

__all__ = ["OnecFaultSpec", "OnecSimulator", "SimNames"]
