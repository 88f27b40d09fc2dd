"""The МЭДО simulator receiving our control notifications: a «courseChanged» package about a document it
holds is recorded on that document (once per package uid; a repeated package counts as a duplicate)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from lxml import etree

from connector.edms_adapters.medo import incoming, wire

if TYPE_CHECKING:
    from connector.simulators.medo.state import MedoState


def is_notification(root: etree._Element) -> bool:
    return incoming.header_of(root).type == wire.TYPE_NOTIFICATION


def take(state: MedoState, root: etree._Element, package: str) -> str:
    header = incoming.header_of(root)
    note = root.find(wire.q("notification"))
    doc_uid = wire.attr(note, "uid") if note is not None else ""
    body = note.find(wire.q(wire.N_COURSE)) if note is not None else None
    doc = state.docs.get(doc_uid)
    if doc is None or body is None:
        state.rejected.append({"uid": header.uid, "package": package,
                               "reason": "notification about an unknown document or not courseChanged"})
        return header.uid
    if any(t["package"] == header.uid for t in doc.control_tasks):
        state.counters["duplicates"] += 1
        return header.uid
    comment = note.find(wire.q("comment")) if note is not None else None
    course = body.find(wire.q("courseText"))
    doc.control_tasks.append({"package": header.uid, "course": (course.text or "") if course is not None else "",
                              "text": (comment.text or "") if comment is not None else ""})
    return header.uid
