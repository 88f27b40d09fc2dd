"""DirectumRxAdapter against the Directum RX simulator on loopback: idempotent letters, versions, states,
answers, error shapes, health."""

from __future__ import annotations

import hashlib
import json
import os
import socket
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest

from connector.domain import CardRef, CardStage, PosMessage, StoredFile
from connector.edms_adapters.base import AdapterContext
from connector.edms_adapters.directum_rx import DirectumRxAdapter, DirectumRxSettings, wire
from connector.edms_adapters.registry import adapter_class, create_adapter
from connector.errors import AuthError, FatalAdapterError, RemoteRejected, TransientError
from connector.simulators.directum import DirectumFaultSpec, DirectumSimulator
from connector.simulators.server import SimServer

from testconfig import body_today

pytestmark = pytest.mark.date_sensitive  # registration and answer dates are the body's today

Sim = tuple[DirectumSimulator, SimServer]
MakeFile = Callable[[str, bytes], StoredFile]
Message = Callable[..., PosMessage]
LOGIN, PASSWORD = "integration", "rx-secret"
REFS = {"document_kind_id": 1, "business_unit_id": 1, "department_id": 1}  # the simulator's seeded entries


@pytest.fixture
def rx_sim() -> Iterator[Sim]:
    # max_unfiltered=0: any unfiltered collection query the adapter made would fail the test.
    app = DirectumSimulator(max_unfiltered=0)
    with SimServer(app) as server:
        yield app, server
    app.close()


def make_adapter(url: str, context: AdapterContext, **overrides: Any) -> DirectumRxAdapter:
    raw = {"type": "directum_rx", "url": url + "/Integration/odata", "login": LOGIN, "password": PASSWORD,
           **REFS, **overrides}
    return DirectumRxAdapter(DirectumRxSettings.model_validate(raw), context)


@pytest.fixture
def adapter(rx_sim: Sim, adapter_context: AdapterContext) -> DirectumRxAdapter:
    return make_adapter(rx_sim[1].url, adapter_context)


def faults(sim: DirectumSimulator, **spec: Any) -> None:
    sim.set_faults(DirectumFaultSpec(**spec))


def letter_of(sim: DirectumSimulator, ref: CardRef) -> dict[str, Any]:
    return sim.state()["letters"][ref.external_id]


# --- registration ---------------------------------------------------------------------------------------
def test_entry_point_and_settings(rx_sim: Sim, adapter_context: AdapterContext) -> None:
    assert adapter_class("directum_rx") is DirectumRxAdapter
    made = create_adapter({"type": "directum_rx", "url": rx_sim[1].url + "/Integration/odata/", "login": LOGIN,
                           "password": PASSWORD, **REFS}, adapter_context)
    assert isinstance(made, DirectumRxAdapter)
    made.health()
    with pytest.raises(ValueError, match="unknown_key"):
        DirectumRxSettings.model_validate({"type": "directum_rx", "url": "x", "login": "a", "password": "b",
                                           "unknown_key": 1})
    with pytest.raises(ValueError, match="must contain"):
        DirectumRxSettings.model_validate({"type": "directum_rx", "url": "x", "login": "a", "password": "b",
                                           "task_document_filter": "DocumentId eq 1"})


def test_create_twice_makes_one_letter_with_registration(rx_sim: Sim, adapter: DirectumRxAdapter,
                                                         message: Message) -> None:
    sim, _ = rx_sim
    msg = message("1001")
    ref = adapter.create_card(msg)
    assert adapter.create_card(msg) == ref
    assert ref.adapter == "directum_rx" and ref.url == ""
    summary = sim.summary()
    assert summary["by_pos_id"] == {"1001": 1} and summary["persons"] == 1
    assert summary["requests"]["POST IIncomingLetters"] == 1
    letter = letter_of(sim, ref)
    assert "1001" in letter["subject"] and "Вывоз мусора" in letter["subject"]
    assert letter["registration_number"].startswith("ВХ-RX-")

    state = adapter.get_card(ref)
    assert state.stage is CardStage.REGISTERED
    assert state.registration_number == letter["registration_number"]
    assert state.registration_date == body_today()
    assert state.executors == () and state.deadline is None


