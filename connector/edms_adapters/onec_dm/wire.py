"""DMService wire format: every 1C name, envelope building and reply parsing.

Why envelopes are built with lxml and not through ``zeep.Client.service.execute``: DMService has one
operation whose request and reply are *polymorphic* (``xsi:type`` selects the concrete type), and the
real WSDL is generated from each installation's XDTO package, so it differs between versions and
editions.  zeep renders our shipped WSDL correctly (the tests check that), but a strict zeep
deserialiser fails on any element an installation adds.  So we write the few requests we need by
hand and read replies by element name, tolerating extra elements.  Replies are still parsed by
zeep's loader with its security settings (no DTD, no entities, no network); requests go out through
the same ``requests`` session zeep's transport holds, so one retry policy applies to all traffic.

Nothing here knows about settings or the pipeline; the simulator imports these names too.
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from pathlib import Path
from typing import IO

from lxml import etree

from connector.edms_adapters.xml_text import xml_safe

# --- namespaces and protocol constants -------------------------------------------------------------
DM_NS = "http://www.1c.ru/dm"
SOAP_ENV_NS = "http://schemas.xmlsoap.org/soap/envelope/"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
XS_NS = "http://www.w3.org/2001/XMLSchema"
NSMAP = {"soap": SOAP_ENV_NS, "dm": DM_NS, "xsi": XSI_NS, "xs": XS_NS}
SOAP_ACTION = "http://www.1c.ru/dm#DMService:execute"
CONTENT_TYPE = "text/xml; charset=utf-8"
SUPPORTED_DM_VERSION = "2.1.37.5.CORP"
WSDL_PATH = Path(__file__).with_name("dmservice.wsdl")

#: Project namespace for deterministic object ids (uuid5); never change it: ids of existing cards depend on it.
OBJECT_ID_NAMESPACE = uuid.UUID("6f1d3c52-8a0e-5b7f-9c41-2d7e4a90b1c3")

# --- type names -----------------------------------------------------------------------------------
T_INCOMING = "DMIncomingDocument"
T_OUTGOING = "DMOutgoingDocument"
T_FILE = "DMFile"
T_TASK = "DMBusinessProcessTask"
T_USER = "DMUser"
T_OBJECT_ID = "DMObjectID"
T_ERROR = "DMError"
EXTERNAL_TYPE_POS = "PosMessage"

R_GET_VERSION = "DMGetVersionRequest"
R_CURRENT_USER = "DMGetCurrentUserRequest"
R_RETRIEVE = "DMRetrieveRequest"
R_CREATE = "DMCreateRequest"
R_ADD_FILE = "DMAddFileRequest"
R_FILES_BY_OWNER = "DMGetFileListByOwnerRequest"
R_OBJECT_LIST = "DMGetObjectListRequest"
R_GET_NEW_OBJECT = "DMGetNewObjectRequest"
R_GET_SETTINGS = "DMGetSettingsRequest"
REQUEST_TYPES = (R_GET_VERSION, R_CURRENT_USER, R_RETRIEVE, R_CREATE, R_ADD_FILE, R_FILES_BY_OWNER, R_OBJECT_LIST,
                 R_GET_NEW_OBJECT, R_GET_SETTINGS)
T_TASK_EXECUTOR = "DMBusinessProcessTaskExecutor"
# The performer row of a task: launch requests carry performers[{user, personalDueDate, responsible,
# performanceOrder}] (edms.md §1.3, SEEN); that a task's performer answers with the same names, and the
# user's unit as user/department, is [INFERRED].
TASK_PERFORMER_RESPONSIBLE = "responsible"
TASK_PERFORMER_ORDER = "performanceOrder"
TASK_USER_DEPARTMENT = "department"

#: [INFERRED] «Поручение» (a business process with a controller): the curator's control task of the rating
#: loop.  No public client we read creates one through DMService; the name follows DM's DMBusinessProcess*
#: family, the fields a public client reads from tasks (name, description, target).
T_CONTROL_TASK = "DMBusinessProcessOrder"
CONTROL_TASK_ORDER = ("name", "objectID", "description", "importance", "target", "controller")

#: XDTO checks the element order of a created object against its schema (S3), so the order is the one a
#: working public client sends (S1).  Our incoming-document fields are in no source: they go last.
CREATE_ORDER = ("name", "objectID", "externalObject", "organization", "responsible", "summary", "title",
                "additionalProperties", "author", "documentType", "folder", "template",
                "correspondent", "incomingNumber", "incomingDate")

COLUMN_BINARY = "binaryData"
COND_TARGET = "target"          # DMBusinessProcessTask condition: the task's document [no source has it]
COND_EXECUTED = "withExecuted"
COND_BEGIN_DATE = "beginDate"
COND_REG_DATE = "regDate"

#: xsi:type of condition values, as every public client sends them (S2-S4).
V_STRING, V_BOOLEAN, V_DATETIME, V_OBJECT_ID = "xs:string", "xs:boolean", "xs:dateTime", "dm:DMObjectID"

#: DMError texts (``subject`` + ``description``; no source has a ``code``) and what they mean.  1C answers in
#: Russian or English depending on the infobase language.
ALREADY_EXISTS_MARKERS = ("already exists", "уже существует")
NOT_FOUND_MARKERS = ("not found", "не найден", "не существует")
SIGNATURE_MARKERS = ("подпись требуется", "требуется электронная подпись", "требуется подпись", "эцп",
                     "digital signature", "signature required")
STORAGE_MARKERS = ("том хранения", "хранилище файлов", "file storage", "storage volume")
SIZE_MARKERS = ("размер файла", "file size")
EMPTY_DATE_PREFIX = "0001-"


def q(local: str) -> str:
    return f"{{{DM_NS}}}{local}"


def dm_type(local: str) -> str:
    return f"dm:{local}"


# --- building ---------------------------------------------------------------------------------------
def sub(parent: etree._Element, local: str, text: str | None = None) -> etree._Element:
    el = etree.SubElement(parent, q(local))
    if text is not None:
        el.text = xml_safe(text)
    return el


def new_request(request_type: str, database_id: str = "") -> tuple[etree._Element, etree._Element]:
    """(envelope, request element) for one ``execute`` call."""
    env = etree.Element(f"{{{SOAP_ENV_NS}}}Envelope", nsmap=NSMAP)
    body = etree.SubElement(env, f"{{{SOAP_ENV_NS}}}Body")
    execute = sub(body, "execute")
    request = sub(execute, "request")
    request.set(f"{{{XSI_NS}}}type", dm_type(request_type))
    sub(request, "dataBaseID", database_id)
    return env, request


def add_object_id(parent: etree._Element, object_id: str, object_type: str, local: str = "objectID") -> etree._Element:
    el = sub(parent, local)
    sub(el, "id", object_id)
    sub(el, "type", object_type)
    return el


def add_ref(parent: etree._Element, local: str, object_id: str, object_type: str, name: str = "") -> etree._Element:
    el = sub(parent, local)
    sub(el, "name", name)
    add_object_id(el, object_id, object_type)
    return el


def add_external(parent: etree._Element, name: str, ext_id: str, ext_type: str) -> etree._Element:
    el = sub(parent, "externalObject")
    sub(el, "name", name)
    sub(el, "id", ext_id)
    sub(el, "type", ext_type)
    return el


def add_property(parent: etree._Element, name: str, value: str) -> etree._Element:
    el = sub(parent, "additionalProperties")
    el.set(f"{{{XSI_NS}}}type", dm_type("DMAdditionalProperty"))
    sub(el, "name", name)
    val = sub(el, "propertySimpleValue", value)
    val.set(f"{{{XSI_NS}}}type", "xs:string")
    return el


@dataclass(frozen=True)
class Condition:
    """One ``query/conditions`` entry; ``value_type`` is its ``xsi:type`` (``V_*``).  A ``V_OBJECT_ID``
    value is written as ``{id, type=ref_type}``, as 1C references are."""

    prop: str
    value: str
    value_type: str = V_STRING
    operator: str = ""
    ref_type: str = ""


def boolean(value: bool) -> str:
    return "true" if value else "false"


def add_condition(query: etree._Element, cond: Condition) -> None:
    el = sub(query, "conditions")
    sub(el, "property", cond.prop)
    if cond.value_type == V_OBJECT_ID:
        val = sub(el, "value")
        sub(val, "id", cond.value)
        sub(val, "type", cond.ref_type)
    else:
        val = sub(el, "value", cond.value)
    val.set(f"{{{XSI_NS}}}type", cond.value_type)
    if cond.operator:
        sub(el, "comparisonOperator", cond.operator)


def add_query(request: etree._Element, conditions: Iterable[Condition], limit: int) -> etree._Element:
    query = sub(request, "query")
    for cond in conditions:
        add_condition(query, cond)
    sub(query, "limit", str(limit))
    return query


def ordered(obj: etree._Element, order: tuple[str, ...] = CREATE_ORDER) -> etree._Element:
    """Re-arrange ``obj``'s children into ``order`` (stable for repeated elements such as properties)."""
    rank = {name: i for i, name in enumerate(order)}
    kids = sorted(obj, key=lambda c: rank.get(local_name(c), len(rank)))
    for c in kids:
        obj.append(c)
    return obj


