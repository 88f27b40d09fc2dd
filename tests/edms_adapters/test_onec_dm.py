"""OnecDmAdapter against the 1C simulator on loopback: idempotent cards, files, states, answers, errors."""

from __future__ import annotations

import hashlib
import os
import socket
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
import requests

from connector.domain import CardRef, CardStage, PosMessage, StoredFile
from connector.edms_adapters.base import AdapterContext
from connector.edms_adapters.onec_dm import OnecDmAdapter, OnecDmSettings
from connector.edms_adapters.registry import adapter_class, create_adapter
from connector.errors import AuthError, FatalAdapterError, RemoteRejected, TransientError
from connector.simulators.onec import OnecFaultSpec, OnecSimulator
from connector.simulators.server import SimServer

from testconfig import body_today

pytestmark = pytest.mark.date_sensitive  # registration dates, number series by year and answer dates are the body's today

Sim = tuple[OnecSimulator, SimServer]
MakeFile = Callable[[str, bytes], StoredFile]
Message = Callable[..., PosMessage]


def make_adapter(url: str, context: AdapterContext, **overrides: Any) -> OnecDmAdapter:
    raw = {"type": "onec_dm", "url": url + "/docflow/ws/DMService", "login": "integration",
           "password": "1c-secret", **overrides}
    return OnecDmAdapter(OnecDmSettings.model_validate(raw), context)


@pytest.fixture
def adapter(onec_sim: Sim, adapter_context: AdapterContext) -> OnecDmAdapter:
    return make_adapter(onec_sim[1].url, adapter_context)


def faults(sim: OnecSimulator, **spec: Any) -> None:
    sim.set_faults(OnecFaultSpec(**spec))


# --- registration ---------------------------------------------------------------------------------
def test_entry_point_and_settings(adapter_context: AdapterContext, onec_sim: Sim) -> None:
    assert adapter_class("onec_dm") is OnecDmAdapter
    made = create_adapter({"type": "onec_dm", "url": onec_sim[1].url + "/ws/DMService", "login": "integration",
                           "password": "1c-secret"}, adapter_context)
    assert isinstance(made, OnecDmAdapter)
    made.health()
    with pytest.raises(ValueError, match="unknown_key"):
        OnecDmSettings.model_validate({"type": "onec_dm", "url": "x", "login": "a", "password": "b", "unknown_key": 1})


def test_create_twice_makes_one_card_with_registration(onec_sim: Sim, adapter: OnecDmAdapter,
                                                       message: Message) -> None:
    sim, _ = onec_sim
    msg = message("1001")
    ref = adapter.create_card(msg)
    again = adapter.create_card(msg)
    assert ref == again
    assert ref.adapter == "onec_dm" and ref.url.startswith("e1cib/data/")
    summary = sim.summary()
    assert summary["by_external_id"] == {"1001": 1}
    assert summary["requests"]["DMCreateRequest"] == 1
    doc = sim.state()["documents"][ref.external_id]
    assert doc["type"] == "DMIncomingDocument"
    assert doc["externalObject"] == {"name": "POS", "id": "1001", "type": "PosMessage"}
    assert "1001" in doc["title"] and "Вывоз мусора" in doc["title"]
    assert doc["refs"]["correspondent"]["name"] == "Петров Иван Сергеевич"

    state = adapter.get_card(ref)
    assert state.stage is CardStage.REGISTERED
    assert state.registration_number == doc["registrationNumber"]
    assert state.registration_number.startswith(f"ВХ-{body_today().year}-")
    assert state.registration_date == body_today()
    assert state.executors == () and state.deadline is None


def test_configured_refs_are_sent(onec_sim: Sim, adapter_context: AdapterContext, message: Message) -> None:
    sim, server = onec_sim
    adapter = make_adapter(server.url, adapter_context, document_kind_id="kind-1", folder_id="folder-1",
                           organization_id="org-1", responsible_login="CORP\\clerk", external_system="ПОС")
    ref = adapter.create_card(message("77"))
    doc = sim.state()["documents"][ref.external_id]
    assert doc["refs"]["documentType"] == {"name": "", "id": "kind-1", "type": "DMIncomingDocumentType"}
    assert doc["refs"]["folder"]["type"] == "DMIncomingDocumentFolder"
    assert doc["refs"]["organization"]["id"] == "org-1"
    assert doc["refs"]["responsible"]["name"] == "\\CORP\\clerk"
    assert doc["externalObject"]["name"] == "ПОС"


