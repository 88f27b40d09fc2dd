"""``[[accounts]]``: one POS organisation account -- how to reach POS as it, and where its appeals go."""

from __future__ import annotations

from pydantic import Field, SecretStr

from connector.errors import Phrase
from connector.i18n import N_
from connector.settings_base import StrictModel
from connector.sstu_export.settings import GuidSetting


class AccountSettings(StrictModel):
    """One POS organisation account (ЛКО)."""

    name: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    pos_base_url: str = Field(pattern=r"^https?://", description="base URL of the POS integration API")
    login: str = Field(min_length=1)
    password: SecretStr
    edms: str = Field(description="name of an [edms.<name>] target")
    page_size: int = Field(100, ge=1, le=100)
    answer_days: int = Field(30, ge=1, description="term of consideration when neither POS nor EDMS gives one")
    sstu_department_id: GuidSetting = Field("", description="ССТУ GUID of the body this account reports as; "
                                                            "empty means [sstu] department_id")
    answer_requires_file: bool = Field(True, description="an answer goes to POS only with its signed file; false: "
                                                         "this body answers with text alone (ССТУ gets the text)")
    answer_file_wait_hours: float = Field(24.0, gt=0, description="an answer still without its file after this "
                                                                  "long lands in failures")


def pos_account(name: str) -> Phrase:
    """The account as error texts name it ("POS account 'demo'"), in the language they are shown in."""
    return Phrase(N_("POS account {account}"), {"account": repr(name)})
