"""The 1C:Document Management simulator over real HTTP: WSDL, SOAP execute, safety, /_sim endpoints, faults."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import requests
import zeep
from lxml import etree

from connector.edms_adapters.onec_dm import replies, wire
from connector.simulators.faults import parse_fault_spec
from connector.simulators.onec import OnecFaultSpec, OnecSimulator
from connector.simulators.server import SimServer

AUTH = ("integration", "1c-secret")
HEADERS = {"Content-Type": wire.CONTENT_TYPE, "SOAPAction": f'"{wire.SOAP_ACTION}"'}


@pytest.fixture
def sim() -> Iterator[tuple[OnecSimulator, str]]:
    app = OnecSimulator(memory_limit=1024)
    with SimServer(app) as server:
        yield app, server.url
    app.close()


def post(url: str, body: bytes, auth: tuple[str, str] | None = AUTH, path: str = "/base/ws/DMService") -> requests.Response:
    return requests.post(url + path, data=body, headers=HEADERS, auth=auth, timeout=10)


def ret_of(resp: requests.Response) -> etree._Element:
    root = etree.fromstring(resp.content)
    ret = wire.find_return(root)
    assert ret is not None, resp.text
    return ret


def create_body(doc_id: str, pos_id: str = "1") -> bytes:
    env, req = wire.new_request(wire.R_CREATE)
    obj = wire.sub(req, "object")
    obj.set(f"{{{wire.XSI_NS}}}type", "dm:DMIncomingDocument")
    wire.sub(obj, "name", "Обращение")
    wire.add_object_id(obj, doc_id, wire.T_INCOMING)
    wire.add_external(obj, "POS", pos_id, "PosMessage")
    return wire.to_bytes(env)


DOC_ID = "11111111-2222-4333-8444-555555555555"


def test_wsdl_is_served_with_own_address(sim: tuple[OnecSimulator, str]) -> None:
    _, url = sim
    resp = requests.get(url + "/base/ws/DMService?wsdl", timeout=10)
    assert resp.status_code == 200
    client = zeep.Client(url + "/base/ws/DMService?wsdl")
    assert client.service._binding_options["address"] == url + "/base/ws/DMService"  # noqa: SLF001


@pytest.mark.parametrize("path", ["/b/ws/DMService", "/b/ws/DM.1cws", "/b/ws/dm.1cws", "/b/ws/dmservice"])
def test_version_on_every_url_form(sim: tuple[OnecSimulator, str], path: str) -> None:
    resp = post(sim[1], wire.to_bytes(wire.new_request(wire.R_GET_VERSION)[0]), path=path)
    ret = ret_of(resp)
    assert wire.xsi_type(ret) == "DMGetVersionResponse"
    assert wire.text(ret, "versionNumber") == "2.1.37.5.CORP"


def test_basic_auth_required(sim: tuple[OnecSimulator, str]) -> None:
    body = wire.to_bytes(wire.new_request(wire.R_CURRENT_USER)[0])
    assert post(sim[1], body, auth=None).status_code == 401
    assert post(sim[1], body, auth=("integration", "nope")).status_code == 401
    assert wire.text(ret_of(post(sim[1], body)), "user", "name") == "integration"


def test_zeep_built_request_is_accepted_and_ids_are_honoured(sim: tuple[OnecSimulator, str]) -> None:
    app, url = sim
    client = zeep.Client(str(wire.WSDL_PATH))
    obj_id = client.get_type("ns0:DMObjectID")
    doc = client.get_type("ns0:DMIncomingDocument")(
        name="Обращение №5", objectID=obj_id(id=DOC_ID, type="DMIncomingDocument"),
        externalObject=client.get_type("ns0:DMExternalObject")(name="POS", id="5", type="PosMessage"),
        title="Обращение №5")
    request = client.get_type("ns0:DMCreateRequest")(dataBaseID="", object=doc)
    body = etree.tostring(client.create_message(client.service, "execute", request=request))
    ret = ret_of(post(url, body))
    assert wire.xsi_type(ret) == "DMCreateResponse"
    assert wire.text(ret, "object", "objectID", "id") == DOC_ID
    assert wire.text(ret, "object", "regNumber").startswith("ВХ-")
    again = ret_of(post(url, body))
    error = wire.as_error(again)
    assert error is not None and error.already_exists
    assert app.summary()["by_external_id"] == {"5": 1}


def test_retrieve_missing_is_not_found(sim: tuple[OnecSimulator, str]) -> None:
    env, req = wire.new_request(wire.R_RETRIEVE)
    wire.add_object_id(req, "no-such-id", wire.T_INCOMING, local="objectIds")
    error = wire.as_error(ret_of(post(sim[1], wire.to_bytes(env))))
    assert error is not None and error.not_found


@pytest.mark.parametrize("body", [
    b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
    b'<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>&e;</soap:Body></soap:Envelope>',
    b'<?xml version="1.0"?><!DOCTYPE x><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"/>',
    b'<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/">&undefined;</soap:Envelope>',
    b"not xml at all",
])
def test_hostile_or_broken_xml_is_refused(sim: tuple[OnecSimulator, str], body: bytes) -> None:
    resp = post(sim[1], body)
    assert resp.status_code == 500
    fault = wire.find_fault(etree.fromstring(resp.content))
    assert fault is not None and fault.faultcode == "soap:Client"
    assert b"root:" not in resp.content


def test_file_upload_list_and_exact_download(sim: tuple[OnecSimulator, str]) -> None:
    app, url = sim
    post(url, create_body(DOC_ID))
    content = bytes(range(256)) * 40  # above the 1 KiB memory limit of this fixture: stored on disk
    env, req = wire.new_request(wire.R_ADD_FILE)
    f = wire.sub(req, "file")
    wire.sub(f, "name", "Схема двора")
    wire.add_object_id(f, "f-1", wire.T_FILE)
    wire.sub(f, "extension", "png")
    wire.sub(f, "size", str(len(content)))
    wire.sub(f, "binaryData", base64.b64encode(content).decode())
    owner = wire.sub(req, "owner")
    wire.add_object_id(owner, DOC_ID, wire.T_INCOMING)
    assert wire.xsi_type(ret_of(post(url, wire.to_bytes(env)))) == "DMAddFileResponse"
    assert wire.as_error(ret_of(post(url, wire.to_bytes(env)))).already_exists  # type: ignore[union-attr]

    env, req = wire.new_request(wire.R_FILES_BY_OWNER)
    wire.add_object_id(wire.sub(req, "owners"), DOC_ID, wire.T_INCOMING)
    files = [replies.parse_file(o) for o in replies.objects_of(ret_of(post(url, wire.to_bytes(env))))]
    assert [(x.id, x.name, x.extension, x.size, x.content) for x in files] == [
        ("f-1", "Схема двора", "png", len(content), None)]

    env, req = wire.new_request(wire.R_RETRIEVE)
    wire.add_object_id(req, "f-1", wire.T_FILE, local="objectIds")
    wire.sub(req, "columnSet", "binaryData")
    got = replies.parse_file(next(replies.objects_of(ret_of(post(url, wire.to_bytes(env))))))
    assert got.content == content
    listed = app.state()["documents"][DOC_ID]["files"]
    assert listed == [{"id": "f-1", "name": "Схема двора.png", "size": len(content),
                       "sha256": hashlib.sha256(content).hexdigest()}]
    assert app.store.files["f-1"].path is not None and app.store.files["f-1"].data is None


def test_act_over_http(sim: tuple[OnecSimulator, str]) -> None:
    app, url = sim
    post(url, create_body(DOC_ID, pos_id="42"))
    act = url + "/_sim/act"
    assert requests.post(act, json={"action": "assign", "pos_id": "nope"}, timeout=10).status_code == 404
    assert requests.post(act, json={"action": "dance", "pos_id": "42"}, timeout=10).status_code == 400
    assigned = requests.post(act, json={"action": "assign", "pos_id": "42", "due_date": "2030-01-31"}, timeout=10)
    assert assigned.status_code == 200 and assigned.json()["doc_id"] == DOC_ID
    answered = requests.post(act, json={"action": "answer", "pos_id": "42"}, timeout=10).json()
    assert answered["reg_number"].startswith("ИСХ-")
    state = requests.get(url + "/_sim/state", timeout=10).json()["documents"]
    incoming, answer = state[DOC_ID], state[answered["answer_id"]]
    assert incoming["tasks"][0]["dueDate"] == "2030-01-31" and incoming["tasks"][0]["executed"] is True
    assert incoming["properties"]["Результат рассмотрения"] == "Разъяснено"
    assert answer["type"] == "DMOutgoingDocument" and answer["properties"]["В ответ на"] == DOC_ID
    assert [f["name"] for f in answer["files"]] == ["Ответ на обращение №42.pdf"]
    summary = requests.get(url + "/_sim/state?summary=1", timeout=10).json()
    assert summary["documents"] == 2 and summary["answers"] == 1 and summary["by_external_id"] == {"42": 1}

    env, req = wire.new_request(wire.R_OBJECT_LIST)
    wire.sub(req, "type", wire.T_TASK)
    wire.add_condition(wire.sub(req, "query"),
                       wire.Condition(wire.COND_TARGET, DOC_ID, wire.V_OBJECT_ID, ref_type=wire.T_INCOMING))
    assert list(replies.objects_of(ret_of(post(url, wire.to_bytes(env))))) == []  # executed tasks hidden by default


def test_seed_holds_a_foreign_card_under_a_given_id(sim: tuple[OnecSimulator, str]) -> None:
    _, url = sim
    seeded = requests.post(url + "/_sim/seed", json={"cards": [{"id": DOC_ID, "pos_id": "77"}]}, timeout=10)
    assert seeded.status_code == 200 and seeded.json() == {"created": [DOC_ID]}
    env, req = wire.new_request(wire.R_RETRIEVE)
    wire.add_object_id(req, DOC_ID, wire.T_INCOMING, local="objectIds")
    doc = replies.parse_doc(next(replies.objects_of(ret_of(post(url, wire.to_bytes(env))))))
    assert (doc.id, doc.external_id) == (DOC_ID, "77") and doc.reg_number
    create = wire.as_error(ret_of(post(url, create_body(DOC_ID, pos_id="78"))))
    assert create is not None and create.already_exists, "the id is taken: a create cannot replace the card"
    again = requests.post(url + "/_sim/seed", json={"cards": [{"id": DOC_ID, "pos_id": "78"}]}, timeout=10)
    assert again.status_code == 400 and "already exists" in again.json()["error"]
    for bad in ({}, {"cards": [{"id": "not-a-uuid", "pos_id": "1"}]}):
        assert requests.post(url + "/_sim/seed", json=bad, timeout=10).status_code == 400


def test_faults_only_hit_the_soap_endpoint(sim: tuple[OnecSimulator, str]) -> None:
    app, url = sim
    resp = requests.post(url + "/_sim/faults", json={"fail_next": 2, "soap_fault_next": 1, "unauthorized_next": 1},
                         timeout=10)
    assert resp.status_code == 200 and resp.json()["remaining"]["soap_fault"] == 1
    assert requests.get(url + "/_sim/state?summary=1", timeout=10).status_code == 200
    body = wire.to_bytes(wire.new_request(wire.R_GET_VERSION)[0])
    assert post(url, body).status_code == 401
    first = post(url, body)
    assert first.status_code == 500 and wire.find_fault(etree.fromstring(first.content)) is not None
    assert post(url, body).status_code == 500
    lock = post(url, body)
    assert lock.status_code == 500 and "Конфликт блокировок" in lock.text
    assert post(url, body).status_code == 200
    bad = requests.post(url + "/_sim/faults", json={"no_such_fault": 1}, timeout=10)
    assert bad.status_code == 400


def test_dmerror_throttle_and_doctype_faults(sim: tuple[OnecSimulator, str]) -> None:
    app, url = sim
    body = wire.to_bytes(wire.new_request(wire.R_GET_VERSION)[0])
    app.set_faults(parse_fault_spec("dmerror_next=1,throttle_next=1,doctype_next=1,retry_after=3",
                                    model=OnecFaultSpec))
    throttled = post(url, body)
    assert throttled.status_code == 429 and throttled.headers["Retry-After"] == "3"
    assert wire.as_error(ret_of(post(url, body))) is not None
    assert b"<!DOCTYPE" in post(url, body).content
    assert b"<!DOCTYPE" not in post(url, body).content


def test_wsgi_app_has_python_api() -> None:
    app = OnecSimulator(users={"u": "p"}, seed=7)
    try:
        state: dict[str, Any] = app.state()
        assert state == {"documents": {}}
        assert app.act({"action": "auto", "assign": True, "answer": True}) == {"assigned": 0, "answered": 0}
        with pytest.raises(KeyError):
            app.act({"action": "assign", "pos_id": "missing"})
    finally:
        app.close()


def test_an_answer_signed_without_its_file_and_the_file_added_later(sim: tuple[OnecSimulator, str]) -> None:
    app, url = sim
    post(url, create_body(DOC_ID, pos_id="42"))
    act = url + "/_sim/act"
    early = requests.post(act, json={"action": "attach_answer_file", "pos_id": "42"}, timeout=10)
    assert early.status_code == 404 and "no answer yet" in early.json()["error"]
    requests.post(f"{url}/_sim/faults", json={"answer_without_file_next": 1}, timeout=10).raise_for_status()
    answered = requests.post(act, json={"action": "answer", "pos_id": "42"}, timeout=10).json()
    assert app.state()["documents"][answered["answer_id"]]["files"] == []
    assert app.faults.state()["injected"] == {"answer_without_file": 1}
    added = requests.post(act, json={"action": "attach_answer_file", "pos_id": "42"}, timeout=10).json()
    assert added["answer_id"] == answered["answer_id"]
    assert [f["name"] for f in app.state()["documents"][answered["answer_id"]]["files"]] == [
        "Ответ на обращение №42.pdf"]


# --- what a real DMService refuses (issue 12) -------------------------------------------------------
def _task_list(conditions: list[wire.Condition], limit: int | None = None) -> bytes:
    env, req = wire.new_request(wire.R_OBJECT_LIST)
    wire.sub(req, "type", wire.T_TASK)
    query = wire.sub(req, "query")
    for cond in conditions:
        wire.add_condition(query, cond)
    if limit is not None:
        wire.sub(query, "limit", str(limit))
    return wire.to_bytes(env)


def test_condition_values_must_carry_their_xdto_type(sim: tuple[OnecSimulator, str]) -> None:
    _, url = sim
    post(url, create_body(DOC_ID))
    untyped = wire.as_error(ret_of(post(url, _task_list([wire.Condition(wire.COND_EXECUTED, "true")]))))
    assert untyped is not None and untyped.subject == "Ошибка проверки данных XDTO"
    assert "ожидается 'xs:boolean'" in untyped.description
    as_string = wire.as_error(ret_of(post(url, _task_list([wire.Condition(wire.COND_TARGET, DOC_ID)]))))
    assert as_string is not None and "dm:DMObjectID" in as_string.description
    typed = ret_of(post(url, _task_list([
        wire.Condition(wire.COND_TARGET, DOC_ID, wire.V_OBJECT_ID, ref_type=wire.T_INCOMING),
        wire.Condition(wire.COND_EXECUTED, "true", wire.V_BOOLEAN)])))
    assert wire.as_error(typed) is None


def test_limit_cuts_the_list_and_sets_too_many_objects(sim: tuple[OnecSimulator, str]) -> None:
    app, url = sim
    post(url, create_body(DOC_ID, pos_id="5"))
    for _ in range(3):
        app.act({"action": "assign", "pos_id": "5"})
    cut = ret_of(post(url, _task_list([], limit=2)))
    assert len(list(replies.objects_of(cut))) == 2 and replies.too_many(cut)
    whole = ret_of(post(url, _task_list([], limit=3)))
    assert len(list(replies.objects_of(whole))) == 3 and not replies.too_many(whole)


def test_tasks_render_performer_as_a_task_executor_wrapping_the_user(sim: tuple[OnecSimulator, str]) -> None:
    app, url = sim
    post(url, create_body(DOC_ID, pos_id="6"))
    app.act({"action": "assign", "pos_id": "6", "executor": "Иванова Мария Сергеевна"})
    [task] = replies.objects_of(ret_of(post(url, _task_list([]))))
    performer = wire.child(task, "performer")
    assert performer is not None and wire.xsi_type(performer) == "DMBusinessProcessTaskExecutor"
    assert wire.text(performer, "user", "name") == "Иванова Мария Сергеевна" and wire.text(performer, "name") == ""


def test_create_out_of_xdto_order_is_refused(sim: tuple[OnecSimulator, str]) -> None:
    _, url = sim
    env, req = wire.new_request(wire.R_CREATE)
    obj = wire.sub(req, "object")
    obj.set(f"{{{wire.XSI_NS}}}type", "dm:DMIncomingDocument")
    wire.sub(obj, "name", "Обращение")
    wire.add_object_id(obj, DOC_ID, wire.T_INCOMING)
    wire.sub(obj, "title", "Обращение")  # the first wave's order: title before summary and organization
    wire.sub(obj, "summary", "Текст")
    error = wire.as_error(ret_of(post(url, wire.to_bytes(env))))
    assert error is not None and error.subject == "Ошибка проверки данных XDTO"
    assert "нарушен порядок" in error.description and "'summary' после 'title'" in error.description


def test_settings_tell_whether_signatures_are_required(sim: tuple[OnecSimulator, str]) -> None:
    app, url = sim
    body = wire.to_bytes(wire.new_request(wire.R_GET_SETTINGS)[0])
    assert wire.text(ret_of(post(url, body)), "useDigitalSignatures") == "false"
    app.store.use_digital_signatures = True
    assert wire.text(ret_of(post(url, body)), "useDigitalSignatures") == "true"


def test_dmerror_has_subject_and_description_and_no_code(sim: tuple[OnecSimulator, str]) -> None:
    app, url = sim
    app.set_faults(OnecFaultSpec(dmerror_next=1))
    ret = ret_of(post(url, create_body(DOC_ID)))
    assert [wire.local_name(c) for c in ret] == ["subject", "description"]


def test_documents_are_listed_by_a_typed_registration_date(sim: tuple[OnecSimulator, str]) -> None:
    app, url = sim
    post(url, create_body(DOC_ID, pos_id="7"))
    reg = app.store.docs[DOC_ID].reg_date
    assert reg is not None

    def listed(value: str, value_type: str) -> etree._Element:
        env, req = wire.new_request(wire.R_OBJECT_LIST)
        wire.sub(req, "type", wire.T_INCOMING)
        wire.add_query(req, [wire.Condition(wire.COND_REG_DATE, value, value_type, ">=")], 10)
        return ret_of(post(url, wire.to_bytes(env)))

    assert len(list(replies.objects_of(listed(wire.format_datetime(reg), wire.V_DATETIME)))) == 1
    later = wire.format_datetime(reg + timedelta(days=1))
    assert list(replies.objects_of(listed(later, wire.V_DATETIME))) == []
    refused = wire.as_error(listed(wire.format_datetime(reg), wire.V_STRING))
    assert refused is not None and "xs:dateTime" in refused.description
