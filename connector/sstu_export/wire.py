"""The ССТУ.РФ «Результаты рассмотрения обращений» wire format: every name lives here.

Field names, status and format values, the per-status field table and the URL paths of
``docs/sstu-format.md``.  Models, builder, validation and client take their names from this
module, so adapting to a revision of the official «Порядок импорта» is a change here only.
(The SSTU simulator deliberately does *not* use this module: it checks payloads from the
format document on its own, so a mistake here is caught there.)
"""

from __future__ import annotations

import enum
import re
from datetime import UTC, date, datetime, timedelta, timezone

# --- URL paths -----------------------------------------------------------------------------

PATH_IMPORT = "/IPCP/HandlingReportPlugin/Api/Import"
PATH_READ_BACK = "/IPCP/HandlingReportPlugin/Api/analytics/ver.0.2/requests/{departmentId}"
CONTENT_TYPE = "application/json"


def read_back_path(department_id: str) -> str:
    return PATH_READ_BACK.replace("{departmentId}", department_id)


# --- the appeal ----------------------------------------------------------------------------

F_DEPARTMENT_ID = "departmentId"
F_IS_DIRECT = "isDirect"
F_FORMAT = "format"
F_NUMBER = "number"
F_CREATE_DATE = "createDate"
F_NAME = "name"
F_ADDRESS = "address"
F_EMAIL = "email"
F_QUESTIONS = "questions"

APPEAL_REQUIRED = frozenset({F_DEPARTMENT_ID, F_IS_DIRECT, F_FORMAT, F_NUMBER, F_NAME, F_QUESTIONS})
APPEAL_FIELDS = APPEAL_REQUIRED | {F_CREATE_DATE, F_ADDRESS, F_EMAIL}

# --- the question --------------------------------------------------------------------------

F_CODE = "code"
F_STATUS = "status"
F_INCOMING_DATE = "incomingDate"
F_REGISTRATION_DATE = "registrationDate"
F_RESPONSE_DATE = "responseDate"
F_IS_EXTEND = "isExtend"
F_ACTIONS_TAKEN = "actionsTaken"
F_ATTACHMENT = "attachment"
F_TRANSFER = "transfer"

# attachment {name, content}
F_ATTACHMENT_NAME = "name"
F_ATTACHMENT_CONTENT = "content"
ATTACHMENT_FIELDS = frozenset({F_ATTACHMENT_NAME, F_ATTACHMENT_CONTENT})
MAX_ATTACHMENT_BASE64 = 10_000_000  # the base64 text must stay *under* this many characters

# transfer {departmentId, transferDate, transferNumber}
F_TRANSFER_DEPARTMENT_ID = "departmentId"
F_TRANSFER_DATE = "transferDate"
F_TRANSFER_NUMBER = "transferNumber"
TRANSFER_FIELDS = frozenset({F_TRANSFER_DEPARTMENT_ID, F_TRANSFER_DATE, F_TRANSFER_NUMBER})

# --- read-back -----------------------------------------------------------------------------

F_EXCEPTION_MESSAGE = "exceptionMessage"
# Empty while the plugin has received an appeal but not yet delivered it on (a public read-back sample).
F_DISPATCH_DATE = "dispatchDate"
F_UPLOAD_DATE = "uploadDate"
# Appeals the Presidential Administration registered (numbers «А26…»): already on the portal before
# the body reports them, so they are no one's omission; a public sender skips them too.
PRESIDENTIAL_NUMBER_RE = re.compile(r"^[АAаa]26")
READ_BACK_LIST_KEYS = ("items", "requests", "data", "result")  # wrappers seen around the list


class Status(enum.StrEnum):
    NOT_RECEIVED = "NotReceived"            # Не поступило
    NOT_REGISTERED = "NotRegistered"        # Не зарегистрировано
    IN_WORK = "InWork"                      # Находится на рассмотрении
    EXPLAINED = "Explained"                 # Рассмотрено. Разъяснено
    SUPPORTED = "Supported"                 # Рассмотрено. Поддержано
    NOT_SUPPORTED = "NotSupported"          # Рассмотрено. Не поддержано
    ANSWERED = "Answered"                   # Дан ответ автору
    TRANSFERRED = "Transferred"             # Направлено по компетенции
    LEFT_WITHOUT_ANSWER = "LeftWithoutAnswer"  # Оставлено без ответа автору


class Format(enum.StrEnum):
    ELECTRONIC = "Electronic"  # forwarded from another body over МЭДО
    OTHER = "Other"            # any other route, including direct


STATUS_LABELS: dict[Status, str] = {
    Status.NOT_RECEIVED: "Не поступило",
    Status.NOT_REGISTERED: "Не зарегистрировано",
    Status.IN_WORK: "Находится на рассмотрении",
    Status.EXPLAINED: "Рассмотрено. Разъяснено",
    Status.SUPPORTED: "Рассмотрено. Поддержано",
    Status.NOT_SUPPORTED: "Рассмотрено. Не поддержано",
    Status.ANSWERED: "Дан ответ автору",
    Status.TRANSFERRED: "Направлено по компетенции",
    Status.LEFT_WITHOUT_ANSWER: "Оставлено без ответа автору",
}

_BASE = frozenset({F_CODE, F_STATUS})
_REGISTERED = frozenset({F_INCOMING_DATE, F_REGISTRATION_DATE})
_ANSWER = _REGISTERED | {F_RESPONSE_DATE, F_ATTACHMENT}

# status → (required fields, optional fields), code and status included.
STATUS_FIELDS: dict[Status, tuple[frozenset[str], frozenset[str]]] = {
    Status.NOT_RECEIVED: (_BASE, frozenset()),
    Status.NOT_REGISTERED: (_BASE | {F_INCOMING_DATE}, frozenset()),
    Status.IN_WORK: (_BASE | _REGISTERED, frozenset({F_IS_EXTEND})),
    Status.EXPLAINED: (_BASE | _ANSWER, frozenset()),
    Status.SUPPORTED: (_BASE | _ANSWER | {F_ACTIONS_TAKEN}, frozenset()),
    Status.NOT_SUPPORTED: (_BASE | _ANSWER, frozenset()),
    Status.ANSWERED: (_BASE | _ANSWER, frozenset()),
    Status.TRANSFERRED: (_BASE | _REGISTERED | {F_TRANSFER}, frozenset()),
    Status.LEFT_WITHOUT_ANSWER: (_BASE | _REGISTERED | {F_RESPONSE_DATE}, frozenset()),
}

# --- value syntax --------------------------------------------------------------------------

GUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
CODE_RE = re.compile(r"^\d{4}\.\d{4}\.\d{4}\.\d{4}(\.\d{4})?$")
MAX_CODE_LENGTH = 24
SECTIONS = frozenset({"0001", "0002", "0003", "0004", "0005"})

# "No date in the future": Russia's easternmost zone is UTC+12, so a date is in the future
# only once it is later than the current date there (a Kamchatka body's "today" is valid).
LATEST_ZONE = timezone(timedelta(hours=12))


def today_latest() -> date:
    return datetime.now(UTC).astimezone(LATEST_ZONE).date()
