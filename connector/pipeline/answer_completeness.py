"""Whether an answer fetched from the EDMS may go to POS now.  Pure: no I/O, no database.

POS accepts one answer per message and it cannot be corrected afterwards, so an answer the
EDMS marks ready without its signed file must not go out as text alone: it waits for the
file (the clerk attaches the scan an hour later) and, still without it after
``answer_file_wait_hours``, lands in failures for a person.  A body that answers with text
alone says so per account (``answer_requires_file = false``).

This is the only place that decides; ССТУ reports whatever answer was queued for POS
(:mod:`connector.sstu_export.facts`), so the two sides cannot disagree.
"""

from __future__ import annotations

import enum
from datetime import datetime, timedelta

from connector.domain import Answer
from connector.i18n import _

REASON = "ответ без файла"  # what `connector status` shows for a message waiting for its file


class Verdict(enum.Enum):
    SEND = "send"        # complete (or text alone is allowed): queue it for POS
    WAIT = "wait"        # the file is missing: look again on the next track pass
    GIVE_UP = "give_up"  # still missing after the wait: failures


def has_signed_file(answer: Answer) -> bool:
    """An empty file is no file: POS would get an answer nobody can read."""
    return any(f.content for f in answer.files)


def judge(answer: Answer, *, requires_file: bool, wait_until: datetime | None, now: datetime) -> Verdict:
    """``wait_until``: when the current wait for this answer's file ends (None: not waiting yet)."""
    if not requires_file or has_signed_file(answer):
        return Verdict.SEND
    if wait_until is not None and now >= wait_until:
        return Verdict.GIVE_UP
    return Verdict.WAIT


def wait_deadline(now: datetime, hours: float) -> datetime:
    return now + timedelta(hours=hours)


def give_up_reason(hours: float) -> str:
    return _("{reason}: the EDMS marked the answer ready but its signed file is still missing after {hours:g} h; "
             "nothing was sent to POS (it accepts one answer only). Attach the file to the answer in the EDMS, "
             "then `connector failures retry`").format(reason=REASON, hours=hours)
