"""DMService request envelopes the adapter sends: pure functions of the settings and the message.

The created object's children follow ``wire.CREATE_ORDER`` (XDTO checks the sequence, S1/S3)."""

from __future__ import annotations

from datetime import datetime

from lxml import etree

from connector.domain import ControlTaskRequest, PosMessage, StoredFile
from connector.edms_adapters.onec_dm import wire
from connector.edms_adapters.onec_dm.settings import OnecDmSettings


def new_object(s: OnecDmSettings) -> etree._Element | None:
    """``DMGetNewObjectRequest`` with the template as data source, or None when the setting says not to."""
    wanted = s.new_object_request == "always" or (s.new_object_request == "auto" and bool(s.template_id))
    if not wanted:
        return None
    env, req = wire.new_request(wire.R_GET_NEW_OBJECT, s.database_id)
    wire.sub(req, "type", s.document_type)
    source = wire.sub(req, "dataSource")
    source.set(f"{{{wire.XSI_NS}}}type", wire.dm_type(s.document_type + "Template"))
    wire.sub(source, "name", "")
    wire.add_object_id(source, s.template_id, s.document_type + "Template")
    return env


def create(s: OnecDmSettings, doc_id: str, msg: PosMessage, filled: etree._Element | None) -> etree._Element:
    """``DMCreateRequest`` for ``msg``; ``filled`` is the template-filled object of ``new_object`` (or None)."""
    env, req = wire.new_request(wire.R_CREATE, s.database_id)
    obj = wire.sub(req, "object")
    obj.set(f"{{{wire.XSI_NS}}}type", wire.dm_type(s.document_type))
    path = " / ".join(c.name for c in (msg.category, msg.subcategory, msg.fact) if c is not None)
    title = f"Обращение ПОС №{msg.pos_id}" + (f": {path}" if path else "")
    wire.sub(obj, "name", title)
    wire.add_object_id(obj, doc_id, s.document_type)
    wire.add_external(obj, s.external_system, msg.pos_id, wire.EXTERNAL_TYPE_POS)
    if s.organization_id:
        wire.add_ref(obj, "organization", s.organization_id, "DMOrganization")
    if s.responsible_login:
        # S1's shape: an empty reference plus the login as externalObject; 1C resolves the user
        login = s.responsible_login if s.responsible_login.startswith("\\") else "\\" + s.responsible_login
        responsible = wire.sub(obj, "responsible")
        wire.sub(responsible, "name", "")
        wire.add_object_id(responsible, "", "")
        wire.add_external(responsible, login, "", wire.T_USER)
    excerpt = msg.text[: s.summary_limit]
    wire.sub(obj, "summary", "\n\n".join(p for p in (path, excerpt) if p))
    wire.sub(obj, "title", title)
    configured = {"documentType": (s.document_kind_id, "Type"), "folder": (s.folder_id, "Folder"),
                  "template": (s.template_id, "Template")}
    for local in ("author", "documentType", "folder", "template"):
        ref_id, suffix = configured.get(local, ("", ""))
        template_ref = wire.child(filled, local)
        if ref_id:  # a configured id wins over the template's
            wire.add_ref(obj, local, ref_id, s.document_type + suffix)
        elif template_ref is not None and wire.text(template_ref, "objectID", "id"):
            wire.add_ref(obj, local, wire.text(template_ref, "objectID", "id"),
                         wire.text(template_ref, "objectID", "type"), wire.text(template_ref, "name"))
    if s.document_type == wire.T_INCOMING:
        corr = wire.sub(obj, "correspondent")
        wire.sub(corr, "name", msg.applicant.full_name or "Заявитель ПОС")
        wire.sub(obj, "incomingNumber", msg.epgu_number or msg.pos_id)
        wire.sub(obj, "incomingDate", wire.format_datetime(msg.created_at))
    wire.ordered(obj)
    return env


def add_file(s: OnecDmSettings, doc_id: str, file_id: str, att: StoredFile, now: datetime) -> etree._Element:
    """``DMAddFileRequest`` (S1's file fields) with a placeholder where the streamed base64 goes."""
    env, req = wire.new_request(wire.R_ADD_FILE, s.database_id)
    stem, dot, ext = att.name.rpartition(".")
    if not dot or not stem:
        stem, ext = att.name, ""
    stamp = wire.format_datetime(now)
    f = wire.sub(req, "file")
    wire.sub(f, "name", stem)
    wire.add_object_id(f, file_id, wire.T_FILE)
    wire.sub(f, "extension", ext)
    wire.sub(f, "size", str(att.size))
    for local in ("creationDate", "modificationDate", "modificationDateUniversal"):
        wire.sub(f, local, stamp)
    wire.sub(f, "binaryData", wire.binary_placeholder())
    owner = wire.sub(req, "owner")
    owner.set(f"{{{wire.XSI_NS}}}type", wire.dm_type(s.document_type))
    wire.sub(owner, "name", "")
    wire.add_object_id(owner, doc_id, s.document_type)
    return env


def create_control_task(s: OnecDmSettings, task_id: str, doc_id: str, task: ControlTaskRequest) -> etree._Element:
    """``DMCreateRequest`` of the curator's control task on card ``doc_id``; ``task_id`` is derived from the
    task's key, so a repeated request finds the first task instead of making a second one."""
    env, req = wire.new_request(wire.R_CREATE, s.database_id)
    obj = wire.sub(req, "object")
    obj.set(f"{{{wire.XSI_NS}}}type", wire.dm_type(wire.T_CONTROL_TASK))
    wire.sub(obj, "name", ("На контроль: низкая оценка заявителя" if task.reason == "rating"
                           else "На контроль: повторное обращение")[:150])
    wire.add_object_id(obj, task_id, wire.T_CONTROL_TASK)
    wire.sub(obj, "description", task.text)
    wire.sub(obj, "importance", "Высокая")
    wire.add_ref(obj, "target", doc_id, s.document_type)
    if s.curator:
        controller = wire.sub(obj, "controller")
        wire.sub(controller, "name", s.curator)
    return env
