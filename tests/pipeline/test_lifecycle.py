"""The lifecycle table: every step a job takes is one of its named transitions, nothing else
assigns Message.state, and a step the table does not allow fails loudly as a bug."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from connector.pipeline import lifecycle
from connector.store.models import Message, MessageState

CONNECTOR = Path(__file__).resolve().parents[2] / "connector"
S = MessageState


def test_no_module_but_the_lifecycle_assigns_a_message_state() -> None:
    assignment = re.compile(r"\bmessage\.state\s*=[^=]|\.state\s*=\s*MessageState\.")
    offenders = [f"{path.relative_to(CONNECTOR)}:{no}: {line.strip()}"
                 for path in CONNECTOR.rglob("*.py") if path.name != "lifecycle.py"
                 for no, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
                 if assignment.search(line)]
    assert offenders == []


def _message(state: MessageState, **kw: object) -> Message:
    return Message(id=1, account="a", pos_id="P-1", state=state, attempts=3, last_error="x", **kw)


def test_the_happy_path_and_a_requeue_resume_where_the_message_was() -> None:
    m = _message(S.FETCHING)
    lifecycle.stored(m)
    assert (m.state, m.attempts, m.last_error) == (S.STORED, 0, None)
    lifecycle.registered(m)
    lifecycle.in_work(m)
    lifecycle.dead_letter(m)
    assert (m.state, m.failed_from) == (S.FAILED, S.IN_WORK)
    lifecycle.requeue(m)
    assert (m.state, m.failed_from) == (S.IN_WORK, None)
    lifecycle.answer_ready(m)
    lifecycle.answered(m)
    m.pos_status = "ANSWERED"
    lifecycle.close_if_final(m)
    assert m.state == S.CLOSED


@pytest.mark.parametrize(("start", "step"), [
    (S.CLOSED, lifecycle.answer_ready),     # a closed message never reopens
    (S.FETCHING, lifecycle.answer_ready),   # no answer before a card
    (S.STORED, lifecycle.answer_ready),
])
def test_a_step_the_table_does_not_allow_is_a_bug(start: MessageState, step: object) -> None:
    with pytest.raises(lifecycle.LifecycleError, match="is not a step of the lifecycle"):
        step(_message(start))  # type: ignore[operator]


def test_conditional_steps_leave_a_later_state_alone() -> None:
    m = _message(S.ANSWER_READY)
    lifecycle.registered(m)   # a card found again after a crash
    lifecycle.in_work(m)
    lifecycle.redirected(m)
    assert m.state == S.ANSWER_READY
