"""The rating loop's control task over МЭДО: a notification package («Уведомление», ``courseChanged``)
about the document we sent, saying it is put on the curator's control.

МЭДО has no tasks to create in the receiver's EDMS; what it carries between participants are documents
and notifications about them.  The package's uid is derived from the task's key, so the package is
written once: a retry finds the directory in the outbox (or the send log) and writes nothing.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from pathlib import Path

from connector.domain import ControlTaskRequest
from connector.edms_adapters.medo import mailbox, wire
from connector.edms_adapters.medo.settings import MedoSettings

#: Never change: the uids of control packages already sent depend on it.
CONTROL_UID_NAMESPACE = uuid.UUID("a4f1c2d9-7b3e-5f60-9d18-2c5e8b7a0f41")
COURSE_PREFIX = "На контроль"


def package_uid(task_key: str) -> str:
    return str(uuid.uuid5(CONTROL_UID_NAMESPACE, task_key))


def course_text(task: ControlTaskRequest) -> str:
    return f"{COURSE_PREFIX}: " + ("низкая оценка заявителя" if task.reason == "rating" else "повторное обращение")


def write(tmp: Path, uid: str, doc_uid: str, task: ControlTaskRequest, s: MedoSettings, now: datetime) -> None:
    """``document.xml`` (the notification about ``doc_uid``) and the INI envelope into ``tmp``.
    Raises wire.RejectedXml when our own schema refuses what we built."""
    root = wire.communication(wire.TYPE_NOTIFICATION, uid, now, s.sender_uid, s.sender_organization)
    body = wire.notification(root, wire.N_COURSE, doc_uid)
    wire.sub(body, "courseText", course_text(task))
    notification = body.getparent()
    assert notification is not None
    wire.sub(notification, "comment", task.text[: wire.COMMENT_MAX])
    wire.validate(root)
    (tmp / wire.DOCUMENT_XML).write_bytes(wire.to_bytes(root, s.encoding))
    ini = wire.build_ini(f"{course_text(task)} ({s.document_kind})", [s.addressee_address], [wire.DOCUMENT_XML])
    (tmp / wire.ENVELOPE_INI).write_bytes(ini.encode(s.encoding, errors="replace"))


def already_written(s: MedoSettings, index: mailbox.Index, uid: str) -> bool:
    return (s.outbox_dir / uid).exists() or index.was_sent(uid)
