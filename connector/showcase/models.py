"""The showcase item: what the heat map needs to know of one appeal, whatever its channel."""

from __future__ import annotations

import enum
from datetime import date

from pydantic import BaseModel, ConfigDict, Field


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ShowcaseStatus(enum.StrEnum):
    NEW = "new"                # received, nobody works on it yet
    IN_WORK = "in_work"        # an executor is assigned (the term may be extended)
    ANSWERED = "answered"      # the answer was sent
    REDIRECTED = "redirected"  # sent on to another body
    REJECTED = "rejected"      # refused (POS moderation, closed without an answer)


class Channel(enum.StrEnum):
    """How the appeal reached the body."""

    POS = "pos"
    LETTER = "letter"
    EMAIL = "email"
    RECEPTION = "reception"
    FORWARDED = "forwarded"


class ShowcaseCategory(_Model):
    """A POS category (the showcase groups by POS categories)."""

    id: str = Field(min_length=1)
    name: str = ""


class Coordinates(_Model):
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)


class ShowcaseItem(_Model):
    """One appeal on the showcase.  ``item_id`` is stable for the appeal (never a row id of ours), so
    an item sent again replaces itself instead of appearing twice."""

    item_id: str = Field(min_length=1)
    channel: Channel
    number: str = Field(min_length=1)
    category: ShowcaseCategory
    status: ShowcaseStatus
    received: date
    planned: date | None = None
    closed: date | None = None
    overdue: bool = False
    repeated: bool = False
    territory: str | None = None
    coordinates: Coordinates | None = None


class SourcedItem(_Model):
    """What a source yields for one appeal: its item, or why it cannot be built (``problem``)."""

    source: str                 # the source's name in SOURCES: "pos"
    source_id: int              # the appeal's row id in that source's table
    account: str                # whose POS showcase it goes to
    item_id: str                # the item's id on the showcase (stable for the appeal)
    message_id: int | None = None  # the POS message, when there is one (failures list it by its POS id)
    item: ShowcaseItem | None = None
    problem: str | None = None
