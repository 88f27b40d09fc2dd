"""Directum RX Integration service (OData v4, JSON) wire format: names, URLs, filters, reply shapes.

Every entity set and property name the adapter uses has its default here; the ones that differ
between installations are repeated as settings (see ``settings.py``) and the adapter always goes
through the settings.  Nothing here knows about settings or the pipeline; the simulator imports
these names too, so adapter and double cannot drift apart silently.

Evidence (see docs/edms.md, «Directum RX»): entity sets, ``Versions``/``Body`` navigation, Basic auth,
204 on an empty collection, plain-text ``/$count`` with a BOM and the two error shapes are [SEEN]; the
task's ``ActionItem``/``Author``/``AssignedBy``/``Supervisor``/``ExecutionState`` and its
``AttachmentDetails`` (``AttachmentId``) link to the document, and ``InResponseTo`` plus the
``InResponseToDocuments`` collection (``IsManyResponses``) of an answer are [SEEN] in public code; the
names stay settings because installations customise them.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator, Mapping
from datetime import date, datetime, tzinfo
from typing import IO, Any
from urllib.parse import quote

from lxml import etree

# --- entity sets (defaults; configurable) ----------------------------------------------------------
S_INCOMING = "IIncomingLetters"
S_OUTGOING = "IOutgoingLetters"
S_PERSONS = "IPersons"
S_TASKS = "IActionItemExecutionTasks"
S_ASSIGNMENTS = "IAssignments"
S_EMPLOYEES = "IEmployees"
S_APPLICATIONS = "IAssociatedApplications"
S_DOCUMENT_KINDS = "IDocumentKinds"
S_BUSINESS_UNITS = "IBusinessUnits"
S_DEPARTMENTS = "IDepartments"
S_DELIVERY_METHODS = "IMailDeliveryMethods"
S_SIMPLE_TASKS = "ISimpleTasks"             # [INFERRED] «Простая задача»: the rating loop's control task

# --- properties -------------------------------------------------------------------------------------
P_ID = "Id"
P_NAME = "Name"
P_SUBJECT = "Subject"
P_NOTE = "Note"
P_IN_NUMBER = "InNumber"
P_DATED = "Dated"
P_CORRESPONDENT = "Correspondent"
P_DOCUMENT_KIND = "DocumentKind"
P_BUSINESS_UNIT = "BusinessUnit"
P_DEPARTMENT = "Department"
P_DELIVERY_METHOD = "DeliveryMethod"
P_REG_NUMBER = "RegistrationNumber"
P_REG_DATE = "RegistrationDate"
P_REG_STATE = "RegistrationState"
P_LIFE_CYCLE = "LifeCycleState"
P_OUR_SIGNATORY = "OurSignatory"
P_IN_RESPONSE_TO = "InResponseTo"           # [SEEN] single answer link on IOutgoingLetters (Sungero source)
P_IN_RESPONSE_TO_DOCUMENTS = "InResponseToDocuments"  # [SEEN] the collection when IsManyResponses
P_IS_MANY_RESPONSES = "IsManyResponses"     # [SEEN] true: InResponseTo is null, the collection holds all
P_DOCUMENT = "Document"                     # [SEEN] the letter an InResponseToDocuments row points at
P_LAST_NAME = "LastName"
P_FIRST_NAME = "FirstName"
P_MIDDLE_NAME = "MiddleName"
P_EMAIL = "Email"
P_PHONES = "Phones"
P_STATUS = "Status"
P_VERSIONS = "Versions"
P_BODY = "Body"
P_VALUE = "Value"
P_NUMBER = "Number"
P_ASSOCIATED_APP = "AssociatedApplication"
P_EXTENSION = "Extension"
P_ASSIGNEE = "Assignee"
P_DEADLINE = "Deadline"
P_COMPLETED = "Completed"          # when the task was done [INFERRED: Sungero assignments carry Completed]
P_ACTION_ITEM = "ActionItem"                # [SEEN] the task's text (resolution)
P_TEXT_LEGACY = "Text"                      # [SEEN] the same on older installations
P_AUTHOR = "Author"
P_ASSIGNED_BY = "AssignedBy"
P_SUPERVISOR = "Supervisor"
P_EXECUTION_STATE = "ExecutionState"        # e.g. OnExecution
P_CLIENT_HYPERLINK = "ClientHyperlink"
P_ATTACHMENT_DETAILS = "AttachmentDetails"  # [SEEN] a task's attached entities ("вложенные документы")
P_ATTACHMENT_ID = "AttachmentId"            # [SEEN] id of the attached entity (our letter)
P_ENTITY_TYPE_GUID = "EntityTypeGuid"       # [INFERRED] type of the attached entity; not used in filters
P_ACTIVE_TEXT = "ActiveText"                # [INFERRED] a simple task's text
P_IMPORTANCE = "Importance"                 # [INFERRED] High | Normal | Low
P_CONTROL_DOCUMENT = "Document"             # [INFERRED] our link from a control task to the letter (a setting)
P_GROUP_ID = "GroupId"                      # [INFERRED] attachment group of the row; not used in filters

REG_STATE_REGISTERED = "Registered"
STATUS_ACTIVE = "Active"
TASK_IN_PROCESS = "InProcess"
EXECUTION_ON_EXECUTION = "OnExecution"

#: [SEEN] the tasks that carry a document among their attachments (public RX client code filters
#: ``AttachmentDetails/Any(att: att/AttachmentId eq <doc id>)``); ``{id}`` is our letter id.
TASK_DOCUMENT_FILTER = f"{P_ATTACHMENT_DETAILS}/any(a: a/{P_ATTACHMENT_ID} eq {{id}})"

#: [INFERRED] type GUID of IncomingLetter used in web-client links ``/Client/#/card/{guid}/{id}``.
INCOMING_LETTER_TYPE_GUID = "8dd00491-8fd0-4a7a-9cf3-8b6dc2e6455d"

#: Text of Directum's refusal of an unfiltered query over its limit [SEEN].
TOO_MANY_ENTITIES = "Превышено максимальное количество сущностей в запросе. Используйте фильтрацию."

JSON_CONTENT_TYPE = "application/json; charset=utf-8"
BOM = "\ufeff"
EDM_NS = "http://docs.oasis-open.org/odata/ns/edm"
EDMX_NS = "http://docs.oasis-open.org/odata/ns/edmx"

# --- OData literals, filters and URLs -----------------------------------------------------------------
Literal = str | int | bool | None


def literal(value: Literal) -> str:
    """An OData v4 literal: strings in single quotes with ``'`` doubled; ints, booleans and null bare."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    return "'" + str(value).replace("'", "''") + "'"


