"""DMService ``execute`` of the simulator: read a polymorphic request, act on the state, render the reply.

Element and type names come from the adapter's ``wire`` module; the reading is tolerant (by local
name, extra elements ignored) so both our lxml envelopes and zeep-built ones are accepted.
"""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, date, datetime

from lxml import etree

from connector.edms_adapters.onec_dm import replies, wire
from connector.edms_adapters.onec_dm.wire import child, children, sub, text
from connector.simulators.onec import control
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


def dm_error(description: str, subject: str = "Ошибка при выполнении операции") -> bytes:
    """DMError as real installations send it: ``subject`` + ``description`` (S2, S3), no code."""
    resp, ret = _reply(wire.T_ERROR)
    sub(ret, "subject", subject)
    sub(ret, "description", description)
    return envelope(resp)


XDTO_SUBJECT = "Ошибка проверки данных XDTO"
SIGNATURE_REQUIRED = "Для добавления файла требуется электронная подпись: электронная подпись требуется"
STORAGE_DOWN = ("Том хранения файлов недоступен: не удалось записать файл в том хранения "
                "\\\\fs01\\dm-volume01")


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
        return rtype, dm_error(exc.description, exc.subject)


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
    binary = wire.COLUMN_BINARY in columns
    if binary and any(isinstance(o, FileRec) for o in found) and state.take_fault("file_storage_down"):
        raise SimError(STORAGE_DOWN)
    resp, ret = _reply("DMRetrieveResponse")
    for obj in found:
        _render(state, ret, "objects", obj, binary=binary,
                cut=binary and isinstance(obj, FileRec) and state.take_fault("file_size_mismatch"))
    return envelope(resp)


def _check_order(obj: etree._Element, order: tuple[str, ...] = wire.CREATE_ORDER) -> None:
    """XDTO reads a sequence: an element after one that comes later in the type is refused (S1, S3)."""
    rank = {name: i for i, name in enumerate(order)}
    seen = -1
    previous = ""
    for el in obj:
        name = wire.local_name(el)
        if name not in rank:
            raise SimError(f"Структура объекта '/object' не соответствует типу {{{wire.DM_NS}}}"
                           f"{wire.xsi_type(obj)}: неизвестное свойство '{name}'", XDTO_SUBJECT)
        if rank[name] < seen:
            raise SimError(f"Структура объекта '/object' не соответствует типу {{{wire.DM_NS}}}"
                           f"{wire.xsi_type(obj)}: нарушен порядок следования свойств: "
                           f"'{name}' после '{previous}'", XDTO_SUBJECT)
        seen, previous = rank[name], name


def _get_new_object(state: OnecState, req: etree._Element, user: str) -> bytes:
    """A template-filled object (S1): the template's kind, folder and author; the caller creates it."""
    obj_type = text(req, "type")
    source = child(req, "dataSource")
    template_id = text(source, "objectID", "id")
    if not obj_type.endswith("Document") or not template_id:
        raise SimError("Не указан тип объекта или шаблон (dataSource)")
    resp, ret = _reply("DMGetNewObjectResponse")
    obj = sub(ret, "object")
    obj.set(_XSI_TYPE, wire.dm_type(obj_type))
    sub(obj, "name", "")
    sub(obj, "title", "Обращение гражданина")
    for local, suffix in (("author", ""), ("documentType", "Type"), ("folder", "Folder"), ("template", "Template")):
        ref_type = wire.T_USER if local == "author" else obj_type + suffix
        ref_id = template_id if local == "template" else str(uuid.uuid5(wire.OBJECT_ID_NAMESPACE,
                                                                       f"{template_id}:{local}"))
        wire.add_ref(obj, local, ref_id, ref_type, user if local == "author" else f"{local} шаблона")
    return envelope(resp)


def _get_settings(state: OnecState, req: etree._Element, user: str) -> bytes:
    resp, ret = _reply("DMGetSettingsResponse")
    sub(ret, "useDigitalSignatures", wire.boolean(state.use_digital_signatures))
    return envelope(resp)


