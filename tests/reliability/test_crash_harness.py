"""≥ 30 SIGKILLs at random moments across all jobs, with faults on: nothing lost, nothing twice.

Every seeded POS message ends with exactly one card, one answer in POS, one appeal held
by ССТУ with its final status and one item on the POS data showcase with its final status; every
EDMS appeal of another channel with exactly one appeal held by ССТУ and one showcase item (a card
flagged «не выгружать в ССТУ» with neither)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from chaos_harness import run_chaos  # noqa: E402
from testconfig import FAKETIME_STALLS_THREADS

pytestmark = pytest.mark.slow


@FAKETIME_STALLS_THREADS
def test_thirty_kills_over_two_hundred_messages_lose_and_duplicate_nothing(tmp_path: Path) -> None:
    report = run_chaos(tmp_path, messages=200, kills=30, seed=7, min_alive=0.2, max_alive=3.0)
    print(report.summary())
    assert report.kills == 30
    # The kills must land while every job has work: registering cards and pushing answers.
    assert report.cards_during_kills > 0 and report.answers_during_kills > 0, report.summary()
    assert report.sstu_during_kills > 0, report.summary()
    assert report.lost == 0 and report.duplicated == 0, report.summary()
    assert set(report.cards_per_message.values()) == {1}
    assert set(report.answers_per_message.values()) == {1}
    assert set(report.sstu_per_message.values()) == {1}
    assert report.sstu_not_final == 0 and report.sstu_rejected == 0, report.summary()
    assert set(report.showcase_per_message.values()) == {1} and report.showcase_strangers == 0, report.summary()
    assert report.showcase_not_final == 0 and report.showcase_during_kills > 0, report.summary()
    assert len(report.edms_sstu_per_appeal) >= 8, report.summary()  # some of them seeded while killing
    assert set(report.edms_sstu_per_appeal.values()) == {1}, report.summary()
    assert set(report.edms_showcase_per_appeal.values()) == {1}, report.summary()
    assert report.edms_flagged_shown == 0, report.summary()
    assert report.leases_held == 0
    assert report.failures == []
    assert report.states == {"closed": 200}