def eq(path: str, value: Literal) -> str:
    if not re.fullmatch(r"[A-Za-z_]\w*(/[A-Za-z_]\w*)*", path):
        raise ValueError(f"not an OData property path: {path!r}")
    return f"{path} eq {literal(value)}"


def and_(*clauses: str) -> str:
    return " and ".join(c for c in clauses if c)


def key(set_name: str, entity_id: int) -> str:
    """``IIncomingLetters(42)`` -- also the relative URL used in ``@odata.bind``."""
    return f"{set_name}({int(entity_id)})"


def query_string(params: Mapping[str, str | int | None]) -> str:
    """``$filter=…&$top=…`` with values percent-encoded (spaces as %20, quotes kept readable)."""
    parts = [f"{k}={quote(str(v), safe=chr(39) + '(),/$')}" for k, v in params.items() if v not in (None, "")]
    return "&".join(parts)


def bind(nav: str, set_name: str, entity_id: int) -> dict[str, str]:
    return {f"{nav}@odata.bind": key(set_name, entity_id)}


# --- dates -------------------------------------------------------------------------------------------------
def format_datetime(value: datetime) -> str:
    """Edm.DateTimeOffset; naive datetimes are refused by the caller's types (ours are aware)."""
    return value.isoformat(timespec="seconds").replace("+00:00", "Z")


def format_date(value: date) -> str:
    return f"{value.isoformat()}T00:00:00Z"


def parse_date(value: Any) -> date | None:
    """The calendar date as written (``2026-11-01T00:00:00+03:00`` → 2026-11-01), or None."""
    if not isinstance(value, str) or len(value) < 10:
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None