def _create(state: OnecState, req: etree._Element, user: str) -> bytes:
    obj = child(req, "object")
    if obj is None:
        raise SimError("Не указан создаваемый объект (object)")
    doc_type = text(obj, "objectID", "type") or wire.xsi_type(obj)
    if doc_type == wire.T_CONTROL_TASK:
        _check_order(obj, wire.CONTROL_TASK_ORDER)
        task = control.create(state, control.parse(obj))
        resp, ret = _reply("DMCreateResponse")
        control.render(ret, "object", task)
        return envelope(resp)
    if not doc_type.endswith("Document"):
        raise SimError(f"Создание объектов типа {doc_type} не поддерживается")
    _check_order(obj)
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
              refs=refs, properties=replies.parse_properties(obj), signer=refs.get("signer", {}).get("name", ""),
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
    if state.use_digital_signatures and child(req, "signature") is None:
        raise SimError(SIGNATURE_REQUIRED)
    if state.take_fault("file_storage_down"):
        raise SimError(STORAGE_DOWN)
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


#: value types the simulator's conditions must carry, as in every public client (S2-S4)
_TYPED = {wire.COND_EXECUTED: wire.V_BOOLEAN, wire.COND_TARGET: wire.V_OBJECT_ID,
          wire.COND_BEGIN_DATE: wire.V_DATETIME, wire.COND_REG_DATE: wire.V_DATETIME}


def _condition(cond: etree._Element) -> tuple[str, str, str]:
    prop, value = text(cond, "property"), child(cond, "value")
    if value is None:
        raise SimError(f"Не указано значение условия отбора {prop}", XDTO_SUBJECT)
    declared = value.get(_XSI_TYPE, "")
    expected = _TYPED.get(prop, wire.V_STRING)
    if declared.rpartition(":")[2] != expected.rpartition(":")[2]:
        raise SimError(f"Несоответствие типов: значение условия отбора '{prop}' имеет тип "
                       f"'{declared or 'не указан'}', ожидается '{expected}'", XDTO_SUBJECT)
    raw = text(value, "id") if expected == wire.V_OBJECT_ID else text(value)
    if expected == wire.V_BOOLEAN and raw not in ("true", "false"):
        raise SimError(f"Ошибка преобразования значения '{raw}' к типу xs:boolean", XDTO_SUBJECT)
    return prop, raw, text(cond, "comparisonOperator")


def _object_list(state: OnecState, req: etree._Element, user: str) -> bytes:
    obj_type = text(req, "type")
    query = child(req, "query")
    limit_text = text(query, "limit")
    limit = int(limit_text) if limit_text.isdigit() and int(limit_text) > 0 else None
    resp, ret = _reply("DMGetObjectListResponse")
    objects: list[Doc | Task]
    if obj_type == wire.T_TASK and state.ignore_conditions:
        with state.lock:
            objects = list(state.tasks.values())
    else:
        conditions = [_condition(c) for c in children(query, "conditions")]
        objects = _tasks_where(state, conditions) if obj_type == wire.T_TASK else \
            list(state.docs_where(obj_type, conditions))
    cut = limit is not None and len(objects) > limit
    for obj in objects[:limit] if cut else objects:
        _render(state, sub(ret, "items"), "object", obj)
    sub(ret, "tooManyObjects", wire.boolean(cut))
    return envelope(resp)


def _tasks_where(state: OnecState, conditions: list[tuple[str, str, str]]) -> list[Doc | Task]:
    with_executed = False
    target = None
    since = ""
    for prop, value, op in conditions:
        if prop == wire.COND_EXECUTED:
            with_executed = value == "true"
        elif prop == wire.COND_TARGET:
            target = value
        elif prop == wire.COND_BEGIN_DATE and op == ">=":
            since = value[:10]
        else:
            raise SimError(f"Условие отбора {prop} для задач не поддерживается")
    with state.lock:
        tasks = list(state.tasks.values()) if target is None else state.tasks_of(target)
        return [t for t in tasks if (with_executed or not t.executed) and t.begin_date.isoformat() >= since]


