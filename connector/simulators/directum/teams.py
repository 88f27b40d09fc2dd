"""Executors of the Directum simulator in units, and the ``complete`` act (one executor finishes)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from connector.edms_adapters.directum_rx import wire
from connector.simulators.base import LOCAL_ZONE

if TYPE_CHECKING:
    from connector.simulators.directum.state import DirectumState


def completed_now() -> str:
    return datetime.now(LOCAL_ZONE).replace(microsecond=0).isoformat()


def place_in_unit(state: DirectumState, employee_id: int, unit: str) -> None:
    """Link the employee to the department named ``unit`` (created on first use)."""
    if not unit:
        return
    departments = state.entities[wire.S_DEPARTMENTS]
    dep_id = next((i for i, d in departments.items() if d[wire.P_NAME] == unit), None)
    if dep_id is None:
        dep_id = state._insert(wire.S_DEPARTMENTS, {wire.P_NAME: unit, wire.P_STATUS: "Active"})
    state.links.setdefault((wire.S_EMPLOYEES, employee_id), {})[wire.P_DEPARTMENT] = (wire.S_DEPARTMENTS, dep_id)


def complete(state: DirectumState, letter_id: int, executor: object) -> dict[str, Any]:
    """Complete the open task of ``executor`` (a name), or else the earliest open one."""
    for task in sorted(state.tasks_of(letter_id), key=lambda t: t[wire.P_ID]):
        if task[wire.P_STATUS] != wire.TASK_IN_PROCESS:
            continue
        assignee = state.link(wire.S_TASKS, task[wire.P_ID], wire.P_ASSIGNEE)
        name = state.entities[wire.S_EMPLOYEES][assignee[1]][wire.P_NAME] if assignee else ""
        if executor and name != str(executor):
            continue
        task[wire.P_STATUS] = "Completed"
        task[wire.P_COMPLETED] = completed_now()
        return {"letter_id": letter_id, "task_id": task[wire.P_ID]}
    from connector.simulators.directum.state import UnknownTarget

    raise UnknownTarget(f"no open task{' of ' + str(executor) if executor else ''} on letter {letter_id}")
