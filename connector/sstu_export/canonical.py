"""Canonical JSON of an appeal: the same appeal always gives the same bytes.

Keys sorted at every level, UTF-8 without ``\\u`` escapes, no insignificant whitespace, no
``null`` members and no volatile fields (nothing in the format is a timestamp; the builder
never adds one).  The content hash is SHA-256 of these bytes; the archive file name is a
uuid derived from ``departmentId`` + ``number`` only, so a re-export of a changed appeal
replaces its earlier file instead of duplicating it.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Mapping
from typing import Any

from connector.sstu_export import wire

# uuid5 namespace of pos-connector SSTU appeals (a fixed random uuid; never change it:
# every archive ever written names its files from it).
APPEAL_NAMESPACE = uuid.UUID("6d1f7a52-7f0e-4c55-9a8e-2f1c3b9d4e01")


def _drop_nulls(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _drop_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list | tuple):
        return [_drop_nulls(v) for v in value]
    return value


def canonical_bytes(doc: Mapping[str, Any]) -> bytes:
    """The canonical JSON bytes of one appeal document (a plain dict, e.g. ``to_wire()``)."""
    return json.dumps(_drop_nulls(doc), ensure_ascii=False, sort_keys=True, separators=(",", ":"),
                      allow_nan=False).encode("utf-8")


_BLOB = "@@sstu-blob-" + uuid.uuid4().hex + "@@"


# printable ASCII that json.dumps writes as it is (no quote, no backslash)
_VERBATIM = bytes(c for c in range(0x20, 0x7F) if c not in b'"\\')


def _is_verbatim(text: str) -> bool:
    """True when json.dumps writes ``text`` unchanged between quotes (base64 always is).  ``isascii`` is
    O(1) on CPython; deleting the verbatim bytes in C is ~4× faster than ``isprintable`` on 100 KB."""
    return text.isascii() and not text.encode("ascii").translate(None, _VERBATIM)


def canonical_appeal_bytes(doc: Mapping[str, Any]) -> bytes:
    """:func:`canonical_bytes` of an appeal, fast for large attachments: each attachment's
    base64 text is spliced in instead of passing through the JSON encoder (identical bytes)."""
    questions = doc.get(wire.F_QUESTIONS)
    blobs: list[str] = []
    if isinstance(questions, list):
        patched = []
        for q in questions:
            att = q.get(wire.F_ATTACHMENT) if isinstance(q, Mapping) else None
            content = att.get(wire.F_ATTACHMENT_CONTENT) if isinstance(att, Mapping) else None
            if isinstance(content, str) and len(content) > 1024 and _is_verbatim(content):
                blobs.append(content)
                q = {**q, wire.F_ATTACHMENT: {**att, wire.F_ATTACHMENT_CONTENT: _BLOB}}  # type: ignore[dict-item]
            patched.append(q)
        if blobs:
            doc = {**doc, wire.F_QUESTIONS: patched}
    data = canonical_bytes(doc)
    if not blobs:
        return data
    pieces = data.split(_BLOB.encode("ascii"))
    if len(pieces) != len(blobs) + 1:  # the marker text occurs in the data itself: take the slow path
        return canonical_bytes({**doc, wire.F_QUESTIONS: questions})
    out = [pieces[0]]
    for blob, piece in zip(blobs, pieces[1:], strict=True):
        out += [blob.encode("ascii"), piece]
    return b"".join(out)


def content_hash(data: bytes) -> str:
    """SHA-256 hex of canonical bytes: stored per appeal; a change means "send again"."""
    return hashlib.sha256(data).hexdigest()


def appeal_uuid(department_id: str, number: str) -> uuid.UUID:
    """Deterministic id of an appeal: the same body and number give the same uuid forever."""
    return uuid.uuid5(APPEAL_NAMESPACE, f"{department_id.strip().lower()}/{number.strip()}")


def appeal_uuid_of(doc: Mapping[str, Any]) -> uuid.UUID:
    return appeal_uuid(str(doc.get(wire.F_DEPARTMENT_ID, "")), str(doc.get(wire.F_NUMBER, "")))
