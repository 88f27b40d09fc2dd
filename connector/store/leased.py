"""Every table whose rows a worker leases: a start on SQLite (one daemon per database) and a
``db restore`` free all of them at once, so the list lives here, once."""

from __future__ import annotations

from connector.notices.records import NOTICE_LEASED
from connector.showcase.records import ShowcaseRecord
from connector.sstu_export.records import SstuAppealRecord
from connector.store.models import Card, Message, OutboxItem

LEASED_MODELS = (Message, Card, OutboxItem, SstuAppealRecord, ShowcaseRecord, *NOTICE_LEASED)
