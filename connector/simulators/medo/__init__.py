"""Simulator of a МЭДО counterpart СЭД (file exchange) for tests, ``connector sim edms --kind medo`` and the demo."""

from connector.simulators.medo.app import MedoFaultSpec, MedoSimulator, control_app
from connector.simulators.medo.writer import HOSTILE_KINDS

__all__ = ["HOSTILE_KINDS", "MedoFaultSpec", "MedoSimulator", "control_app"]
