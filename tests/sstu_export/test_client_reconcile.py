"""The import client against the simulator over loopback, and reconcile on planted discrepancies."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date

import pytest
import requests
from sstu_samples import CODE, DEP, TODAY, appeal, question

from connector.errors import RemoteRejected, TransientError
from connector.simulators.faults import FaultSpec
from connector.simulators.server import SimServer
from connector.simulators.sstu import SstuSimulator
from connector.sstu_export.builder import AnswerFileInput, AppealFacts, QuestionFacts, SstuBuilder
from connector.sstu_export.client import ReadBackItem, SstuClient
from connector.sstu_export.reconcile import SentRecord, reconcile
from connector.transport import RetryingSession, RetryPolicy


@pytest.fixture
def sim() -> Iterator[tuple[SstuSimulator, SstuClient]]:
    simulator = SstuSimulator()
    with SimServer(simulator) as server:
        session = RetryingSession(RetryPolicy(max_attempts=3), sleep=lambda s: None, timeout=5)
        yield simulator, SstuClient(server.url + "/", session)


def _built(number: str, outcome: str = "answered") -> bytes:
    facts = AppealFacts(department_id=DEP, number=number, author_name="Петров П. П.", questions=(QuestionFacts(
        category_path=("x",), outcome=outcome, incoming_date=date(2025, 3, 3), registration_date=date(2025, 3, 4),
        response_date=date(2025, 3, 5), answer=AnswerFileInput(name="a.pdf", content=b"answer")),))
    return SstuBuilder(lambda p: CODE, today=TODAY).build(facts).content


def test_import_accepted_keeps_the_receipt(sim: tuple[SstuSimulator, SstuClient]) -> None:
    simulator, client = sim
    receipt = client.import_appeal(_built("A-1"))
    assert receipt.status == 200 and json.loads(receipt.body)["number"] == "A-1"
    assert simulator.appeal(DEP, "A-1") is not None


def test_400_is_rejected_with_the_servers_reason(sim: tuple[SstuSimulator, SstuClient]) -> None:
    simulator, client = sim
    bad = json.dumps(appeal(question("InWork", code="0005.0000.0000.0000"))).encode()
    with pytest.raises(RemoteRejected, match="rejected: questions\\[0\\].code: .* not a question") as caught:
        client.import_appeal(bad)
    assert caught.value.status == 400
    assert simulator.summary()["requests"] == 1  # a 4xx is never retried


def test_5xx_and_429_are_retried_then_transient(sim: tuple[SstuSimulator, SstuClient]) -> None:
    simulator, client = sim
    simulator.set_faults(FaultSpec(fail_next=2))
    assert client.import_appeal(_built("A-2")).status == 200  # third attempt succeeds
    simulator.set_faults(FaultSpec(fail_next=3))
    with pytest.raises(TransientError, match="HTTP 503 after retries"):
        client.import_appeal(_built("A-3"))
    simulator.set_faults(FaultSpec(throttle_next=3, retry_after=0))
    with pytest.raises(TransientError, match="HTTP 429 after retries"):
        client.read_back(DEP)
    assert simulator.summary()["requests"] == 3 + 3 + 3


def test_connection_errors_are_transient() -> None:
    session = RetryingSession(RetryPolicy(max_attempts=2), sleep=lambda s: None, timeout=2)
    with SimServer(SstuSimulator()) as server:
        url = server.url
    with pytest.raises(TransientError, match="cannot connect"):
        SstuClient(url, session).import_appeal(b"{}")


def test_read_back_and_reconcile_find_planted_discrepancies(sim: tuple[SstuSimulator, SstuClient]) -> None:
    simulator, client = sim
    sent = {}
    for number in ("OK-1", "MISSING-1", "STALE-1", "REJ-1"):
        client.import_appeal(_built(number))
        sent[number] = SentRecord(number, f"hash-{number}", ("Answered",))
    # what the portal "lost", holds in an older state, or refused after import
    simulator.set_faults(FaultSpec())
    base = client.base_url
    requests.post(base + "/_sim/act", json={"action": "drop", "departmentId": DEP, "number": "MISSING-1"}, timeout=5)
    requests.post(base + "/_sim/act", json={"action": "set_exception", "departmentId": DEP, "number": "REJ-1",
                                            "message": "Неверный код"}, timeout=5)
    client.import_appeal(_built("STALE-1", outcome="in_work"))  # the portal holds InWork; we last sent Answered
    with pytest.raises(RemoteRejected):
        client.import_appeal(json.dumps(appeal(question("InWork", code="1"), number="NEVER-1")).encode())
    sent["NEVER-1"] = SentRecord("NEVER-1", "h", ("InWork",))
    held = client.read_back(DEP)
    assert {i.number for i in held} == {"OK-1", "STALE-1", "REJ-1", "NEVER-1"}
    report = reconcile(sent.values(), held)
    assert [d.number for d in report.missing] == ["MISSING-1"]
    assert [(d.number, d.reason) for d in report.stale] == [("STALE-1", "portal holds InWork; last sent Answered")]
    assert [d.number for d in report.rejected] == ["REJ-1", "NEVER-1"]
    assert report.rejected[0].reason == "Неверный код"
    assert report.matched == 1 and report.to_resend == ["MISSING-1", "NEVER-1", "REJ-1", "STALE-1"]
    assert not report.ok


def test_reconcile_pure_cases() -> None:
    held = [ReadBackItem(number="1", statuses=("InWork",)), ReadBackItem(number="9"),
            ReadBackItem(number="2", exception_message="x"), ReadBackItem(number="2", statuses=("InWork",))]
    report = reconcile([SentRecord("1", "h", ("InWork",)), SentRecord("2", "h", ("InWork",))], held)
    assert report.ok and report.matched == 2 and report.unknown == ["9"]


def test_read_back_with_an_empty_number_undelivered_and_a26_items_reconciles_without_error(
        sim: tuple[SstuSimulator, SstuClient]) -> None:
    simulator, client = sim
    sent = {}
    for number in ("OK-1", "LATE-1"):
        client.import_appeal(_built(number))
        sent[number] = SentRecord(number, f"hash-{number}", ("Answered",))
    base = client.base_url
    for act in ({"action": "hold_undelivered", "number": "LATE-1"},
                {"action": "plant_foreign", "number": "А26-12345"},   # Cyrillic А, as the portal writes it
                {"action": "plant_foreign", "number": "A26-777"},     # and a Latin one
                {"action": "plant_foreign", "number": ""},
                {"action": "plant_foreign", "number": "X-9"}):
        requests.post(base + "/_sim/act", json={"departmentId": DEP, **act}, timeout=5).raise_for_status()
    held = client.read_back(DEP)  # an item without a number no longer fails the whole read-back
    report = reconcile(sent.values(), held)
    assert report.ok and report.to_resend == []
    assert report.matched == 1 and report.undelivered == ["LATE-1"]  # not counted as matched
    assert report.presidential == ["A26-777", "А26-12345"] and report.unknown == ["X-9"]
    assert report.unnumbered == 1
