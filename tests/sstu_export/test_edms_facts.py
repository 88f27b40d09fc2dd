"""EDMS appeals of other channels → SSTU facts (pure): the route decides isDirect, number, dates and format."""

from __future__ import annotations

from datetime import date

import pytest

from connector.domain import Applicant, CardStage, DeliveryForm, Forwarding
from connector.errors import DataError
from connector.sstu_export.builder import SstuBuilder
from connector.sstu_export.edms_facts import EdmsAppealSnapshot, StoredAppeal, edms_appeal_facts
from connector.sstu_export.facts import StoredQuestion

DEPARTMENT = "5a0c8f2e-3b7d-4e61-9c2a-0d5e7f1b2c3d"


def _snap(**appeal: object) -> EdmsAppealSnapshot:
    base: dict[str, object] = {
        "external_id": "card-1", "registration_number": "ВХ-2026-000001", "registration_date": date(2026, 11, 10),
        "delivery": DeliveryForm.PAPER, "applicant": Applicant(last_name="Петров", first_name="Пётр"),
        "questions": (StoredQuestion(key="1", rubric_code="0005.0005.0056.1168", stage=CardStage.IN_WORK),)}
    base.update(appeal)
    return EdmsAppealSnapshot(appeal_id=1, department_id=DEPARTMENT, appeal=StoredAppeal.model_validate(base),
                              changed_on=date(2026, 11, 12))


def _built(snap: EdmsAppealSnapshot) -> dict[str, object]:
    facts = edms_appeal_facts(snap)
    assert facts is not None
    return SstuBuilder(lambda _path: None, today=date(2026, 12, 1)).build(facts).document


def test_a_letter_is_direct_and_other() -> None:
    doc = _built(_snap())
    assert (doc["isDirect"], doc["format"], doc["number"]) == (True, "Other", "ВХ-2026-000001")
    assert "createDate" not in doc


@pytest.mark.parametrize("via_medo,fmt", [(False, "Other"), (True, "Electronic")])
def test_a_forwarded_appeal_carries_the_covering_letter(via_medo: bool, fmt: str) -> None:
    letter = Forwarding(body="Правительство края", letter_number="01-12/345", letter_date=date(2026, 11, 11),
                        via_medo=via_medo)
    doc = _built(_snap(forwarded=letter))
    assert (doc["isDirect"], doc["format"], doc["number"], doc["createDate"]) == (
        False, fmt, "01-12/345", "2026-11-11")
    [question] = doc["questions"]  # type: ignore[misc]
    # the card was registered before the covering letter's date: ССТУ dates never go before it
    assert question["incomingDate"] == question["registrationDate"] == "2026-11-11"


def test_a_forwarded_appeal_without_its_letter_is_a_data_error_naming_the_body() -> None:
    with pytest.raises(DataError, match="forwarded by «Правительство края» without the covering letter"):
        edms_appeal_facts(_snap(forwarded=Forwarding(body="Правительство края")))


def test_a_card_without_number_or_questions_is_not_ready() -> None:
    assert edms_appeal_facts(_snap(registration_number="")) is None
    assert edms_appeal_facts(_snap(questions=())) is None