def test_lost_create_reply_is_retried_as_success(onec_sim: Sim, adapter: OnecDmAdapter, message: Message) -> None:
    sim, _ = onec_sim
    faults(sim, lost_reply_next=1, only_request="DMCreateRequest")
    ref = adapter.create_card(message("2002"))
    assert sim.summary()["by_external_id"] == {"2002": 1}
    assert sim.summary()["requests"]["DMCreateRequest"] == 2  # the retry hit "already exists"
    assert adapter.get_card(ref).registration_number


def test_lost_create_replies_then_next_call_finds_the_card(onec_sim: Sim, adapter: OnecDmAdapter,
                                                           message: Message, make_file: MakeFile) -> None:
    sim, _ = onec_sim
    msg = message("2003", attachments=(make_file("a.txt", b"hello"),))
    faults(sim, lost_reply_next=4, only_request="DMCreateRequest")
    with pytest.raises(TransientError) as err:
        adapter.create_card(msg)
    assert "Petrov" not in str(err.value) and "Петров" not in str(err.value)
    assert sim.summary()["files"] == 0  # crashed before the files
    ref = adapter.create_card(msg)
    summary = sim.summary()
    assert summary["by_external_id"] == {"2003": 1}
    assert [f["name"] for f in sim.state()["documents"][ref.external_id]["files"]] == ["a.txt"]


@pytest.mark.parametrize("spec", [{"soap_fault_next": 3}, {"fail_next": 3}, {"throttle_next": 2, "fail_next": 1}])
def test_fault_bursts_cost_retries_not_duplicates(onec_sim: Sim, adapter: OnecDmAdapter, message: Message,
                                                  make_file: MakeFile, spec: dict[str, int]) -> None:
    sim, _ = onec_sim
    msg = message("3003", attachments=(make_file("x.pdf", b"%PDF-1.4 x"),))
    faults(sim, **spec)
    adapter.create_card(msg)
    faults(sim, **spec)
    adapter.create_card(msg)
    summary = sim.summary()
    assert summary["by_external_id"] == {"3003": 1}
    assert summary["files"] == 1
    assert summary["requests"]["DMAddFileRequest"] == 1


def test_persistent_soap_fault_is_transient_with_faultstring(onec_sim: Sim, adapter: OnecDmAdapter,
                                                             message: Message) -> None:
    faults(onec_sim[0], soap_fault_next=10)
    with pytest.raises(TransientError) as err:
        adapter.create_card(message("4004"))
    assert "Конфликт блокировок" in (err.value.detail or "")
    assert onec_sim[0].summary()["documents"] == 0


def test_dmerror_maps_to_remote_rejected(onec_sim: Sim, adapter: OnecDmAdapter, message: Message) -> None:
    faults(onec_sim[0], dmerror_next=1)
    with pytest.raises(RemoteRejected) as err:
        adapter.create_card(message("5005"))
    assert "DMError" in str(err.value) and "неверные параметры" in (err.value.detail or "").lower()


def test_doctype_in_reply_is_refused(onec_sim: Sim, adapter: OnecDmAdapter, message: Message) -> None:
    faults(onec_sim[0], doctype_next=1)
    with pytest.raises(FatalAdapterError, match="DTD"):
        adapter.create_card(message("6006"))


def test_unauthorized_reply_is_auth_error(onec_sim: Sim, adapter: OnecDmAdapter, message: Message) -> None:
    faults(onec_sim[0], unauthorized_next=1)
    with pytest.raises(AuthError):
        adapter.create_card(message("6007"))


