"""The one conversion of a stored message to the domain: its POS wire payload read as the POS
client reads it (``pos_client.wire``), so no job reads a wire key of its own."""

from __future__ import annotations

from pathlib import Path

from connector.domain import PosMessage, StoredFile
from connector.pos_client.wire import WireAppeal, to_pos_message
from connector.store.models import Message


def stored_message(message: Message, *, with_files: bool = True) -> PosMessage:
    """``with_files=False`` where a job has not loaded the attachment rows and needs none of them
    (track): the message then has no attachments, instead of a query per message to read them."""
    assert message.payload is not None  # every stored message has its POS payload
    files = tuple(
        StoredFile(name=a.name, size=a.size, sha256=a.sha256, mime_type=a.mime_type, path=Path(a.path))
        for a in message.attachments
    ) if with_files else ()
    return to_pos_message(message.account, WireAppeal.model_validate(message.payload), files)
