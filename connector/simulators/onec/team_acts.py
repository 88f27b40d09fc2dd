"""The ``complete`` act of the 1С simulator: one executor finishes its own task of a card."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from connector.simulators.onec.state import Task


def complete_task(tasks: list[Task], executor: object, now: datetime) -> Task:
    """Mark executed the open task of ``executor`` (a name), or else the first open one in turn."""
    open_tasks = sorted((t for t in tasks if not t.executed), key=lambda t: (t.order or 0, t.number))
    if executor:
        open_tasks = [t for t in open_tasks if t.performer == str(executor)]
    if not open_tasks:
        from connector.simulators.onec.state import UnknownTarget

        raise UnknownTarget(f"no open task{' of ' + str(executor) if executor else ''} on this card")
    task = open_tasks[0]
    task.executed, task.end_date = True, now
    return task
