"""Every rule of docs/sstu-format.md: a failing and a passing case, on raw dicts."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sstu_samples import DEP, OTHER_BODY, TODAY, appeal, question

from connector.sstu_export.validate import check_code, question_codes, validate_appeal, validate_document

Doc = dict[str, Any]


def _set(path: str, value: Any) -> Callable[[Doc], None]:
    def apply(doc: Doc) -> None:
        target: Any = doc
        keys = path.split(".")
        for key in keys[:-1]:
            target = target[int(key)] if key.isdigit() else target[key]
        if value is _DELETE:
            del target[keys[-1]]
        else:
            target[keys[-1]] = value
    return apply


_DELETE = object()
FORWARDED = {"isDirect": False, "createDate": "2025-03-01"}

# (rule, base appeal, passing change, failing change, field named by the error, message part)
RULES: list[tuple[str, Callable[[], Doc], Callable[[Doc], None], Callable[[Doc], None], str, str]] = [
    ("1 number non-empty", appeal, _set("number", "7"), _set("number", "  "), "number", "empty"),
    ("1 number present", appeal, _set("number", "7"), _set("number", _DELETE), "number", "required"),
    ("1 name non-empty", appeal, _set("name", "ООО «Ромашка»"), _set("name", ""), "name", "empty"),
    ("1 questions non-empty", appeal, _set("questions", [question("NotReceived")]), _set("questions", []),
     "questions", "at least one"),
    ("1 departmentId GUID", appeal, _set("departmentId", DEP), _set("departmentId", "12345"), "departmentId",
     "GUID"),
    ("1 departmentId lower case", appeal, _set("departmentId", DEP), _set("departmentId", DEP.upper()),
     "departmentId", "lower case"),
    ("1 transfer.departmentId GUID", lambda: appeal(question("Transferred")),
     _set("questions.0.transfer.departmentId", OTHER_BODY),
     _set("questions.0.transfer.departmentId", "Минстрой"), "questions[0].transfer.departmentId", "GUID"),
    ("format values", appeal, _set("format", "Other"), _set("format", "Paper"), "format", "Electronic or Other"),
    ("format of a direct appeal", appeal, _set("format", "Other"), _set("format", "Electronic"), "format",
     "direct"),
    ("isDirect boolean", appeal, _set("isDirect", True), _set("isDirect", "true"), "isDirect", "true or false"),
    ("unknown appeal field", appeal, _set("email", "a@b.ru"), _set("phone", "+7"), "phone", "not allowed"),
    ("2 forwarded: createDate present", lambda: appeal(**FORWARDED), _set("createDate", "2025-03-03"),
     _set("createDate", _DELETE), "createDate", "required when isDirect is false"),
    ("2 forwarded: incomingDate ≥ createDate", lambda: appeal(**FORWARDED),
     _set("createDate", "2025-03-03"), _set("createDate", "2025-03-04"), "questions[0].incomingDate",
     "must not be before the appeal date"),
    ("3 registrationDate ≥ incomingDate", appeal, _set("questions.0.registrationDate", "2025-03-03"),
     _set("questions.0.registrationDate", "2025-03-02"), "questions[0].registrationDate", "before incomingDate"),
    ("3 responseDate ≥ registrationDate", lambda: appeal(question("Explained")),
     _set("questions.0.responseDate", "2025-03-04"), _set("questions.0.responseDate", "2025-03-03"),
     "questions[0].responseDate", "before registrationDate"),
    ("3 no future date", appeal, _set("questions.0.registrationDate", TODAY.isoformat()),
     _set("questions.0.registrationDate", "2025-12-02"), "questions[0].registrationDate", "future"),
    ("3 no future transfer date", lambda: appeal(question("Transferred")),
     _set("questions.0.transfer.transferDate", "2025-12-01"), _set("questions.0.transfer.transferDate", "2026-01-01"),
     "questions[0].transfer.transferDate", "future"),
    ("3 dates are YYYY-MM-DD", appeal, _set("questions.0.incomingDate", "2025-03-01"),
     _set("questions.0.incomingDate", "01.03.2025"), "questions[0].incomingDate", "YYYY-MM-DD"),
    ("4 status field present", lambda: appeal(question("Supported")), _set("questions.0.actionsTaken", False),
     _set("questions.0.actionsTaken", _DELETE), "questions[0].actionsTaken", "required for status Supported"),
    ("4 no field the status does not allow", lambda: appeal(question("LeftWithoutAnswer")),
     _set("questions.0.responseDate", "2025-03-05"),
     _set("questions.0.attachment", {"name": "a.pdf", "content": "QQ=="}), "questions[0].attachment",
     "not allowed for status LeftWithoutAnswer"),
    ("4 isExtend is a boolean", appeal, _set("questions.0.isExtend", True), _set("questions.0.isExtend", "да"),
     "questions[0].isExtend", "true or false"),
    ("4 attachment is base64", lambda: appeal(question("Answered")), _set("questions.0.attachment.content", "QUJD"),
     _set("questions.0.attachment.content", "not base64!"), "questions[0].attachment.content", "base64"),
    ("4 attachment name has an extension", lambda: appeal(question("Answered")),
     _set("questions.0.attachment.name", "ответ.docx"), _set("questions.0.attachment.name", "ответ"),
     "questions[0].attachment.name", "extension"),
    ("4 transfer fields", lambda: appeal(question("Transferred")), _set("questions.0.transfer.transferNumber", "5"),
     _set("questions.0.transfer.transferNumber", _DELETE), "questions[0].transfer.transferNumber", "required"),
    ("5 code at question level", appeal, _set("questions.0.code", "0001.0003.0029.0201.0074"),
     _set("questions.0.code", "0005.0005.0056.0000"), "questions[0].code", "not a question"),
    ("5 code syntax", appeal, _set("questions.0.code", "0005.0005.0056.1149"),
     _set("questions.0.code", "5.5.56.1149"), "questions[0].code", "classifier code"),
    ("5 section exists", appeal, _set("questions.0.code", "0002.0007.0070.0411"),
     _set("questions.0.code", "0009.0005.0056.1149"), "questions[0].code", "section"),
]


@pytest.mark.parametrize(("rule", "base", "good", "bad", "field", "message"), RULES, ids=[r[0] for r in RULES])
def test_rule(rule: str, base: Callable[[], Doc], good: Callable[[Doc], None], bad: Callable[[Doc], None],
              field: str, message: str) -> None:
    doc = base()
    good(doc)
    assert validate_appeal(doc, today=TODAY) == [], rule
    doc = base()
    bad(doc)
    issues = validate_appeal(doc, today=TODAY)
    assert issues, rule
    assert issues[0].field == field and message in issues[0].message, issues
    assert "12-34/2025" in str(issues[0]) or field == "number"


def test_an_attachment_of_10_million_base64_characters_is_reported_not_truncated() -> None:
    doc = appeal(question("Answered"))
    doc["questions"][0]["attachment"]["content"] = "A" * 10_000_000
    issues = validate_appeal(doc, today=TODAY)
    assert [i.field for i in issues] == ["questions[0].attachment.content"]
    assert "too large" in issues[0].message and "10,000,000" in issues[0].message
    doc["questions"][0]["attachment"]["content"] = "A" * 9_999_996
    assert validate_appeal(doc, today=TODAY) == []


def test_issues_name_the_question_index_and_never_personal_values() -> None:
    doc = appeal(question("InWork"), question("Explained", responseDate="2025-03-01"))
    doc["email"] = 5
    issues = validate_appeal(doc, today=TODAY)
    assert [(i.question, i.field) for i in issues] == [(None, "email"), (1, "questions[1].responseDate")]
    assert "Иванов" not in " ".join(map(str, issues))


def test_documents_that_are_not_appeals() -> None:
    assert [i.field for i in validate_document([], today=TODAY)] == ["<file>"]
    assert [i.message for i in validate_document("x", today=TODAY)] == ["must be a JSON object"]
    assert list(validate_document([appeal(), appeal(number="2")], today=TODAY)) == []


def test_a_code_must_be_in_the_edition_in_force_when_one_is_given(classifier_tree: Any) -> None:
    codes = question_codes(classifier_tree)
    assert "0005.0005.0056.1149" in codes and "0001.0003.0029.0201.0074" in codes
    assert "0005.0000.0000.0000" not in codes and "0005.0005.0056.0000" not in codes
    assert all(c.split(".")[3] != "0000" for c in codes)
    assert 1_000 < len(codes) < 2_094
    for good in ("0005.0005.0056.1149", "0001.0003.0029.0201.0074"):
        assert validate_appeal(appeal(question("InWork", code=good)), today=TODAY, codes=codes) == []
    for bad, why in [("0005.0005.0056.0000", "not a question"), ("0005.0000.0000.0000", "not a question"),
                     ("0005.0005.0056.9999", "edition in force"), ("0001.0002.0027.0126", "edition in force")]:
        issues = validate_appeal(appeal(question("InWork", code=bad)), today=TODAY, codes=codes)
        assert [i.field for i in issues] == ["questions[0].code"] and why in issues[0].message, (bad, issues)


@pytest.mark.parametrize(("code", "ok"), [
    ("0005.0005.0056.1149", True), ("0001.0003.0029.0201.0074", True), ("0005.0005.0000.0000", False),
    ("0005.0000.0056.1149", False), ("0001.0002.0027.01262", False), ("0005.0005.0056.1149.0001.0001", False),
])
def test_check_code_structure(code: str, ok: bool) -> None:
    assert (check_code(code) is None) is ok


@pytest.mark.parametrize(("label", "base", "change", "field"), [
    ("a null address", appeal, _set("address", None), "address"),
    ("a null responseDate on InWork", appeal, _set("questions.0.responseDate", None), "questions[0].responseDate"),
    ("responseDate on InWork", appeal, _set("questions.0.responseDate", "2025-03-05"), "questions[0].responseDate"),
    ("attachment on InWork", appeal, _set("questions.0.attachment", {"name": "a.pdf", "content": "QQ=="}),
     "questions[0].attachment"),
    ("Supported without actionsTaken", lambda: appeal(question("Supported")),
     lambda d: d["questions"][0].pop("actionsTaken"), "questions[0].actionsTaken"),
    ("isExtend false", appeal, _set("questions.0.isExtend", False), "questions[0].isExtend"),
    ("an upper-case GUID", appeal, lambda d: d.update(departmentId=d["departmentId"].upper()), "departmentId"),
])
def test_what_public_senders_send_is_our_policy_not_a_portal_error(label: str, base: Any, change: Any,
                                                                   field: str) -> None:
    doc = base()
    change(doc)
    issues = validate_appeal(doc, today=TODAY)
    assert [(i.field, i.severity) for i in issues] == [(field, "policy")], (label, issues)
