"""DMService ``execute`` of the simulator: read a polymorphic request, act on the state, render the reply.

Element and type names come from the adapter's ``wire`` module; the reading is tolerant (by local
name, extra elements ignored) so both our lxml envelopes and zeep-built ones are accepted.
"""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, date, datetime

from lxml import etree

from connector.edms_adapters.onec_dm import wire
from connector.edms_adapters.onec_dm.wire import child, children, sub, text
from connector.simulators.onec.state import Doc, FileRec, OnecState, SimError, Task

VERSION = wire.SUPPORTED_DM_VERSION
_REF_FIELDS = ("documentType", "folder", "template", "organization", "responsible", "author")
_XSI_TYPE = f"{{{wire.XSI_NS}}}type"


def envelope(body_child: etree._Element) -> bytes:
    env = etree.Element(f"{{{wire.SOAP_ENV_NS}}}Envelope", nsmap=wire.NSMAP)
    etree.SubElement(env, f"{{{wire.SOAP_ENV_NS}}}Body").append(body_child)
    return wire.to_bytes(env)


def fault(faultstring: str, faultcode: str = "soap:Server") -> bytes:
    el = etree.Element(f"{{{wire.SOAP_ENV_NS}}}Fault", nsmap=wire.NSMAP)
    etree.SubElement(el, "faultcode").text = faultcode
    etree.SubElement(el, "faultstring").text = faultstring
    return envelope(el)


def _reply(return_type: str) -> tuple[etree._Element, etree._Element]:
    resp = etree.Element(wire.q("executeResponse"), nsmap={"dm": wire.DM_NS, "xsi": wire.XSI_NS, "xs": wire.XS_NS})
    ret = sub(resp, "return")
    ret.set(_XSI_TYPE, wire.dm_type(return_type))
    return resp, ret


def dm_error(description: str, code: str = "") -> bytes:
    resp, ret = _reply(wire.T_ERROR)
    if code:
        sub(ret, "code", code)
    sub(ret, "description", description)
    return envelope(resp)


def request_type(root: etree._Element) -> tuple[str, etree._Element]:
    execute = next((e for e in root.iter() if wire.local_name(e) == "execute"), None)
    request = child(execute, "request")
    if request is None:
        raise SimError("В запросе нет элемента execute/request")
    return wire.xsi_type(request), request


def handle(state: OnecState, root: etree._Element, user: str) -> tuple[str, bytes]:
    """(request type, reply body); a SimError becomes a DMError reply."""
    rtype = "?"
    try:
        rtype, req = request_type(root)
        handler = _HANDLERS.get(rtype)
        if handler is None:
            raise SimError(f"Тип запроса {rtype or '(не указан)'} не поддерживается")
        return rtype, handler(state, req, user)
    except SimError as exc:
        return rtype, dm_error(exc.description, exc.code)


# --- handlers ---------------------------------------------------------------------------------------
def _get_version(state: OnecState, req: etree._Element, user: str) -> bytes:
    resp, ret = _reply("DMGetVersionResponse")
    sub(ret, "versionNumber", VERSION)
    return envelope(resp)


def _current_user(state: OnecState, req: etree._Element, user: str) -> bytes:
    resp, ret = _reply("DMGetCurrentUserResponse")
    u = sub(ret, "user")
    u.set(_XSI_TYPE, wire.dm_type(wire.T_USER))
    sub(u, "name", user)
    wire.add_object_id(u, str(uuid.uuid5(wire.OBJECT_ID_NAMESPACE, "user:" + user)), wire.T_USER)
    return envelope(resp)


def _retrieve(state: OnecState, req: etree._Element, user: str) -> bytes:
    columns = {text(c) for c in children(req, "columnSet")}
    ids = [text(o, "id") for o in children(req, "objectIds")]
    if not ids:
        raise SimError("Не указаны идентификаторы объектов (objectIds)")
    found = [state.lookup(i) for i in ids]
    resp, ret = _reply("DMRetrieveResponse")
    for obj in found:
        _render(state, ret, "objects", obj, binary=wire.COLUMN_BINARY in columns)
    return envelope(resp)


