"""The SSTU simulator over raw HTTP: independent format checks, replace on re-send, read-back, faults."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests

from connector.simulators.sstu import SstuSimulator

import simctl

IMPORT = "/IPCP/HandlingReportPlugin/Api/Import"
DEP = "0f8fad5b-d9cb-469f-a165-70867728950e"
OTHER = "7c9e6679-7425-40de-944b-e07fc1f90ae7"


def _appeal(status: str = "Explained", **extra: Any) -> dict[str, Any]:
    q: dict[str, Any] = {"code": "0005.0005.0056.1149", "status": status, "incomingDate": "2025-03-03",
                         "registrationDate": "2025-03-04"}
    if status == "Explained":
        q.update(responseDate="2025-03-20", attachment={"name": "a.pdf", "content": "JVBERi0="})
    doc = {"departmentId": DEP, "isDirect": True, "format": "Other", "number": "N-1", "name": "Иванов И. И.",
           "questions": [q]}
    doc.update(extra)
    return doc


@pytest.fixture
def sim() -> SstuSimulator:
    return SstuSimulator()


@pytest.fixture
def url(sim: SstuSimulator, sim_loopback: simctl.Loopback) -> Iterator[str]:
    with sim_loopback.serve(sim) as srv:
        yield srv.url


def _post(url: str, doc: Any) -> requests.Response:
    return requests.post(url + IMPORT, data=json.dumps(doc, ensure_ascii=False).encode(),
                         headers={"Content-Type": "application/json"}, timeout=5)


def _q(doc: dict[str, Any]) -> dict[str, Any]:
    return doc["questions"][0]  # type: ignore[no-any-return]


def _mutate(change: Callable[[dict[str, Any]], None], base: dict[str, Any] | None = None) -> dict[str, Any]:
    doc = copy.deepcopy(base or _appeal())
    change(doc)
    return doc


BAD: list[tuple[str, Any, str]] = [
    ("no number", _mutate(lambda d: d.pop("number")), "required: number"),
    ("empty name", _mutate(lambda d: d.update(name=" ")), "name: must be a non-empty string"),
    ("no questions", _mutate(lambda d: d.update(questions=[])), "at least one question"),
    ("unknown field", _mutate(lambda d: d.update(phone="1")), "unknown field(s): phone"),
    ("not a GUID", _mutate(lambda d: d.update(departmentId="министерство")), "departmentId: not a GUID"),
    ("bad format", _mutate(lambda d: d.update(format="Paper")), "format: must be Electronic or Other"),
    ("forwarded without createDate", _mutate(lambda d: d.update(isDirect=False)), "createDate: required"),
    ("incoming before createDate", _mutate(lambda d: d.update(isDirect=False, createDate="2025-03-04")),
     "не ранее даты обращения"),
    ("registration before incoming", _mutate(lambda d: _q(d).update(registrationDate="2025-03-01")),
     "registrationDate: earlier than incomingDate"),
    ("response before registration", _mutate(lambda d: _q(d).update(responseDate="2025-03-01")),
     "responseDate: earlier than registrationDate"),
    ("future date", _mutate(lambda d: _q(d).update(responseDate="2999-01-01")), "in the future"),
    ("missing status field", _mutate(lambda d: _q(d).pop("attachment")), "status Explained requires attachment"),
    ("forbidden status field", _mutate(lambda d: _q(d).update(isExtend=True)),
     "status Explained does not allow isExtend"),
    ("unknown status", _mutate(lambda d: _q(d).update(status="Done")), "unknown status"),
    ("section code", _mutate(lambda d: _q(d).update(code="0005.0005.0000.0000")), "not a question"),
    ("not base64", _mutate(lambda d: _q(d)["attachment"].update(content="%%%")), "not base64"),
    ("attachment too large", _mutate(lambda d: _q(d)["attachment"].update(content="A" * 10_000_000)),
     "limit is under 10000000"),
    ("transfer to a non-GUID", _mutate(lambda d: d.update(questions=[{
        "code": "0005.0005.0056.1149", "status": "Transferred", "incomingDate": "2025-03-03",
        "registrationDate": "2025-03-04",
        "transfer": {"departmentId": "Минстрой", "transferDate": "2025-03-05", "transferNumber": "1"}}])),
     "transfer.departmentId: not a GUID"),
    ("not an object", [], "one JSON object"),
]


@pytest.mark.parametrize(("case", "doc", "reason"), BAD, ids=[b[0] for b in BAD])
def test_each_kind_of_bad_payload_is_rejected_with_a_reason(url: str, sim: SstuSimulator, case: str,
                                                            doc: Any, reason: str) -> None:
    response = _post(url, doc)
    assert response.status_code == 400, case
    assert reason in response.json()["reason"], response.json()
    state = requests.get(url + "/_sim/state", timeout=5).json()
    assert state["summary"]["accepted"] == 0 and state["summary"]["rejected"] == 1
    assert reason in state["rejections"][0]["reason"]


TOLERATED: list[tuple[str, Any, str]] = [
    ("null address", _mutate(lambda d: d.update(address=None)), "address: null"),
    ("upper-case GUID", _mutate(lambda d: d.update(departmentId=DEP.upper())), "departmentId: upper-case GUID"),
    ("direct but Electronic", _mutate(lambda d: d.update(format="Electronic")), "Electronic on a direct appeal"),
    ("InWork with the answer", _mutate(lambda d: _q(d).update(status="InWork")), "InWork with attachment"),
    ("Supported without actionsTaken", _mutate(lambda d: _q(d).update(status="Supported")),
     "Supported without actionsTaken"),
    ("isExtend false", _appeal("InWork") | {"questions": [{**_q(_appeal("InWork")), "isExtend": False}]},
     "isExtend: false"),
]


@pytest.mark.parametrize(("case", "doc", "note"), TOLERATED, ids=[t[0] for t in TOLERATED])
def test_what_public_senders_send_is_accepted_and_noted(url: str, sim: SstuSimulator, case: str, doc: Any,
                                                        note: str) -> None:
    response = _post(url, doc)
    assert response.status_code == 200, response.json()
    state = requests.get(url + "/_sim/state", timeout=5).json()
    assert state["summary"]["tolerated"] == 1 and any(note in n for n in state["tolerated"][0]["notes"]), state
    assert sim.appeal(DEP, doc["number"]) is not None  # held under the lower-case GUID either way


def test_a_good_appeal_is_accepted_and_a_resend_replaces_it(url: str, sim: SstuSimulator) -> None:
    first = _post(url, _appeal())
    assert first.status_code == 200 and first.json()["version"] == 1
    assert _post(url, _appeal("InWork", number="N-2")).status_code == 200
    resent = _post(url, _mutate(lambda d: _q(d).update(responseDate="2025-03-21")))
    assert resent.status_code == 200 and resent.json()["version"] == 2
    summary = requests.get(url + "/_sim/state?summary=1", timeout=5).json()
    assert summary == {"summary": {"requests": 3, "accepted": 3, "replaced": 1, "rejected": 0, "tolerated": 0,
                                   "appeals": 2, "faults": {}}}
    held = sim.appeal(DEP, "N-1")
    assert held is not None and _q(held)["responseDate"] == "2025-03-21"


def test_read_back_lists_exception_messages(url: str, sim: SstuSimulator) -> None:
    _post(url, _appeal())
    _post(url, _appeal(number="N-2"))
    _post(url, _mutate(lambda d: _q(d).update(code="0005.0000.0000.0000"), _appeal(number="N-3")))
    act = requests.post(url + "/_sim/act", json={"action": "set_exception", "departmentId": DEP, "number": "N-2",
                                                 "message": "Дублирование обращения"}, timeout=5)
    assert act.status_code == 200
    items = requests.get(url + f"/IPCP/HandlingReportPlugin/Api/analytics/ver.0.2/requests/{DEP}", timeout=5).json()
    by_number = {i["number"]: i for i in items}
    assert by_number["N-1"]["exceptionMessage"] is None
    assert by_number["N-1"]["questions"] == [{"code": "0005.0005.0056.1149", "status": "Explained"}]
    assert by_number["N-2"]["exceptionMessage"] == "Дублирование обращения"
    assert "not a question" in by_number["N-3"]["exceptionMessage"]
    assert requests.get(url + f"/IPCP/HandlingReportPlugin/Api/analytics/ver.0.2/requests/{OTHER}",
                        timeout=5).json() == []
    assert _post(url, _appeal(number="N-3")).status_code == 200  # accepted later: the exception clears
    items = requests.get(url + f"/IPCP/HandlingReportPlugin/Api/analytics/ver.0.2/requests/{DEP}", timeout=5).json()
    assert [i["exceptionMessage"] for i in items if i["number"] == "N-3"] == [None]


def test_faults_apply_to_protocol_endpoints_only(url: str, sim: SstuSimulator) -> None:
    assert requests.post(url + "/_sim/faults", json={"fail_next": 1, "throttle_next": 1}, timeout=5).ok
    assert _post(url, _appeal()).status_code == 503
    throttled = _post(url, _appeal())
    assert throttled.status_code == 429 and throttled.headers["Retry-After"] == "1"
    assert requests.get(url + "/_sim/state", timeout=5).ok
    assert _post(url, _appeal()).status_code == 200
    bad = requests.post(url + "/_sim/faults", json={"nonsense": 1}, timeout=5)
    assert bad.status_code == 400


def test_not_json_and_unknown_paths(url: str) -> None:
    r = requests.post(url + IMPORT, data=b"\xff{", headers={"Content-Type": "application/json"}, timeout=5)
    assert r.status_code == 400 and "not UTF-8 JSON" in r.json()["reason"]
    r = requests.post(url + IMPORT, data=b"{}", headers={"Content-Type": "text/plain"}, timeout=5)
    assert r.status_code == 400
    assert requests.get(url + "/nope", timeout=5).status_code == 404
