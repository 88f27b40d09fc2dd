"""PosClient against the real POS simulator over loopback HTTP (no mocks)."""

from __future__ import annotations

import hashlib
import json
import math
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
import requests

from connector.domain import PosAttachmentRef, PosStatus, StoredFile
from connector.errors import AuthError, IntegrityError, RemoteRejected, TransientError
from connector.pos_client import PosClient, wire
from connector.pos_client.client import safe_file_name
from connector.simulators.pos import PosSimulator
from connector.simulators.pos.faults import PosFaultSpec
from connector.simulators.server import SimServer

Factory = Callable[..., PosClient]
PASSWORD = "demo-secret"  # the default simulator account (see conftest); must never leak


def _sha(chunks: Any) -> str:
    digest = hashlib.sha256()
    for chunk in chunks:
        digest.update(chunk)
    return digest.hexdigest()


def _appeal_state(sim: PosSimulator, pos_id: str) -> dict[str, Any]:
    return next(a for a in sim.state()["appeals"] if a["id"] == pos_id)


# --- wire.py -----------------------------------------------------------------------------

APPEAL_JSON = {
    "id": "12345678", "epguNumber": "5000000001", "source": "ЕПГУ", "orgId": "org-demo", "orgName": "Администрация",
    "category": {"id": "c01", "name": "Автомобильные дороги"}, "subcategory": {"id": "c01.01", "name": "Ямы"},
    "fact": {"id": "c01.01.01", "name": "Яма на дороге"}, "text": "Яма",
    "applicant": {"lastName": "Иванова", "firstName": "Анна", "middleName": "Петровна", "email": "a@b.ru"},
    "createdAt": "2024-05-01T10:00:00+03:00", "plannedDate": "2024-05-31", "status": "EXECUTOR_ASSIGNED",
    "statusLabel": "Назначен исполнитель", "fz59": True, "fastTrack": False, "rating": None,
    "attachments": [{"id": "f1", "name": "скан (1).pdf", "size": 10, "mimeType": "application/pdf"}],
    "updatedAt": "2024-05-02T10:00:00Z", "someFieldPosAddedLater": {"x": 1},
}


def test_to_pos_message_maps_every_field(tmp_path: Path) -> None:
    appeal = wire.decode(wire.WireAppeal, json.dumps(APPEAL_JSON), what="test")
    stored = (StoredFile(name="скан (1).pdf", size=10, sha256="0" * 64, path=tmp_path / "f1.pdf"),)
    msg = wire.to_pos_message("demo", appeal, stored)
    assert (msg.account, msg.pos_id, msg.epgu_number) == ("demo", "12345678", "5000000001")
    assert msg.category is not None and msg.category.id == "c01"
    assert msg.fact is not None and msg.fact.name == "Яма на дороге"
    assert msg.applicant.full_name == "Иванова Анна Петровна"
    assert msg.status is PosStatus.EXECUTOR_ASSIGNED and msg.fz59 and not msg.fast_track
    assert msg.planned_date == date(2024, 5, 31)
    assert msg.created_at.utcoffset() is not None and msg.attachments == stored
    assert appeal.attachments[0].ref() == PosAttachmentRef(id="f1", name="скан (1).pdf", size=10,
                                                           mime_type="application/pdf")


@pytest.mark.parametrize(("mutate", "field"), [
    (lambda d: d.pop("createdAt"), "createdAt"),
    (lambda d: d.update(status="SOMETHING"), "status"),
    (lambda d: d["applicant"].update(lastName=["x"]), "applicant.lastName"),
    (lambda d: d.update(updatedAt="2024-05-02T10:00:00"), "updatedAt"),  # no offset
])
def test_contract_violation_names_the_field_not_the_value(mutate: Callable[[dict[str, Any]], Any],
                                                          field: str) -> None:
    data = json.loads(json.dumps(APPEAL_JSON))
    mutate(data)
    with pytest.raises(TransientError, match=f"field '{field}'") as info:
        wire.decode(wire.WireAppeal, json.dumps(data), what="GET /v1/appeals/12345678")
    assert "Иванова" not in str(info.value) and "a@b.ru" not in str(info.value)