def test_same_applicant_is_one_person_and_quotes_are_escaped(rx_sim: Sim, adapter: DirectumRxAdapter,
                                                             message: Message) -> None:
    sim, _ = rx_sim
    from connector.domain import Applicant

    odd = Applicant(last_name="О'Коннор", first_name="Шон", email="o'c@example.org")
    refs = [adapter.create_card(message(pos_id, applicant=odd)) for pos_id in ("it's-1", "it's-2")]
    assert len({r.external_id for r in refs}) == 2
    assert sim.summary()["persons"] == 1
    assert adapter.create_card(message("it's-1", applicant=odd)) == refs[0]
    assert sim.summary()["by_pos_id"] == {"it's-1": 1, "it's-2": 1}


def test_configured_refs_and_card_link(rx_sim: Sim, adapter_context: AdapterContext, message: Message) -> None:
    sim, server = rx_sim
    adapter = make_adapter(server.url, adapter_context, document_kind_id=1, business_unit_id=1, department_id=1,
                           delivery_method_id=1, web_url="https://rx.example/DirectumRX/")
    ref = adapter.create_card(message("77"))
    assert ref.url == f"https://rx.example/DirectumRX/Client/#/card/{wire.INCOMING_LETTER_TYPE_GUID}/{ref.external_id}"
    assert letter_of(sim, ref)["refs"] == {"Correspondent": 1, "DocumentKind": 1, "BusinessUnit": 1,
                                           "Department": 1, "DeliveryMethod": 1}
    bad = make_adapter(server.url, adapter_context, document_kind_id=999)
    with pytest.raises(RemoteRejected) as err:
        bad.create_card(message("78"))
    assert err.value.status == 400 and "IDocumentKinds(999)" in (err.value.detail or "")


def test_lost_create_reply_is_not_duplicated(rx_sim: Sim, adapter: DirectumRxAdapter, message: Message,
                                             make_file: MakeFile) -> None:
    sim, _ = rx_sim
    files = (make_file("a.txt", b"hello"), make_file("b.pdf", b"%PDF-1.4 b"))
    faults(sim, lost_reply_next=1, only_path="IIncomingLetters")
    ref = adapter.create_card(message("2002", attachments=files))
    summary = sim.summary()
    assert summary["by_pos_id"] == {"2002": 1}
    assert summary["requests"]["POST IIncomingLetters"] == 1  # the lookup found it; no second POST
    assert summary["versions"] == 2 and summary["bodies"] == 2
    assert adapter.get_card(ref).registration_number


@pytest.mark.parametrize("only_path", ["IPersons", "Versions", "Body"])
def test_lost_replies_everywhere_cost_no_duplicates(rx_sim: Sim, adapter: DirectumRxAdapter, message: Message,
                                                   make_file: MakeFile, only_path: str) -> None:
    sim, _ = rx_sim
    files = (make_file("one.txt", b"1"), make_file("two.txt", b"2"), make_file("same.txt", b"1"))
    faults(sim, lost_reply_next=2, only_path=only_path)
    ref = adapter.create_card(message("2004", attachments=files))
    adapter.create_card(message("2004", attachments=files))
    summary = sim.summary()
    assert (summary["by_pos_id"], summary["persons"], summary["versions"]) == ({"2004": 1}, 1, 3)
    assert sorted((v["name"], v["sha256"]) for v in letter_of(sim, ref)["versions"]) == sorted(
        (f.name, f.sha256) for f in files)


def test_persistent_outage_then_next_call_creates_once(rx_sim: Sim, adapter: DirectumRxAdapter,
                                                                 message: Message, make_file: MakeFile) -> None:
    sim, _ = rx_sim
    msg = message("2003", attachments=(make_file("a.txt", b"hello"),))
    faults(sim, error_rate=1.0)
    with pytest.raises(TransientError) as err:
        adapter.create_card(msg)
    assert "Петров" not in str(err.value) and "Петров" not in (err.value.detail or "")
    faults(sim)
    ref = adapter.create_card(msg)
    assert sim.summary()["by_pos_id"] == {"2003": 1}
    assert [v["name"] for v in letter_of(sim, ref)["versions"]] == ["a.txt"]


