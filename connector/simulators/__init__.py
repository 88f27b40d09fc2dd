"""Faithful simulators of POS, the EDMS and SSTU: real servers on loopback with state and faults."""