def test_garbled_json_is_transient() -> None:
    with pytest.raises(TransientError, match="malformed JSON"):
        wire.decode(wire.WireListPage, b'{"items": [{"id"', what="list")


def test_every_status_has_the_real_label() -> None:
    assert set(wire.STATUS_LABELS) == set(PosStatus)
    assert wire.STATUS_LABELS[PosStatus.DEADLINE_EXTENDED] == \
        "Перенос срока обработки утвержден. Отправлен ответ Заявителю"


@pytest.mark.parametrize(("att_id", "name", "expected"), [
    ("123-1", "Фото двора №3.jpg", "123-1.jpg"),
    ("123-2", "../../etc/passwd", "123-2"),
    ("123-3", "evil\x00.pdf", "123-3.pdf"),
    ("CON", "x.txt", "_CON.txt"),
    ("123-4", "archive.tar.GZ", "123-4.gz"),
    ("123-5", "a.exe\\..\\b", "123-5"),
])
def test_safe_file_name(att_id: str, name: str, expected: str) -> None:
    assert safe_file_name(att_id, name) == expected


def test_hostile_attachment_id_still_gives_a_plain_name() -> None:
    name = safe_file_name("../x/..", "a.pdf")
    assert "/" not in name and ".." not in name.removesuffix(".pdf") and name.endswith(".pdf")


# --- listing and tokens ------------------------------------------------------------------


def test_paging_returns_every_seeded_appeal(sim: PosSimulator, server: SimServer, make_client: Factory,
                                            sim_requests: Callable[[], dict[str, int]]) -> None:
    ids = sim.seed(23)
    items = list(make_client(server.url, page_size=5).list_changes(None))
    assert [i.id for i in items] == ids  # seeded in order → listed in (updatedAt, id) order
    assert sim_requests()["appeals.list"] == math.ceil(23 / 5)


def test_appeal_touched_between_pages_is_listed_again(sim: PosSimulator, server: SimServer,
                                                      make_client: Factory) -> None:
    ids = sim.seed(12)
    it = make_client(server.url, page_size=5).list_changes(None)
    first_page = [next(it) for _ in range(5)]
    sim.touch(first_page[0].id)
    rest = list(it)
    seen = [i.id for i in first_page + rest]
    assert set(seen) == set(ids) and seen.count(first_page[0].id) == 2
    assert seen[-1] == first_page[0].id and rest[-1].updated_at > first_page[0].updated_at


def test_each_listing_page_carries_the_pos_servers_own_time(sim: PosSimulator, client: PosClient) -> None:
    sim.seed(3)
    (page,) = client.list_pages(None)
    assert page.server_date is not None and abs((datetime.now(UTC) - page.server_date).total_seconds()) < 5
    sim.set_faults(PosFaultSpec(clock_step_back=600))  # the signpost follows POS's clock, not ours
    (page,) = client.list_pages(None)
    assert page.server_date is not None and 595 < (datetime.now(UTC) - page.server_date).total_seconds() < 605


def test_updated_since_is_inclusive(sim: PosSimulator, client: PosClient) -> None:
    sim.seed(6)
    all_items = list(client.list_changes(None))
    later = list(client.list_changes(all_items[3].updated_at))
    assert [i.id for i in later] == [i.id for i in all_items[3:]]
    with pytest.raises(ValueError, match="timezone"):
        list(client.list_changes(datetime(2024, 1, 1)))  # noqa: DTZ001


def test_duplicate_pages_repeat_items_but_cover_everything(sim: PosSimulator, server: SimServer,
                                                           make_client: Factory, set_faults: Callable[..., Any]) -> None:
    ids = sim.seed(10)
    set_faults(duplicate_pages=1.0)
    seen = [i.id for i in make_client(server.url, page_size=3).list_changes(None)]
    assert set(seen) == set(ids) and len(seen) > len(ids)