@pytest.mark.parametrize("spec", [{"fail_next": 3}, {"throttle_next": 2, "fail_next": 1}])
def test_fault_bursts_cost_retries_not_duplicates(rx_sim: Sim, adapter: DirectumRxAdapter, message: Message,
                                                  make_file: MakeFile, spec: dict[str, int]) -> None:
    sim, _ = rx_sim
    msg = message("3003", attachments=(make_file("x.pdf", b"%PDF-1.4 x"),))
    faults(sim, **spec)
    adapter.create_card(msg)
    faults(sim, **spec)
    adapter.create_card(msg)
    summary = sim.summary()
    assert (summary["by_pos_id"], summary["versions"], summary["bodies"]) == ({"3003": 1}, 1, 1)


def test_unauthorized_reply_is_auth_error(rx_sim: Sim, adapter: DirectumRxAdapter, message: Message) -> None:
    faults(rx_sim[0], unauthorized_next=1)
    with pytest.raises(AuthError, match="integration"):
        adapter.create_card(message("6007"))


def test_malformed_reply_is_transient(rx_sim: Sim, adapter: DirectumRxAdapter, message: Message) -> None:
    ref = adapter.create_card(message("6008"))
    faults(rx_sim[0], malformed_next=1)
    with pytest.raises(TransientError, match="malformed"):
        adapter.get_card(ref)


def test_wrong_property_setting_surfaces_server_text(rx_sim: Sim, adapter_context: AdapterContext,
                                                     message: Message) -> None:
    adapter = make_adapter(rx_sim[1].url, adapter_context, pos_id_property="PosNumber")
    with pytest.raises(RemoteRejected) as err:
        adapter.create_card(message("6009"))
    assert err.value.status == 400 and "PosNumber" in (err.value.detail or "")


# --- attachments ----------------------------------------------------------------------------------------
def test_attachments_round_trip_byte_exact(rx_sim: Sim, adapter: DirectumRxAdapter, message: Message,
                                           make_file: MakeFile) -> None:
    sim, _ = rx_sim
    big = os.urandom(30 * 1024 * 1024)
    files = (make_file("Фото двора №1 (копия).jpg", b"\xff\xd8\xff" + os.urandom(5000)),
             make_file("scan.pdf", big), make_file("README", b""))
    ref = adapter.create_card(message("7007", attachments=files))
    versions = letter_of(sim, ref)["versions"]
    assert sorted((v["name"], v["size"], v["sha256"]) for v in versions) == sorted(
        (f.name, f.size, f.sha256) for f in files)
    assert {v["name"]: v["extension"] for v in versions} == {"Фото двора №1 (копия).jpg": "jpg",
                                                             "scan.pdf": "pdf", "README": "txt"}
    big_rec = next(sim.store.bodies[v["id"]] for v in versions if v["name"] == "scan.pdf")
    assert big_rec.data is None and hashlib.sha256(big_rec.read()).hexdigest() == files[1].sha256
    adapter.create_card(message("7007", attachments=files))
    assert sim.summary()["requests"]["POST IIncomingLetters/Versions/Body"] == 3


def test_version_without_body_gets_its_body_on_retry(rx_sim: Sim, adapter: DirectumRxAdapter, message: Message,
                                                     make_file: MakeFile) -> None:
    sim, _ = rx_sim
    files = (make_file("a.txt", b"aaa"), make_file("b.txt", b"bbb"))
    ref = adapter.create_card(message("7008"))
    # simulate a crash after POST Versions: create the version by hand, without a body
    app_id = 2
    sim.store.create_version("IIncomingLetters", int(ref.external_id), {
        "Number": 1, "Note": wire.version_note("a.txt", 0, files[0].sha256),
        "AssociatedApplication@odata.bind": f"IAssociatedApplications({app_id})"})
    adapter.create_card(message("7008", attachments=files))
    versions = letter_of(sim, ref)["versions"]
    assert [(v["name"], v["sha256"]) for v in versions] == [(f.name, f.sha256) for f in files]


