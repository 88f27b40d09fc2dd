"""Sample SSTU documents for the tests: a valid appeal per status (imported as ``sstu_samples``)."""

from __future__ import annotations

import copy
from datetime import date
from pathlib import Path
from typing import Any

DEP = "0f8fad5b-d9cb-469f-a165-70867728950e"
OTHER_BODY = "7c9e6679-7425-40de-944b-e07fc1f90ae7"
CODE = "0005.0005.0056.1149"
TODAY = date(2025, 12, 1)
CLASSIFIER = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "sstu_classifier_2025-10-31.tree.json"

# Written from the table of docs/sstu-format.md (not from connector.sstu_export.wire).
REQUIRED_BY_STATUS: dict[str, set[str]] = {
    "NotReceived": set(),
    "NotRegistered": {"incomingDate"},
    "InWork": {"incomingDate", "registrationDate"},
    "Explained": {"incomingDate", "registrationDate", "responseDate", "attachment"},
    "Supported": {"incomingDate", "registrationDate", "responseDate", "attachment", "actionsTaken"},
    "NotSupported": {"incomingDate", "registrationDate", "responseDate", "attachment"},
    "Answered": {"incomingDate", "registrationDate", "responseDate", "attachment"},
    "Transferred": {"incomingDate", "registrationDate", "transfer"},
    "LeftWithoutAnswer": {"incomingDate", "registrationDate", "responseDate"},
}
OPTIONAL_BY_STATUS: dict[str, set[str]] = {"InWork": {"isExtend"}}
ALL_QUESTION_FIELDS = {"incomingDate", "registrationDate", "responseDate", "attachment", "actionsTaken",
                       "isExtend", "transfer"}

FIELD_VALUES: dict[str, Any] = {
    "incomingDate": "2025-03-03",
    "registrationDate": "2025-03-04",
    "responseDate": "2025-03-20",
    "attachment": {"name": "answer.pdf", "content": "JVBERi0xLjQK"},
    "actionsTaken": True,
    "isExtend": True,
    "transfer": {"departmentId": OTHER_BODY, "transferDate": "2025-03-05", "transferNumber": "01-12/345"},
}


def question(status: str, **extra: Any) -> dict[str, Any]:
    q: dict[str, Any] = {"code": CODE, "status": status}
    for name in sorted(REQUIRED_BY_STATUS[status]):
        q[name] = copy.deepcopy(FIELD_VALUES[name])
    q.update(extra)
    return q


def appeal(*questions: dict[str, Any], **extra: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "departmentId": DEP, "isDirect": True, "format": "Other", "number": "12-34/2025",
        "name": "Иванов Иван Иванович", "address": "г. Тверь, ул. Советская, 1", "email": "ivanov@example.ru",
        "questions": list(questions) or [question("InWork")],
    }
    doc.update(extra)
    return doc
