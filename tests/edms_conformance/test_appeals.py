"""Capability ``list_appeals`` for every adapter: appeals of every channel, or a clear "unsupported".

A harness that can seed appeals (``appeals_settings()``, ``seed_appeals(items)``) must list them as the
seed says; an adapter whose harness cannot must declare the capability unsupported with its reason.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from connector.domain import CardStage, DeliveryForm, EdmsAppeal
from connector.edms_adapters.base import LIST_APPEALS, UnsupportedCapability, appeal_lister, capabilities_of
from connector.edms_adapters.registry import create_adapter
from connector.simulators.appeal_samples import REDIRECT_BODY, other_channel_appeals

from harness import EdmsHarness, test_context
from testconfig import body_today

pytestmark = pytest.mark.date_sensitive  # the simulators register cards on the body's today

HARNESSES = ["onec_dm", "medo", "directum_rx", "example_edms"]


@pytest.fixture(params=HARNESSES)
def harness(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[EdmsHarness]:
    h: EdmsHarness = importlib.import_module(f"harness_{request.param}").make_harness(tmp_path)
    yield h
    h.close()


def _listed(harness: EdmsHarness, tmp_path: Path) -> dict[str, EdmsAppeal]:
    adapter = create_adapter(harness.appeals_settings(), test_context(tmp_path / "adapter"))  # type: ignore[attr-defined]
    try:
        assert capabilities_of(adapter)[LIST_APPEALS] == "yes"
        today = body_today()
        found = list(appeal_lister(adapter).list_appeals(today - timedelta(days=7), today))
    finally:
        adapter.close()
    return {a.applicant.last_name: a for a in found}


def test_appeals_of_every_channel_are_listed_with_their_questions(harness: EdmsHarness, tmp_path: Path) -> None:
    if not hasattr(harness, "seed_appeals"):
        adapter = create_adapter(harness.settings(), test_context(tmp_path / "adapter"))
        try:
            offered = capabilities_of(adapter)[LIST_APPEALS]
            assert offered.startswith("no: ") and len(offered) > 20, offered  # says why
            with pytest.raises(UnsupportedCapability, match="cannot list appeals"):
                appeal_lister(adapter)
        finally:
            adapter.close()
        return
    today = body_today()
    harness.seed_appeals(other_channel_appeals(today))  # type: ignore[attr-defined]
    appeals = _listed(harness, tmp_path)
    assert set(appeals) == {"Петров", "Сидорова", "Орлов", "Волкова", "Тестов"}
    letter, reception, forwarded, multi = (appeals[n] for n in ("Петров", "Сидорова", "Орлов", "Волкова"))
    assert (letter.delivery, reception.delivery, multi.delivery) == (
        DeliveryForm.PAPER, DeliveryForm.ORAL, DeliveryForm.ELECTRONIC)
    assert all(a.registration_number and a.registration_date == today and not a.pos_id for a in appeals.values())
    assert letter.forwarded is None and letter.applicant.first_name == "Пётр"
    assert forwarded.forwarded is not None and (forwarded.forwarded.body, forwarded.forwarded.letter_number,
                                                forwarded.forwarded.letter_date) == (
        "Правительство края", "01-12/345", today - timedelta(days=3))
    answered = letter.questions[0]
    assert answered.stage is CardStage.ANSWER_READY and answered.answer is not None
    assert answered.answer.files and answered.answer.files[0].content.startswith(b"%PDF")
    assert reception.questions[0].stage is CardStage.IN_WORK and reception.questions[0].executor is not None
    assert [q.stage for q in multi.questions] == [CardStage.ANSWER_READY, CardStage.REDIRECTED, CardStage.IN_WORK]
    assert [q.rubric_code for q in multi.questions] == ["0005.0005.0056.1168", "0003.0009.0099.0742",
                                                        "0002.0013.0139.0329"]
    assert multi.questions[0].result == "Поддержано"
    redirected = multi.questions[1]
    assert (redirected.redirect_org, redirected.redirect_letter_number, redirected.redirect_letter_date) == (
        REDIRECT_BODY, "02-07/88", today)
    assert appeals["Тестов"].no_sstu and not letter.no_sstu


def test_a_question_added_later_is_listed_and_the_card_keeps_its_identity(harness: EdmsHarness,
                                                                          tmp_path: Path) -> None:
    if not hasattr(harness, "seed_appeals"):
        pytest.skip("the adapter declares list_appeals unsupported (checked above)")
    seed = other_channel_appeals(body_today())[1]  # the reception, one question
    harness.seed_appeals([seed])  # type: ignore[attr-defined]
    before = _listed(harness, tmp_path)["Сидорова"]
    seed["questions"].append({"rubric": "0005.0005.0056.1156", "summary": "Отопление"})
    harness.seed_appeals([seed])  # type: ignore[attr-defined]
    after = _listed(harness, tmp_path)["Сидорова"]
    assert after.ref == before.ref and after.registration_number == before.registration_number
    assert len(after.questions) == 2 and after.questions[0].key == before.questions[0].key
    assert after.questions[1].stage is CardStage.REGISTERED