# --- following the card -----------------------------------------------------------------------------------
def test_lifecycle_assign_extend_answer(rx_sim: Sim, adapter: DirectumRxAdapter, message: Message) -> None:
    sim, _ = rx_sim
    ref = adapter.create_card(message("9009"))
    assert adapter.fetch_answer(ref) is None

    due = (body_today() + timedelta(days=20)).isoformat()
    sim.act({"action": "assign", "pos_id": "9009", "executor": "Иванова Мария Сергеевна", "due_date": due})
    state = adapter.get_card(ref)
    assert state.stage is CardStage.IN_WORK
    assert [e.name for e in state.executors] == ["Иванова Мария Сергеевна"]
    assert state.deadline is not None and state.deadline.isoformat() == due
    assert state.resolution

    sim.act({"action": "extend", "letter_id": int(ref.external_id), "days": 15})
    extended = adapter.get_card(ref)
    assert extended.stage is CardStage.EXTENDED
    assert extended.deadline == state.deadline + timedelta(days=15)

    sim.act({"action": "answer", "pos_id": "9009", "text": "Мусор вывезен.", "signer": "Волков Сергей Михайлович",
             "file_size": 2_000_000})
    assert adapter.get_card(ref).stage is CardStage.ANSWER_READY
    answer = adapter.fetch_answer(ref)
    assert answer is not None
    assert answer.text == "Мусор вывезен." and answer.signer == "Волков Сергей Михайлович"
    assert answer.date == body_today() and answer.decision == "Разъяснено"
    assert [f.name for f in answer.files] == ["Ответ на обращение №9009.pdf"]
    assert answer.files[0].mime_type == "application/pdf"
    outgoing = next(iter(sim.state()["outgoing"].values()))
    assert outgoing["in_response_to"] == int(ref.external_id)
    assert hashlib.sha256(answer.files[0].content).hexdigest() == outgoing["versions"][0]["sha256"]
    assert len(answer.files[0].content) == 2_000_000


def test_redirect_and_refuse(rx_sim: Sim, adapter: DirectumRxAdapter, message: Message) -> None:
    sim, _ = rx_sim
    redirected = adapter.create_card(message("1111"))
    refused = adapter.create_card(message("2222"))
    sim.act({"action": "assign", "pos_id": "1111"})
    sim.act({"action": "redirect", "pos_id": "1111", "org_id": "ORG-42", "comment": "Не наша компетенция"})
    sim.act({"action": "refuse", "pos_id": "2222"})
    state = adapter.get_card(redirected)
    assert state.stage is CardStage.REDIRECTED
    assert (state.redirect_org_id, state.redirect_comment) == ("ORG-42", "Не наша компетенция")
    assert adapter.get_card(refused).stage is CardStage.REFUSED
    assert adapter.fetch_answer(redirected) is None


def test_auto_act_answers_every_card(rx_sim: Sim, adapter: DirectumRxAdapter, message: Message) -> None:
    sim, _ = rx_sim
    refs = [adapter.create_card(message(str(n))) for n in range(100, 104)]
    assert sim.act({"action": "auto", "assign": True, "answer": True}) == {"assigned": 4, "answered": 4}
    assert {adapter.get_card(r).stage for r in refs} == {CardStage.ANSWER_READY}
    assert sim.act({"action": "auto", "assign": True, "answer": True}) == {"assigned": 0, "answered": 0}


def test_unknown_card_is_rejected(adapter: DirectumRxAdapter) -> None:
    with pytest.raises(RemoteRejected, match="not found") as err:
        adapter.get_card(CardRef(adapter="directum_rx", external_id="424242"))
    assert err.value.status == 404


# --- error shapes and replies from a scripted server ------------------------------------------------------
def scripted(status: int, body: bytes, content_type: str = "application/json") -> Callable[..., list[bytes]]:
    def app(environ: Any, start_response: Any) -> list[bytes]:
        start_response(f"{status} X", [("Content-Type", content_type)])
        return [body]
    return app