def _create(state: OnecState, req: etree._Element, user: str) -> bytes:
    obj = child(req, "object")
    if obj is None:
        raise SimError("Не указан создаваемый объект (object)")
    doc_type = text(obj, "objectID", "type") or wire.xsi_type(obj)
    if not doc_type.endswith("Document"):
        raise SimError(f"Создание объектов типа {doc_type} не поддерживается")
    ext = child(obj, "externalObject")
    refs = {}
    for local in (*_REF_FIELDS, "correspondent", "signer"):
        ref = child(obj, local)
        if ref is not None:
            refs[local] = {"name": text(ref, "name") or text(ref, "externalObject", "name"),
                           "id": text(ref, "objectID", "id"), "type": text(ref, "objectID", "type")}
    doc = Doc(id=text(obj, "objectID", "id"), type=doc_type, name=text(obj, "name"), title=text(obj, "title"),
              summary=text(obj, "summary"),
              external={k: text(ext, k) for k in ("name", "id", "type")} if ext is not None else None,
              refs=refs, properties=wire.parse_properties(obj), signer=refs.get("signer", {}).get("name", ""),
              incoming_number=text(obj, "incomingNumber"), incoming_date=text(obj, "incomingDate"))
    doc = state.create_doc(doc)
    resp, ret = _reply("DMCreateResponse")
    _render(state, ret, "object", doc)
    return envelope(resp)


def _add_file(state: OnecState, req: etree._Element, user: str) -> bytes:
    f, owner = child(req, "file"), child(req, "owner")
    if f is None or owner is None:
        raise SimError("Запрос DMAddFileRequest должен содержать file и owner")
    raw = child(f, "binaryData")
    if raw is None:
        raise SimError("Нет данных файла (binaryData)")
    try:
        content = base64.b64decode(raw.text or "", validate=True)
    except ValueError:
        raise SimError("Данные файла не в формате base64") from None
    size = text(f, "size")
    rec = FileRec(id=text(f, "objectID", "id"), owner_id=text(owner, "objectID", "id"),
                  owner_type=text(owner, "objectID", "type"), name=text(f, "name"), extension=text(f, "extension"),
                  size=int(size) if size.isdigit() else 0, sha256="",
                  created=text(f, "creationDate") or wire.format_datetime(datetime.now(UTC)))
    rec = state.add_file(rec, content)
    resp, ret = _reply("DMAddFileResponse")
    _render(state, ret, "file", rec)
    return envelope(resp)


def _files_by_owner(state: OnecState, req: etree._Element, user: str) -> bytes:
    resp, ret = _reply("DMGetFileListByOwnerResponse")
    for owner in children(req, "owners"):
        for rec in state.files_of(text(owner, "objectID", "id")):
            _render(state, ret, "files", rec)
    return envelope(resp)


def _object_list(state: OnecState, req: etree._Element, user: str) -> bytes:
    obj_type = text(req, "type")
    conditions = []
    for cond in children(child(req, "query"), "conditions"):
        value = child(cond, "value")
        conditions.append((text(cond, "property"), text(value, "id") or text(value), text(cond, "comparisonOperator")))
    resp, ret = _reply("DMGetObjectListResponse")
    objects: list[Doc | Task]
    if obj_type == wire.T_TASK:
        objects = _tasks_where(state, conditions)
    else:
        objects = list(state.docs_where(obj_type, conditions))
    for obj in objects:
        _render(state, sub(ret, "items"), "object", obj)
    sub(ret, "tooManyObjects", "false")
    return envelope(resp)


def _tasks_where(state: OnecState, conditions: list[tuple[str, str, str]]) -> list[Doc | Task]:
    with_executed = False
    target = None
    for prop, value, _op in conditions:
        if prop == wire.COND_EXECUTED:
            with_executed = value.lower() == "true"
        elif prop == wire.COND_TARGET:
            target = value
        else:
            raise SimError(f"Условие отбора {prop} для задач не поддерживается")
    with state.lock:
        tasks = list(state.tasks.values()) if target is None else state.tasks_of(target)
        return [t for t in tasks if with_executed or not t.executed]


