"""DMService replies read into typed objects: documents, files, tasks (the reading half of the wire format;
element names and envelopes are in ``wire.py``).  Tolerant by design: by local name, extra elements ignored."""

from __future__ import annotations

import base64
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date

from lxml import etree

from connector.edms_adapters.onec_dm import wire
from connector.edms_adapters.onec_dm.wire import child, children, local_name, parse_date, text, xsi_type


# --- parsed objects ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class DocInfo:
    id: str
    type: str
    name: str = ""
    title: str = ""
    summary: str = ""
    reg_number: str = ""
    reg_date: date | None = None
    navigation_ref: str = ""
    signer: str = ""
    external_id: str = ""  # externalObject/id: the POS id of a card we created
    properties: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class FileInfo:
    id: str
    name: str
    extension: str = ""
    size: int = 0
    content: bytes | None = None

    @property
    def size_mismatch(self) -> bool:
        """The decoded content is not ``size`` bytes long (a truncated reply, an empty binaryData)."""
        return self.content is not None and len(self.content) != self.size


@dataclass(frozen=True)
class TaskInfo:
    id: str
    performer: str
    due_date: date | None
    description: str
    executed: bool
    begin_date: date | None = None
    target_id: str = ""
    target_ids: tuple[str, ...] = ()
    number: str = ""
    end_date: str = ""          # raw local dateTime; the adapter reads it in the body's zone
    department: str = ""
    responsible: bool = True
    order: int = 0

    def concerns(self, doc_id: str) -> bool:
        return doc_id == self.target_id or doc_id in self.target_ids


def parse_properties(obj: etree._Element) -> dict[str, str]:
    props: dict[str, str] = {}
    for prop in children(obj, "additionalProperties"):
        name = text(prop, "name")
        value = text(prop, "propertySimpleValue") or text(prop, "propertyObjectValue", "objectID", "id")
        if name:
            props[name] = value
    return props


def parse_doc(obj: etree._Element) -> DocInfo:
    return DocInfo(
        id=text(obj, "objectID", "id"),
        type=text(obj, "objectID", "type") or xsi_type(obj),
        name=text(obj, "name"),
        title=text(obj, "title"),
        summary=text(obj, "summary"),
        reg_number=text(obj, "regNumber"),
        reg_date=parse_date(text(obj, "regDate")),
        navigation_ref=text(obj, "objectID", "navigationRef"),
        signer=text(obj, "signer", "name"),
        external_id=text(obj, "externalObject", "id"),
        properties=parse_properties(obj),
    )


def parse_file(obj: etree._Element) -> FileInfo:
    raw = child(obj, "binaryData")
    size = text(obj, "size")
    return FileInfo(
        id=text(obj, "objectID", "id"),
        name=text(obj, "name"),
        extension=text(obj, "extension"),
        size=int(size) if size.isdigit() else 0,
        content=base64.b64decode(raw.text or "") if raw is not None else None,
    )


def parse_task(obj: etree._Element) -> TaskInfo:
    return TaskInfo(
        id=text(obj, "objectID", "id"),
        # performer is a DMBusinessProcessTaskExecutor wrapping the user (S2 types, S3): not performer/name
        performer=text(obj, "performer", "user", "name"),
        due_date=parse_date(text(obj, "dueDate")),
        description=text(obj, "description"),
        executed=text(obj, "executed").lower() == "true",
        begin_date=parse_date(text(obj, "beginDate")),
        target_id=text(obj, "target", "objectID", "id"),
        # targets/items: the shape of an item is not in the sources; a reference or a wrapped target
        target_ids=tuple(text(i, "objectID", "id") or text(i, "target", "objectID", "id")
                         for i in children(child(obj, "targets"), "items")),
        number=text(obj, "number"),
        end_date=text(obj, "endDate"),
        department=text(obj, "performer", "user", wire.TASK_USER_DEPARTMENT, "name"),
        responsible=text(obj, "performer", wire.TASK_PERFORMER_RESPONSIBLE).lower() != "false",
        order=int(order) if (order := text(obj, "performer", wire.TASK_PERFORMER_ORDER)).isdigit() else 0,
    )


def too_many(ret: etree._Element) -> bool:
    """``tooManyObjects`` of an ObjectList reply: the server cut the list at ``query/limit``."""
    return text(ret, "tooManyObjects").lower() == "true"


def objects_of(ret: etree._Element) -> Iterator[etree._Element]:
    """Objects of a Retrieve (``objects``), ObjectList (``items/object``) or FileList (``files``) reply."""
    for c in ret:
        name = local_name(c)
        if name in ("objects", "files", "object"):
            yield c
        elif name == "items":
            obj = child(c, "object")
            if obj is not None:
                yield obj


def first(items: Iterable[etree._Element]) -> etree._Element | None:
    return next(iter(items), None)
