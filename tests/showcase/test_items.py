"""The pure middle of the showcase: a POS message's item, its wire form, a rubric mapped back."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from connector.domain import PosStatus
from connector.pos_client import wire
from connector.rubric_mapping.lookup import RubricLookup
from connector.rubric_mapping.pos_categories import PosCategoryTree
from connector.rubric_mapping.workbook import MappingEntry
from connector.showcase.categories import rubric_categories
from connector.showcase.models import ShowcaseCategory, ShowcaseStatus
from connector.showcase.settings import ShowcaseSettings
from connector.showcase.sources import PosFacts, SourceScope, pos_item, pos_status
from connector.store.models import MessageState

ZONE = ZoneInfo("Europe/Moscow")
TODAY = date(2026, 12, 2)


def _scope(**kw: Any) -> SourceScope:
    return SourceScope(settings=ShowcaseSettings(territory="28701000", territories={"school": "28701000001"}),
                       zone=ZONE, today=TODAY, **kw)


def _appeal(**kw: Any) -> wire.WireAppeal:
    doc = {"id": "10001", "createdAt": "2026-11-01T21:30:00+00:00", "updatedAt": "2026-11-20T08:00:00+00:00",
           "status": "NEW", "plannedDate": "2026-12-01", "repeated": True,
           "category": {"id": "c1", "name": "Дороги"}, "subcategory": {"id": "c1.1", "name": "Ямы"},
           "coordinates": {"lat": 56.85, "lon": 35.9}, **kw}
    return wire.WireAppeal.model_validate(doc)


def _facts(state: str = MessageState.STORED, **kw: Any) -> PosFacts:
    appeal_kw = {k: v for k, v in kw.items() if k not in ("deadline", "answered", "rubric_code", "account")}
    facts = {k: v for k, v in kw.items() if k in ("deadline", "answered", "rubric_code")}
    return PosFacts(account=kw.get("account", "main"), appeal=_appeal(**appeal_kw), state=state, **facts)


@pytest.mark.parametrize(("pos", "state", "expected"), [
    (PosStatus.NEW, MessageState.STORED, ShowcaseStatus.NEW),
    (PosStatus.NEW, MessageState.REGISTERED, ShowcaseStatus.NEW),
    (PosStatus.NEW, MessageState.IN_WORK, ShowcaseStatus.IN_WORK),         # our lifecycle is ahead of POS
    (PosStatus.EXECUTOR_ASSIGNED, MessageState.REGISTERED, ShowcaseStatus.IN_WORK),
    (PosStatus.DEADLINE_EXTENDED, MessageState.IN_WORK, ShowcaseStatus.IN_WORK),
    (PosStatus.EXECUTOR_ASSIGNED, MessageState.ANSWERED, ShowcaseStatus.ANSWERED),
    (PosStatus.ANSWERED, MessageState.CLOSED, ShowcaseStatus.ANSWERED),
    (PosStatus.REDIRECTED_HIGHER, MessageState.CLOSED, ShowcaseStatus.REDIRECTED),
    (PosStatus.MODERATION_REJECTED, MessageState.IN_WORK, ShowcaseStatus.REJECTED),  # POS's final word wins
])
def test_the_status_is_what_pos_says_when_final_else_what_our_lifecycle_knows(
        pos: PosStatus, state: str, expected: ShowcaseStatus) -> None:
    assert pos_status(pos, state) == expected


def test_an_open_message_past_its_term_is_overdue_with_the_most_specific_category_and_the_place() -> None:
    item = pos_item(_facts(), _scope())
    assert (item.item_id, item.number, item.status) == ("pos:10001", "10001", ShowcaseStatus.NEW)
    assert item.received == date(2026, 11, 2)  # 21:30 UTC is the next day in Moscow
    assert item.category == ShowcaseCategory(id="c1.1", name="Ямы")
    assert (item.planned, item.closed, item.overdue, item.repeated) == (date(2026, 12, 1), None, True, True)
    assert item.territory == "28701000" and item.coordinates is not None and item.coordinates.lat == 56.85
    assert pos_item(_facts(account="school"), _scope()).territory == "28701000001"


@pytest.mark.parametrize(("answered", "deadline", "overdue"), [
    (date(2026, 11, 25), None, False),                 # answered before POS's planned date
    (date(2026, 12, 2), None, True),                   # answered after it
    (date(2026, 12, 2), date(2026, 12, 10), False),    # the card's term wins over POS's
])
def test_an_answered_message_is_closed_on_its_answer_date_and_overdue_only_if_answered_late(
        answered: date, deadline: date | None, overdue: bool) -> None:
    item = pos_item(_facts(MessageState.CLOSED, status="ANSWERED", answered=answered, deadline=deadline), _scope())
    assert (item.status, item.closed, item.overdue) == (ShowcaseStatus.ANSWERED, answered, overdue)


def test_a_redirect_is_closed_when_pos_last_changed_it() -> None:
    item = pos_item(_facts(MessageState.CLOSED, status="REDIRECTED_SUBORDINATE"), _scope())
    assert (item.status, item.closed) == (ShowcaseStatus.REDIRECTED, date(2026, 11, 20))


def test_without_a_category_the_cards_rubric_mapped_back_places_it_else_it_cannot_be_shown() -> None:
    tree = PosCategoryTree([("c1", None, 1, "Дороги"), ("c1.1", "c1", 2, "Ямы"), ("c2", None, 1, "Мусор")])
    lookup = RubricLookup(tree, {"c1.1": MappingEntry("0003.0009.0097.0701"), "c1": MappingEntry("0003.0009.0097.0701"),
                                 "c2": MappingEntry("0003.0009.0097.0702")})
    scope = _scope(rubric_category=rubric_categories(lookup))
    bare = {"category": None, "subcategory": None}
    item = pos_item(_facts(rubric_code="0003.0009.0097.0701", **bare), scope)
    assert item.category == ShowcaseCategory(id="c1", name="Дороги")  # the most general category of the code
    with pytest.raises(ValueError, match="has no category"):
        pos_item(_facts(rubric_code="0001.0001.0001.0001", **bare), scope)
    with pytest.raises(ValueError, match="has no category"):
        pos_item(_facts(**bare), _scope())


def test_the_wire_form_is_what_the_simulator_accepts_and_leaves_out_what_is_unknown() -> None:
    item = pos_item(_facts(MessageState.CLOSED, status="ANSWERED", answered=date(2026, 11, 25),
                           coordinates=None), _scope())
    doc = wire.showcase_item(item)
    assert doc == {"id": "pos:10001", "channel": "POS", "number": "10001", "categoryId": "c1.1",
                   "categoryName": "Ямы", "status": "ANSWERED", "receivedDate": "2026-11-02",
                   "plannedDate": "2026-12-01", "closedDate": "2026-11-25", "overdue": False, "repeated": True,
                   "territory": "28701000"}
    wire.WireShowcaseItem.model_validate_json(json.dumps(doc), strict=True)  # the simulator's own check


def test_an_answer_dated_before_the_appeal_cannot_be_put_on_the_wire() -> None:
    from pydantic import ValidationError

    item = pos_item(_facts(MessageState.CLOSED, status="ANSWERED", answered=date(2026, 10, 1)), _scope())
    with pytest.raises(ValidationError, match="closedDate: before receivedDate"):
        wire.showcase_item(item)


def test_received_dates_follow_the_body_zone_not_utc() -> None:
    late = datetime(2026, 12, 31, 22, 30, tzinfo=UTC).isoformat()
    assert pos_item(_facts(createdAt=late, plannedDate=None), _scope()).received == date(2027, 1, 1)