def to_bytes(envelope: etree._Element) -> bytes:
    return bytes(etree.tostring(envelope, xml_declaration=True, encoding="UTF-8"))


_BINARY_MARKER = "@@BINARY-DATA-8d1f@@"


def binary_placeholder() -> str:
    return _BINARY_MARKER


def stream_envelope_with_file(envelope: etree._Element, source: Path, out: IO[bytes]) -> None:
    """Serialise ``envelope`` into ``out`` with the placeholder text replaced by base64 of ``source``,
    streamed in chunks so a large attachment never sits in memory twice."""
    head, sep, tail = to_bytes(envelope).partition(_BINARY_MARKER.encode())
    if not sep:
        raise ValueError("envelope has no binary placeholder")
    out.write(head)
    with source.open("rb") as fh:
        while chunk := fh.read(3 * 256 * 1024):  # a multiple of 3: no padding mid-stream
            out.write(base64.b64encode(chunk))
    out.write(tail)


# --- parsing ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Fault:
    faultcode: str
    faultstring: str


@dataclass(frozen=True)
class DmErrorReply:
    """A ``DMError`` return: ``subject`` and ``description`` (S2, S3), classified by their text (S4)."""

    description: str
    subject: str = ""

    def _says(self, markers: tuple[str, ...]) -> bool:
        words = f"{self.subject}\n{self.description}".lower()
        return any(m in words for m in markers)

    @property
    def already_exists(self) -> bool:
        return self._says(ALREADY_EXISTS_MARKERS)

    @property
    def not_found(self) -> bool:
        return self._says(NOT_FOUND_MARKERS)

    @property
    def signature_required(self) -> bool:
        return self._says(SIGNATURE_MARKERS)

    @property
    def storage_unavailable(self) -> bool:
        return self._says(STORAGE_MARKERS)

    @property
    def size_mismatch(self) -> bool:
        return self._says(SIZE_MARKERS)

    @property
    def kind(self) -> str | None:
        for kind in ("already_exists", "not_found", "signature_required", "storage_unavailable", "size_mismatch"):
            if getattr(self, kind):
                return kind
        return None

    @property
    def text(self) -> str:
        return ": ".join(p for p in (self.subject, self.description) if p)


