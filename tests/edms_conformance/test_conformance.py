"""One conformance suite for every EDMS adapter, each against its simulator.

An adapter is loaded by name through the entry-point group, exactly as the daemon does,
so the third-party example adapter (tests/thirdparty) is held to the same checks.
"""

from __future__ import annotations

import hashlib
import importlib
import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from connector.domain import Applicant, CardStage, ControlTaskRequest, PosCategoryRef, PosMessage, StoredFile
from connector.edms_adapters.base import (
    CREATE_CONTROL_TASK,
    ControlTaskCapable,
    EdmsAdapter,
    capabilities_of,
    supports_control_tasks,
)
from connector.edms_adapters.registry import available_adapters, create_adapter
from connector.errors import AuthError, ConnectorError, FatalAdapterError, ForeignCardError

from harness import EdmsHarness, test_context

pytestmark = pytest.mark.date_sensitive  # every adapter dates registrations and deadlines from the body's today

HARNESSES = ["onec_dm", "medo", "directum_rx", "example_edms"]


@pytest.fixture(params=HARNESSES)
def harness(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[EdmsHarness]:
    module = importlib.import_module(f"harness_{request.param}")
    h: EdmsHarness = module.make_harness(tmp_path)
    yield h
    h.close()


def _adapter(harness: EdmsHarness, tmp_path: Path, settings: dict | None = None) -> EdmsAdapter:
    return create_adapter(settings or harness.settings(), test_context(tmp_path / "adapter"))


def _file(tmp_path: Path, name: str, content: bytes) -> StoredFile:
    path = tmp_path / "files" / hashlib.sha256(name.encode()).hexdigest()[:16]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return StoredFile(name=name, size=len(content), sha256=hashlib.sha256(content).hexdigest(), path=path)


def _message(pos_id: str, files: tuple[StoredFile, ...] = ()) -> PosMessage:
    now = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)
    return PosMessage(account="conformance", pos_id=pos_id, text="Во дворе дома не вывозят мусор третью неделю.",
                      category=PosCategoryRef(id="10", name="Мусор"),
                      applicant=Applicant(last_name="Кузнецова", first_name="Анна", middle_name="Петровна"),
                      created_at=now, updated_at=now, attachments=files)


def _open_card(harness: EdmsHarness, tmp_path: Path, pos_id: str) -> tuple[EdmsAdapter, object]:
    adapter = _adapter(harness, tmp_path)
    ref = adapter.create_card(_message(pos_id))
    harness.process()
    return adapter, ref


def test_every_registered_adapter_has_a_harness() -> None:
    assert set(HARNESSES) == set(available_adapters())


def test_create_twice_makes_one_card_with_byte_exact_attachments(harness: EdmsHarness, tmp_path: Path) -> None:
    files = (
        _file(tmp_path, "Фото двора №3.jpg", os.urandom(40_000)),
        _file(tmp_path, "скан заявления (1).pdf", b"%PDF-1.4\n" + os.urandom(5_000)),
        _file(tmp_path, "большой архив.zip", os.urandom(30 * 1024 * 1024)),
    )
    adapter = _adapter(harness, tmp_path)
    first = adapter.create_card(_message("9001001", files))
    second = adapter.create_card(_message("9001001", files))
    harness.process()
    assert first == second
    assert harness.cards_for("9001001") == 1
    assert sorted(sha for _, sha in harness.card_files("9001001")) == sorted(f.sha256 for f in files)
    assert {name for name, _ in harness.card_files("9001001")} >= {"Фото двора №3.jpg", "скан заявления (1).pdf"}


def test_registration_executor_deadline_extension(harness: EdmsHarness, tmp_path: Path) -> None:
    adapter, ref = _open_card(harness, tmp_path, "9001002")
    registered = adapter.get_card(ref)  # type: ignore[arg-type]
    assert registered.registration_number and registered.registration_date is not None

    harness.act("assign", "9001002")
    in_work = adapter.get_card(ref)  # type: ignore[arg-type]
    assert in_work.stage == CardStage.IN_WORK
    assert in_work.executors and in_work.deadline is not None

    harness.act("extend", "9001002", days=30)
    extended = adapter.get_card(ref)  # type: ignore[arg-type]
    assert extended.stage == CardStage.EXTENDED
    assert extended.deadline is not None and extended.deadline > in_work.deadline


def test_answer_is_observed_and_fetched(harness: EdmsHarness, tmp_path: Path) -> None:
    adapter, ref = _open_card(harness, tmp_path, "9001003")
    assert adapter.fetch_answer(ref) is None  # type: ignore[arg-type]
    harness.act("assign", "9001003")
    harness.act("answer", "9001003")
    assert adapter.get_card(ref).stage == CardStage.ANSWER_READY  # type: ignore[arg-type]
    answer = adapter.fetch_answer(ref)  # type: ignore[arg-type]
    assert answer is not None and answer.text and answer.signer
    assert answer.files and all(f.content and f.name for f in answer.files)


def test_redirect_is_observed(harness: EdmsHarness, tmp_path: Path) -> None:
    adapter, ref = _open_card(harness, tmp_path, "9001004")
    harness.act("redirect", "9001004", org_id="org-subordinate-7", comment="По компетенции")
    state = adapter.get_card(ref)  # type: ignore[arg-type]
    assert (state.stage, state.redirect_org_id) == (CardStage.REDIRECTED, "org-subordinate-7")


