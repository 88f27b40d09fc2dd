"""``[sstu]``: where and when the «Результаты рассмотрения обращений» reports go.

Two routes, each switched on by its own key: ``base_url`` (HTTP import, the daemon sends
changed appeals once a day at ``send_time``) and ``archive_dir`` (monthly zip archives for a
body without the closed network, written for the previous month from the 1st, by the
``archive_by_day``).  The reporting body's ССТУ GUID is ``department_id``, overridable per
POS account (``[accounts] sstu_department_id``).  Receiving bodies of redirects are looked up
in ``bodies`` (name or POS organisation id → GUID) and/or ``bodies_file`` (a spreadsheet).
"""

from __future__ import annotations

import re
from datetime import date, time
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from connector.i18n import _
from connector.settings_base import StrictModel
from connector.sstu_export import wire
from connector.sstu_export.wire import Status

_TIME_RE = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


def _guid(value: str) -> str:
    value = value.strip().lower()
    if value and not wire.GUID_RE.match(value):
        raise ValueError("must be a GUID like 3f2504e0-4f89-11d3-9a0c-0305e82c3301")
    return value


class OutcomeRule(BaseModel):
    """What a card outcome / answer result is in ССТУ (``[sstu.outcomes]``; the builder applies it)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    status: Status
    is_extend: bool = False
    actions_taken: bool = False


# A ССТУ GUID setting, written in any case; empty means "not set here".
GuidSetting = Annotated[str, AfterValidator(_guid)]


class SstuSettings(StrictModel):
    department_id: GuidSetting = Field("", description="the reporting body's ССТУ GUID (accounts may override it)")
    base_url: str = Field("", description="ССТУ base URL; empty means no HTTP upload")
    send_time: str = Field("06:00", description="daily time (HH:MM, in `timezone`) of the sstu job")
    timezone: str = Field("Europe/Moscow", description="the body's zone: dates of the report and send_time")
    working_days_only: bool = Field(False, description="run the daily job Monday to Friday only")
    archive_dir: Path | None = Field(None, description="write monthly archives here; empty means no archives")
    archive_by_day: int = Field(3, ge=1, le=28, description="the previous month's archive is due by this day")
    part_mb: int = Field(50, ge=1, le=2000, description="largest archive part in decimal megabytes "
                                                        "(50 = 50 000 000 bytes, as the public packer cuts)")
    send_is_extend: bool = Field(False, description="mark extended terms with isExtend=true (only one public "
                                                    "sender has the field; off: an extension is plain InWork)")
    prefix: str = Field("sstu_", pattern=r"^[A-Za-z0-9_.-]{0,40}$", description="archive part name prefix")
    since: date | None = Field(None, description="report only appeals received on or after this date")
    edms_appeals_days: int = Field(120, ge=1, le=3660, description="EDMS appeal cards of every channel "
                                   "(adapters with list_appeals switched on) are listed for this many days back")
    bodies: dict[str, str] = Field(default_factory=dict,
                                   description="receiving body (name or POS organisation id) → ССТУ GUID")
    bodies_file: Path | None = Field(None, description="spreadsheet/CSV of bodies: columns name, guid")
    outcomes: dict[str, OutcomeRule] = Field(default_factory=dict,
                                             description="card outcome / answer result → SSTU status")

    @field_validator("archive_dir", mode="before")
    @classmethod
    def _empty_means_none(cls, value: Any) -> Any:
        # documented: an empty archive_dir means no archives (Path("") would be the current directory)
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("send_time")
    @classmethod
    def _time(cls, value: str) -> str:
        if not _TIME_RE.match(value):
            raise ValueError(_("expected HH:MM, got {value!r}").format(value=value))
        return value

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(_("unknown time zone {value!r} (e.g. Europe/Moscow, Asia/Yekaterinburg)")
                             .format(value=value)) from None
        return value

    @field_validator("outcomes", mode="before")
    @classmethod
    def _short_outcomes(cls, value: Any) -> Any:
        """``"refused" = "LeftWithoutAnswer"`` is short for ``{status = "LeftWithoutAnswer"}``."""
        if isinstance(value, dict):
            return {k: ({"status": v} if isinstance(v, str) else v) for k, v in value.items()}
        return value

    @model_validator(mode="after")
    def _bodies(self) -> SstuSettings:
        bad = [f"bodies.{name}: {guid!r} is not a GUID" for name, guid in self.bodies.items()
               if not wire.GUID_RE.match(guid.strip().lower())]
        if bad:
            raise ValueError("\n".join(bad))
        return self

    @property
    def enabled(self) -> bool:
        return bool(self.base_url or self.archive_dir)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def send_at(self) -> time:
        hours, minutes = self.send_time.split(":")
        return time(int(hours), int(minutes))

    @property
    def part_bytes(self) -> int:
        from connector.sstu_export.archive import MEGABYTE

        return self.part_mb * MEGABYTE