@pytest.mark.parametrize(("status", "body", "text"), [
    (400, json.dumps({"error": wire.TOO_MANY_ENTITIES}, ensure_ascii=False).encode(), wire.TOO_MANY_ENTITIES),
    (422, json.dumps(wire.error_json("Поле Содержание обязательно")).encode(), "Поле Содержание обязательно"),
    (409, b'{"error":{"code":"Conflict","message":"Record locked"}}', "Record locked"),
])
def test_error_shapes_surface_their_text(adapter_context: AdapterContext, message: Message, status: int,
                                         body: bytes, text: str) -> None:
    with SimServer(scripted(status, body)) as server:
        with pytest.raises(RemoteRejected) as err:
            make_adapter(server.url, adapter_context).create_card(message("1"))
    assert err.value.status == status and err.value.detail == text


def test_empty_204_collections_and_bom_count(adapter_context: AdapterContext) -> None:
    with SimServer(scripted(204, b"")) as server:
        assert make_adapter(server.url, adapter_context)._get_list("IPersons", {"$filter": "Id eq 1"}) == []  # noqa: SLF001
    assert wire.parse_count("\ufeff17".encode()) == 17 and wire.parse_count(b"  3\r\n") == 3


def test_literals_and_filters() -> None:
    assert wire.eq("InNumber", "it's") == "InNumber eq 'it''s'"
    assert wire.eq("Correspondent/Id", 5) == "Correspondent/Id eq 5"
    assert wire.query_string({"$filter": wire.eq("A", "x y&z"), "$top": 1}) == "$filter=A%20eq%20'x%20y%26z'&$top=1"
    with pytest.raises(ValueError):
        wire.eq("A eq 1 or B", 1)


# --- health ---------------------------------------------------------------------------------------------------
def test_health_ok_and_missing_sets(rx_sim: Sim, adapter: DirectumRxAdapter, adapter_context: AdapterContext) -> None:
    adapter.health()
    assert rx_sim[0].summary()["requests"]["GET IIncomingLetters/$count"] == 1
    renamed = make_adapter(rx_sim[1].url, adapter_context, tasks_set="IAppealTasks")
    with pytest.raises(FatalAdapterError, match="IAppealTasks"):
        renamed.health()


def test_health_checks_the_control_task_set_only_when_control_tasks_are_on(rx_sim: Sim,
                                                                          adapter_context: AdapterContext) -> None:
    """A wrong set or navigation name for the rating loop's control tasks is found at `edms check`, not at the first
    low rating months later."""
    with pytest.raises(FatalAdapterError, match="IControlTasks"):
        make_adapter(rx_sim[1].url, adapter_context, control_tasks_set="IControlTasks").health()
    with pytest.raises(FatalAdapterError, match="no property 'LinkedLetter' \\(setting control_document_property;"):
        make_adapter(rx_sim[1].url, adapter_context, control_document_property="LinkedLetter").health()
    make_adapter(rx_sim[1].url, adapter_context, control_tasks_set="", control_document_property="LinkedLetter").health()


def test_health_wrong_password(rx_sim: Sim, adapter_context: AdapterContext) -> None:
    adapter = make_adapter(rx_sim[1].url, adapter_context, password="wrong-pass-123")
    with pytest.raises(AuthError, match="integration") as err:
        adapter.health()
    assert "wrong-pass-123" not in repr(err.value) and "wrong-pass-123" not in (err.value.detail or "")
    assert rx_sim[1].url in str(err.value)


def test_health_unreachable(adapter_context: AdapterContext) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    adapter = make_adapter(f"http://127.0.0.1:{port}", adapter_context)
    with pytest.raises(FatalAdapterError, match=f"cannot reach .*127.0.0.1:{port}"):
        adapter.health()
    with pytest.raises(TransientError):
        adapter.get_card(CardRef(adapter="directum_rx", external_id="1"))


def test_health_not_odata(adapter_context: AdapterContext) -> None:
    with SimServer(scripted(200, b"<html><body>login</body></html>", "text/html")) as server:
        with pytest.raises(FatalAdapterError, match="CSDL|entity set"):
            make_adapter(server.url, adapter_context).health()


