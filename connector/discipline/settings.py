"""``[reports]``: the weekly discipline report e-mailed to coordinators."""

from __future__ import annotations

import re
from datetime import time

from pydantic import Field, field_validator

from connector.i18n import _
from connector.settings_base import StrictModel

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_TIME_RE = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


class ReportSettings(StrictModel):
    weekly_day: str = Field("mon", description="day of the weekly report (mon…sun, in [sstu] timezone)")
    weekly_time: str = Field("08:00", description="time of the weekly report (HH:MM, in [sstu] timezone)")
    recipients: list[str] = Field(default_factory=list,
                                  description="who gets the weekly report; empty means no weekly e-mail")
    out_dir: str = Field("reports", description="where report files are kept (relative: under daemon.data_dir)")
    subject: str = Field("Исполнительская дисциплина по сообщениям ПОС за {first} – {last}",
                         description="subject of the weekly e-mail; {first} and {last} are the week's dates")

    @field_validator("weekly_day")
    @classmethod
    def _day(cls, value: str) -> str:
        if value.lower() not in WEEKDAYS:
            raise ValueError(_("expected one of {days}, got {value!r}").format(days=", ".join(WEEKDAYS), value=value))
        return value.lower()

    @field_validator("weekly_time")
    @classmethod
    def _time(cls, value: str) -> str:
        if not _TIME_RE.match(value):
            raise ValueError(_("expected HH:MM, got {value!r}").format(value=value))
        return value

    @field_validator("subject")
    @classmethod
    def _subject(cls, value: str) -> str:
        try:
            value.format(first="01.01.2026", last="07.01.2026")
        except (KeyError, IndexError, ValueError):
            raise ValueError(_("only {first} and {last} may appear in braces (write {{ and }} for a brace)")) from None
        return value

    @field_validator("recipients")
    @classmethod
    def _addresses(cls, value: list[str]) -> list[str]:
        bad = [a for a in value if "@" not in a or a.strip() != a]
        if bad:
            raise ValueError(_("not an e-mail address: {addresses}").format(addresses=", ".join(repr(a) for a in bad)))
        return value

    @property
    def enabled(self) -> bool:
        return bool(self.recipients)

    @property
    def send_at(self) -> time:
        hours, minutes = self.weekly_time.split(":")
        return time(int(hours), int(minutes))
