"""Closing a message: when POS shows it final and our side has nothing more to do."""

from __future__ import annotations

from connector.domain import PosStatus
from connector.store.models import Message, MessageState

# POS states after which nothing more will happen to a message on our side.
FINAL_POS = {PosStatus.ANSWERED, PosStatus.REDIRECTED_SUBORDINATE, PosStatus.REDIRECTED_HIGHER,
             PosStatus.MODERATION_REJECTED}
_CLOSABLE = {MessageState.ANSWERED, MessageState.REDIRECTED, MessageState.STORED}


def close_if_final(message: Message) -> None:
    """Both orders must close: POS confirmed before our push was recorded (a crash in between,
    then a replayed push answered "already answered"), or our push first and POS confirms later."""
    if message.pos_status in FINAL_POS and message.state in _CLOSABLE:
        message.state = MessageState.CLOSED
