"""OnecDmAdapter against a simulator that answers as real DMService installations do (issue 12):
task executors, other cards' tasks, XDTO element order, typed conditions and limits, DMError texts."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from connector.domain import CardStage, PosMessage, StoredFile
from connector.edms_adapters.base import AdapterContext
from connector.edms_adapters.onec_dm import OnecDmAdapter, OnecDmSettings
from connector.errors import RemoteRejected, TransientError
from connector.simulators.onec import OnecFaultSpec, OnecSimulator
from connector.simulators.server import SimServer

from testconfig import body_today

pytestmark = pytest.mark.date_sensitive  # task begin dates and registration dates are the body's today

Sim = tuple[OnecSimulator, SimServer]
Message = Callable[..., PosMessage]


def make_adapter(url: str, context: AdapterContext, **overrides: Any) -> OnecDmAdapter:
    raw = {"type": "onec_dm", "url": url + "/docflow/ws/DMService", "login": "integration",
           "password": "1c-secret", **overrides}
    return OnecDmAdapter(OnecDmSettings.model_validate(raw), context)


@pytest.fixture
def adapter(onec_sim: Sim, adapter_context: AdapterContext) -> OnecDmAdapter:
    return make_adapter(onec_sim[1].url, adapter_context)


# --- 1. executors are performer/user ---------------------------------------------------------------
def test_executor_is_read_from_performer_user(onec_sim: Sim, adapter: OnecDmAdapter, message: Message) -> None:
    sim, _ = onec_sim
    ref = adapter.create_card(message("501"))
    sim.act({"action": "assign", "pos_id": "501", "executor": "Соколова Ольга Николаевна"})
    state = adapter.get_card(ref)
    assert [e.name for e in state.executors] == ["Соколова Ольга Николаевна"]
    assert state.stage is CardStage.IN_WORK


# --- 2. every task's target is re-checked -------------------------------------------------------------
def test_a_server_ignoring_the_target_condition_does_not_mix_cards(
        onec_sim: Sim, adapter: OnecDmAdapter, message: Message, caplog: pytest.LogCaptureFixture) -> None:
    sim, _ = onec_sim
    mine, other = adapter.create_card(message("601")), adapter.create_card(message("602"))
    far = (body_today() + timedelta(days=90)).isoformat()
    sim.act({"action": "assign", "pos_id": "601", "executor": "Иванова Мария Сергеевна"})
    sim.act({"action": "assign", "pos_id": "602", "executor": "Попов Дмитрий Андреевич", "due_date": far})
    sim.set_faults(OnecFaultSpec(ignore_conditions=True))
    with caplog.at_level(logging.INFO, logger="connector.edms_adapters.onec_dm.adapter"):
        state = adapter.get_card(mine)
    assert [e.name for e in state.executors] == ["Иванова Мария Сергеевна"]
    assert state.deadline is not None and state.deadline.isoformat() != far
    assert any("other cards" in r.getMessage() for r in caplog.records)
    assert [e.name for e in adapter.get_card(other).executors] == ["Попов Дмитрий Андреевич"]


def test_tasks_without_the_target_condition_still_belong_to_their_card(
        onec_sim: Sim, adapter_context: AdapterContext, message: Message) -> None:
    sim, server = onec_sim
    adapter = make_adapter(server.url, adapter_context, task_target_condition=False)
    mine = adapter.create_card(message("611"))
    adapter.create_card(message("612"))
    sim.act({"action": "assign", "pos_id": "612", "executor": "Попов Дмитрий Андреевич"})
    state = adapter.get_card(mine)
    assert state.executors == () and state.stage is CardStage.REGISTERED


# --- 3. element order and DMGetNewObjectRequest ------------------------------------------------------
def test_create_with_every_field_passes_the_xdto_order_check(
        onec_sim: Sim, adapter_context: AdapterContext, message: Message) -> None:
    sim, server = onec_sim
    adapter = make_adapter(server.url, adapter_context, document_kind_id="kind-1", folder_id="folder-1",
                           organization_id="org-1", responsible_login="CORP\\clerk", new_object_request="never")
    ref = adapter.create_card(message("701"))
    assert sim.state()["documents"][ref.external_id]["refs"]["organization"]["id"] == "org-1"
    assert "DMGetNewObjectRequest" not in sim.summary()["requests"]


def test_template_filled_object_is_fetched_first_when_a_template_is_set(
        onec_sim: Sim, adapter_context: AdapterContext, message: Message) -> None:
    sim, server = onec_sim
    adapter = make_adapter(server.url, adapter_context, template_id="tpl-1", folder_id="folder-own")
    ref = adapter.create_card(message("702"))
    refs = sim.state()["documents"][ref.external_id]["refs"]
    assert sim.summary()["requests"]["DMGetNewObjectRequest"] == 1
    assert refs["template"]["id"] == "tpl-1"
    assert refs["author"]["type"] == "DMUser" and refs["documentType"]["id"]  # from the template
    assert refs["folder"]["id"] == "folder-own"  # a configured id wins over the template's


# --- 4. typed conditions, limit and tooManyObjects -----------------------------------------------------
def test_a_cut_task_list_is_narrowed_to_the_open_tasks(
        onec_sim: Sim, adapter_context: AdapterContext, message: Message) -> None:
    sim, server = onec_sim
    adapter = make_adapter(server.url, adapter_context, list_limit=2)
    ref = adapter.create_card(message("801"))
    for name in ("Иванова Мария Сергеевна", "Кузнецов Алексей Петрович", "Лебедева Анна Игоревна"):
        sim.act({"action": "assign", "pos_id": "801", "executor": name})
    for task in list(sim.store.tasks.values())[:2]:
        task.executed = True
    state = adapter.get_card(ref)
    assert [e.name for e in state.executors] == ["Лебедева Анна Игоревна"]
    assert state.stage is CardStage.IN_WORK


# --- 5. DMError subject + description ---------------------------------------------------------------
def test_signature_required_is_a_clear_refusal_and_shown_by_health(
        adapter_context: AdapterContext, message: Message,
        make_file: Callable[[str, bytes], StoredFile]) -> None:
    app = OnecSimulator(use_digital_signatures=True)
    with SimServer(app) as server:
        adapter = make_adapter(server.url, adapter_context)
        adapter.health()
        assert adapter.health_details["useDigitalSignatures"] == "true"
        with pytest.raises(RemoteRejected) as info:
            adapter.create_card(message("901", attachments=(make_file("scan.pdf", b"%PDF-1.4 scan"),)))
    app.close()
    assert info.value.code == "signature_required"
    assert "электронная подпись требуется" in (info.value.detail or "")


def test_file_storage_unavailable_is_transient(onec_sim: Sim, adapter: OnecDmAdapter, message: Message,
                                               make_file: Callable[[str, bytes], StoredFile]) -> None:
    sim, _ = onec_sim
    sim.set_faults(OnecFaultSpec(file_storage_down_next=1))
    msg = message("902", attachments=(make_file("a.txt", b"abc"),))
    with pytest.raises(TransientError, match="file storage"):
        adapter.create_card(msg)
    adapter.create_card(msg)  # the volume is back: the next cycle adds the file once
    assert sim.summary()["files"] == 1


def test_an_answer_file_shorter_than_its_size_is_not_taken(onec_sim: Sim, adapter: OnecDmAdapter,
                                                          message: Message) -> None:
    sim, _ = onec_sim
    ref = adapter.create_card(message("903"))
    sim.act({"action": "answer", "pos_id": "903", "file_size": 5000})
    sim.set_faults(OnecFaultSpec(file_size_mismatch_next=1))
    with pytest.raises(TransientError, match="its size says 5000"):
        adapter.fetch_answer(ref)
    answer = adapter.fetch_answer(ref)
    assert answer is not None and len(answer.files[0].content) == 5000


def test_dmerror_subject_reaches_the_operator(onec_sim: Sim, adapter: OnecDmAdapter, message: Message) -> None:
    sim, _ = onec_sim
    sim.set_faults(OnecFaultSpec(dmerror_next=1, only_request="DMCreateRequest"))
    with pytest.raises(RemoteRejected) as info:
        adapter.create_card(message("904"))
    assert (info.value.detail or "").startswith("Ошибка при выполнении операции: ")
