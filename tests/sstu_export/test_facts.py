"""Stored message + card + answer → what ССТУ is told (pure), and the [sstu] settings."""

from __future__ import annotations

import base64
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from connector.config import settings_from_mapping
from connector.domain import Applicant, CardStage, PosCategoryRef, PosMessage
from connector.errors import ConfigError, DataError
from connector.sstu_export.bodies import load_bodies_file
from connector.sstu_export.builder import SstuBuilder
from connector.sstu_export.facts import (
    AppealSnapshot,
    StoredAnswer,
    StoredAnswerFile,
    StoredCard,
    appeal_facts,
)

MSK = ZoneInfo("Europe/Moscow")
DEPT = "5a0c8f2e-3b7d-4e61-9c2a-0d5e7f1b2c3d"
OTHER = "9b1deb4d-3b7d-4bad-9bdd-2b0d7b3dcb6d"


def _snap(tmp_path: Path, stage: CardStage, *, answer: bool = False, number: str = "ВХ-1", decision: str = "",
          redirect_to: str = "") -> AppealSnapshot:
    message = PosMessage(
        account="demo", pos_id="p1", created_at=datetime(2026, 11, 2, 21, 30, tzinfo=UTC),  # 3 Nov in Moscow
        updated_at=datetime(2026, 11, 3, tzinfo=UTC),
        category=PosCategoryRef(id="c01", name="Автомобильные дороги"),
        subcategory=PosCategoryRef(id="c01.01", name="Ямы и выбоины"),
        applicant=Applicant(last_name="Иванова", first_name="Анна", middle_name="Петровна", email="a@example.ru"))
    stored_answer = None
    if answer:
        file = tmp_path / "answer.pdf"
        file.write_bytes(b"%PDF-1.4 answer")
        stored_answer = StoredAnswer(date=date(2026, 11, 10), decision=decision,
                                     files=(StoredAnswerFile(name="Ответ.pdf", path=file),))
    card = StoredCard(stage=stage, registration_number=number, registration_date=date(2026, 11, 3),
                      created_at=datetime(2026, 11, 3, 6, tzinfo=UTC),
                      checked_at=datetime(2026, 11, 12, 22, tzinfo=UTC), redirect_org_id=redirect_to)
    return AppealSnapshot(message_id=1, department_id=DEPT, message=message, card=card, answer=stored_answer)


def _build(snap: AppealSnapshot, **builder: object) -> dict:
    facts = appeal_facts(snap, MSK)
    assert facts is not None
    built = SstuBuilder(lambda ids: "0003.0009.0099.0742" if ids[0] == "c01" else None,
                        today=date(2026, 11, 20), **builder).build(facts)  # type: ignore[arg-type]
    return built.document


@pytest.mark.parametrize(("stage", "answer", "decision", "status"), [
    (CardStage.REGISTERED, False, "", "InWork"),
    (CardStage.IN_WORK, False, "", "InWork"),
    (CardStage.ANSWER_READY, False, "", "InWork"),  # announced, not stored yet: still in work
    (CardStage.ANSWER_READY, True, "Разъяснено", "Explained"),
    (CardStage.ANSWER_READY, True, "Поддержано", "Supported"),
    (CardStage.ANSWER_READY, True, "Не поддержано", "NotSupported"),
    (CardStage.ANSWER_READY, True, "", "Answered"),
    (CardStage.REFUSED, False, "", "LeftWithoutAnswer"),
])
def test_the_card_stage_and_answer_decide_the_status(tmp_path: Path, stage: CardStage, answer: bool,
                                                     decision: str, status: str) -> None:
    doc = _build(_snap(tmp_path, stage, answer=answer, decision=decision))
    [question] = doc["questions"]
    assert question["status"] == status
    assert (doc["number"], doc["isDirect"], doc["format"]) == ("ВХ-1", True, "Other")
    assert doc["name"] == "Иванова Анна Петровна"
    # POS received it at 00:30 Moscow time on the 3rd: the body's calendar, not UTC's
    assert question["incomingDate"] == "2026-11-03"
    assert question["registrationDate"] == "2026-11-03"
    if answer:
        assert question["responseDate"] == "2026-11-10"
        assert question["attachment"]["name"] == "Ответ.pdf"
    if stage is CardStage.REFUSED:
        assert question["responseDate"] == "2026-11-13"  # when we saw it closed, Moscow date


def test_an_answer_queued_without_a_file_gives_sstu_its_text_as_the_file(tmp_path: Path) -> None:
    """A body answering with text alone (answer_requires_file = false): POS got the text, so
    ССТУ must report the answer too, not refuse it for lack of a file."""
    snap = _snap(tmp_path, CardStage.ANSWER_READY).model_copy(update={"answer": StoredAnswer(
        date=date(2026, 11, 10), decision="Разъяснено", text="Уважаемая Анна Петровна! Яма заделана.")})
    [question] = _build(snap)["questions"]
    assert question["status"] == "Explained"
    assert question["attachment"]["name"] == "Ответ.txt"
    assert base64.b64decode(question["attachment"]["content"]).decode() == "Уважаемая Анна Петровна! Яма заделана."
    with_file = _build(_snap(tmp_path, CardStage.ANSWER_READY, answer=True, decision="Разъяснено"))
    assert with_file["questions"][0]["attachment"]["name"] == "Ответ.pdf"  # a real file always wins


def test_the_extended_term_is_in_work_and_carries_is_extend_only_when_configured(tmp_path: Path) -> None:
    # isExtend comes from one public sender only: by default an extended term is plain InWork
    [plain] = _build(_snap(tmp_path, CardStage.EXTENDED))["questions"]
    assert plain["status"] == "InWork" and "isExtend" not in plain
    [question] = _build(_snap(tmp_path, CardStage.EXTENDED), send_is_extend=True)["questions"]
    assert (question["status"], question["isExtend"]) == ("InWork", True)


