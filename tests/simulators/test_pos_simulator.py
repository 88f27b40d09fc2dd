"""The POS simulator over raw HTTP: the v1 contract, /_sim/* and faults."""

from __future__ import annotations

import email.utils
import hashlib
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests

from connector.pos_client import wire
from connector.simulators.pos import PosSimulator, SimAccount
from connector.simulators.pos.generator import FEMALE_NAMES, MALE_NAMES
from connector.simulators.server import SimServer

import simctl

OTHER = SimAccount("lko-school", "school-secret", "org-school", "МБОУ СОШ № 5")
Api = Callable[..., requests.Response]


@pytest.fixture
def sim() -> PosSimulator:
    return PosSimulator([SimAccount("lko-demo", "demo-secret", "org-demo", "Администрация"), OTHER], seed=3)


@pytest.fixture
def server(sim: PosSimulator, sim_loopback: simctl.Loopback) -> Iterator[SimServer]:
    with sim_loopback.serve(sim) as srv:
        yield srv


def _token(url: str, login: str = "lko-demo", password: str = "demo-secret") -> str:
    response = requests.post(url + wire.PATH_TOKEN, json={"login": login, "password": password}, timeout=5)
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


@pytest.fixture
def api(server: SimServer) -> Api:
    """``api(method, path, login=…, **requests_kwargs)`` with a bearer token of that login."""
    tokens: dict[str, str] = {}
    passwords = {"lko-demo": "demo-secret", OTHER.login: OTHER.password}

    def call(method: str, path: str, *, login: str = "lko-demo", **kwargs: Any) -> requests.Response:
        if login not in tokens:
            tokens[login] = _token(server.url, login, passwords[login])
        headers = {"Authorization": f"Bearer {tokens[login]}", **kwargs.pop("headers", {})}
        return requests.request(method, server.url + path, headers=headers, timeout=5, **kwargs)

    return call