def local_name(el: etree._Element) -> str:
    return etree.QName(el).localname if isinstance(el.tag, str) else ""


def xsi_type(el: etree._Element) -> str:
    value = el.get(f"{{{XSI_NS}}}type", "")
    return value.rpartition(":")[2]


def child(el: etree._Element | None, *path: str) -> etree._Element | None:
    for local in path:
        if el is None:
            return None
        el = next((c for c in el if local_name(c) == local), None)
    return el


def children(el: etree._Element | None, local: str) -> list[etree._Element]:
    return [] if el is None else [c for c in el if local_name(c) == local]


def text(el: etree._Element | None, *path: str) -> str:
    found = child(el, *path) if path else el
    return (found.text or "").strip() if found is not None else ""


def find_fault(root: etree._Element) -> Fault | None:
    fault = next((e for e in root.iter(f"{{{SOAP_ENV_NS}}}Fault")), None)
    if fault is None:
        return None
    return Fault(text(fault, "faultcode"), text(fault, "faultstring"))


def find_return(root: etree._Element) -> etree._Element | None:
    return next((e for e in root.iter() if local_name(e) == "return"), None)


def as_error(ret: etree._Element) -> DmErrorReply | None:
    if xsi_type(ret) != T_ERROR:
        return None
    desc = text(ret, "description") or text(ret, "message") or text(ret, "errorDescription")
    return DmErrorReply(desc or "DMError without description", text(ret, "subject"))


def parse_date(value: str) -> date | None:
    if not value or value.startswith(EMPTY_DATE_PREFIX):
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None


def parse_datetime(value: str, zone: tzinfo) -> datetime | None:
    """A DMService dateTime (local, no offset) in the body's zone; ``0001-…`` is empty."""
    if not value or value.startswith(EMPTY_DATE_PREFIX):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=zone)


def format_datetime(value: date | datetime) -> str:
    if isinstance(value, datetime):
        return value.replace(tzinfo=None, microsecond=0).isoformat()
    return f"{value.isoformat()}T00:00:00"


# --- appeals of every channel (capability list_appeals) --------------------------------------------
# How an installation's «Обращения граждан» part names an appeal's questions is in no public source
# [UNSEEN]: we read them as repeated ``questions`` elements of the appeal card, each a
# ``DMAppealQuestion`` with the fields below.  Card-level facts (delivery form, forwarding body, the
# «не выгружать в ССТУ» flag, the applicant) are additional properties whose names are settings
# (``[edms.<name>.appeals]``).  A card without question elements is one question: the card itself.
APPEAL_QUESTIONS = "questions"
T_APPEAL_QUESTION = "DMAppealQuestion"
Q_RUBRIC = "rubric"                      # the question's ССТУ classifier code
Q_SUMMARY = "summary"
Q_EXECUTOR = "executor"                  # {name}
Q_RESULT = "result"                      # «Разъяснено», «Направлено по компетенции», …
Q_ANSWER = "answer"                      # ref {name, objectID} of the answer (an outgoing document)
Q_REDIRECT_ORG = "redirectOrganization"  # the body a question was sent to by competence
Q_REDIRECT_NUMBER = "redirectLetterNumber"
Q_REDIRECT_DATE = "redirectLetterDate"
COND_REG_DATE_TO = COND_REG_DATE         # the same condition with "<=" closes the range
CARD_DOCUMENT_TYPE = "documentType"      # ref whose name is the card's kind («Обращение гражданина»)
CARD_CORRESPONDENT = "correspondent"
CARD_INCOMING_NUMBER = "incomingNumber"
CARD_INCOMING_DATE = "incomingDate"
