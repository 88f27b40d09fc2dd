"""The Directum RX simulator over real HTTP: OData resources, query options, errors, /_sim endpoints, faults."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from connector.edms_adapters.directum_rx import wire
from connector.simulators.directum import DirectumFaultSpec, DirectumSimulator
from connector.simulators.faults import parse_fault_spec
from connector.simulators.server import SimServer

AUTH = ("integration", "rx-secret")
Sim = tuple[DirectumSimulator, str]
REFS = {"DocumentKind@odata.bind": "IDocumentKinds(1)", "BusinessUnit@odata.bind": "IBusinessUnits(1)",
        "Department@odata.bind": "IDepartments(1)"}


@pytest.fixture
def sim() -> Iterator[Sim]:
    app = DirectumSimulator(max_unfiltered=3, memory_limit=1024)
    with SimServer(app) as server:
        yield app, server.url + "/Integration/odata"
    app.close()


def get(url: str, path: str, auth: tuple[str, str] | None = AUTH, **params: Any) -> requests.Response:
    return requests.get(f"{url}/{path}", params=params, auth=auth, timeout=10)


def post(url: str, path: str, body: dict[str, Any]) -> requests.Response:
    return requests.post(f"{url}/{path}", json=body, auth=AUTH, timeout=10)


def make_letter(url: str, pos_id: str) -> int:
    person = post(url, "IPersons", {"LastName": "Петров", "FirstName": "Иван"}).json()["Id"]
    resp = post(url, "IIncomingLetters", {"Subject": f"Обращение {pos_id}", "InNumber": pos_id,
                                          "Correspondent@odata.bind": f"IPersons({person})", **REFS})
    assert resp.status_code == 201, resp.text
    assert resp.headers["Location"].endswith(f"IIncomingLetters({resp.json()['Id']})")
    return int(resp.json()["Id"])


def test_metadata_lists_every_served_set(sim: Sim) -> None:
    app, url = sim
    resp = get(url, "$metadata")
    assert resp.status_code == 200 and resp.headers["Content-Type"].startswith("application/xml")
    served = set(app.store.entity_sets)
    assert wire.entity_sets(resp.content) == served


def test_basic_auth_required(sim: Sim) -> None:
    _, url = sim
    assert get(url, "IPersons", auth=None).status_code == 401
    resp = get(url, "IPersons", auth=("integration", "nope"))
    assert resp.status_code == 401 and "Basic" in resp.headers["WWW-Authenticate"]
    assert requests.get(url.replace("/Integration", "/integration") + "/$metadata", auth=AUTH,
                        timeout=10).status_code == 200


def test_create_register_filter_select_expand(sim: Sim) -> None:
    _, url = sim
    letter_id = make_letter(url, "it's 1")
    letter = get(url, f"IIncomingLetters({letter_id})").json()
    assert letter["RegistrationNumber"] == "ВХ-RX-000001" and letter["RegistrationState"] == "Registered"
    assert letter["RegistrationDate"][:10] and "Correspondent" not in letter  # navigation only when expanded
    found = get(url, "IIncomingLetters", **{"$filter": wire.eq("InNumber", "it's 1"), "$select": "Id,InNumber",
                                           "$expand": "Correspondent($select=Id,Name)"}).json()["value"]
    assert found == [{"Id": letter_id, "InNumber": "it's 1", "Correspondent": {"Id": 1, "Name": "Петров Иван"}}]
    both = wire.and_(wire.eq("InNumber", "it's 1"), wire.eq("Correspondent/Id", 1))
    assert len(get(url, "IIncomingLetters", **{"$filter": f"({both})"}).json()["value"]) == 1
    resp = get(url, "IIncomingLetters", **{"$filter": wire.eq("InNumber", "nothing")})
    assert resp.status_code == 204 and resp.content == b""


def test_count_is_plain_text_with_bom(sim: Sim) -> None:
    _, url = sim
    make_letter(url, "1")
    resp = get(url, "IIncomingLetters/$count")
    assert resp.headers["Content-Type"].startswith("text/plain")
    assert resp.content == "\ufeff1".encode() and wire.parse_count(resp.content) == 1


def test_unfiltered_over_limit_is_refused_with_plain_error(sim: Sim) -> None:
    _, url = sim
    for n in range(4):
        make_letter(url, str(n))
    resp = get(url, "IIncomingLetters")
    assert resp.status_code == 400 and resp.json() == {"error": wire.TOO_MANY_ENTITIES}
    assert len(get(url, "IIncomingLetters", **{"$top": "2"}).json()["value"]) == 2
    assert get(url, "IIncomingLetters/$count").content.endswith(b"4")


@pytest.mark.parametrize(("path", "params", "body", "needle"), [
    ("IIncomingLetters", {"$filter": "Nope eq 1"}, None, "Nope"),
    ("IIncomingLetters", {"$filter": "InNumber gt '1'"}, None, "gt"),
    ("IIncomingLetters", {"$filter": "InNumber eq 'x"}, None, "$filter"),
    ("IIncomingLetters", {"$select": "Nope"}, None, "Nope"),
    ("IPersons", {}, {"LastName": "А", "Shoe": 1}, "Shoe"),
    ("IIncomingLetters", {}, {"Subject": "x"}, "Корреспондент"),
])
def test_errors_use_the_structured_shape(sim: Sim, path: str, params: dict[str, str], body: Any,
                                         needle: str) -> None:
    _, url = sim
    if body is None:
        resp = get(url, path, **params)
    else:
        resp = post(url, path, body)
    assert resp.status_code == 400
    assert needle in resp.json()["error"]["message"]["value"]
    assert get(url, "IIncomingLetters(999)").json()["error"]["message"]["value"]


def test_versions_and_bodies_round_trip(sim: Sim) -> None:
    app, url = sim
    letter_id = make_letter(url, "5")
    content = bytes(range(256)) * 40  # above memory_limit: kept on disk
    note = wire.version_note("Скан.pdf", 0, hashlib.sha256(content).hexdigest())
    version = post(url, f"IIncomingLetters({letter_id})/Versions", {
        "Number": 1, "Note": note, "AssociatedApplication@odata.bind": "IAssociatedApplications(1)"})
    assert version.status_code == 201
    vid = version.json()["Id"]
    listed = get(url, f"IIncomingLetters({letter_id})/Versions", **{"$expand": "Body($select=Id)"}).json()["value"]
    assert listed[0]["Body"] is None
    body_url = f"IIncomingLetters({letter_id})/Versions({vid})/Body"
    assert get(url, body_url).status_code == 204
    assert post(url, body_url, {"Value": base64.b64encode(content).decode()}).status_code == 200
    assert base64.b64decode(get(url, body_url).json()["Value"]) == content
    assert app.store.bodies[vid].data is None
    saved = app.state()["letters"][str(letter_id)]["versions"]
    assert saved == [{"id": vid, "number": 1, "note": note, "name": "Скан.pdf", "extension": "pdf",
                      "size": len(content), "sha256": hashlib.sha256(content).hexdigest()}]
    assert post(url, body_url, {"Value": "***"}).status_code == 400


def test_acts_drive_tasks_answers_and_results(sim: Sim) -> None:
    app, url = sim
    letter_id = make_letter(url, "9")
    act = requests.post(url.split("/Integration")[0] + "/_sim/act", json={
        "action": "assign", "pos_id": "9", "executor": "Иванова Мария Сергеевна", "due_date": "2030-01-10"},
        timeout=10)
    assert act.status_code == 200
    tasks = get(url, "IActionItemExecutionTasks", **{
        "$filter": f"AttachmentDetails/any(a: a/AttachmentId eq {letter_id})",
        "$expand": "Assignee,AttachmentDetails($select=AttachmentId)"}).json()["value"]
    assert tasks[0]["AttachmentDetails"] == [{"AttachmentId": letter_id}]
    assert tasks[0]["Assignee"]["Name"] == "Иванова Мария Сергеевна" and tasks[0]["Deadline"].startswith("2030-01-10")
    assert tasks[0]["Status"] == "InProcess"
    assert app.act({"action": "extend", "letter_id": letter_id, "days": 5})["deadline"] == "2030-01-15"
    assert app.act({"action": "answer", "pos_id": "9"})["reg_number"] == "ИСХ-RX-000001"
    answers = get(url, "IOutgoingLetters", **{"$filter": f"InResponseTo/Id eq {letter_id}",
                                              "$expand": "OurSignatory"}).json()["value"]
    assert answers[0]["RegistrationState"] == "Registered" and answers[0]["OurSignatory"]["Name"]
    letter = get(url, f"IIncomingLetters({letter_id})").json()
    assert letter["ConsiderationResult"] == "Разъяснено"
    bad = requests.post(url.split("/Integration")[0] + "/_sim/act", json={"action": "assign", "pos_id": "nope"},
                        timeout=10)
    assert bad.status_code == 404
    summary = requests.get(url.split("/Integration")[0] + "/_sim/state?summary=1", timeout=10).json()
    assert summary["by_pos_id"] == {"9": 1} and summary["outgoing"] == 1 and summary["tasks"] == 1


def test_seed_makes_the_lookup_of_one_pos_id_answer_with_another_letter(sim: Sim) -> None:
    _, url = sim
    own = make_letter(url, "31")
    root = url.split("/Integration")[0]
    seeded = requests.post(root + "/_sim/seed", json={"cards": [{"pos_id": "77", "found_as": "32"}]}, timeout=10)
    assert seeded.status_code == 200
    foreign = seeded.json()["created"][0]

    def lookup(pos_id: str) -> list[tuple[int, str]]:
        found = get(url, "IIncomingLetters", **{"$filter": f"InNumber eq '{pos_id}'", "$select": "Id,InNumber"})
        return [(e["Id"], e["InNumber"]) for e in (found.json()["value"] if found.status_code == 200 else [])]

    assert lookup("32") == [(foreign, "77")]
    assert lookup("77") == [(foreign, "77")] and lookup("31") == [(own, "31")]
    summary = requests.get(root + "/_sim/state?summary=1", timeout=10).json()
    assert summary["by_pos_id"] == {"31": 1, "77": 1}
    assert requests.post(root + "/_sim/seed", json={"cards": "x"}, timeout=10).status_code == 400


def test_faults_hit_protocol_only(sim: Sim) -> None:
    app, url = sim
    root = url.split("/Integration")[0]
    resp = requests.post(root + "/_sim/faults", json={"fail_next": 1, "throttle_next": 1, "retry_after": 7,
                                                      "unauthorized_next": 1}, timeout=10)
    assert resp.status_code == 200
    assert requests.get(root + "/_sim/state", timeout=10).status_code == 200
    assert get(url, "IPersons(1)").status_code == 401
    throttled = get(url, "IPersons(1)")
    assert throttled.status_code == 429 and throttled.headers["Retry-After"] == "7"
    assert get(url, "IPersons(1)").status_code == 503
    assert requests.post(root + "/_sim/faults", json={"bogus": 1}, timeout=10).status_code == 400


def test_lost_reply_executes_the_post(sim: Sim) -> None:
    app, url = sim
    app.set_faults(DirectumFaultSpec(lost_reply_next=1, only_path="IPersons"))
    resp = post(url, "IPersons", {"LastName": "Сидоров"})
    assert resp.status_code == 500 and resp.json()["error"]["message"]["value"]
    assert app.summary()["persons"] == 1
    assert parse_fault_spec("lost_reply_next=2,only_path=Versions", DirectumFaultSpec).lost_reply_next == 2


def test_malformed_body(sim: Sim) -> None:
    app, url = sim
    app.set_faults(DirectumFaultSpec(malformed_next=1))
    with pytest.raises(ValueError):
        get(url, "IEmployees(1)").json()
    assert get(url, "IEmployees(1)").json()["Id"] == 1


def test_an_answer_signed_without_its_file_and_the_file_added_later(sim: Sim) -> None:
    app, url = sim
    make_letter(url, "9")
    with pytest.raises(KeyError, match="no answer yet"):
        app.act({"action": "attach_answer_file", "pos_id": "9"})
    app.set_faults(DirectumFaultSpec(answer_without_file_next=1))
    answer_id = app.act({"action": "answer", "pos_id": "9"})["answer_id"]
    assert app.state()["outgoing"][str(answer_id)]["versions"] == []
    app.act({"action": "attach_answer_file", "pos_id": "9"})
    [version] = get(url, f"IOutgoingLetters({answer_id})/Versions").json()["value"]
    body = get(url, f"IOutgoingLetters({answer_id})/Versions({version['Id']})/Body").json()
    assert base64.b64decode(body["Value"]).startswith(b"%PDF")


# --- shapes of public RX code, not of our adapter ---------------------------------------------------------
def test_tasks_have_no_document_id_and_carry_their_letter_in_attachment_details(sim: Sim) -> None:
    app, url = sim
    letter_id = make_letter(url, "41")
    other = make_letter(url, "42")
    app.act({"action": "assign", "pos_id": "41", "resolution": "Подготовить ответ"})
    app.act({"action": "assign", "pos_id": "42"})
    refused = get(url, "IActionItemExecutionTasks", **{"$filter": f"DocumentId eq {letter_id}"})
    assert refused.status_code == 400 and "DocumentId" in refused.json()["error"]["message"]["value"]
    assert get(url, "IActionItemExecutionTasks", **{"$select": "ActiveText"}).status_code == 400
    for lambda_ in (f"AttachmentDetails/any(a: a/AttachmentId eq {letter_id})",
                    f"AttachmentDetails/Any(att: att/AttachmentId eq {letter_id})"):
        [task] = get(url, "IActionItemExecutionTasks", **{
            "$filter": lambda_, "$expand": "Author,AssignedBy,Supervisor,AttachmentDetails"}).json()["value"]
        assert task["ActionItem"] == "Подготовить ответ" and task["ExecutionState"] == "OnExecution"
        assert task["Author"]["Name"] == task["AssignedBy"]["Name"] == task["Supervisor"]["Name"]
        assert task["ClientHyperlink"].endswith(f"/{task['Id']}")
        [row] = task["AttachmentDetails"]
        assert row["AttachmentId"] == letter_id and row["EntityTypeGuid"] == wire.INCOMING_LETTER_TYPE_GUID
    assert other != letter_id
    for bad in ("AttachmentDetails/any(a: a/DocumentId eq 1)", "AttachmentDetails/any(a: b/AttachmentId eq 1)",
                "Attachments/any(a: a/AttachmentId eq 1)"):
        assert get(url, "IActionItemExecutionTasks", **{"$filter": bad}).status_code == 400, bad


def test_ignore_lambdas_fault_returns_every_task(sim: Sim) -> None:
    app, url = sim
    make_letter(url, "61"), make_letter(url, "62")
    app.act({"action": "assign", "pos_id": "62"})
    lambda_ = {"$filter": "AttachmentDetails/any(a: a/AttachmentId eq 1)"}
    assert get(url, "IActionItemExecutionTasks", **lambda_).status_code == 204
    app.set_faults(DirectumFaultSpec(ignore_lambdas=True))
    assert len(get(url, "IActionItemExecutionTasks", **lambda_).json()["value"]) == 1


def test_a_legacy_installation_names_the_task_text_text() -> None:
    from connector.simulators.directum.state import SimNames

    app = DirectumSimulator(names=SimNames(task_text_property="Text"))
    with SimServer(app) as server:
        url = server.url + "/Integration/odata"
        make_letter(url, "1")
        app.act({"action": "assign", "pos_id": "1", "resolution": "Исполнить"})
        assert get(url, "IActionItemExecutionTasks", **{"$select": "Id,Text"}).json()["value"][0]["Text"] == "Исполнить"
        assert get(url, "IActionItemExecutionTasks", **{"$select": "ActionItem"}).status_code == 400
        assert b'Name="Text"' in get(url, "$metadata").content
    app.close()


def test_one_answer_to_several_letters_is_linked_only_through_in_response_to_documents(sim: Sim) -> None:
    app, url = sim
    first, second = make_letter(url, "51"), make_letter(url, "52")
    answer_id = app.act({"action": "answer", "pos_id": "51", "also_pos_ids": ["52"]})["answer_id"]
    assert get(url, "IOutgoingLetters", **{"$filter": f"InResponseTo/Id eq {first}"}).status_code == 204
    for letter_id in (first, second):
        [answer] = get(url, "IOutgoingLetters", **{
            "$filter": f"InResponseToDocuments/any(d: d/Document/Id eq {letter_id})",
            "$expand": "InResponseTo,InResponseToDocuments($expand=Document($select=Id))"}).json()["value"]
        assert answer["Id"] == answer_id and answer["IsManyResponses"] is True and answer["InResponseTo"] is None
        assert [r["Document"] for r in answer["InResponseToDocuments"]] == [{"Id": first}, {"Id": second}]
        assert get(url, f"IIncomingLetters({letter_id})").json()["ConsiderationResult"] == "Разъяснено"
    single = app.act({"action": "answer", "pos_id": "51"})["answer_id"]
    [row] = get(url, f"IOutgoingLetters({single})", **{
        "$expand": "InResponseToDocuments($expand=Document($select=Id))"}).json()["InResponseToDocuments"]
    assert row["Document"] == {"Id": first}  # RX fills the collection from InResponseTo on save


@pytest.mark.parametrize("missing", ["DocumentKind", "BusinessUnit", "Department"])
def test_an_incoming_letter_needs_kind_business_unit_and_department(sim: Sim, missing: str) -> None:
    _, url = sim
    person = post(url, "IPersons", {"LastName": "Петров"}).json()["Id"]
    body = {"Subject": "x", "Correspondent@odata.bind": f"IPersons({person})", **REFS}
    del body[f"{missing}@odata.bind"]
    resp = post(url, "IIncomingLetters", body)
    caption = {"DocumentKind": "Вид документа", "BusinessUnit": "Наша организация", "Department": "Подразделение"}
    assert resp.status_code == 400
    assert resp.json()["error"]["message"]["value"] == f"Заполните обязательные свойства: {caption[missing]}."
