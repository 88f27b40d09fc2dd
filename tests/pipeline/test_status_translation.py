from __future__ import annotations

from datetime import date

import pytest

from connector.config import _default_status_map
from connector.domain import CardRef, CardStage, CardState, Executor, PosStatus
from connector.pipeline.status_translation import is_past, plan_outbox

REF = CardRef(adapter="onec_dm", external_id="x")


def _state(stage: CardStage, **kw: object) -> CardState:
    return CardState(ref=REF, stage=stage, executors=(Executor(name="Петрова А. С."),),
                     deadline=date(2026, 12, 20), **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize("stage,expected", [
    (CardStage.REGISTERED, []),
    (CardStage.IN_WORK, [("status", "EXECUTOR_ASSIGNED")]),
    (CardStage.EXTENDED, [("status", "EXECUTOR_ASSIGNED"), ("status", "DEADLINE_EXTENDED")]),
    (CardStage.ANSWER_READY, [("status", "EXECUTOR_ASSIGNED")]),
    (CardStage.REDIRECTED, [("redirect", "REDIRECTED_SUBORDINATE")]),
    (CardStage.REFUSED, []),
])
def test_default_table_with_pos_prerequisites(stage: CardStage, expected: list[tuple[str, str]]) -> None:
    intents = plan_outbox(_state(stage, redirect_org_id="org-2"), _default_status_map())
    assert [(i.kind.value, i.target) for i in intents] == expected


def test_status_carries_executor_and_planned_date() -> None:
    [intent] = plan_outbox(_state(CardStage.IN_WORK), _default_status_map())
    assert intent.payload.to_json()["executor"] == "Петрова А. С."
    assert intent.payload.to_json()["planned_date"] == "2026-12-20"  # stored as the first wave wrote it


def test_table_is_configuration() -> None:
    table = {**_default_status_map(), CardStage.IN_WORK: None, CardStage.REDIRECTED: PosStatus.REDIRECTED_HIGHER}
    assert plan_outbox(_state(CardStage.IN_WORK), table) == []
    [redirect] = plan_outbox(_state(CardStage.REDIRECTED, redirect_org_id="org-9"), table)
    assert (redirect.target, redirect.payload.to_json()["target_org_id"]) == ("REDIRECTED_HIGHER", "org-9")


@pytest.mark.parametrize("current,wanted,past", [
    (PosStatus.ANSWERED, PosStatus.EXECUTOR_ASSIGNED, True),
    (PosStatus.DEADLINE_EXTENDED, PosStatus.EXECUTOR_ASSIGNED, True),
    (PosStatus.EXECUTOR_ASSIGNED, PosStatus.DEADLINE_EXTENDED, False),
    (PosStatus.NEW, PosStatus.EXECUTOR_ASSIGNED, False),
    (PosStatus.DEADLINE_EXTENDED, PosStatus.REDIRECTED_SUBORDINATE, False),
])
def test_is_past(current: PosStatus, wanted: PosStatus, past: bool) -> None:
    assert is_past(current, wanted) is past
