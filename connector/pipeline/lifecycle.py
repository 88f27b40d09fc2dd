"""The message lifecycle in one place: named transitions over an allowed-transition table.

``fetching → stored → registered → in_work → answer_ready → answered → closed`` (or
``redirected → closed``), and ``failed`` from any open state, requeued to where it failed.
Every job and ``connector failures retry`` move a message only through these functions, so a
step the table does not allow is a bug that shows (:class:`LifecycleError`), never a message
silently in a state no job looks at.  A test holds that nothing else assigns ``Message.state``.
"""

from __future__ import annotations

from connector.domain import PosStatus
from connector.store.models import LeaseMixin, Message, MessageState

S = MessageState
# POS states after which nothing more will happen to a message on our side.
FINAL_POS = {PosStatus.ANSWERED, PosStatus.REDIRECTED_SUBORDINATE, PosStatus.REDIRECTED_HIGHER,
             PosStatus.MODERATION_REJECTED}
_OPEN = frozenset({S.FETCHING, S.STORED, S.REGISTERED, S.IN_WORK, S.ANSWER_READY, S.ANSWERED, S.REDIRECTED})
ALLOWED: dict[MessageState, frozenset[MessageState]] = {
    S.FETCHING: frozenset({S.STORED, S.FAILED}),
    # a message POS already shows final closes without a card (moderation rejected it, say)
    S.STORED: frozenset({S.REGISTERED, S.CLOSED, S.FAILED}),
    S.REGISTERED: frozenset({S.IN_WORK, S.ANSWER_READY, S.REDIRECTED, S.FAILED}),
    S.IN_WORK: frozenset({S.ANSWER_READY, S.REDIRECTED, S.FAILED}),
    S.ANSWER_READY: frozenset({S.ANSWERED, S.FAILED}),
    S.ANSWERED: frozenset({S.CLOSED, S.FAILED}),
    S.REDIRECTED: frozenset({S.CLOSED, S.FAILED}),
    S.FAILED: _OPEN,  # requeue: back to where it failed
    S.CLOSED: frozenset(),
}
_CLOSABLE = {S.ANSWERED, S.REDIRECTED, S.STORED}


class LifecycleError(RuntimeError):
    """A transition the table does not allow: a bug in a job, not a problem of the message."""


def _move(message: Message, target: MessageState) -> None:
    current = MessageState(message.state)
    if current == target:
        return
    if target not in ALLOWED[current]:
        raise LifecycleError(f"message {message.id} ({message.pos_id}): {current.value} → {target.value} "
                             "is not a step of the lifecycle")
    message.state = target


def clear_attempts(item: LeaseMixin) -> None:
    """A step succeeded: the item's retry bookkeeping starts over."""
    item.attempts, item.next_attempt_at, item.last_error = 0, None, None


def stored(message: Message) -> None:
    """Its content and attachments are stored (a new message, or one whose download broke)."""
    if message.state == S.FETCHING:
        _move(message, S.STORED)
        clear_attempts(message)


def registered(message: Message) -> None:
    """The EDMS holds its card (a card found again after a crash leaves a later state alone)."""
    if message.state == S.STORED:
        _move(message, S.REGISTERED)
    clear_attempts(message)


def in_work(message: Message) -> None:
    """The card has an executor."""
    if message.state == S.REGISTERED:
        _move(message, S.IN_WORK)


def answer_ready(message: Message) -> None:
    """The answer (with its file, see answer_completeness) is queued for POS."""
    _move(message, S.ANSWER_READY)


def answered(message: Message) -> None:
    """POS accepted the answer."""
    if message.state == S.ANSWER_READY:
        _move(message, S.ANSWERED)


def redirected(message: Message) -> None:
    """POS accepted the redirect."""
    if message.state in (S.REGISTERED, S.IN_WORK):
        _move(message, S.REDIRECTED)


def close_if_final(message: Message) -> None:
    """Both orders must close: POS confirmed before our push was recorded (a crash in between,
    then a replayed push answered "already answered"), or our push first and POS confirms later."""
    if message.pos_status in FINAL_POS and message.state in _CLOSABLE:
        _move(message, S.CLOSED)


def dead_letter(message: Message) -> None:
    """Into failures, remembering where it was so that a retry resumes there."""
    if message.state != S.FAILED:
        message.failed_from = message.state
        _move(message, S.FAILED)


def requeue(message: Message) -> None:
    """``connector failures retry``: back to where it failed, with fresh attempts."""
    if message.state == S.FAILED:
        _move(message, MessageState(message.failed_from or S.STORED))
        message.failed_from = None
        clear_attempts(message)