def _sim(server: SimServer, path: str, body: Any = None) -> Any:
    if body is None:
        return requests.get(server.url + path, timeout=10).json()
    response = requests.post(server.url + path, json=body, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


def _status(api: Api, pos_id: str, status: str, key: str, **extra: Any) -> requests.Response:
    return api("POST", wire.PATH_STATUS.format(id=pos_id), json={"status": status, **extra},
               headers={wire.HEADER_IDEMPOTENCY_KEY: key})


# --- auth and visibility -----------------------------------------------------------------


@pytest.mark.parametrize("header", [None, "Bearer nope", "Basic abc"])
def test_calls_without_a_valid_token_get_401(server: SimServer, header: str | None) -> None:
    headers = {"Authorization": header} if header else {}
    response = requests.get(server.url + wire.PATH_APPEALS, headers=headers, timeout=5)
    assert response.status_code == 401 and response.json()["code"] == "UNAUTHORIZED"


def test_wrong_password_gets_401(server: SimServer) -> None:
    response = requests.post(server.url + wire.PATH_TOKEN, json={"login": "lko-demo", "password": "x"}, timeout=5)
    assert response.status_code == 401 and set(response.json()) >= {"code", "message"}


def test_tokens_expire_after_token_ttl(sim: PosSimulator, server: SimServer) -> None:
    _sim(server, "/_sim/faults", {"token_ttl": 0.05})
    token = _token(server.url)
    assert requests.post(server.url + wire.PATH_TOKEN, json={"login": "lko-demo", "password": "demo-secret"},
                         timeout=5).json()["expires_in"] == 0.05
    time.sleep(0.1)
    response = requests.get(server.url + wire.PATH_CATEGORIES, headers={"Authorization": f"Bearer {token}"},
                            timeout=5)
    assert response.status_code == 401


def test_a_login_sees_only_its_own_organisation(sim: PosSimulator, api: Api) -> None:
    own = sim.seed(3)
    other = sim.seed(2, login=OTHER.login)
    assert [i["id"] for i in api("GET", wire.PATH_APPEALS).json()["items"]] == own
    assert [i["id"] for i in api("GET", wire.PATH_APPEALS, login=OTHER.login).json()["items"]] == other
    assert api("GET", wire.PATH_APPEAL.format(id=other[0])).status_code == 404


def test_listing_is_eventually_consistent() -> None:
    sim = PosSimulator(visibility_delay=60)
    pos_id = sim.seed(1)[0]
    with SimServer(sim) as srv:
        headers = {"Authorization": f"Bearer {_token(srv.url)}"}
        assert requests.get(srv.url + wire.PATH_APPEALS, headers=headers, timeout=5).json()["items"] == []
        assert requests.get(srv.url + wire.PATH_APPEAL.format(id=pos_id), headers=headers,
                            timeout=5).json()["id"] == pos_id


# --- listing -----------------------------------------------------------------------------


@pytest.mark.parametrize("params", [{"limit": 101}, {"limit": 0}, {"limit": "x"}, {"cursor": "@@@"},
                                    {"updatedSince": "2024-01-01T00:00:00"}, {"status": "BOGUS"}])
def test_bad_listing_parameters_are_400(api: Api, params: dict[str, Any]) -> None:
    response = api("GET", wire.PATH_APPEALS, params=params)
    assert response.status_code == 400 and response.json()["code"] == "BAD_REQUEST"


def test_keyset_paging_filters_and_inclusive_since(sim: PosSimulator, api: Api) -> None:
    ids = sim.seed(7)
    page = api("GET", wire.PATH_APPEALS, params={"limit": 3}).json()
    assert [i["id"] for i in page["items"]] == ids[:3] and page["nextCursor"]
    sim.touch(ids[0])  # changed between two page calls: shows up again, at the end
    rest: list[str] = []
    cursor = page["nextCursor"]
    while cursor:
        page = api("GET", wire.PATH_APPEALS, params={"limit": 3, "cursor": cursor}).json()
        rest += [i["id"] for i in page["items"]]
        cursor = page["nextCursor"]
    assert rest == ids[3:] + [ids[0]]
    items = api("GET", wire.PATH_APPEALS, params={"limit": 100}).json()["items"]
    since = items[2]["updatedAt"]
    assert [i["id"] for i in api("GET", wire.PATH_APPEALS, params={"updatedSince": since}).json()["items"]] == \
        [i["id"] for i in items[2:]]
    _status(api, ids[1], "EXECUTOR_ASSIGNED", "k")
    assigned = api("GET", wire.PATH_APPEALS, params={"status": "EXECUTOR_ASSIGNED"}).json()["items"]
    assert [(i["id"], i["status"]) for i in assigned] == [(ids[1], "EXECUTOR_ASSIGNED")]


def test_duplicate_pages_fault_repeats_the_last_item(sim: PosSimulator, server: SimServer, api: Api) -> None:
    ids = sim.seed(6)
    _sim(server, "/_sim/faults", {"duplicate_pages": 1.0})
    first = api("GET", wire.PATH_APPEALS, params={"limit": 3}).json()
    second = api("GET", wire.PATH_APPEALS, params={"limit": 3, "cursor": first["nextCursor"]}).json()
    assert second["items"][0]["id"] == ids[2]
    assert _sim(server, "/_sim/state?summary=1")["summary"]["faultsInjected"]["duplicate_page"] == 1


# --- appeals and files -------------------------------------------------------------------


def test_seeded_appeals_are_realistic_and_deterministic(server: SimServer) -> None:
    created = _sim(server, "/_sim/seed", {"count": 200, "seed": 42, "min_attachment_kb": 2, "max_attachment_kb": 50,
                                          "large_attachment_every": 50, "large_attachment_mb": 25})["created"]
    again = PosSimulator(seed=99)
    assert again.seed(200, seed=42, max_attachment_kb=50, large_attachment_every=50, large_attachment_mb=25) == created
    assert len(set(created)) == 200 and all(i.isdigit() for i in created)
    appeals = [wire.WireAppeal.model_validate(a.appeal.to_wire()) for a in again.store.appeals.values()]
    for a in appeals:
        female = a.applicant.first_name in FEMALE_NAMES
        assert female or a.applicant.first_name in MALE_NAMES
        assert a.applicant.middle_name.endswith(("вна", "чна")) == female
        assert a.applicant.email and a.applicant.phone.startswith("+7") and "г. " in a.applicant.address
        assert a.category and a.subcategory and a.fact and a.text
        small = [f for f in a.attachments if f.size < 1024 * 1024]
        assert len(small) <= 3 and all(2048 <= f.size <= 50 * 1024 for f in small)
    assert 0.25 < sum(a.fz59 for a in appeals) / 200 < 0.55
    assert any(a.fast_track for a in appeals)
    large = [f for a in appeals for f in a.attachments if f.size == 25 * 1024 * 1024]
    assert len(large) == 4


def test_file_download_headers_and_truncation(sim: PosSimulator, server: SimServer, api: Api) -> None:
    pos_id = sim.seed(1, max_attachment_kb=2)[0]
    file_id = sim.add_attachment(pos_id, "Фото двора №3.jpg", 100_000)
    path = wire.PATH_FILE.format(id=pos_id, file_id=file_id)
    response = api("GET", path)
    assert response.status_code == 200 and response.headers["Content-Type"] == "image/jpeg"
    assert response.headers["Content-Length"] == "100000" and len(response.content) == 100_000
    assert "filename*=UTF-8''%D0%A4%D0%BE%D1%82%D0%BE" in response.headers["Content-Disposition"]
    assert hashlib.sha256(response.content).digest() == \
        hashlib.sha256(b"".join(sim.attachment_bytes(pos_id, file_id))).digest()
    _sim(server, "/_sim/faults", {"truncate_next": 1})
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        api("GET", path)
    assert api("GET", wire.PATH_FILE.format(id=pos_id, file_id="nope")).status_code == 404


# --- transitions, answers, idempotency -----------------------------------------------------

TRANSITIONS = [
    ([], "EXECUTOR_ASSIGNED", 200), ([], "DEADLINE_EXTENDED", 409), ([], "ANSWERED", 409), ([], "NEW", 200),
    ([], "REDIRECTED_HIGHER", 200), ([], "MODERATION_REJECTED", 409),
    (["EXECUTOR_ASSIGNED"], "DEADLINE_EXTENDED", 200), (["EXECUTOR_ASSIGNED"], "NEW", 409),
    (["EXECUTOR_ASSIGNED"], "REDIRECTED_SUBORDINATE", 200), (["EXECUTOR_ASSIGNED"], "EXECUTOR_ASSIGNED", 200),
    (["EXECUTOR_ASSIGNED", "DEADLINE_EXTENDED"], "REDIRECTED_SUBORDINATE", 409),
    (["EXECUTOR_ASSIGNED", "DEADLINE_EXTENDED"], "EXECUTOR_ASSIGNED", 409),
    (["REDIRECTED_SUBORDINATE"], "EXECUTOR_ASSIGNED", 409),
]


@pytest.mark.parametrize(("path", "target", "expected"), TRANSITIONS)
def test_status_transitions(sim: PosSimulator, api: Api, path: list[str], target: str, expected: int) -> None:
    pos_id = sim.seed(1)[0]
    for n, step in enumerate(path):
        assert _status(api, pos_id, step, f"setup-{n}").status_code == 200
    before = api("GET", wire.PATH_APPEAL.format(id=pos_id)).json()
    response = _status(api, pos_id, target, "under-test")
    assert response.status_code == expected
    after = api("GET", wire.PATH_APPEAL.format(id=pos_id)).json()
    if expected == 409:
        assert response.json()["code"] == "INVALID_TRANSITION" and after == before
    elif target == before["status"]:
        assert after["updatedAt"] == before["updatedAt"]  # repeating the status is a no-op
    else:
        assert after["status"] == target and after["updatedAt"] > before["updatedAt"]
        assert after["statusLabel"] == wire.STATUS_LABELS[wire.PosStatus(target)]


def test_idempotency_key_replays_and_refuses_reuse(sim: PosSimulator, server: SimServer, api: Api) -> None:
    pos_id = sim.seed(1)[0]
    first = _status(api, pos_id, "EXECUTOR_ASSIGNED", "k1", executor="Петров")
    assert _status(api, pos_id, "DEADLINE_EXTENDED", "k2", plannedDate="2030-01-01").status_code == 200
    replay = _status(api, pos_id, "EXECUTOR_ASSIGNED", "k1", executor="Петров")
    assert replay.status_code == 200 and replay.json() == first.json()
    reuse = _status(api, pos_id, "DEADLINE_EXTENDED", "k1")
    assert reuse.status_code == 422 and reuse.json()["code"] == "IDEMPOTENCY_KEY_REUSED"
    (state,) = [a for a in _sim(server, "/_sim/state")["appeals"] if a["id"] == pos_id]
    assert [h["status"] for h in state["statusHistory"]] == ["NEW", "EXECUTOR_ASSIGNED", "DEADLINE_EXTENDED"]


def test_answer_multipart_and_already_answered(sim: PosSimulator, server: SimServer, api: Api) -> None:
    pos_id = sim.seed(1)[0]
    answer = '{"text": "Ответ", "decision": "Поддержано", "signer": "Глава", "date": "2024-06-01"}'
    parts = [("answer", (None, answer, "application/json")), ("files", ("ответ.pdf", b"%PDF" * 100, "application/pdf"))]
    early = api("POST", wire.PATH_ANSWER.format(id=pos_id), files=parts)
    assert early.status_code == 409 and early.json()["code"] == "INVALID_TRANSITION"
    _status(api, pos_id, "EXECUTOR_ASSIGNED", "s")
    assert api("POST", wire.PATH_ANSWER.format(id=pos_id), files=parts).status_code == 200
    second = api("POST", wire.PATH_ANSWER.format(id=pos_id), files=parts)
    assert second.status_code == 409 and second.json()["code"] == "ALREADY_ANSWERED"
    bad = api("POST", wire.PATH_ANSWER.format(id=pos_id), files=[("answer", (None, "{}", "application/json"))])
    assert bad.status_code == 422 and {d["field"] for d in bad.json()["details"]} >= {"text", "date"}
    (state,) = [a for a in _sim(server, "/_sim/state")["appeals"] if a["id"] == pos_id]
    assert state["status"] == "ANSWERED" and len(state["answers"]) == 1
    assert state["answers"][0]["files"] == [{"name": "ответ.pdf", "size": 400, "mimeType": "application/pdf",
                                             "sha256": hashlib.sha256(b"%PDF" * 100).hexdigest()}]
    assert _sim(server, "/_sim/state?summary=1")["summary"]["answers"] == 1


def test_redirect_and_act(sim: PosSimulator, server: SimServer, api: Api) -> None:
    a, b = sim.seed(2)
    response = api("POST", wire.PATH_REDIRECT.format(id=a), json={"targetOrgId": "org-x", "comment": "по компетенции"})
    assert response.status_code == 200 and response.json()["status"] == "REDIRECTED_SUBORDINATE"
    assert api("POST", wire.PATH_REDIRECT.format(id=a), json={"comment": "x"}).status_code == 422
    before = api("GET", wire.PATH_APPEAL.format(id=b)).json()["updatedAt"]
    _sim(server, "/_sim/act", {"action": "touch", "id": b})
    assert api("GET", wire.PATH_APPEAL.format(id=b)).json()["updatedAt"] > before
    _sim(server, "/_sim/act", {"action": "moderate_reject", "id": b})
    rejected = api("GET", wire.PATH_APPEAL.format(id=b)).json()
    assert (rejected["status"], rejected["statusLabel"], rejected["stage"]) == \
        ("MODERATION_REJECTED", "Отклонено модератором", "Завершено")
    assert requests.post(server.url + "/_sim/act", json={"action": "touch", "id": "0"}, timeout=5).status_code == 404


def test_categories_share_names_across_branches(api: Api) -> None:
    cats = api("GET", wire.PATH_CATEGORIES).json()
    by_id = {c["id"]: c for c in cats}
    assert len(by_id) == len(cats) and {c["level"] for c in cats} == {1, 2, 3}
    for c in cats:
        assert (c["parentId"] is None) == (c["level"] == 1)
        if c["parentId"]:
            assert by_id[c["parentId"]]["level"] == c["level"] - 1
    names = [c["name"] for c in cats]
    assert names.count("Освещение") >= 2 and names.count("Не работает освещение") >= 2
    assert api("GET", wire.PATH_CATEGORIES).json() == cats  # stable ids


SHOWCASE_ITEM = {"id": "pos:1", "channel": "POS", "number": "1", "categoryId": "c1", "status": "NEW",
                 "receivedDate": "2026-11-30", "overdue": False, "repeated": False}


@pytest.mark.parametrize(("change", "field"), [
    ({"status": "OPEN"}, "status"),                                  # not a showcase status
    ({"receivedDate": "30.11.2026"}, "receivedDate"),                # not YYYY-MM-DD
    ({"receivedDate": 1764460800}, "receivedDate"),                  # a timestamp is not a date
    ({"overdue": "no"}, "overdue"),                                  # strict booleans
    ({"colour": "red"}, "colour"),                                   # unknown field
    ({"status": "ANSWERED"}, "closedDate"),                          # a final status needs its date
    ({"closedDate": "2026-12-01"}, "closedDate"),                    # ... an open one has none
    ({"status": "ANSWERED", "closedDate": "2026-11-01"}, "closedDate"),  # closed before received
    ({"territory": "123"}, "territory"),                             # ОКТМО has 8 or 11 digits
    ({"coordinates": {"lat": 91, "lon": 0}}, "coordinates.lat"),
])
def test_the_showcase_rejects_a_bad_item_alone_naming_the_field(api: Api, sim: PosSimulator, change: dict[str, object],
                                                                  field: str) -> None:
    bad = {**SHOWCASE_ITEM, "id": "pos:2", "number": "2", **change}
    response = api("POST", wire.PATH_SHOWCASE, json=[SHOWCASE_ITEM, bad])
    assert response.status_code == 200
    results = response.json()
    assert [(r["index"], r["accepted"]) for r in results] == [(0, True), (1, False)]
    assert results[1]["code"] == wire.ERR_VALIDATION and field in results[1]["message"]
    assert [item["id"] for item in sim.showcase_items()] == ["pos:1"]


def test_showcase_items_replace_themselves_by_id_and_a_body_that_is_no_array_is_refused(
        api: Api, sim: PosSimulator) -> None:
    missing = {k: v for k, v in SHOWCASE_ITEM.items() if k != "number"} | {"id": "pos:2"}
    results = api("POST", wire.PATH_SHOWCASE, json=[SHOWCASE_ITEM, missing, "text"]).json()
    assert [r["accepted"] for r in results] == [True, False, False]
    assert "number" in results[1]["message"]
    api("POST", wire.PATH_SHOWCASE, json=[{**SHOWCASE_ITEM, "status": "IN_WORK"}])
    assert [(i["id"], i["status"]) for i in sim.showcase_items()] == [("pos:1", "IN_WORK")]
    assert api("POST", wire.PATH_SHOWCASE, json={"id": "x"}).status_code == 400


def test_showcase_faults_reject_items_and_break_an_upload_halfway(api: Api, sim: PosSimulator,
                                                                  server: SimServer) -> None:
    items = [{**SHOWCASE_ITEM, "id": f"pos:{n}", "number": str(n)} for n in range(4)]
    _sim(server, "/_sim/faults", {"showcase_reject_next": 1})
    results = api("POST", wire.PATH_SHOWCASE, json=items).json()
    assert [(r["accepted"], r.get("code")) for r in results][:2] == [(False, "ITEM_REJECTED"), (True, None)]
    _sim(server, "/_sim/faults", {"showcase_partial_next": 1})
    sim.store.showcase.clear()
    assert api("POST", wire.PATH_SHOWCASE, json=items).status_code == 503
    assert [i["id"] for i in sim.showcase_items()] == ["pos:0", "pos:1"]  # the first half was stored


# --- faults and /_sim --------------------------------------------------------------------


def test_faults_hit_protocol_endpoints_only(sim: PosSimulator, server: SimServer, api: Api) -> None:
    sim.seed(1)
    api("GET", wire.PATH_CATEGORIES)  # token first
    spec = _sim(server, "/_sim/faults", {"fail_next": 1, "throttle_next": 1, "malformed_next": 1, "retry_after": 7})
    assert spec["remaining"]["fail"] == 1
    assert requests.get(server.url + "/_sim/state", timeout=5).status_code == 200  # not consumed by /_sim
    failed = api("GET", wire.PATH_APPEALS)
    assert failed.status_code == 503 and failed.json()["code"] == "SERVICE_UNAVAILABLE"
    throttled = api("GET", wire.PATH_APPEALS)
    assert throttled.status_code == 429 and throttled.headers["Retry-After"] == "7"
    garbled = api("GET", wire.PATH_APPEALS)
    assert garbled.status_code == 200
    with pytest.raises(ValueError):
        garbled.json()
    assert api("GET", wire.PATH_APPEALS).json()["items"]
    summary = _sim(server, "/_sim/state?summary=1")["summary"]
    assert summary["faultsInjected"] == {"fail": 1, "throttle": 1, "malformed": 1}
    assert summary["requests"]["appeals.list"] == 4
    assert _sim(server, "/_sim/faults")["spec"]["retry_after"] == 7
    bad = requests.post(server.url + "/_sim/faults", json={"nonsense": 1}, timeout=5)
    assert bad.status_code == 400


def test_summary_only_for_ten_thousand_appeals(server: SimServer) -> None:
    _sim(server, "/_sim/seed", {"count": 10_000, "min_attachment_kb": 1, "max_attachment_kb": 1})
    body = _sim(server, "/_sim/state?summary=1")
    assert set(body) == {"summary"} and body["summary"]["appeals"] == 10_000
    assert body["summary"]["byStatus"]["NEW"] == 10_000


def test_seed_rejects_bad_requests(server: SimServer) -> None:
    assert requests.post(server.url + "/_sim/seed", json={"count": -1}, timeout=5).status_code == 400
    assert requests.post(server.url + "/_sim/seed", json={"count": 1, "login": "nobody"}, timeout=5).status_code == 400


# --- faults that break a pull watermark ----------------------------------------------------


def test_clock_step_back_dates_changes_and_the_date_header_earlier(sim: PosSimulator, api: Api,
                                                                  server: SimServer) -> None:
    first = sim.seed(1)
    _sim(server, "/_sim/faults", {"clock_step_back": 600})
    later = sim.seed(1)
    items = {i["id"]: i["updatedAt"] for i in api("GET", wire.PATH_APPEALS).json()["items"]}
    assert items[later[0]] < items[first[0]], "a change after the step carries an earlier time"
    served = email.utils.parsedate_to_datetime(api("GET", wire.PATH_APPEALS).headers["Date"])
    assert 590 <= (datetime.now(UTC) - served).total_seconds() <= 610


def test_future_dated_change(sim: PosSimulator, api: Api, server: SimServer) -> None:
    _sim(server, "/_sim/faults", {"future_dated_next": 1, "future_seconds": 86400})
    future, normal = sim.seed(2)
    items = {i["id"]: datetime.fromisoformat(i["updatedAt"]) for i in api("GET", wire.PATH_APPEALS).json()["items"]}
    assert items[future] - items[normal] > timedelta(hours=23)


def test_visibility_spread_shows_changes_out_of_order(server: SimServer, api: Api, sim: PosSimulator) -> None:
    _sim(server, "/_sim/faults", {"visibility_spread": 1.0, "seed": 5})
    ids = sim.seed(20)
    time.sleep(0.3)
    seen = [i["id"] for i in api("GET", wire.PATH_APPEALS, params={"limit": 100}).json()["items"]]
    assert 0 < len(seen) < len(ids)
    assert any(ids.index(a) < ids.index(seen[-1]) for a in ids if a not in seen), "an older change still hidden"
    time.sleep(1.0)
    assert [i["id"] for i in api("GET", wire.PATH_APPEALS, params={"limit": 100}).json()["items"]] == ids


def test_endless_cursor_never_ends_the_listing(sim: PosSimulator, api: Api, server: SimServer) -> None:
    ids = sim.seed(3)
    _sim(server, "/_sim/faults", {"endless_cursor": True})
    cursors, pages = set(), []
    cursor = None
    for _ in range(5):
        page = api("GET", wire.PATH_APPEALS, params={"limit": 2, **({"cursor": cursor} if cursor else {})}).json()
        pages.append([i["id"] for i in page["items"]])
        cursor = page["nextCursor"]
        assert cursor and cursor not in cursors
        cursors.add(cursor)
    assert pages == [ids[:2], ids[2:], ids[2:], ids[2:], ids[2:]]
