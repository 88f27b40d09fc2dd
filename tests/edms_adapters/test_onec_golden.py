"""The hand-written DMService messages of ``tests/golden/onec`` (from public clients of real installations)
replayed against the adapter's parser and builder and against the simulator: all three must agree."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import requests
from lxml import etree

from connector.domain import PosMessage
from connector.edms_adapters.base import AdapterContext
from connector.edms_adapters.onec_dm import OnecDmAdapter, OnecDmSettings, replies, wire
from connector.edms_adapters.onec_dm.adapter import DmErrorRejected
from connector.simulators.onec import OnecFaultSpec, OnecSimulator
from connector.simulators.server import SimServer

GOLDEN = Path(__file__).parents[1] / "golden" / "onec"
DOC_ID = "0c4a7e1e-3b55-5d0c-9e61-7a0f2b8c4d11"
HEADERS = {"Content-Type": wire.CONTENT_TYPE, "SOAPAction": f'"{wire.SOAP_ACTION}"'}
Sim = tuple[OnecSimulator, SimServer]


def golden(name: str) -> etree._Element:
    return etree.fromstring((GOLDEN / name).read_bytes())


def golden_return(name: str) -> etree._Element:
    ret = wire.find_return(golden(name))
    assert ret is not None
    return ret


def post(sim: Sim, body: bytes) -> etree._Element:
    resp = requests.post(sim[1].url + "/docflow/ws/DMService", data=body, headers=HEADERS,
                         auth=("integration", "1c-secret"), timeout=10)
    assert resp.status_code == 200, resp.text
    ret = wire.find_return(etree.fromstring(resp.content))
    assert ret is not None
    return ret


def accepted(sim: Sim, name: str) -> etree._Element:
    ret = post(sim, (GOLDEN / name).read_bytes())
    error = wire.as_error(ret)
    assert error is None, error
    return ret


def offline_adapter(context: AdapterContext, **overrides: Any) -> OnecDmAdapter:
    raw = {"type": "onec_dm", "url": "http://127.0.0.1:9/ws/DMService", "login": "integration",
           "password": "x", **overrides}
    return OnecDmAdapter(OnecDmSettings.model_validate(raw), context)


def shape(el: etree._Element) -> list[str]:
    return [wire.local_name(c) for c in el]


# --- requests: the simulator accepts them, the adapter builds the same ------------------------------
def test_golden_create_is_accepted_and_the_adapter_builds_it_in_the_same_order(
        onec_sim: Sim, adapter_context: AdapterContext, message: Callable[..., PosMessage]) -> None:
    accepted(onec_sim, "create_request.xml")
    assert onec_sim[0].state()["documents"][DOC_ID]["refs"]["organization"]["id"] == "org-golden"

    adapter = offline_adapter(adapter_context, organization_id="org-golden", responsible_login="CORP\\clerk",
                              document_kind_id="kind-golden", folder_id="folder-golden", new_object_request="never")
    built = wire.child(adapter._create_envelope(DOC_ID, message("5501")), "Body", "execute", "request", "object")
    ours = wire.child(golden("create_request.xml"), "Body", "execute", "request", "object")
    assert built is not None and ours is not None
    assert shape(built) == shape(ours)
    assert shape(wire.child(built, "responsible")) == shape(wire.child(ours, "responsible"))  # type: ignore[arg-type]


def test_the_template_filled_object_of_the_golden_reply_goes_into_the_card(
        onec_sim: Sim, adapter_context: AdapterContext, message: Callable[..., PosMessage],
        monkeypatch: pytest.MonkeyPatch) -> None:
    accepted(onec_sim, "get_new_object_request.xml")
    adapter = offline_adapter(adapter_context, template_id="tpl-golden")
    monkeypatch.setattr(adapter, "_new_object", lambda: wire.child(golden_return("get_new_object_reply.xml"), "object"))
    env = adapter._create_envelope(DOC_ID, message("5501"))
    ret = post(onec_sim, wire.to_bytes(env))
    assert wire.as_error(ret) is None
    refs = onec_sim[0].state()["documents"][DOC_ID]["refs"]
    assert refs["author"]["id"] == "a1b2c3d4-0000-4000-8000-000000000001"
    assert refs["folder"]["name"] == "Обращения граждан" and refs["template"]["id"] == "tpl-golden"


def test_golden_task_list_request_is_accepted_and_answered_in_the_golden_shape(onec_sim: Sim) -> None:
    sim, _ = onec_sim
    accepted(onec_sim, "create_request.xml")
    sim.act({"action": "assign", "doc_id": DOC_ID, "executor": "Иванова Мария Сергеевна"})
    for task in sim.store.tasks.values():
        task.begin_date = date(2026, 11, 2)  # after the golden request's beginDate >= 2026-11-01
    [from_sim] = replies.objects_of(accepted(onec_sim, "task_list_request.xml"))
    from_golden = next(replies.objects_of(golden_return("task_list_reply.xml")))
    for path in (("performer", "user", "name"), ("performer", "user", "objectID", "id"),
                 ("target", "objectID", "id"), ("dueDate",), ("beginDate",), ("executed",)):
        assert wire.text(from_sim, *path) and wire.text(from_golden, *path), path
    assert wire.xsi_type(wire.child(from_sim, "performer")) == wire.xsi_type(wire.child(from_golden, "performer"))  # type: ignore[arg-type]
    assert replies.parse_task(from_sim).performer == replies.parse_task(from_golden).performer


# --- replies: the adapter's parser reads them -------------------------------------------------------
def test_golden_task_reply_is_parsed_and_foreign_tasks_are_recognised() -> None:
    ret = golden_return("task_list_reply.xml")
    tasks = [replies.parse_task(o) for o in replies.objects_of(ret)]
    assert [t.performer for t in tasks] == ["Иванова Мария Сергеевна", "Попов Дмитрий Андреевич"]
    assert [t.concerns(DOC_ID) for t in tasks] == [True, False]
    assert tasks[0].due_date == date(2026, 11, 30) and not tasks[0].executed
    assert not replies.too_many(ret)


@pytest.mark.parametrize(("name", "kind"), [("dmerror_signature_reply.xml", "signature_required"),
                                            ("dmerror_storage_reply.xml", "storage_unavailable")])
def test_golden_dmerrors_are_classified_by_subject_and_description(name: str, kind: str) -> None:
    error = wire.as_error(golden_return(name))
    assert error is not None and error.kind == kind and error.subject
    assert DmErrorRejected("DMAddFileRequest", error).code == kind


def test_golden_settings_and_file_replies() -> None:
    assert wire.text(golden_return("settings_reply.xml"), "useDigitalSignatures") == "true"
    [obj] = replies.objects_of(golden_return("file_size_mismatch_reply.xml"))
    assert replies.parse_file(obj).size_mismatch


def test_simulator_replies_carry_the_golden_elements(onec_sim: Sim) -> None:
    settings = post(onec_sim, wire.to_bytes(wire.new_request(wire.R_GET_SETTINGS)[0]))
    assert shape(settings) == shape(golden_return("settings_reply.xml"))
    onec_sim[0].set_faults(OnecFaultSpec(dmerror_next=1))
    error = post(onec_sim, wire.to_bytes(wire.new_request(wire.R_GET_VERSION)[0]))
    assert shape(error) == shape(golden_return("dmerror_signature_reply.xml"))
