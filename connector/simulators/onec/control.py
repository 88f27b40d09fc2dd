"""Control tasks («Поручение», ``DMBusinessProcessOrder``) in the 1С simulator: the rating loop's task
for the curator on a card.  Created by ``DMCreateRequest`` with our objectID, refused a second time
("already exists") as XDTO does, returned by ``DMRetrieveRequest``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from lxml import etree

from connector.edms_adapters.onec_dm import wire

if TYPE_CHECKING:
    from connector.simulators.onec.state import OnecState


@dataclass
class ControlTask:
    id: str
    name: str
    description: str
    target_id: str
    controller: str = ""


def parse(obj: etree._Element) -> ControlTask:
    def text(*path: str) -> str:
        return wire.text(obj, *path)

    return ControlTask(id=text("objectID", "id"), name=text("name"), description=text("description"),
                       target_id=text("target", "objectID", "id"), controller=text("controller", "name"))


def render(parent: etree._Element, local: str, task: ControlTask) -> None:
    el = wire.sub(parent, local)
    el.set(f"{{{wire.XSI_NS}}}type", wire.dm_type(wire.T_CONTROL_TASK))
    wire.sub(el, "name", task.name)
    wire.add_object_id(el, task.id, wire.T_CONTROL_TASK)
    wire.sub(el, "description", task.description)
    wire.add_ref(el, "target", task.target_id, wire.T_INCOMING)
    if task.controller:
        wire.sub(wire.sub(el, "controller"), "name", task.controller)


def create(state: OnecState, task: ControlTask) -> ControlTask:
    from connector.simulators.onec.state import SimError

    with state.lock:
        if not task.id:
            raise SimError("Не указан идентификатор объекта (objectID)")
        if task.id in state.control_tasks:
            raise SimError(f"Объект {wire.T_CONTROL_TASK} с идентификатором {task.id} уже существует "
                           "(object already exists)")
        if task.target_id not in state.docs:
            raise SimError(f"Объект {task.target_id} не найден (object not found)")
        state.control_tasks[task.id] = task
        return task


def as_json(state: OnecState, doc_id: str) -> list[dict[str, Any]]:
    return [{"id": t.id, "name": t.name, "description": t.description, "controller": t.controller}
            for t in state.control_tasks.values() if t.target_id == doc_id]
