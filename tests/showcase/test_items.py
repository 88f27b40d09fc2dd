"""The pure middle of the showcase: a POS message's item, its wire form, a rubric mapped back."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from connector.domain import CardStage, DeliveryForm, Executor, Forwarding, PosStatus
from connector.pos_client import wire
from connector.rubric_mapping.lookup import RubricLookup
from connector.rubric_mapping.pos_categories import PosCategoryTree
from connector.rubric_mapping.workbook import MappingEntry
from connector.showcase.categories import rubric_categories
from connector.showcase.models import Channel, ShowcaseCategory, ShowcaseStatus
from connector.showcase.settings import ShowcaseSettings
from connector.showcase.sources import (
    EdmsFacts,
    PosFacts,
    SourceScope,
    edms_item,
    edms_item_id,
    edms_status,
    pos_item,
    pos_status,
)
from connector.sstu_export.edms_facts import StoredAppeal
from connector.sstu_export.facts import StoredAnswer, StoredQuestion
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


# --- EDMS appeals of other channels ----------------------------------------------------------

def _question(stage: CardStage, *, rubric: str = "", answered: date | None = None, due: date | None = None,
              redirect_on: date | None = None) -> StoredQuestion:
    answer = StoredAnswer(date=answered, decision="Разъяснено") if answered else None
    executor = Executor(name="Иванов И. И.", responsible=True, due=due) if due else None
    return StoredQuestion(key=str(id(answer)), rubric_code=rubric, stage=stage, answer=answer, executor=executor,
                          redirect_letter_date=redirect_on)


def _edms(*questions: StoredQuestion, **kw: Any) -> EdmsFacts:
    appeal = StoredAppeal(external_id="card-1", registration_number="П-17", registration_date=date(2026, 11, 3),
                          questions=questions, **kw)
    return EdmsFacts(target="onec", account="school", appeal=appeal, changed_on=date(2026, 11, 25))


def _edms_scope() -> SourceScope:
    known = {"0003.0009.0099.0742": ShowcaseCategory(id="c1", name="Дороги")}
    return _scope(rubric_category=known.get)


@pytest.mark.parametrize(("stages", "expected"), [
    ((CardStage.REGISTERED, CardStage.REGISTERED), ShowcaseStatus.NEW),
    ((CardStage.REGISTERED, CardStage.IN_WORK), ShowcaseStatus.IN_WORK),
    ((CardStage.ANSWER_READY, CardStage.EXTENDED), ShowcaseStatus.IN_WORK),      # open while any question is
    ((CardStage.REDIRECTED, CardStage.ANSWER_READY), ShowcaseStatus.ANSWERED),   # all closed, one answered
    ((CardStage.REDIRECTED, CardStage.REFUSED), ShowcaseStatus.REDIRECTED),
    ((CardStage.REFUSED,), ShowcaseStatus.REJECTED),
])
def test_an_edms_appeals_status_follows_its_questions(stages: tuple[CardStage, ...],
                                                       expected: ShowcaseStatus) -> None:
    questions = tuple(_question(s, answered=date(2026, 11, 20) if s is CardStage.ANSWER_READY else None)
                      for s in stages)
    assert edms_status(questions) is expected


def test_an_answer_announced_but_not_stored_keeps_the_appeal_in_work() -> None:
    assert edms_status((_question(CardStage.ANSWER_READY),)) is ShowcaseStatus.IN_WORK


def test_an_edms_appeal_takes_the_first_mapped_rubric_its_executors_term_and_its_channel() -> None:
    facts = _edms(_question(CardStage.IN_WORK, rubric="9999.0000.0000.0000", due=date(2026, 11, 30)),
                  _question(CardStage.IN_WORK, rubric="0003.0009.0099.0742", due=date(2026, 12, 10)),
                  delivery=DeliveryForm.ORAL, received_on=date(2026, 11, 2))
    item = edms_item(facts, _edms_scope())
    assert (item.item_id, item.channel, item.number) == ("edms:onec:card-1", Channel.RECEPTION, "П-17")
    assert (item.category.id, item.status, item.received, item.planned) == (
        "c1", ShowcaseStatus.IN_WORK, date(2026, 11, 2), date(2026, 12, 10))
    assert (item.overdue, item.repeated, item.territory, item.closed) == (False, False, "28701000001", None)


def test_a_closed_edms_appeal_is_closed_on_its_last_answer_and_overdue_if_late() -> None:
    facts = _edms(_question(CardStage.ANSWER_READY, rubric="0003.0009.0099.0742", answered=date(2026, 11, 28),
                            due=date(2026, 11, 25)),
                  _question(CardStage.REDIRECTED, redirect_on=date(2026, 11, 10)),
                  forwarded=Forwarding(body="Правительство края", letter_number="01-12/345",
                                       letter_date=date(2026, 11, 1)))
    item = edms_item(facts, _edms_scope())
    assert (item.channel, item.status, item.closed, item.overdue) == (
        Channel.FORWARDED, ShowcaseStatus.ANSWERED, date(2026, 11, 28), True)
    assert item.received == date(2026, 11, 3)  # no receipt date on the card: its registration date
    wire_form = wire.showcase_item(item)  # the simulator's format takes it
    assert wire_form["channel"] == "FORWARDED" and wire_form["closedDate"] == "2026-11-28"


def test_an_edms_appeal_without_a_mapped_rubric_or_a_number_cannot_be_shown() -> None:
    with pytest.raises(ValueError, match="no question rubric the rubric mapping knows"):
        edms_item(_edms(_question(CardStage.IN_WORK, rubric="9999.0000.0000.0000")), _edms_scope())
    unnumbered = EdmsFacts(target="onec", account="main", changed_on=TODAY, appeal=StoredAppeal(
        external_id="card-2", questions=(_question(CardStage.IN_WORK, rubric="0003.0009.0099.0742"),)))
    with pytest.raises(ValueError, match="no registration number"):
        edms_item(unnumbered, _edms_scope())


def test_a_long_card_id_gives_a_stable_item_id_that_fits() -> None:
    long_id = "x" * 300
    assert edms_item_id("onec", long_id) == edms_item_id("onec", long_id)
    assert len(edms_item_id("onec", long_id)) <= 160 and edms_item_id("onec", "y" * 300) != edms_item_id("onec", long_id)
