"""[daemon] concurrency: remote calls overlap within a batch, outcomes keep their order, a refusal
that stops the run stops the calls not yet made, and one message's outbox entries stay in order."""

from __future__ import annotations

import threading
from types import SimpleNamespace

import pytest

from connector.errors import AuthError, TransientError
from connector.pipeline.batches import call_all
from connector.pipeline.context import PipelineContext
from connector.pipeline.runner import run_job
from connector.simulators.server import SimServer

import simctl


def _ctx(concurrency: int) -> PipelineContext:
    return SimpleNamespace(settings=SimpleNamespace(daemon=SimpleNamespace(concurrency=concurrency)))  # type: ignore[return-value]


def test_calls_overlap_up_to_the_setting_and_outcomes_keep_their_order() -> None:
    together = threading.Barrier(4, timeout=10)  # broken (an error) unless four calls run at once

    def call(n: int) -> int:
        together.wait()
        if n == 5:
            raise TransientError("a 503")
        return n * 10

    outcomes = call_all(_ctx(4), call, list(range(8)))
    assert [o if isinstance(o, int) else type(o).__name__ for o in outcomes] == \
        [0, 10, 20, 30, 40, "TransientError", 60, 70]


def test_after_a_refused_login_no_further_call_is_made() -> None:
    made: list[int] = []

    def call(n: int) -> int:
        made.append(n)
        if n == 1:
            raise AuthError("login rejected")
        return n

    outcomes = call_all(_ctx(1), call, [0, 1, 2, 3])
    assert made == [0, 1]
    assert outcomes[0] == 0 and all(isinstance(o, AuthError) for o in outcomes[1:])


@pytest.mark.parametrize("concurrency", [1, 4])
def test_each_message_reaches_pos_in_order_and_once(ctx: PipelineContext, pos_sim: SimServer, onec_sim: SimServer,
                                                     concurrency: int) -> None:
    ctx.settings.daemon.concurrency = concurrency
    ids = simctl.seed(pos_sim, 6)
    for job in ("pull", "register"):
        run_job(ctx, job)
    simctl.onec_act(onec_sim, action="auto", assign=True, answer=True)
    for job in ("track", "push"):
        assert not run_job(ctx, job).notes
    appeals = simctl.pos_appeals(pos_sim)
    for pos_id in ids:
        history = simctl.status_history(appeals[pos_id])
        assert history.count("EXECUTOR_ASSIGNED") == 1 and history.count("ANSWERED") == 1
        assert history.index("EXECUTOR_ASSIGNED") < history.index("ANSWERED")
    assert sorted(simctl.cards_per_pos_id(onec_sim).values()) == [1] * len(ids)