def parse_moment(value: Any, zone: tzinfo) -> datetime | None:
    """An Edm.DateTimeOffset (an offset-less value is read in the body's zone), or None."""
    if not isinstance(value, str) or len(value) < 10:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=zone)


# --- replies -------------------------------------------------------------------------------------------------
class MalformedReply(ValueError):
    """A 2xx reply that is not the JSON OData promises."""


def parse_json(content: bytes) -> Any:
    try:
        return json.loads(content.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise MalformedReply(str(exc)[:200]) from None


def collection(content: bytes) -> list[dict[str, Any]]:
    """Entities of a collection reply; an empty body (Directum's 204) is an empty collection."""
    if not content.strip():
        return []
    payload = parse_json(content)
    values = payload.get("value") if isinstance(payload, dict) else None
    if not isinstance(values, list) or not all(isinstance(v, dict) for v in values):
        raise MalformedReply("collection reply without a 'value' array")
    return values


def entity(content: bytes) -> dict[str, Any]:
    payload = parse_json(content)
    if not isinstance(payload, dict):
        raise MalformedReply("entity reply is not a JSON object")
    return payload


def parse_count(content: bytes) -> int:
    """``/$count`` is plain text, sometimes with a UTF-8 BOM."""
    text = content.decode("utf-8-sig", errors="replace").strip().lstrip(BOM)
    if not text.isdigit():
        raise MalformedReply(f"$count reply is not a number: {text[:40]!r}")
    return int(text)


def error_text(content: bytes) -> str:
    """Error text of both shapes: ``{"error":{"message":{"value":…}}}`` (also ``message`` as a plain
    string) and ``{"error":"…"}``; anything else is returned as short plain text."""
    try:
        payload = json.loads(content.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError):
        return content[:300].decode("utf-8", errors="replace").strip()
    error = payload.get("error") if isinstance(payload, dict) else None
    if isinstance(error, str):
        return error
    if isinstance(error, dict):
        message = error.get("message")
        if isinstance(message, dict):
            return str(message.get("value", ""))
        if isinstance(message, str):
            return message
        return str(error.get("code", ""))
    return ""


def error_json(message: str, code: str = "") -> dict[str, Any]:
    """The structured error shape (the simulator answers with it)."""
    return {"error": {"code": code, "message": {"lang": "ru-RU", "value": message}}}


def nav_id(entity_json: Mapping[str, Any], nav: str) -> int | None:
    """Id of an expanded navigation property (``{"Correspondent": {"Id": 5, …}}``)."""
    value = entity_json.get(nav)
    if isinstance(value, dict) and isinstance(value.get(P_ID), int):
        return int(value[P_ID])
    return None


def collection_ids(entity_json: Mapping[str, Any], path: str) -> set[int]:
    """Ids an expanded collection points at: ``"AttachmentDetails/AttachmentId"`` reads
    ``AttachmentId`` of every row, ``"InResponseToDocuments/Document"`` the ``Document/Id`` of every row."""
    collection_name, _, leaf = path.partition("/")
    rows = entity_json.get(collection_name)
    found: set[int] = set()
    for row in rows if isinstance(rows, list) else ():
        value = row.get(leaf) if isinstance(row, dict) else None
        if isinstance(value, dict):
            value = value.get(P_ID)
        if isinstance(value, int) and not isinstance(value, bool):
            found.add(value)
    return found


def nav_name(entity_json: Mapping[str, Any], nav: str) -> str:
    value = entity_json.get(nav)
    return str(value.get(P_NAME) or "") if isinstance(value, dict) else ""


# --- version notes carry our deterministic file key ------------------------------------------------------
_KEY_RE = re.compile(r"\[pos-file (\d+):([0-9a-f]{64})\]\s*$")


def version_note(file_name: str, index: int, sha256: str) -> str:
    """``<file name> [pos-file <index>:<sha256>]``: a retry recognises the version by the bracket."""
    return f"{file_name} [pos-file {index}:{sha256}]"


def version_key(note: str | None) -> tuple[int, str] | None:
    match = _KEY_RE.search(note or "")
    return (int(match.group(1)), match.group(2)) if match else None


def version_file_name(note: str | None) -> str:
    """The file name a version note carries (ours), else the whole note."""
    note = note or ""
    match = _KEY_RE.search(note)
    return note[: match.start()].rstrip() if match else note


def split_extension(file_name: str) -> tuple[str, str]:
    stem, dot, ext = file_name.rpartition(".")
    if not dot or not stem or not ext.isalnum():
        return file_name, ""
    return stem, ext.lower()


# --- $metadata -------------------------------------------------------------------------------------------
def _csdl(metadata: bytes) -> Any:
    """The parsed CSDL document, without DTDs, entities or network."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    root = etree.fromstring(metadata, parser)
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None:
        raise ValueError("$metadata carries a DTD")
    return root


def entity_sets(metadata: bytes) -> set[str]:
    """Names of the EntitySets of a CSDL document."""
    return {str(el.get("Name")) for el in _csdl(metadata).iter(f"{{{EDM_NS}}}EntitySet")}


def set_properties(metadata: bytes) -> dict[str, set[str]]:
    """Per EntitySet, the names of its type's properties and navigation properties, inherited ones
    (``BaseType``, as RX's types derive from each other) included.  A set whose type is not found maps
    to no entry: nothing can be said about it."""
    root = _csdl(metadata)
    types: dict[str, Any] = {}
    for schema in root.iter(f"{{{EDM_NS}}}Schema"):
        namespace = str(schema.get("Namespace") or "")
        for type_el in schema.iter(f"{{{EDM_NS}}}EntityType"):
            types[f"{namespace}.{type_el.get('Name')}"] = type_el

    def names(qualified: str, depth: int = 0) -> set[str] | None:
        type_el = types.get(qualified)
        if type_el is None or depth > 20:
            return None
        own = {str(el.get("Name")) for tag in ("Property", "NavigationProperty")
               for el in type_el.iter(f"{{{EDM_NS}}}{tag}")}
        base = type_el.get("BaseType")
        inherited = names(str(base), depth + 1) if base else set()
        return None if inherited is None else own | inherited

    out: dict[str, set[str]] = {}
    for set_el in root.iter(f"{{{EDM_NS}}}EntitySet"):
        found = names(str(set_el.get("EntityType") or ""))
        if found is not None:
            out[str(set_el.get("Name"))] = found
    return out


B64_CHUNK = 3 * 256 * 1024  # read size when streaming a file as base64 (a multiple of 3)


def b64_chunks(stream: IO[bytes]) -> Iterator[bytes]:
    """Base64 of a binary stream, chunk by chunk, without holding it whole."""
    while chunk := stream.read(B64_CHUNK):
        yield base64.b64encode(chunk)


# --- appeals of every channel (capability list_appeals) ----------------------------------------------------
# The commercial «Обращения граждан» solution for RX is in no public source [UNSEEN]: we read an appeal's
# questions as rows of a collection on the incoming letter (name a setting, default below), each row with
# the properties here.  Card-level facts are letter properties named in settings ([edms.<name>.appeals]).
P_QUESTIONS = "Questions"
Q_RUBRIC = "RubricCode"
Q_SUMMARY = "Summary"
Q_ASSIGNEE = "Assignee"                 # → IEmployees
Q_RESULT = "Result"
Q_ANSWER = "AnswerLetter"               # → IOutgoingLetters
Q_REDIRECT_ORG = "RedirectOrganization"
Q_REDIRECT_NUMBER = "RedirectLetterNumber"
Q_REDIRECT_DATE = "RedirectLetterDate"


def between(path: str, first: datetime, last: datetime) -> str:
    """``<path> ge <first> and <path> le <last>`` with Edm.DateTimeOffset literals."""
    if not re.fullmatch(r"[A-Za-z_]\w*(/[A-Za-z_]\w*)*", path):
        raise ValueError(f"not an OData property path: {path!r}")
    return f"{path} ge {format_datetime(first)} and {path} le {format_datetime(last)}"


# --- control tasks carry our deterministic key in their subject ----------------------------------------
_CONTROL_RE = re.compile(r"\[pos-control ([0-9a-f]{16})\]\s*$")


def control_marker(task_key: str) -> str:
    """``[pos-control <16 hex>]`` from the task's key: a retry finds the task by its subject."""
    import hashlib

    return f"[pos-control {hashlib.sha256(task_key.encode()).hexdigest()[:16]}]"
