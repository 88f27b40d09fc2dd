"""``[notices]``: who is told what, when, in which words.

E-mail goes through the SMTP server of ``[alerts]`` (host, port, STARTTLS, login, sender);
the addresses come from ``[[notices.recipients]]``: one entry per unit, with the selectors that
say which messages are the unit's (ЛКО accounts, executors, categories; an entry without any
selector gets every message).
"""

from __future__ import annotations

from datetime import time
from pathlib import Path

from pydantic import Field, field_validator, model_validator

from connector.i18n import _
from connector.settings_base import StrictModel


class RecipientSettings(StrictModel):
    unit: str = Field(min_length=1, description="the unit's name, as notices and digests show it")
    to: list[str] = Field(min_length=1, description="the unit's addresses responsible for deadlines")
    accounts: list[str] = Field(default_factory=list, description="ЛКО names whose messages are this unit's")
    executors: list[str] = Field(default_factory=list, description="executors (as the EDMS names them) "
                                                                   "whose messages are this unit's")
    categories: list[str] = Field(default_factory=list, description="POS categories (top level) whose "
                                                                    "messages are this unit's")
    warnings: bool = Field(True, description="send this unit early warnings and the daily digest")
    new_messages: bool = Field(True, description="send this unit a notice of each new message")

    @field_validator("to")
    @classmethod
    def _addresses(cls, value: list[str]) -> list[str]:
        bad = [a for a in value if "@" not in a or a.strip() != a or not a.rpartition("@")[2]]
        if bad:
            raise ValueError(_("not an e-mail address: {addresses}").format(addresses=repr(bad[0])))
        return value

    @property
    def selects_all(self) -> bool:
        return not (self.accounts or self.executors or self.categories)


class NoticeSettings(StrictModel):
    enabled: bool = Field(False, description="send early warnings, new-message notices and digests")
    interval_seconds: int = Field(300, ge=10, description="how often the notices job looks for what is due")
    warn_days: list[int] = Field(default_factory=lambda: [3, 1, 0],
                                 description="days before the POS deadline a warning goes out; 0: at expiry")
    new_messages: bool = Field(True, description="notify the units of each new message")
    digest_time: time = Field(time(8, 0), description="local time (the body's zone) of the daily digest")
    rating_threshold: int = Field(2, ge=1, le=5, description="an applicant's rating at or below this opens "
                                                             "a control task for the curator")
    control_tasks: bool = Field(True, description="open control tasks in the EDMS for low ratings and repeats")
    card_link: str = Field("https://pos.gosuslugi.ru/backoffice/appeals/{number}",
                           description="the card's link in a notice; {number} is the POS number")
    include_applicant_contacts: bool = Field(False, description="put the applicant's name, e-mail and phone "
                                                                "into notices (personal data: off by default)")
    templates_dir: Path | None = Field(None, description="a directory whose <name>.txt files replace the "
                                                         "built-in templates (see resources/notices/)")
    lease_seconds: int = Field(600, ge=60, description="a claimed notice is free again after this long; "
                                                       "longer than one SMTP delivery takes")
    recipients: list[RecipientSettings] = Field(default_factory=list)

    @field_validator("warn_days")
    @classmethod
    def _days(cls, value: list[int]) -> list[int]:
        if any(d < 0 or d > 60 for d in value):
            raise ValueError(_("every threshold must be 0–60 days before the deadline"))
        if len(set(value)) != len(value):
            raise ValueError(_("a threshold is given twice"))
        return sorted(value, reverse=True)

    def problems(self, *, email_enabled: bool) -> list[str]:
        """What the rest of the tree must provide (checked by ``Settings``): notices travel by e-mail."""
        if self.enabled and not email_enabled:
            return ["notices.enabled: notices are e-mail: set [alerts] smtp_host and mail_from"]
        return []

    @model_validator(mode="after")
    def _units_once(self) -> NoticeSettings:
        names = [r.unit for r in self.recipients]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(_("recipients: unit {unit!r} is given twice").format(unit=twice[0]))
        return self
