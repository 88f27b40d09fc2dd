"""Settings of the Directum RX adapter: the ``[edms.<name>]`` table with ``type = "directum_rx"``.

Every entity set and property name that can differ between installations is a setting whose
default is the name seen in public Directum code (``wire.py``).  Two links are not documented
anywhere public and must be checked against the installation's ``$metadata``:

* ``task_document_filter`` -- the ``$filter`` that finds the action-item tasks of a letter.  Real
  tasks attach documents in an attachment group; an installation exposes it either as a property
  (``DocumentId eq {id}``, the default and what the simulator serves) or as a lambda over the
  group, e.g. ``DocumentGroup/IncomingDocuments/any(d: d/Id eq {id})``.  ``{id}`` is our letter id.
* ``answer_link_property`` -- the IOutgoingLetters navigation property pointing at the incoming
  letter it answers (``InResponseTo`` [INFERRED]); queried as ``<property>/Id eq <id>``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr, field_validator

from connector.edms_adapters.base import AdapterSettings
from connector.edms_adapters.directum_rx import wire


class DirectumRxSettings(AdapterSettings):
    type: Literal["directum_rx"]
    url: str = Field(description="Integration service base, e.g. https://host/Integration/odata")
    login: str
    password: SecretStr
    web_url: str = Field("", description="web client base for card links, e.g. https://host/DirectumRX; "
                                         "empty: cards carry no link")
    incoming_type_guid: str = Field(wire.INCOMING_LETTER_TYPE_GUID, description="type GUID in card links")

    incoming_set: str = wire.S_INCOMING
    outgoing_set: str = wire.S_OUTGOING
    persons_set: str = wire.S_PERSONS
    tasks_set: str = wire.S_TASKS
    assignments_set: str = Field(wire.S_ASSIGNMENTS, description="checked in $metadata when require_assignments")
    applications_set: str = wire.S_APPLICATIONS
    require_assignments: bool = False

    pos_id_property: str = Field(wire.P_IN_NUMBER, description="letter property holding the POS id (lookup key)")
    answer_link_property: str = Field(wire.P_IN_RESPONSE_TO, description="IOutgoingLetters → IIncomingLetters link")
    task_document_filter: str = Field(f"{wire.P_DOCUMENT_ID} eq {{id}}",
                                      description="$filter of the tasks of letter {id}")
    task_executor_property: str = Field(wire.P_ASSIGNEE, description="task navigation to the executor (IEmployees)")
    task_resolution_property: str = wire.P_ACTIVE_TEXT

    document_kind_id: int | None = None
    business_unit_id: int | None = None
    department_id: int | None = None
    delivery_method_id: int | None = None
    associated_application_id: int | None = Field(
        None, description="IAssociatedApplications id used for every version; None: resolved by file extension")
    fallback_extension: str = Field("txt", description="application used when a file's extension has none")

    result_property: str = Field("ConsiderationResult", description="letter property with the outcome label")
    redirect_org_property: str = "RedirectedTo"
    redirect_comment_property: str = "RedirectComment"
    redirect_letter_number_property: str = Field("RedirectLetterNumber",
                                                 description="outgoing covering letter of a redirect (ССТУ)")
    redirect_letter_date_property: str = "RedirectLetterDate"
    rubric_property: str = Field("SstuRubricCode", description="letter property holding its ССТУ classifier code, "
                                                           "if the EDMS keeps one (it wins over the mapping)")
    extended_results: list[str] = Field(default_factory=lambda: ["Рассмотрение продлено"])
    redirect_results: list[str] = Field(default_factory=lambda: ["Направлено по компетенции"])
    refused_results: list[str] = Field(default_factory=lambda: ["Оставлено без ответа автору"])
    anonymous_last_name: str = Field("Заявитель ПОС", description="correspondent of messages without a name")
    note_limit: int = Field(2000, ge=100, description="characters of the appeal text put into Note")
    subject_limit: int = Field(250, ge=20, description="Subject is cut to this many characters")

    @field_validator("task_document_filter")
    @classmethod
    def _has_id(cls, value: str) -> str:
        if "{id}" not in value:
            raise ValueError("must contain {id} (the letter id)")
        return value

    @field_validator("url")
    @classmethod
    def _strip_slash(cls, value: str) -> str:
        return value.rstrip("/")