def test_same_cursor_twice_raises_instead_of_looping(make_client: Factory) -> None:
    def stuck(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        if environ["PATH_INFO"] == wire.PATH_TOKEN:
            body = {"access_token": "t", "expires_in": 60}
        else:
            body = {"items": [{"id": "1", "status": "NEW", "updatedAt": "2024-01-01T00:00:00Z"}], "nextCursor": "c1"}
        start_response("200 OK", [("Content-Type", "application/json")])
        return [json.dumps(body).encode()]

    with SimServer(stuck) as srv, pytest.raises(TransientError, match="same cursor"):
        list(make_client(srv.url).list_changes(None))


def test_revoked_token_mid_listing_costs_a_refresh_not_data(sim: PosSimulator, server: SimServer,
                                                            make_client: Factory,
                                                            sim_requests: Callable[[], dict[str, int]]) -> None:
    ids = sim.seed(9)
    it = make_client(server.url, page_size=4).list_changes(None)
    got = [next(it) for _ in range(4)]
    sim.revoke_tokens()
    got += list(it)
    assert [i.id for i in got] == ids
    counts = sim_requests()
    assert counts["auth.token"] == 2 and counts["appeals.list"] == 3 + 1  # one page repeated after the 401


def test_token_is_refreshed_before_it_expires(sim: PosSimulator, server: SimServer, make_client: Factory,
                                              set_faults: Callable[..., Any],
                                              sim_requests: Callable[[], dict[str, int]]) -> None:
    sim.seed(2)
    set_faults(token_ttl=100)
    client = make_client(server.url)
    now = [1000.0]
    client._tokens.clock = lambda: now[0]
    client.categories()
    now[0] += 95  # inside the early-refresh margin
    client.categories()
    counts = sim_requests()
    assert counts["auth.token"] == 2 and counts["categories"] == 2  # no 401 round trip


def test_short_lived_tokens_expire_on_the_server(sim: PosSimulator, server: SimServer, client: PosClient,
                                                 set_faults: Callable[..., Any],
                                                 sim_requests: Callable[[], dict[str, int]]) -> None:
    ids = sim.seed(3)
    set_faults(token_ttl=0.05)
    client.get_appeal(ids[0])
    client._tokens.clock = lambda: 0.0  # the client believes its token is still fresh
    time.sleep(0.1)
    assert client.get_appeal(ids[1]).id == ids[1]
    assert sim_requests()["auth.token"] == 2


def test_second_401_is_an_auth_error_without_secrets(sim: PosSimulator, make_client: Factory) -> None:
    tokens = []

    def refusing(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        if environ["PATH_INFO"] == wire.PATH_TOKEN:
            def capture(status: str, headers: list[tuple[str, str]], *a: Any) -> Any:
                return start_response(status, headers, *a)
            body = b"".join(sim(environ, capture))
            tokens.append(json.loads(body)["access_token"])
            return [body]
        start_response("401 Unauthorized", [("Content-Type", "application/json")])
        return [b'{"code": "UNAUTHORIZED", "message": "no"}']

    with SimServer(refusing) as srv, pytest.raises(AuthError, match="'demo'") as info:
        make_client(srv.url).categories()
    assert len(tokens) == 2
    text = f"{info.value} {info.value.detail}"
    assert PASSWORD not in text and all(t not in text for t in tokens)


def test_wrong_password_is_an_auth_error(server: SimServer, make_client: Factory) -> None:
    with pytest.raises(AuthError, match="login rejected") as info:
        make_client(server.url, password="wrong-pass").categories()
    assert "wrong-pass" not in str(info.value)


# --- faults ------------------------------------------------------------------------------


@pytest.mark.parametrize("fault", ["throttle_next", "fail_next"])
def test_three_faults_cost_retries_and_the_call_succeeds(sim: PosSimulator, client: PosClient, fault: str,
                                                         set_faults: Callable[..., Any],
                                                         sim_requests: Callable[[], dict[str, int]]) -> None:
    pos_id = sim.seed(1)[0]
    client.categories()  # token first, so the faults hit the call under test
    set_faults(**{fault: 3, "retry_after": 0})
    assert client.get_appeal(pos_id).id == pos_id
    assert sim_requests()["appeals.get"] == 4


def test_faults_beyond_max_attempts_are_transient(sim: PosSimulator, client: PosClient,
                                                  set_faults: Callable[..., Any]) -> None:
    pos_id = sim.seed(1)[0]
    client.categories()
    set_faults(fail_next=4)
    with pytest.raises(TransientError, match="HTTP 503"):
        client.get_appeal(pos_id)
    assert client.get_appeal(pos_id).id == pos_id


def test_malformed_body_is_transient(sim: PosSimulator, client: PosClient, set_faults: Callable[..., Any]) -> None:
    pos_id = sim.seed(1)[0]
    client.categories()
    set_faults(malformed_next=1)
    with pytest.raises(TransientError, match="malformed"):
        client.get_appeal(pos_id)


def test_unreachable_server_is_transient(make_client: Factory) -> None:
    with pytest.raises(TransientError, match="ConnectionError"):
        make_client("http://127.0.0.1:9").categories()


def test_unknown_appeal_is_rejected_with_the_code(client: PosClient) -> None:
    with pytest.raises(RemoteRejected) as info:
        client.get_appeal("999")
    assert (info.value.status, info.value.code) == (404, "NOT_FOUND")


# --- downloads ---------------------------------------------------------------------------


def test_truncated_download_leaves_nothing_and_a_retry_succeeds(sim: PosSimulator, server: SimServer,
                                                                client: PosClient, tmp_path: Path,
                                                                set_faults: Callable[..., Any]) -> None:
    pos_id = sim.seed(1)[0]
    file_id = sim.add_attachment(pos_id, "скан заявления (1).pdf", 300_000)
    att = next(a for a in client.get_appeal(pos_id).attachments if a.id == file_id).ref()
    dest = tmp_path / "files"
    set_faults(truncate_next=1)
    with pytest.raises(TransientError, match="broke off"):
        client.download_attachment(pos_id, att, dest)
    assert list(dest.iterdir()) == []
    stored = client.download_attachment(pos_id, att, dest)
    token = requests.post(server.url + wire.PATH_TOKEN, json={"login": "lko-demo", "password": "demo-secret"},
                          timeout=5).json()["access_token"]
    direct = requests.get(server.url + wire.PATH_FILE.format(id=pos_id, file_id=file_id),
                          headers={"Authorization": f"Bearer {token}"}, timeout=5).content
    assert stored.sha256 == hashlib.sha256(direct).hexdigest() == hashlib.sha256(stored.path.read_bytes()).hexdigest()
    assert (stored.size, stored.name, stored.mime_type) == (300_000, "скан заявления (1).pdf", "application/pdf")
    assert list(dest.iterdir()) == [stored.path]


def test_announced_size_mismatch_is_an_integrity_error(sim: PosSimulator, client: PosClient, tmp_path: Path) -> None:
    pos_id = sim.seed(1)[0]
    file_id = sim.add_attachment(pos_id, "a.pdf", 5000)
    for wrong in (4999, 5001):
        with pytest.raises(IntegrityError, match="announced"):
            client.download_attachment(pos_id, PosAttachmentRef(id=file_id, name="a.pdf", size=wrong), tmp_path)
    with pytest.raises(RemoteRejected, match="404"):
        client.download_attachment(pos_id, PosAttachmentRef(id="nope", name="a.pdf", size=1), tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_hostile_and_unicode_names_are_stored_under_safe_paths(sim: PosSimulator, client: PosClient,
                                                               tmp_path: Path) -> None:
    pos_id = sim.seed(1)[0]
    names = ["../../etc/passwd", "evil\x00name.pdf", "Фото двора №3.jpg", "a/b\\c.exe", "..", "CON", "  .jpg"]
    file_ids = {sim.add_attachment(pos_id, name, 1000 + i): name for i, name in enumerate(names)}
    dest = tmp_path / "a" / "b"  # created on demand
    stored = [client.download_attachment(pos_id, a.ref(), dest)
              for a in client.get_appeal(pos_id).attachments if a.id in file_ids]
    assert sorted(s.name for s in stored) == sorted(names)
    assert len({s.path for s in stored}) == len(names)
    for s in stored:
        assert s.path.parent == dest and s.path.is_file() and s.path.stat().st_size == s.size
        assert "\x00" not in str(s.path) and not s.path.name.startswith(".")
    assert sorted(p.name for p in dest.iterdir()) == sorted(s.path.name for s in stored)


def test_twenty_megabyte_attachment(sim: PosSimulator, client: PosClient, tmp_path: Path) -> None:
    pos_id = sim.seed(1, large_attachment_every=1, large_attachment_mb=20, max_attachment_kb=2)[0]
    att = max(client.get_appeal(pos_id).attachments, key=lambda a: a.size)
    assert att.size == 20 * 1024 * 1024
    stored = client.download_attachment(pos_id, att.ref(), tmp_path)
    assert stored.size == att.size and stored.path.stat().st_size == att.size
    assert stored.sha256 == _sha(sim.attachment_bytes(pos_id, att.id))


# --- writing -----------------------------------------------------------------------------


def test_status_transitions(sim: PosSimulator, client: PosClient) -> None:
    pos_id = sim.seed(1)[0]
    client.set_status(pos_id, PosStatus.EXECUTOR_ASSIGNED, idempotency_key="k1", executor="Петров П.П.")
    client.set_status(pos_id, PosStatus.EXECUTOR_ASSIGNED, idempotency_key="k2")  # repeat: no-op
    assert client.current_status(pos_id) is PosStatus.EXECUTOR_ASSIGNED
    assert len(_appeal_state(sim, pos_id)["statusHistory"]) == 2  # NEW + one change
    with pytest.raises(RemoteRejected) as info:
        client.set_status(pos_id, PosStatus.NEW, idempotency_key="k3")
    assert (info.value.status, info.value.code) == (409, "INVALID_TRANSITION")
    client.set_status(pos_id, PosStatus.DEADLINE_EXTENDED, idempotency_key="k4", planned_date=date(2030, 1, 31),
                      comment="продлено")
    appeal = client.get_appeal(pos_id)
    assert appeal.status is PosStatus.DEADLINE_EXTENDED and appeal.planned_date == date(2030, 1, 31)
    assert appeal.status_label == wire.STATUS_LABELS[PosStatus.DEADLINE_EXTENDED]


def test_idempotency_key_replay_has_no_second_effect(sim: PosSimulator, client: PosClient) -> None:
    pos_id = sim.seed(1)[0]
    client.set_status(pos_id, PosStatus.EXECUTOR_ASSIGNED, idempotency_key="assign-1")
    client.set_status(pos_id, PosStatus.DEADLINE_EXTENDED, idempotency_key="extend-1")
    client.set_status(pos_id, PosStatus.EXECUTOR_ASSIGNED, idempotency_key="assign-1")  # replay, not a 409
    assert client.current_status(pos_id) is PosStatus.DEADLINE_EXTENDED


def test_a_key_pos_took_with_other_details_counts_as_delivered(sim: PosSimulator, client: PosClient,
                                                               caplog: pytest.LogCaptureFixture) -> None:
    """A restored store re-sends a status whose first send it no longer knows of, and the card's executor
    changed meanwhile: POS keeps the first write under our key (422 IDEMPOTENCY_KEY_REUSED).  The status
    is set, so the write is done -- not a refusal that leaves the message short of its answer."""
    pos_id = sim.seed(1)[0]
    client.set_status(pos_id, PosStatus.EXECUTOR_ASSIGNED, idempotency_key="assign-1", executor="Петров П.П.")
    with caplog.at_level("WARNING"):
        client.set_status(pos_id, PosStatus.EXECUTOR_ASSIGNED, idempotency_key="assign-1", executor="Сидоров С.С.")
    assert client.current_status(pos_id) is PosStatus.EXECUTOR_ASSIGNED
    assert len(_appeal_state(sim, pos_id)["statusHistory"]) == 2  # NEW + the first write only
    assert "already took this write" in caplog.text and "Сидоров" not in caplog.text


def _answer_files(tmp_path: Path) -> list[tuple[str, Path, str]]:
    (tmp_path / "a.pdf").write_bytes(b"%PDF-1.7 answer" * 5000)
    (tmp_path / "b.jpg").write_bytes(bytes(range(256)) * 10)
    return [("Ответ на обращение №1.pdf", tmp_path / "a.pdf", "application/pdf"),
            ("фото \"после\".jpg", tmp_path / "b.jpg", "image/jpeg")]


def test_answer_twice_stores_exactly_one_answer(sim: PosSimulator, client: PosClient, tmp_path: Path) -> None:
    pos_id = sim.seed(1)[0]
    client.set_status(pos_id, PosStatus.EXECUTOR_ASSIGNED, idempotency_key="s1")
    files = _answer_files(tmp_path)
    for key in ("ans-1", "ans-2"):
        client.send_answer(pos_id, text="Яма заделана.", decision="Поддержано", signer="Глава Демо",
                           answer_date=date(2024, 6, 1), files=files, idempotency_key=key)
    state = _appeal_state(sim, pos_id)
    assert state["status"] == "ANSWERED" and len(state["answers"]) == 1
    answer = state["answers"][0]
    assert (answer["text"], answer["decision"], answer["signer"], answer["date"]) == \
        ("Яма заделана.", "Поддержано", "Глава Демо", "2024-06-01")
    assert [(f["name"], f["size"], f["sha256"]) for f in answer["files"]] == [
        (name, path.stat().st_size, hashlib.sha256(path.read_bytes()).hexdigest()) for name, path, _ in files]


def test_answer_lost_response_then_retry_with_same_key(sim: PosSimulator, client: PosClient, tmp_path: Path,
                                                       set_faults: Callable[..., Any]) -> None:
    pos_id = sim.seed(1)[0]
    client.set_status(pos_id, PosStatus.EXECUTOR_ASSIGNED, idempotency_key="s1")
    set_faults(malformed_next=1)
    kwargs: dict[str, Any] = {"text": "Ответ", "decision": "Разъяснено", "signer": "Глава",
                              "answer_date": date(2024, 6, 1), "files": _answer_files(tmp_path),
                              "idempotency_key": "ans-1"}
    client.send_answer(pos_id, **kwargs)  # the garbled 200 body is not read: success is the status code
    client.send_answer(pos_id, **kwargs)
    assert len(_appeal_state(sim, pos_id)["answers"]) == 1


def test_answer_from_new_is_rejected(sim: PosSimulator, client: PosClient) -> None:
    pos_id = sim.seed(1)[0]
    with pytest.raises(RemoteRejected) as info:
        client.send_answer(pos_id, text="t", decision="d", signer="s", answer_date=date(2024, 6, 1), files=[],
                           idempotency_key="a")
    assert (info.value.status, info.value.code) == (409, "INVALID_TRANSITION")


def test_redirect(sim: PosSimulator, client: PosClient) -> None:
    pos_id = sim.seed(1)[0]
    client.redirect(pos_id, target_org_id="org-school-5", comment="по компетенции", idempotency_key="r1")
    client.redirect(pos_id, target_org_id="org-school-5", comment="по компетенции", idempotency_key="r2")
    assert client.current_status(pos_id) is PosStatus.REDIRECTED_SUBORDINATE
    assert [r["targetOrgId"] for r in _appeal_state(sim, pos_id)["redirects"]] == ["org-school-5"]
    with pytest.raises(RemoteRejected, match="409"):
        client.redirect(pos_id, target_org_id="org-other", comment="", idempotency_key="r3")


def test_moderation_rejected_appeal_cannot_be_assigned(sim: PosSimulator, client: PosClient) -> None:
    pos_id = sim.seed(1)[0]
    sim.moderate_reject(pos_id)
    assert client.current_status(pos_id) is PosStatus.MODERATION_REJECTED
    with pytest.raises(RemoteRejected, match="INVALID_TRANSITION"):
        client.set_status(pos_id, PosStatus.EXECUTOR_ASSIGNED, idempotency_key="x")


def test_categories(client: PosClient) -> None:
    cats = client.categories()
    assert {c.level for c in cats} == {1, 2, 3}
    assert {"Медицина", "Мусор", "Выплаты и пособия"} <= {c.name for c in cats if c.level == 1}
    lighting = [c for c in cats if c.name == "Освещение"]
    assert len(lighting) >= 2 and len({c.parent_id for c in lighting}) == len(lighting)


def test_list_items_are_aware(sim: PosSimulator, client: PosClient) -> None:
    sim.seed(1)
    (item,) = client.list_changes(datetime(2000, 1, 1, tzinfo=UTC))
    assert item.status is PosStatus.NEW and item.updated_at.tzinfo is not None