_HANDLERS = {
    wire.R_GET_VERSION: _get_version,
    wire.R_CURRENT_USER: _current_user,
    wire.R_RETRIEVE: _retrieve,
    wire.R_CREATE: _create,
    wire.R_ADD_FILE: _add_file,
    wire.R_FILES_BY_OWNER: _files_by_owner,
    wire.R_OBJECT_LIST: _object_list,
    wire.R_GET_NEW_OBJECT: _get_new_object,
    wire.R_GET_SETTINGS: _get_settings,
}


# --- rendering --------------------------------------------------------------------------------------
def _dt(value: date | None) -> str:
    return wire.format_datetime(value) if value else "0001-01-01T00:00:00"


def _render(state: OnecState, parent: etree._Element, local: str, obj: Doc | FileRec | Task | control.ControlTask,
            *, binary: bool = False, cut: bool = False) -> None:
    if isinstance(obj, control.ControlTask):
        control.render(parent, local, obj)
    elif isinstance(obj, Doc):
        _render_doc(parent, local, obj)
    elif isinstance(obj, FileRec):
        el = _obj(parent, local, wire.T_FILE, obj.id, obj.name)
        sub(el, "extension", obj.extension)
        sub(el, "size", str(obj.size))
        for name in ("creationDate", "modificationDate", "modificationDateUniversal"):
            sub(el, name, obj.created)
        sub(el, "signed", "false")
        if binary:
            data = obj.read()
            sub(el, "binaryData", base64.b64encode(data[: len(data) // 2] if cut else data).decode("ascii"))
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
        # DMBusinessProcessTaskExecutor wrapping the user, as real installations answer (S2 types, S3)
        performer = sub(el, "performer")
        performer.set(_XSI_TYPE, wire.dm_type(wire.T_TASK_EXECUTOR))
        user = sub(performer, "user")
        sub(user, "name", obj.performer)
        wire.add_object_id(user, str(uuid.uuid5(wire.OBJECT_ID_NAMESPACE, "user:" + obj.performer)), wire.T_USER)
        if obj.department:
            sub(sub(user, wire.TASK_USER_DEPARTMENT), "name", obj.department)
        sub(performer, wire.TASK_PERFORMER_RESPONSIBLE, wire.boolean(obj.responsible))
        sub(performer, wire.TASK_PERFORMER_ORDER, str(obj.order))
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
    for row in doc.questions:
        _render_question(el, row)
    if doc.type == wire.T_INCOMING:
        corr = sub(el, "correspondent")
        sub(corr, "name", doc.refs.get("correspondent", {}).get("name", ""))
        sub(el, "incomingNumber", doc.incoming_number)
        sub(el, "incomingDate", doc.incoming_date or _dt(None))
    elif doc.type == wire.T_OUTGOING:
        signer = sub(el, "signer")
        sub(signer, "name", doc.signer)


def _render_question(parent: etree._Element, row: dict[str, str]) -> None:
    """An appeal's question as the adapter reads it (names in onec_dm/wire.py, [UNSEEN] in real 1С)."""
    q = sub(parent, wire.APPEAL_QUESTIONS)
    q.set(_XSI_TYPE, wire.dm_type(wire.T_APPEAL_QUESTION))
    wire.add_object_id(q, row["id"], wire.T_APPEAL_QUESTION)
    for name in (wire.Q_RUBRIC, wire.Q_SUMMARY):
        sub(q, name, row.get(name, ""))
    sub(sub(q, wire.Q_EXECUTOR), "name", row.get(wire.Q_EXECUTOR, ""))
    sub(q, wire.Q_RESULT, row.get(wire.Q_RESULT, ""))
    if row.get(wire.Q_ANSWER):
        wire.add_ref(q, wire.Q_ANSWER, row[wire.Q_ANSWER], wire.T_OUTGOING)
    for name in (wire.Q_REDIRECT_ORG, wire.Q_REDIRECT_NUMBER, wire.Q_REDIRECT_DATE):
        if row.get(name):
            sub(q, name, row[name])
