"""Settings of the 1C:Document Management adapter: the ``[edms.<name>]`` table with ``type = "onec_dm"``.

Every name that differs between installations (document kind, folder, template, the additional
properties that carry the answer link and the result) is a setting, never a constant in code.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr

from connector.edms_adapters.appeal_settings import AppealListSettings
from connector.edms_adapters.base import AdapterSettings


class OnecAppealSettings(AppealListSettings):
    """``[edms.<name>.appeals]`` of a 1С target: card properties of appeals of every channel."""

    document_type: str = "DMIncomingDocument"
    delivery_property: str = "Форма поступления"
    forwarded_from_property: str = Field("Поступило из органа", description="the forwarding body; empty: direct. "
                                         "The covering letter is the card's incomingNumber/incomingDate")
    applicant_property: str = Field("Заявитель", description="the author (default: the correspondent)")
    address_property: str = "Адрес заявителя"
    email_property: str = "Электронная почта заявителя"
    no_sstu_property: str = "Не выгружать в ССТУ"


class OnecDmSettings(AdapterSettings):
    type: Literal["onec_dm"]
    url: str = Field(description="DMService endpoint, e.g. https://host/base/ws/DMService")
    wsdl: Path | None = Field(None, description="local WSDL file; None means the one shipped with the adapter")
    login: str
    password: SecretStr
    database_id: str = Field("", description="dataBaseID sent with every request (GUID of the infobase)")
    document_type: str = "DMIncomingDocument"
    document_kind_id: str = ""
    folder_id: str = ""
    template_id: str = ""
    organization_id: str = ""
    responsible_login: str = Field("", description="sent as externalObject DMUser \"\\\\domain-login\"")
    external_system: str = Field("POS", description="externalObject.name of created cards")
    answer_document_type: str = "DMOutgoingDocument"
    answer_link_property: str = Field("В ответ на", description="property of the answer holding the card id")
    result_property: str = "Результат рассмотрения"
    redirect_org_property: str = "Перенаправлено в организацию"
    redirect_comment_property: str = "Комментарий к перенаправлению"
    redirect_letter_number_property: str = Field("Номер сопроводительного письма",
                                                 description="outgoing covering letter of a redirect (ССТУ)")
    redirect_letter_date_property: str = "Дата сопроводительного письма"
    rubric_property: str = Field("Рубрика ССТУ", description="card property holding its ССТУ classifier code, "
                                                         "if the EDMS keeps one (it wins over the mapping)")
    extended_results: list[str] = Field(default_factory=lambda: ["Рассмотрение продлено"])
    redirect_results: list[str] = Field(default_factory=lambda: ["Направлено по компетенции"])
    refused_results: list[str] = Field(default_factory=lambda: ["Оставлено без ответа автору"])
    summary_limit: int = Field(2000, ge=100, description="characters of the appeal text put into summary")
    new_object_request: Literal["auto", "always", "never"] = Field(
        "auto", description="ask DMGetNewObjectRequest for a template-filled card before DMCreateRequest; "
                            "auto: when template_id is set (the request needs the template as its data source)")
    task_target_condition: bool = Field(
        True, description="send the (unconfirmed) 'target' condition when listing tasks; every returned task's "
                          "target is re-checked either way")
    list_limit: int = Field(200, ge=1, le=10000, description="query/limit of object lists; past it 1C sets "
                                                            "tooManyObjects and the adapter narrows the query")
    curator: str = Field("", description="the curator who controls tasks of the rating loop (a DM user's name); "
                                         "empty: the installation's default controller")
    xml_huge_tree: bool = Field(False, description="allow replies with text nodes > 10 MB (big answer files)")
    appeals: OnecAppealSettings = Field(default_factory=OnecAppealSettings,
                                        description="appeal cards of every channel (capability list_appeals)")