def test_timeouts_are_transient(rx_sim: Sim, tmp_path: Any, message: Message) -> None:
    from connector.transport import RetryingSession, RetryPolicy

    context = AdapterContext(target_name="t", data_dir=tmp_path, session_factory=lambda: RetryingSession(
        RetryPolicy(max_attempts=2), timeout=0.2, sleep=lambda s: None))
    faults(rx_sim[0], timeout_rate=1.0, hang_seconds=0.6)
    adapter = make_adapter(rx_sim[1].url, context)
    with pytest.raises(TransientError, match="did not answer"):
        adapter.create_card(message("1212"))
    with pytest.raises(FatalAdapterError, match="cannot reach"):
        adapter.health()


# --- names of public RX code (docs/edms.md, «Directum RX») ---------------------------------------------------
def test_tasks_are_found_through_their_attachment_details_and_carry_action_item(
        rx_sim: Sim, adapter: DirectumRxAdapter, message: Message) -> None:
    sim, _ = rx_sim
    ref = adapter.create_card(message("4401"))
    sim.act({"action": "assign", "pos_id": "4401", "executor": "Кузнецов Алексей Петрович",
             "resolution": "Проверить график вывоза и ответить"})
    state = adapter.get_card(ref)
    assert state.stage is CardStage.IN_WORK
    assert [e.name for e in state.executors] == ["Кузнецов Алексей Петрович"]
    assert state.resolution == "Проверить график вывоза и ответить"


def test_tasks_of_other_letters_are_dropped_when_the_server_ignores_the_filter(
        rx_sim: Sim, adapter: DirectumRxAdapter, message: Message) -> None:
    sim, _ = rx_sim
    ours, other = adapter.create_card(message("4501")), adapter.create_card(message("4502"))
    sim.act({"action": "assign", "pos_id": "4502", "executor": "Попов Дмитрий Андреевич"})
    faults(sim, ignore_lambdas=True)  # every task comes back for every letter
    assert adapter.get_card(ours).executors == () and adapter.get_card(ours).stage is CardStage.REGISTERED
    assert [e.name for e in adapter.get_card(other).executors] == ["Попов Дмитрий Андреевич"]
    sim.act({"action": "answer", "pos_id": "4502"})
    assert adapter.get_card(ours).stage is CardStage.REGISTERED and adapter.fetch_answer(ours) is None
    assert adapter.get_card(other).stage is CardStage.ANSWER_READY


def test_a_legacy_installation_reads_the_task_text_from_text(adapter_context: AdapterContext,
                                                             message: Message) -> None:
    from connector.simulators.directum.state import SimNames

    app = DirectumSimulator(names=SimNames(task_text_property="Text"))
    with SimServer(app) as server:
        adapter = make_adapter(server.url, adapter_context, task_resolution_property="Text")
        ref = adapter.create_card(message("4601"))
        app.act({"action": "assign", "pos_id": "4601", "resolution": "Исполнить до пятницы"})
        assert adapter.get_card(ref).resolution == "Исполнить до пятницы"
    app.close()


def test_one_letter_answering_several_is_found_for_each(rx_sim: Sim, adapter: DirectumRxAdapter,
                                                        message: Message) -> None:
    sim, _ = rx_sim
    first, second = adapter.create_card(message("4701")), adapter.create_card(message("4702"))
    sim.act({"action": "answer", "pos_id": "4701", "also_pos_ids": ["4702"], "text": "Ответ на оба обращения."})
    for ref in (first, second):
        assert adapter.get_card(ref).stage is CardStage.ANSWER_READY
        answer = adapter.fetch_answer(ref)
        assert answer is not None and answer.text == "Ответ на оба обращения." and answer.files
    [outgoing] = sim.state()["outgoing"].values()
    assert outgoing["is_many_responses"] and outgoing["in_response_to"] is None


def test_installation_without_the_collection_uses_in_response_to_only(rx_sim: Sim, adapter_context: AdapterContext,
                                                                      message: Message) -> None:
    sim, server = rx_sim
    adapter = make_adapter(server.url, adapter_context, answer_links_collection="")
    ref = adapter.create_card(message("4801"))
    sim.act({"action": "answer", "pos_id": "4801"})
    assert adapter.get_card(ref).stage is CardStage.ANSWER_READY
    assert "GET IOutgoingLetters" in sim.summary()["requests"]
    with pytest.raises(ValueError, match="collection"):
        DirectumRxSettings.model_validate({"type": "directum_rx", "url": "x", "login": "a", "password": "b",
                                           "answer_links_collection": "InResponseToDocuments"})