# --- attachments ----------------------------------------------------------------------------------
def test_attachments_round_trip_byte_exact(onec_sim: Sim, adapter: OnecDmAdapter, message: Message,
                                           make_file: MakeFile) -> None:
    sim, _ = onec_sim
    big = os.urandom(30 * 1024 * 1024)
    files = (make_file("Фото двора №1 (копия).jpg", b"\xff\xd8\xff" + os.urandom(5000)),
             make_file("scan.pdf", big), make_file("README", b""))
    ref = adapter.create_card(message("7007", attachments=files))
    stored = sim.state()["documents"][ref.external_id]["files"]
    assert sorted((f["name"], f["size"], f["sha256"]) for f in stored) == sorted(
        (f.name, f.size, f.sha256) for f in files)
    by_name = {rec.full_name: rec for rec in sim.store.files.values()}
    assert hashlib.sha256(by_name["scan.pdf"].read()).hexdigest() == files[1].sha256
    assert by_name["scan.pdf"].data is None  # the big one lives on disk, not in memory


def test_crash_between_create_and_files_adds_missing_files_once(onec_sim: Sim, adapter: OnecDmAdapter,
                                                                message: Message, make_file: MakeFile) -> None:
    sim, _ = onec_sim
    files = (make_file("one.txt", b"1"), make_file("two.txt", b"2"), make_file("same.txt", b"1"))
    adapter.create_card(message("8008"))  # the card exists, its files do not
    adapter.create_card(message("8008", attachments=files[:1]))
    adapter.create_card(message("8008", attachments=files))
    adapter.create_card(message("8008", attachments=files))
    summary = sim.summary()
    assert summary["by_external_id"] == {"8008": 1}
    assert summary["files"] == 3
    assert summary["requests"]["DMAddFileRequest"] == 3


# --- following the card ------------------------------------------------------------------------------
def test_lifecycle_assign_extend_answer(onec_sim: Sim, adapter: OnecDmAdapter, message: Message) -> None:
    sim, _ = onec_sim
    ref = adapter.create_card(message("9009"))
    assert adapter.fetch_answer(ref) is None

    due = (body_today() + timedelta(days=20)).isoformat()
    sim.act({"action": "assign", "pos_id": "9009", "executor": "Иванова Мария Сергеевна", "due_date": due})
    state = adapter.get_card(ref)
    assert state.stage is CardStage.IN_WORK
    assert [e.name for e in state.executors] == ["Иванова Мария Сергеевна"]
    assert state.deadline is not None and state.deadline.isoformat() == due
    assert state.resolution

    sim.act({"action": "extend", "doc_id": ref.external_id, "days": 15})
    extended = adapter.get_card(ref)
    assert extended.stage is CardStage.EXTENDED
    assert extended.deadline == state.deadline + timedelta(days=15)

    sim.act({"action": "answer", "pos_id": "9009", "text": "Мусор вывезен.", "signer": "Волков Сергей Михайлович",
             "file_size": 2_000_000})
    answered = adapter.get_card(ref)
    assert answered.stage is CardStage.ANSWER_READY
    answer = adapter.fetch_answer(ref)
    assert answer is not None
    assert answer.text == "Мусор вывезен." and answer.signer == "Волков Сергей Михайлович"
    assert answer.date == body_today() and answer.decision == "Разъяснено"
    assert [f.name for f in answer.files] == ["Ответ на обращение №9009.pdf"]
    assert answer.files[0].mime_type == "application/pdf"
    sim_file = next(f for f in sim.store.files.values() if f.name.startswith("Ответ"))
    assert answer.files[0].content == sim_file.read() and len(answer.files[0].content) == 2_000_000


def test_an_answer_the_edms_has_not_registered_yet_is_dated_the_bodys_today(
        onec_sim: Sim, adapter: OnecDmAdapter, message: Message) -> None:
    sim, _ = onec_sim
    ref = adapter.create_card(message("9010"))
    sim.act({"action": "answer", "pos_id": "9010"})
    [answer_doc] = [d for d in sim.store.docs.values() if d.type == sim.store.names.answer_type]
    answer_doc.reg_date = None  # the clerk registers the outgoing letter later
    answer = adapter.fetch_answer(ref)
    assert answer is not None and answer.date == body_today()


def test_redirect_and_refuse(onec_sim: Sim, adapter: OnecDmAdapter, message: Message) -> None:
    sim, _ = onec_sim
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


