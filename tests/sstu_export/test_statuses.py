"""One table-driven test per status: required and forbidden fields, via models AND via validate."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import TypeAdapter, ValidationError
from sstu_samples import (
    ALL_QUESTION_FIELDS,
    FIELD_VALUES,
    OPTIONAL_BY_STATUS,
    REQUIRED_BY_STATUS,
    TODAY,
    appeal,
    question,
)

from connector.sstu_export import wire
from connector.sstu_export.models import SstuAppeal, SstuQuestion
from connector.sstu_export.validate import validate_appeal

QUESTION = TypeAdapter(SstuQuestion)
STATUSES = sorted(REQUIRED_BY_STATUS)


def _cases(status: str) -> list[tuple[str, str, str]]:
    required = REQUIRED_BY_STATUS[status]
    allowed = required | OPTIONAL_BY_STATUS.get(status, set())
    cases = [(status, "missing", name) for name in sorted(required)]
    cases += [(status, "forbidden", name) for name in sorted(ALL_QUESTION_FIELDS - allowed)]
    return cases


def _bad_question(status: str, kind: str, name: str) -> dict[str, Any]:
    q = question(status)
    if kind == "missing":
        del q[name]
    else:
        q[name] = FIELD_VALUES[name]
    return q


def test_the_wire_table_is_the_documented_table() -> None:
    assert {s.value for s in wire.Status} == set(REQUIRED_BY_STATUS)
    for status, (required, optional) in wire.STATUS_FIELDS.items():
        assert required - {"code", "status"} == REQUIRED_BY_STATUS[status.value], status
        assert optional == OPTIONAL_BY_STATUS.get(status.value, set()), status


@pytest.mark.parametrize("status", STATUSES)
def test_a_complete_question_of_each_status_is_valid(status: str) -> None:
    doc = appeal(question(status))
    assert validate_appeal(doc, today=TODAY) == []
    built = SstuAppeal.model_validate(doc)
    assert built.to_wire() == doc
    if status in OPTIONAL_BY_STATUS:
        with_optional = appeal(question(status, **{n: FIELD_VALUES[n] for n in OPTIONAL_BY_STATUS[status]}))
        assert validate_appeal(with_optional, today=TODAY) == []
        assert SstuAppeal.model_validate(with_optional).to_wire() == with_optional


@pytest.mark.parametrize("status", STATUSES)
def test_status_fields_required_and_forbidden(status: str) -> None:
    cases = _cases(status)
    assert cases or status == "NotReceived"
    if status == "NotReceived":  # nothing required: every other field is forbidden
        assert len(cases) == len(ALL_QUESTION_FIELDS)
    for _, kind, name in cases:
        q = _bad_question(status, kind, name)
        with pytest.raises(ValidationError) as caught:
            QUESTION.validate_python(q)
        assert any(name in map(str, err["loc"]) for err in caught.value.errors()), (status, kind, name)
        with pytest.raises(ValidationError):
            SstuAppeal.model_validate(appeal(q))
        issues = validate_appeal(appeal(q), today=TODAY)
        assert [i.field for i in issues] == [f"questions[0].{name}"], (status, kind, name, issues)
        assert issues[0].question == 0 and issues[0].number == "12-34/2025"
        expected = "required" if kind == "missing" else "not allowed"
        assert expected in issues[0].message and status in issues[0].message


def test_code_and_status_are_required_for_every_status() -> None:
    for status in STATUSES:
        q = question(status)
        del q["code"]
        assert [i.field for i in validate_appeal(appeal(q), today=TODAY)] == ["questions[0].code"]
        with pytest.raises(ValidationError):
            QUESTION.validate_python(q)
    q = question("InWork")
    q["status"] = "Closed"
    issues = validate_appeal(appeal(q), today=TODAY)
    assert issues and issues[0].field == "questions[0].status" and "unknown status" in issues[0].message
