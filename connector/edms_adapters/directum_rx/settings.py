"""Settings of the Directum RX adapter: the ``[edms.<name>]`` table with ``type = "directum_rx"``.

Every entity set and property name that can differ between installations is a setting whose
default is the name seen in public Directum code (``wire.py``; evidence in docs/edms.md, «Directum RX»):

* ``task_document_filter`` -- the ``$filter`` that finds the action-item tasks of a letter: by default
  the tasks whose ``AttachmentDetails`` hold the letter (``{id}`` is our letter id).  Every task the
  server returns is checked again through ``task_attachment_check`` (``<collection>/<id property>``,
  expanded), so a server that ignores the filter cannot put other letters' tasks on ours; set it to
  ``""`` only when the filter is something the task does not carry (e.g. a ``Subject`` match).
* ``task_resolution_property`` -- ``ActionItem`` (``Text`` on older installations).
* ``answer_link_property`` / ``answer_links_collection`` -- an answer points at our letter through
  ``InResponseTo`` or, when one letter answers several (``IsManyResponses``), through the
  ``InResponseToDocuments`` rows' ``Document``; ``""`` for installations without the collection.
* ``document_kind_id``, ``business_unit_id``, ``department_id`` -- required: an incoming letter
  without them is refused by RX, so the adapter refuses first, naming the key.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, SecretStr, field_validator

from connector.edms_adapters.appeal_settings import AppealListSettings
from connector.edms_adapters.base import AdapterSettings
from connector.edms_adapters.directum_rx import wire
from connector.i18n import _


class DirectumAppealSettings(AppealListSettings):
    """``[edms.<name>.appeals]`` of a Directum RX target: letter properties of appeals of every channel.
    The kind is ``DocumentKind/Name``, the delivery form ``DeliveryMethod/Name``; a forwarded letter's
    covering letter is its ``InNumber`` / ``Dated``."""

    questions_collection: str = Field(wire.P_QUESTIONS, description="collection of the letter's questions")
    forwarded_from_property: str = Field("ForwardedFrom", description="the forwarding body; empty: direct")
    applicant_property: str = Field("ApplicantName", description="the author (default: the correspondent)")
    address_property: str = "ApplicantAddress"
    email_property: str = "ApplicantEmail"
    no_sstu_property: str = Field("NotForSstu", description="«не выгружать в ССТУ» (a boolean or a text)")
    page_size: int = Field(200, ge=1, le=10000, description="$top of each page of the listing")

REQUIRED_REFS = ("document_kind_id", "business_unit_id", "department_id")


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
    control_tasks_set: str = Field(wire.S_SIMPLE_TASKS, description="entity set of the rating loop's control "
                                                                     "tasks; '' : no control tasks")
    control_document_property: str = Field(wire.P_CONTROL_DOCUMENT, description="control task → letter navigation")
    curator_id: int | None = Field(None, description="IEmployees id of the curator (the task's Supervisor)")
    require_assignments: bool = False

    pos_id_property: str = Field(wire.P_IN_NUMBER, description="letter property holding the POS id (lookup key)")
    answer_link_property: str = Field(wire.P_IN_RESPONSE_TO, description="IOutgoingLetters → IIncomingLetters link")
    answer_links_collection: str = Field(
        f"{wire.P_IN_RESPONSE_TO_DOCUMENTS}/{wire.P_DOCUMENT}",
        description="<collection>/<navigation> of an answer to several letters (IsManyResponses); '' if absent")
    task_document_filter: str = Field(wire.TASK_DOCUMENT_FILTER, description="$filter of the tasks of letter {id}")
    task_attachment_check: str = Field(
        f"{wire.P_ATTACHMENT_DETAILS}/{wire.P_ATTACHMENT_ID}",
        description="<collection>/<id property> each returned task must hold our letter in; '' disables")
    task_executor_property: str = Field(wire.P_ASSIGNEE, description="task navigation to the executor (IEmployees)")
    task_resolution_property: str = Field(wire.P_ACTION_ITEM, description="task text; 'Text' on older installations")

    # Required by RX on every incoming letter; None is allowed here only so that `connector init` can
    # write a first file: the adapter (and `connector edms check`) refuse until they are set.
    document_kind_id: int | None = Field(None, description="IDocumentKinds id of the letters (required)")
    business_unit_id: int | None = Field(None, description="IBusinessUnits id (our organisation, required)")
    department_id: int | None = Field(None, description="IDepartments id (registering department, required)")
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

    def missing_required(self) -> list[str]:
        """The required card references this table leaves unset, by key."""
        return [key for key in REQUIRED_REFS if getattr(self, key) is None]

    appeals: DirectumAppealSettings = Field(default_factory=DirectumAppealSettings,
                                            description="appeal cards of every channel (capability list_appeals)")

    @field_validator("task_document_filter")
    @classmethod
    def _has_id(cls, value: str) -> str:
        if "{id}" not in value:
            raise ValueError(_("must contain {id} (the letter id)"))
        return value

    @field_validator("task_attachment_check", "answer_links_collection")
    @classmethod
    def _collection_path(cls, value: str) -> str:
        if value and not re.fullmatch(r"[A-Za-z_]\w*/[A-Za-z_]\w*", value):
            raise ValueError(_("must be '<collection>/<property>' (e.g. AttachmentDetails/AttachmentId) or empty"))
        return value

    @field_validator("url")
    @classmethod
    def _strip_slash(cls, value: str) -> str:
        return value.rstrip("/")