def test_auto_act_answers_every_card(onec_sim: Sim, adapter: OnecDmAdapter, message: Message) -> None:
    sim, _ = onec_sim
    refs = [adapter.create_card(message(str(n))) for n in range(100, 105)]
    assert sim.act({"action": "auto", "assign": True, "answer": True}) == {"assigned": 5, "answered": 5}
    assert {adapter.get_card(r).stage for r in refs} == {CardStage.ANSWER_READY}
    assert sim.act({"action": "auto", "assign": True, "answer": True}) == {"assigned": 0, "answered": 0}


def test_unknown_card_is_rejected(adapter: OnecDmAdapter) -> None:
    with pytest.raises(RemoteRejected, match="not found"):
        adapter.get_card(CardRef(adapter="onec_dm", external_id="00000000-0000-4000-8000-000000000000"))


# --- health -----------------------------------------------------------------------------------------
def test_health_ok(adapter: OnecDmAdapter) -> None:
    adapter.health()
    client = adapter.zeep_client()
    assert client.get_type("ns0:DMCreateRequest") is not None


def test_health_wrong_password(onec_sim: Sim, adapter_context: AdapterContext) -> None:
    adapter = make_adapter(onec_sim[1].url, adapter_context, password="wrong-pass-123")
    with pytest.raises(AuthError, match="integration") as err:
        adapter.health()
    assert "wrong-pass-123" not in repr(err.value) and "wrong-pass-123" not in (err.value.detail or "")


def test_health_unreachable(adapter_context: AdapterContext) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    adapter = make_adapter(url, adapter_context)
    with pytest.raises(FatalAdapterError, match=f"cannot reach .*127.0.0.1:{port}"):
        adapter.health()
    with pytest.raises(TransientError):
        adapter.get_card(CardRef(adapter="onec_dm", external_id="x"))


def test_health_not_a_dmservice(adapter_context: AdapterContext) -> None:
    def app(environ: Any, start_response: Any) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "text/html")])
        return [b"<html><body>login page</body></html>"]

    with SimServer(app) as server:
        with pytest.raises(FatalAdapterError, match="like DMService"):
            make_adapter(server.url, adapter_context).health()


def test_bad_wsdl_setting(onec_sim: Sim, adapter_context: AdapterContext, tmp_path: Any) -> None:
    adapter = make_adapter(onec_sim[1].url, adapter_context, wsdl=str(tmp_path / "missing.wsdl"))
    with pytest.raises(FatalAdapterError, match="missing.wsdl"):
        adapter.health()


def test_adapter_uses_context_session(onec_sim: Sim, adapter: OnecDmAdapter) -> None:
    assert isinstance(adapter._session, requests.Session)  # noqa: SLF001 - the retrying session from the context
    assert adapter._transport.session is adapter._session  # noqa: SLF001


def test_timeouts_are_transient(onec_sim: Sim, tmp_path: Any, message: Message) -> None:
    from connector.transport import RetryingSession, RetryPolicy

    context = AdapterContext(target_name="t", data_dir=tmp_path, session_factory=lambda: RetryingSession(
        RetryPolicy(max_attempts=2), timeout=0.2, sleep=lambda s: None))
    faults(onec_sim[0], timeout_rate=1.0, hang_seconds=0.6)
    adapter = make_adapter(onec_sim[1].url, context)
    with pytest.raises(TransientError, match="did not answer"):
        adapter.create_card(message("1212"))
    with pytest.raises(FatalAdapterError, match="cannot reach"):
        adapter.health()


def test_answer_file_over_10_mb_needs_huge_tree(onec_sim: Sim, adapter_context: AdapterContext,
                                                message: Message) -> None:
    sim, server = onec_sim
    strict = make_adapter(server.url, adapter_context)
    ref = strict.create_card(message("1313"))
    sim.act({"action": "answer", "pos_id": "1313", "file_size": 9_000_000})
    with pytest.raises(FatalAdapterError, match="xml_huge_tree"):
        strict.fetch_answer(ref)
    answer = make_adapter(server.url, adapter_context, xml_huge_tree=True).fetch_answer(ref)
    assert answer is not None and len(answer.files[0].content) == 9_000_000