@pytest.mark.parametrize(("names", "sent"), [
    (("ответ.pdf.sig", "ответ.pdf"), "ответ.pdf"),              # a detached signature is never the answer
    (("приложение.xlsx", "ответ.docx", "ответ.pdf"), "ответ.pdf"),  # the PDF wins
    (("письмо.odt", "фото.jpg"), "письмо.odt"),                 # a document before anything else
    (("scan1.jpg", "scan2.jpg"), "scan1.jpg"),                  # ties: the EDMS's order
])
def test_one_answer_file_is_chosen_by_the_stated_rule(tmp_path: Path, names: tuple[str, ...], sent: str) -> None:
    files = []
    for name in names:
        path = tmp_path / name
        path.write_bytes(b"%PDF-1.4 " + name.encode())
        files.append(StoredAnswerFile(name=name, path=path))
    snap = _snap(tmp_path, CardStage.ANSWER_READY).model_copy(update={"answer": StoredAnswer(
        date=date(2026, 11, 10), decision="Разъяснено", files=tuple(files))})
    facts = appeal_facts(snap, MSK)
    assert facts is not None
    [question] = facts.questions
    assert question.answer is not None and question.answer.name == sent
    assert sorted(question.unsent_files) == sorted(n for n in names if n != sent)
    assert _build(snap)["questions"][0]["attachment"]["name"] == sent


def test_a_card_without_a_number_waits_while_registered_and_is_an_error_later(tmp_path: Path) -> None:
    assert appeal_facts(_snap(tmp_path, CardStage.REGISTERED, number=""), MSK) is None
    with pytest.raises(DataError, match="POS message p1: the card has no registration number"):
        appeal_facts(_snap(tmp_path, CardStage.IN_WORK, number=""), MSK)


def test_a_redirect_finds_the_receiving_body_by_pos_organisation_id(tmp_path: Path) -> None:
    snap = _snap(tmp_path, CardStage.REDIRECTED, redirect_to="org-777")
    with pytest.raises(DataError, match="redirect to «org-777»: the body is not in the directory of bodies"):
        _build(snap)
    with pytest.raises(DataError, match="transferNumber"):
        _build(snap, bodies={"ORG-777": OTHER})  # no outgoing covering letter number from the EDMS


def test_an_unmapped_category_is_named_by_its_path(tmp_path: Path) -> None:
    snap = _snap(tmp_path, CardStage.IN_WORK)
    facts = appeal_facts(snap, MSK)
    assert facts is not None
    with pytest.raises(DataError, match="no SSTU classifier code for POS category «Автомобильные дороги / Ямы"):
        SstuBuilder(lambda ids: None).build(facts)


# --- [sstu] settings and the directory of bodies ------------------------------------------

def _raw(**sstu: object) -> dict:
    return {"accounts": [{"name": "a", "pos_base_url": "https://pos", "login": "l", "password": "p", "edms": "e"}],
            "edms": {"e": {"type": "onec_dm", "url": "https://x/ws", "login": "l", "password": "p"}},
            "sstu": sstu}


@pytest.mark.parametrize(("sstu", "message"), [
    ({"department_id": "not-a-guid"}, "sstu.department_id: must be a GUID"),
    ({"department_id": DEPT, "send_time": "25:00"}, "sstu.send_time: expected HH:MM"),
    ({"department_id": DEPT, "timezone": "Mars/Olympus"}, "sstu.timezone: unknown time zone"),
    ({"department_id": DEPT, "outcomes": {"Отказано": "Refused"}}, "sstu.outcomes.Отказано.status: Input should be"),
    ({"department_id": DEPT, "bodies": {"Минздрав": "123"}}, "bodies.Минздрав: '123' is not a GUID"),
    ({"base_url": "https://sstu"}, "accounts.0.sstu_department_id: required for the SSTU report"),
    ({"department_id": DEPT, "base_url": "http://sstu"}, "sstu.base_url: plain http:// is refused"),
])
def test_bad_sstu_settings_name_the_key(sstu: dict, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        settings_from_mapping(_raw(**sstu))
    assert any(message in line for line in caught.value.problems), caught.value.problems


def test_outcome_overrides_accept_a_status_name_or_a_table() -> None:
    settings = settings_from_mapping(_raw(department_id=DEPT, outcomes={
        "Отказано": "NotSupported", "Меры приняты": {"status": "Supported", "actions_taken": True}}))
    assert settings.sstu.outcomes["Отказано"].status == "NotSupported"
    assert settings.sstu.outcomes["Меры приняты"].actions_taken is True


def test_the_bodies_file_names_each_bad_row(tmp_path: Path) -> None:
    good = tmp_path / "bodies.csv"
    good.write_text(f"Наименование;GUID\nМинздрав;{OTHER.upper()}\n;\n", encoding="utf-8")
    assert load_bodies_file(good) == {"Минздрав": OTHER}
    bad = tmp_path / "bad.csv"
    bad.write_text(f"name,guid\nМинздрав,{OTHER}\nМинстрой,12-34\n,{DEPT}\n", encoding="utf-8")
    with pytest.raises(DataError) as caught:
        load_bodies_file(bad)
    assert "bad.csv: row 3: «Минстрой»: 12-34 is not a ССТУ GUID" in caught.value.operator_message
    assert "bad.csv: row 4: the body's name is empty" in caught.value.operator_message
    headless = tmp_path / "headless.csv"
    headless.write_text(f"Минздрав,{OTHER}\n", encoding="utf-8")
    with pytest.raises(DataError, match="headless.csv: row 1: expected a header"):
        load_bodies_file(headless)
