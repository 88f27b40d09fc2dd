"""Settings of the ``list_appeals`` capability shared by the adapters that offer it (``[edms.<name>.appeals]``).

Which document kinds are appeals, and the names of the card properties that carry the delivery form,
the forwarding body, the applicant and the «не выгружать в ССТУ» flag, differ between installations
(no public source shows an «Обращения граждан» configuration): all are settings.
"""

from __future__ import annotations

from pydantic import Field

from connector.domain import DeliveryForm
from connector.settings_base import StrictModel


def _forms() -> dict[str, DeliveryForm]:
    return {"Электронная форма": DeliveryForm.ELECTRONIC, "Электронная почта": DeliveryForm.ELECTRONIC,
            "Электронное сообщение": DeliveryForm.ELECTRONIC, "МЭДО": DeliveryForm.ELECTRONIC,
            "Письменная форма": DeliveryForm.PAPER, "Почта": DeliveryForm.PAPER, "Нарочным": DeliveryForm.PAPER,
            "Устная форма": DeliveryForm.ORAL, "Личный прием": DeliveryForm.ORAL, "Личный приём": DeliveryForm.ORAL,
            "Телефон": DeliveryForm.ORAL}


class AppealListSettings(StrictModel):
    enabled: bool = Field(False, description="list the EDMS's appeal cards of every channel for ССТУ "
                                             "(off: only POS messages are reported)")
    document_kinds: list[str] = Field(default_factory=lambda: ["Обращение гражданина"],
                                      description="document kinds (their names) that are appeals")
    delivery_forms: dict[str, DeliveryForm] = Field(default_factory=_forms,
                                                    description="delivery form value → electronic|paper|oral")
    default_delivery: DeliveryForm = DeliveryForm.PAPER
    no_sstu_flag_values: list[str] = Field(default_factory=lambda: ["да", "true", "1", "истина"],
                                           description="values of the «не выгружать в ССТУ» property that "
                                                       "mean the card is not reported")
