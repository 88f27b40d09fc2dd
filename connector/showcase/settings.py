"""``[showcase]``: the upload of every appeal to the POS data showcase («Витрина данных»)."""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated

from pydantic import AfterValidator, Field

from connector.settings_base import StrictModel

MAX_BATCH = 1000  # items per request the showcase endpoint takes
_OKTMO = re.compile(r"^(\d{8}|\d{11})$")


def _oktmo(value: str) -> str:
    value = value.strip()
    if value and not _OKTMO.match(value):
        raise ValueError("must be an ОКТМО code of 8 or 11 digits")
    return value


Oktmo = Annotated[str, AfterValidator(_oktmo)]


class ShowcaseSettings(StrictModel):
    enabled: bool = Field(False, description="upload every appeal to the showcase of its POS account")
    interval_seconds: int = Field(900, ge=1, description="how often the showcase job runs (keep it below "
                                                         "[monitoring] stall_after_seconds)")
    since: date | None = Field(None, description="only appeals received on or after this date "
                                                 "(`connector showcase upload --since` back-fills older ones)")
    batch_size: int = Field(200, ge=1, le=MAX_BATCH, description="items per upload request")
    territory: Oktmo = Field("", description="ОКТМО of the body's territory, sent with every item")
    territories: dict[str, Oktmo] = Field(default_factory=dict,
                                          description="account name → ОКТМО, overriding `territory`")

    def territory_of(self, account: str) -> str | None:
        return self.territories.get(account) or self.territory or None