_HANDLERS = {
    wire.R_GET_VERSION: _get_version,
    wire.R_CURRENT_USER: _current_user,
    wire.R_RETRIEVE: _retrieve,
    wire.R_CREATE: _create,
    wire.R_ADD_FILE: _add_file,
    wire.R_FILES_BY_OWNER: _files_by_owner,
    wire.R_OBJECT_LIST: _object_list,
}


# --- rendering --------------------------------------------------------------------------------------
def _dt(value: date | None) -> str:
    return wire.format_datetime(value) if value else "0001-01-01T00:00:00"


def _render(state: OnecState, parent: etree._Element, local: str, obj: Doc | FileRec | Task, *,
            binary: bool = False) -> None:
    if isinstance(obj, Doc):
        _render_doc(parent, local, obj)
    elif isinstance(obj, FileRec):
        el = _obj(parent, local, wire.T_FILE, obj.id, obj.name)
        sub(el, "extension", obj.extension)
        sub(el, "size", str(obj.size))
        for name in ("creationDate", "modificationDate", "modificationDateUniversal"):
            sub(el, name, obj.created)
        sub(el, "signed", "false")
        if binary:
            sub(el, "binaryData", base64.b64encode(obj.read()).decode("ascii"))
    else:
        target = state.docs.get(obj.target_id)
        el = _obj(parent, local, wire.T_TASK, obj.id, f"Исполнить: {target.title if target else ''}")
        sub(el, "number", obj.number)
        sub(el, "description", obj.description)
        sub(el, "beginDate", _dt(obj.begin_date))
        sub(el, "dueDate", _dt(obj.due_date))
        sub(el, "endDate", _dt(obj.end_date))
        sub(el, "executed", str(obj.executed).lower())
        sub(el, "accepted", str(obj.executed).lower())
        performer = sub(el, "performer")
        sub(performer, "name", obj.performer)
        wire.add_object_id(performer, str(uuid.uuid5(wire.OBJECT_ID_NAMESPACE, "user:" + obj.performer)), wire.T_USER)
        wire.add_ref(el, "target", obj.target_id, obj.target_type, target.title if target else "")


def _obj(parent: etree._Element, local: str, obj_type: str, obj_id: str, name: str) -> etree._Element:
    el = sub(parent, local)
    el.set(_XSI_TYPE, wire.dm_type(obj_type))
    sub(el, "name", name)
    oid = wire.add_object_id(el, obj_id, obj_type)
    sub(oid, "presentation", name)
    return el


def _render_doc(parent: etree._Element, local: str, doc: Doc) -> None:
    el = _obj(parent, local, doc.type, doc.id, doc.name or doc.title)
    sub(child(el, "objectID"), "navigationRef", doc.navigation_ref)
    if doc.external:
        wire.add_external(el, doc.external.get("name", ""), doc.external.get("id", ""), doc.external.get("type", ""))
    sub(el, "title", doc.title)
    sub(el, "summary", doc.summary)
    for name in _REF_FIELDS:
        ref = doc.refs.get(name)
        if ref:
            wire.add_ref(el, name, ref["id"], ref["type"], ref["name"])
    sub(el, "regNumber", doc.reg_number)
    sub(el, "regDate", _dt(doc.reg_date))
    for key, value in doc.properties.items():
        wire.add_property(el, key, value)
    if doc.type == wire.T_INCOMING:
        corr = sub(el, "correspondent")
        sub(corr, "name", doc.refs.get("correspondent", {}).get("name", ""))
        sub(el, "incomingNumber", doc.incoming_number)
        sub(el, "incomingDate", doc.incoming_date or _dt(None))
    elif doc.type == wire.T_OUTGOING:
        signer = sub(el, "signer")
        sub(signer, "name", doc.signer)