def test_health_names_bad_credentials_and_unreachable_endpoint(harness: EdmsHarness, tmp_path: Path) -> None:
    _adapter(harness, tmp_path).health()
    with pytest.raises((AuthError, FatalAdapterError)) as bad:
        _adapter(harness, tmp_path, harness.bad_credentials_settings()).health()
    assert bad.value.operator_message
    with pytest.raises(FatalAdapterError) as unreachable:
        _adapter(harness, tmp_path, harness.unreachable_settings()).health()
    assert unreachable.value.operator_message
    for exc in (bad.value, unreachable.value):
        assert "wrong-password" not in str(exc) and "wrong" not in exc.operator_message.split()


def test_transient_faults_cost_retries_not_duplicates(harness: EdmsHarness, tmp_path: Path) -> None:
    files = (_file(tmp_path, "a.txt", b"attachment"),)
    adapter = _adapter(harness, tmp_path)
    harness.transient_burst(2)
    try:
        adapter.create_card(_message("9001005", files))
    except ConnectorError:
        adapter.create_card(_message("9001005", files))  # the pipeline's next attempt
    harness.process()
    assert harness.cards_for("9001005") == 1
    assert [sha for _, sha in harness.card_files("9001005")] == [files[0].sha256]


def test_foreign_card_under_our_id_is_refused_not_linked(harness: EdmsHarness, tmp_path: Path) -> None:
    harness.hold_foreign_card("conformance", "9001006", owner_pos_id="9001999")
    adapter = _adapter(harness, tmp_path)
    message = _message("9001006", (_file(tmp_path, "b.txt", b"the other message's attachment"),))
    for _ in range(2):  # the pipeline's next attempt meets the same card and says the same
        with pytest.raises(ForeignCardError) as refused:
            adapter.create_card(message)
        assert (refused.value.owner_pos_id, refused.value.pos_id) == ("9001999", "9001006")
        assert "9001999" in refused.value.operator_message and "9001006" in refused.value.operator_message
    harness.process()
    assert harness.cards_for("9001006") == 0, "no second card under the other message's id"
    assert harness.cards_for("9001999") == 1
    assert harness.card_files("9001999") == [], "the owner's card must not gain this message's files"


def test_every_executor_is_reported_with_its_unit_and_own_term(harness: EdmsHarness, tmp_path: Path) -> None:
    """Issue 14: a responsible executor and a co-executor of another unit, each with its own term; when
    one finishes, its completion time shows while the other is still open."""
    if not getattr(harness, "own_executor_terms", False):
        pytest.skip(f"{harness.adapter_name}: the system carries no executor's own term")
    adapter, ref = _open_card(harness, tmp_path, "9001009")
    today = datetime.now(UTC).date()
    first, second = today - timedelta(days=2), today + timedelta(days=20)  # the first one ran late
    harness.act("assign", "9001009", executor="Иванова Мария Сергеевна", department="Отдел благоустройства",
                due_date=first.isoformat())
    harness.act("assign", "9001009", executor="Соколова Ольга Николаевна", department="Управление ЖКХ",
                due_date=second.isoformat(), responsible=False)
    harness.act("complete", "9001009", executor="Иванова Мария Сергеевна")
    state = adapter.get_card(ref)  # type: ignore[arg-type]
    by_name = {e.name: e for e in state.executors}
    assert set(by_name) == {"Иванова Мария Сергеевна", "Соколова Ольга Николаевна"}
    done, open_ = by_name["Иванова Мария Сергеевна"], by_name["Соколова Ольга Николаевна"]
    assert (done.department, done.due, done.responsible) == ("Отдел благоустройства", first, True)
    assert (open_.department, open_.due, open_.responsible) == ("Управление ЖКХ", second, False)
    assert done.done_at is not None and done.done_at.tzinfo is not None and open_.done_at is None


def test_a_control_task_is_created_once_per_key_and_only_by_an_adapter_that_claims_it(
        harness: EdmsHarness, tmp_path: Path) -> None:
    adapter, ref = _open_card(harness, tmp_path, "9001007")
    held = harness.control_tasks_for("9001007")
    assert supports_control_tasks(adapter) == (held is not None)
    # declared in the capability mechanism exactly when implemented; an adapter without it says why
    offered = capabilities_of(adapter)[CREATE_CONTROL_TASK]
    assert offered.startswith("no: ") != isinstance(adapter, ControlTaskCapable), offered
    assert offered != "no: not offered by this adapter"
    if held is None:
        return
    assert held == []
    low = ControlTaskRequest(key="pos-connector:control:conformance:9001007:rating", reason="rating", rating=1,
                             text="Заявитель оценил ответ на 1 из 5: на контроль куратору.")
    first = adapter.create_control_task(ref, low)  # type: ignore[attr-defined]
    again = adapter.create_control_task(ref, low)  # type: ignore[attr-defined]  # a crash, a lost reply
    harness.transient_burst(2)
    try:
        third = _adapter(harness, tmp_path).create_control_task(ref, low)  # type: ignore[attr-defined]
    except ConnectorError:
        third = _adapter(harness, tmp_path).create_control_task(ref, low)  # type: ignore[attr-defined]
    harness.process()
    assert first == again == third
    assert harness.control_tasks_for("9001007") == [low.text]
    repeat = low.model_copy(update={"key": low.key.replace("rating", "repeat:9001008"), "reason": "repeat",
                                    "text": "Повторное обращение № 9001008: на контроль куратору."})
    assert adapter.create_control_task(ref, repeat) != first  # type: ignore[attr-defined]
    harness.process()
    assert sorted(harness.control_tasks_for("9001007") or []) == sorted([low.text, repeat.text])