@pytest.mark.parametrize("key", ["document_kind_id", "business_unit_id", "department_id"])
def test_missing_kind_unit_or_department_is_refused_naming_the_key(rx_sim: Sim, adapter_context: AdapterContext,
                                                                   message: Message, key: str) -> None:
    sim, server = rx_sim
    adapter = make_adapter(server.url, adapter_context, **{key: None})
    for call in (lambda: adapter.create_card(message("4901")), adapter.health):
        with pytest.raises(FatalAdapterError) as err:
            call()
        assert str(err.value).startswith(f"edms.{adapter_context.target_name}: set {key} ")
        assert "\n" not in str(err.value)
    assert sim.summary()["letters"] == 0 and sim.summary()["persons"] == 0  # refused before any request


def test_edms_check_reports_a_missing_required_key(rx_sim: Sim, tmp_path: Any) -> None:
    from connector.config import settings_from_mapping
    from connector.ops.edms_check import check_edms

    from testconfig import settings_mapping

    raw = settings_mapping(data_dir=tmp_path, db_url=f"sqlite:///{tmp_path}/db.sqlite", pos_url="http://127.0.0.1:9",
                           onec_url="http://127.0.0.1:9")
    raw["accounts"][0]["edms"] = "rx"
    raw["edms"] = {"rx": {"type": "directum_rx", "url": rx_sim[1].url + "/Integration/odata", "login": LOGIN,
                          "password": PASSWORD, "document_kind_id": 1, "business_unit_id": 1}}
    [check] = check_edms(settings_from_mapping(raw))
    assert not check.ok and check.problem.startswith("edms.rx: set department_id ")
    raw["edms"]["rx"]["department_id"] = 1
    assert check_edms(settings_from_mapping(raw))[0].ok


@pytest.mark.parametrize(("setting", "value"), [("task_resolution_property", "ActiveText"),
                                                ("answer_links_collection", "ResponseDocuments/Document"),
                                                ("task_attachment_check", "Attachments/AttachmentId")])
def test_health_names_a_property_setting_the_installation_lacks(rx_sim: Sim, adapter_context: AdapterContext,
                                                                setting: str, value: str) -> None:
    adapter = make_adapter(rx_sim[1].url, adapter_context, **{setting: value})
    with pytest.raises(FatalAdapterError, match=f"no property '{value.split('/')[0]}' \\(setting {setting};"):
        adapter.health()


def test_metadata_properties_follow_base_types() -> None:
    csdl = b"""<edmx:Edmx Version="4.0" xmlns:edmx="http://docs.oasis-open.org/odata/ns/edmx"><edmx:DataServices>
      <Schema Namespace="Sungero.Workflow" xmlns="http://docs.oasis-open.org/odata/ns/edm">
        <EntityType Name="ITask"><Property Name="Subject" Type="Edm.String"/>
          <NavigationProperty Name="AttachmentDetails" Type="Collection(Sungero.Workflow.IAttachment)"/></EntityType>
      </Schema>
      <Schema Namespace="Sungero.RecordManagement" xmlns="http://docs.oasis-open.org/odata/ns/edm">
        <EntityType Name="IActionItemExecutionTask" BaseType="Sungero.Workflow.ITask">
          <Property Name="ActionItem" Type="Edm.String"/></EntityType>
        <EntityContainer Name="C">
          <EntitySet Name="IActionItemExecutionTasks" EntityType="Sungero.RecordManagement.IActionItemExecutionTask"/>
          <EntitySet Name="IOther" EntityType="Nowhere.IOther"/></EntityContainer>
      </Schema></edmx:DataServices></edmx:Edmx>"""
    assert wire.set_properties(csdl) == {"IActionItemExecutionTasks": {"Subject", "AttachmentDetails", "ActionItem"}}
