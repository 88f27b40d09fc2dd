"""The pure builder: outcome table, routing, codes, attachments, redirects, determinism."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sstu_samples import CODE, DEP, OTHER_BODY, TODAY, appeal, question

from connector.errors import DataError
from connector.sstu_export.builder import (
    AnswerFileInput,
    AppealFacts,
    OutcomeRule,
    QuestionFacts,
    SstuBuilder,
)
from connector.sstu_export.canonical import appeal_uuid, canonical_bytes
from connector.sstu_export.validate import validate_appeal
from connector.sstu_export.wire import Status

BODIES = {"Министерство строительства Тверской области": OTHER_BODY}
D = date(2025, 3, 3)


def _code_for(path: tuple[str, ...]) -> str | None:
    known: dict[tuple[str, ...], str] = {("ЖКХ", "Отопление"): CODE}
    return known.get(path)


def _builder(**kw: Any) -> SstuBuilder:
    return SstuBuilder(_code_for, bodies=BODIES, today=TODAY, **kw)


def _q(outcome: str, **kw: Any) -> QuestionFacts:
    base: dict[str, Any] = dict(category_path=("ЖКХ", "Отопление"), outcome=outcome, incoming_date=D,
                                registration_date=date(2025, 3, 4), response_date=date(2025, 3, 20),
                                answer=AnswerFileInput(name="ответ.pdf", content=b"%PDF-1.4 answer"))
    base.update(kw)
    return QuestionFacts(**base)


def _facts(*questions: QuestionFacts, **kw: Any) -> AppealFacts:
    base: dict[str, Any] = dict(department_id=DEP, number="12-34/2025", author_name="Иванов Иван Иванович",
                                author_address="г. Тверь", questions=questions or (_q("in_work"),))
    base.update(kw)
    return AppealFacts(**base)


@pytest.mark.parametrize(("outcome", "result", "status", "extra"), [
    ("in_work", "", "InWork", {}),
    ("registered", "", "InWork", {}),
    ("extended", "", "InWork", {"isExtend": True}),
    ("answered", "Разъяснено", "Explained", {}),
    ("answer_ready", "«Поддержано»", "Supported", {"actionsTaken": False}),
    ("answered", "не  поддержано", "NotSupported", {}),
    ("answered", "Дан ответ автору", "Answered", {}),
    ("answered", "", "Answered", {}),
    ("measures_taken", "", "Supported", {"actionsTaken": True}),
    ("redirected", "", "Transferred", {}),
    ("closed_without_answer", "", "LeftWithoutAnswer", {}),
])
def test_outcome_table_defaults(outcome: str, result: str, status: str, extra: dict[str, Any]) -> None:
    q = _q(outcome, result=result, redirect_body="министерство строительства тверской области",
           transfer_number="01-12/345")
    built = _builder(send_is_extend=True).build(_facts(q))
    doc = built.document["questions"][0]
    assert doc["status"] == status
    for key, value in extra.items():
        assert doc[key] == value
    if status in ("Explained", "Supported", "NotSupported", "Answered"):
        assert doc["attachment"] == {"name": "ответ.pdf", "content": "JVBERi0xLjQgYW5zd2Vy"}
    if status == "Transferred":
        assert doc["transfer"] == {"departmentId": OTHER_BODY, "transferDate": "2025-03-20",
                                   "transferNumber": "01-12/345"}
    assert validate_appeal(built.document, today=TODAY) == []


def test_the_outcome_table_is_configurable() -> None:
    builder = _builder(outcomes={"in_work": OutcomeRule(status=Status.NOT_REGISTERED),
                                 "Частично поддержано": OutcomeRule(status=Status.SUPPORTED, actions_taken=True)})
    assert builder.build(_facts(_q("in_work"))).document["questions"][0] == {
        "code": CODE, "status": "NotRegistered", "incomingDate": "2025-03-03"}
    doc = builder.build(_facts(_q("answered", result="частично поддержано"))).document["questions"][0]
    assert (doc["status"], doc["actionsTaken"]) == ("Supported", True)
    with pytest.raises(DataError, match="outcome «lost» is not in the SSTU outcome table"):
        builder.build(_facts(_q("lost")))
    with pytest.raises(DataError, match="answer result «Принято к сведению»"):
        builder.build(_facts(_q("answered", result="Принято к сведению")))


def test_forwarded_over_medo_is_electronic_and_needs_the_letter_date() -> None:
    doc = _builder().build(_facts(direct=False, via_medo=True, create_date=date(2025, 3, 1))).document
    assert (doc["isDirect"], doc["format"], doc["createDate"]) == (False, "Electronic", "2025-03-01")
    assert _builder().build(_facts(direct=False, create_date=D)).document["format"] == "Other"
    assert _builder().build(_facts()).document["format"] == "Other"
    with pytest.raises(DataError, match="createDate is required"):
        _builder().build(_facts(direct=False))
    with pytest.raises(DataError, match="must not be before the appeal date"):
        _builder().build(_facts(direct=False, create_date=date(2025, 3, 5)))


def test_code_from_the_card_wins_and_a_missing_code_is_reported() -> None:
    own = "0001.0003.0029.0201.0074"
    assert _builder().build(_facts(_q("in_work", code=own))).document["questions"][0]["code"] == own
    with pytest.raises(DataError, match="no SSTU classifier code for POS category «ЖКХ / Дороги»"):
        _builder().build(_facts(_q("in_work", category_path=("ЖКХ", "Дороги"))))
    with pytest.raises(DataError, match="questions\\[0\\].code"):
        _builder().build(_facts(_q("in_work", code="0005.0005.0056.0000")))


def test_a_redirect_to_an_unknown_body_names_the_body() -> None:
    q = _q("redirected", redirect_body="Управление делами Президента", transfer_number="5")
    with pytest.raises(DataError, match="redirect to «Управление делами Президента».*not in the directory"):
        _builder().build(_facts(q))
    with pytest.raises(DataError, match="directory of bodies: «X» has no valid ССТУ GUID"):
        SstuBuilder(_code_for, bodies={"X": "not-a-guid"})


def test_an_answer_over_the_base64_limit_is_reported_not_truncated(tmp_path: Path) -> None:
    limit_bytes = 7_500_000  # base64 of 7 500 000 bytes is exactly 10 000 000 characters
    big = tmp_path / "ответ.pdf"
    big.write_bytes(b"\0" * limit_bytes)
    q = _q("answered", answer=AnswerFileInput(name="ответ.pdf", path=big))
    with pytest.raises(DataError, match="answer file too large: «ответ.pdf» is 7,500,000 bytes, 10,000,000"):
        _builder().build(_facts(q))
    big.write_bytes(b"\0" * (limit_bytes - 3))
    built = _builder().build(_facts(q))
    assert len(built.document["questions"][0]["attachment"]["content"]) == 9_999_996


def test_missing_facts_are_named() -> None:
    with pytest.raises(DataError, match="registrationDate: Field required"):
        _builder().build(_facts(_q("in_work", registration_date=None)))
    with pytest.raises(DataError, match="needs the answer file"):
        _builder().build(_facts(_q("answered", answer=None)))
    with pytest.raises(DataError, match="transferNumber"):
        _builder().build(_facts(_q("redirected", redirect_body="Министерство строительства Тверской области")))
    with pytest.raises(DataError, match="responseDate"):
        _builder().build(_facts(_q("answered", response_date=date(2025, 3, 1))))


def test_an_unchanged_appeal_gives_byte_identical_json_and_the_same_uuid() -> None:
    facts = _facts(_q("answered", result="Разъяснено"), _q("extended"))
    first, second = _builder().build(facts), SstuBuilder(_code_for, bodies=BODIES, today=TODAY).build(
        AppealFacts.model_validate(facts.model_dump()))
    assert first.content == second.content and first.content_hash == second.content_hash
    assert first.uuid == second.uuid == str(appeal_uuid(DEP, "12-34/2025"))
    assert first.content == canonical_bytes(json.loads(first.content))
    assert b"\\u" not in first.content and "Иванов".encode() in first.content
    changed = _builder().build(_facts(_q("answered", result="Поддержано"), _q("extended")))
    assert changed.content_hash != first.content_hash and changed.uuid == first.uuid


def test_canonical_json_ignores_key_order_and_nulls() -> None:
    a = {"b": 1, "a": {"y": None, "x": [1, {"d": 2, "c": 3}]}}
    b = {"a": {"x": [1, {"c": 3, "d": 2}]}, "b": 1}
    assert canonical_bytes(a) == canonical_bytes(b) == b'{"a":{"x":[1,{"c":3,"d":2}]},"b":1}'


def test_fast_canonical_bytes_equal_the_plain_encoder() -> None:
    from connector.sstu_export.canonical import _BLOB, canonical_appeal_bytes

    doc = appeal(question("Answered", attachment={"name": "a.pdf", "content": "QUJD" * 5000}),
                 question("Explained", attachment={"name": "b.pdf", "content": "QUJE" * 3000}))
    assert canonical_appeal_bytes(doc) == canonical_bytes(doc)
    doc["name"] = _BLOB  # the marker inside the data itself: the slow path gives the same bytes
    assert canonical_appeal_bytes(doc) == canonical_bytes(doc)
    doc["questions"][0]["attachment"]["content"] = "QUJD\n" * 5000  # not verbatim JSON: not spliced
    assert canonical_appeal_bytes(doc) == canonical_bytes(doc)
