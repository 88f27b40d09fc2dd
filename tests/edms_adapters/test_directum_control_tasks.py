"""Directum RX control tasks (rating loop): a lost create reply is found by the subject's marker, and a
target without the entity set does not claim the capability."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from connector.domain import ControlTaskRequest
from connector.edms_adapters.base import AdapterContext, supports_control_tasks
from connector.simulators.directum import DirectumFaultSpec, DirectumSimulator
from connector.simulators.server import SimServer

from .conftest import make_message
from .test_directum_rx import make_adapter

pytestmark = pytest.mark.date_sensitive

TASK = ControlTaskRequest(key="pos-connector:control:lko-1:4001:rating", reason="rating", rating=2,
                          text="Заявитель оценил ответ на 2 из 5: на контроль куратору.")


@pytest.fixture
def rx() -> Iterator[tuple[DirectumSimulator, SimServer]]:
    app = DirectumSimulator(max_unfiltered=0)
    with SimServer(app) as server:
        yield app, server
    app.close()


def test_a_lost_reply_creating_a_control_task_makes_no_second_task(
        rx: tuple[DirectumSimulator, SimServer], adapter_context: AdapterContext) -> None:
    sim, server = rx
    adapter = make_adapter(server.url, adapter_context, curator_id=1)
    ref = adapter.create_card(make_message("4001"))
    sim.set_faults(DirectumFaultSpec(lost_reply_next=1, only_path="ISimpleTasks"))
    first = adapter.create_control_task(ref, TASK)
    assert adapter.create_control_task(ref, TASK) == first
    [task] = sim.state()["letters"][ref.external_id]["control_tasks"]
    assert task["text"] == TASK.text and task["subject"].startswith("На контроль: низкая оценка заявителя [pos-control ")
    assert sim.summary()["requests"]["POST ISimpleTasks"] == 1


def test_a_target_without_control_tasks_does_not_claim_them(adapter_context: AdapterContext) -> None:
    adapter = make_adapter("http://127.0.0.1:9", adapter_context, control_tasks_set="")
    assert not supports_control_tasks(adapter)
