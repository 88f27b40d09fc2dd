"""pos-connector: POS («Госуслуги. Решаем вместе») ↔ EDMS ↔ SSTU.RF integration gateway."""

__version__ = "0.1.0"
