"""What notices and the rating loop did, counted from the store: for the demo's summary and the reports
(``warnings_sent``, ``new_message_notices``, ``control_tasks`` of the issue's ``discipline`` block)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict
from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from connector.notices.records import (
    ControlTask,
    ControlTaskState,
    MessageNotice,
    NoticeDigest,
    NoticeKind,
    NoticeState,
    Rating,
)


class NoticeCounts(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    warnings_sent: int
    new_message_notices: int
    control_notices: int
    digests_sent: int
    control_tasks: int          # created in the EDMS
    control_tasks_unsupported: int  # the EDMS has none: the notice went out alone
    rated: int                  # messages with an applicant's rating
    rated_4_or_5: int
    repeat_appeals: int


def notice_counts(session: Session) -> NoticeCounts:
    sent = dict(session.execute(select(MessageNotice.kind, func.count())
                                .where(MessageNotice.state == NoticeState.SENT).group_by(MessageNotice.kind)).all())
    tasks = dict(session.execute(select(ControlTask.state, func.count()).group_by(ControlTask.state)).all())

    def count(*where: ColumnElement[bool]) -> int:
        return int(session.scalar(select(func.count()).select_from(Rating).where(*where)) or 0)

    digests = session.scalar(select(func.count()).select_from(NoticeDigest)
                             .where(NoticeDigest.state == NoticeState.SENT, NoticeDigest.items > 0)) or 0
    return NoticeCounts(
        warnings_sent=sent.get(NoticeKind.WARNING, 0), new_message_notices=sent.get(NoticeKind.NEW_MESSAGE, 0),
        control_notices=sent.get(NoticeKind.CONTROL, 0), digests_sent=int(digests),
        control_tasks=tasks.get(ControlTaskState.CREATED, 0),
        control_tasks_unsupported=tasks.get(ControlTaskState.UNSUPPORTED, 0),
        rated=count(Rating.rating.is_not(None)), rated_4_or_5=count(Rating.rating >= 4),
        repeat_appeals=count(Rating.repeat_of != ""))
