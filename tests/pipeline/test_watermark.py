"""The pull watermark against a POS that misbehaves the way real services do: no message is lost.

A clock that steps back, an item dated in the future, changes that show up out of order, a
listing that never ends, and the daily sweep that finds what the incremental passes missed.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from connector.config import Settings, settings_from_mapping
from connector.daemon import run_daemon
from connector.ops.alerts import Alerter
from connector.ops.metrics import Metrics
from connector.ops.settings import AlertSettings
from connector.pipeline.context import PipelineContext
from connector.pipeline.runner import build_context, run_job
from connector.simulators.server import SimServer
from connector.store.models import Message, PullWatermark
from connector.transport import RetryingSession, RetryPolicy

import simctl
from testconfig import settings_mapping

MakeSettings = Callable[..., Settings]


@pytest.fixture
def make_settings(tmp_path: Path, db_url: str, pos_sim: SimServer, onec_sim: SimServer) -> MakeSettings:
    def make(**pull: Any) -> Settings:
        data = settings_mapping(data_dir=tmp_path / "data", db_url=db_url, pos_url=pos_sim.url,
                                onec_url=onec_sim.url)
        return settings_from_mapping({**data, "pull": pull})

    return make


@pytest.fixture
def contexts() -> Iterator[Callable[[Settings], PipelineContext]]:
    made: list[PipelineContext] = []

    def make(settings: Settings) -> PipelineContext:
        made.append(build_context(settings, sleep=lambda _s: None))
        return made[-1]

    yield make
    for context in made:
        context.close()
        context.store.dispose()


def _stored(ctx: PipelineContext) -> set[str]:
    with ctx.store.session() as session:
        return set(session.scalars(select(Message.pos_id)))


def _watermark(ctx: PipelineContext) -> datetime | None:
    with ctx.store.session() as session:
        row = session.get(PullWatermark, "demo")
        return row.updated_since if row is not None else None


def _metric(ctx: PipelineContext, name: str) -> float:
    body, _ = Metrics(ctx.store).render()
    for line in body.decode().splitlines():
        if line.startswith(f'{name}{{account="demo"}}'):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"metric {name} for account demo not exposed")


def _wait_all_visible(pos: SimServer, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while simctl.pos_summary(pos)["notYetVisible"]:
        assert time.monotonic() < deadline, "the simulator never showed every change"
        time.sleep(0.1)


class Hook:
    """A webhook receiver on loopback: the alerts an operator would get."""

    def __init__(self) -> None:
        self.payloads: list[dict[str, Any]] = []
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                hook.payloads.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def alerts(tmp_path: Path) -> Iterator[Callable[[PipelineContext], list[dict[str, Any]]]]:
    hook = Hook()

    def check(ctx: PipelineContext) -> list[dict[str, Any]]:
        settings = AlertSettings.model_validate({"webhook_url": hook.url})
        alerter = Alerter(settings, ctx.store, data_dir=tmp_path / "data",
                          session=RetryingSession(RetryPolicy(max_attempts=1), sleep=lambda _s: None))
        try:
            alerter.check()
        finally:
            alerter.close()
        return hook.payloads

    yield check
    hook.server.shutdown()
    hook.server.server_close()


def test_an_item_dated_far_in_the_future_does_not_hide_later_messages(
        make_settings: MakeSettings, contexts: Callable[[Settings], PipelineContext], pos_sim: SimServer,
        caplog: pytest.LogCaptureFixture) -> None:
    ctx = contexts(make_settings())
    first = simctl.seed(pos_sim, 3, seed=1)
    simctl.faults(pos_sim, future_dated_next=1, future_seconds=365 * 24 * 3600)
    future = simctl.seed(pos_sim, 1, seed=2)
    with caplog.at_level(logging.WARNING, logger="connector.pipeline"):
        run_job(ctx, "pull")
    later = simctl.seed(pos_sim, 3, seed=3)
    run_job(ctx, "pull")
    run_job(ctx, "pull")

    assert _stored(ctx) == {*first, *future, *later}
    warnings = [r for r in caplog.records if "clock" in r.getMessage()]
    assert len(warnings) == 1 and getattr(warnings[0], "pos_id", None) == future[0]
    assert _metric(ctx, "connector_pos_clock_warnings_total") == 1  # reported once, not on every pass


def test_changes_after_the_pos_clock_steps_back_are_pulled(
        make_settings: MakeSettings, contexts: Callable[[Settings], PipelineContext], pos_sim: SimServer) -> None:
    ctx = contexts(make_settings())
    before = simctl.seed(pos_sim, 3, seed=1)
    run_job(ctx, "pull")
    simctl.faults(pos_sim, clock_step_back=180)  # an NTP correction of three minutes
    after = simctl.seed(pos_sim, 3, seed=2)
    run_job(ctx, "pull")

    assert _stored(ctx) == {*before, *after}


def test_changes_visible_out_of_order_are_pulled(
        make_settings: MakeSettings, contexts: Callable[[Settings], PipelineContext], pos_sim: SimServer) -> None:
    ctx = contexts(make_settings())
    simctl.faults(pos_sim, visibility_spread=4.0, seed=5)
    ids = simctl.seed(pos_sim, 20, seed=1)
    while simctl.pos_summary(pos_sim)["notYetVisible"] > 15:
        time.sleep(0.05)
    run_job(ctx, "pull")
    assert 0 < len(_stored(ctx)) < len(ids), "the first pass must see only part of them"
    older_hidden = [p for p in ids if p not in _stored(ctx)
                    and ids.index(p) < max(ids.index(s) for s in _stored(ctx))]
    assert older_hidden, "an older change must still be hidden behind a newer one"
    _wait_all_visible(pos_sim)
    run_job(ctx, "pull")

    assert _stored(ctx) == set(ids)


def test_an_endless_listing_ends_the_run_and_keeps_the_watermark(
        make_settings: MakeSettings, contexts: Callable[[Settings], PipelineContext], pos_sim: SimServer,
        alerts: Callable[[PipelineContext], list[dict[str, Any]]]) -> None:
    settings = make_settings()
    ctx = contexts(settings)
    simctl.seed(pos_sim, 4, seed=1)
    run_job(ctx, "pull")
    mark = _watermark(ctx)
    assert mark is not None
    simctl.faults(pos_sim, endless_cursor=True)
    simctl.seed(pos_sim, 2, seed=2)

    outcome: dict[str, int] = {}
    worker = threading.Thread(target=lambda: outcome.update(rc=run_daemon(settings, once=True)), daemon=True)
    worker.start()
    worker.join(60)
    assert not worker.is_alive(), "run --once must end"
    assert outcome["rc"] == 1

    stats = run_job(ctx, "pull")
    assert stats.notes and "demo" in stats.notes[0] and "listing" in stats.notes[0]
    assert _watermark(ctx) == mark
    listing_alerts = [p for p in alerts(ctx) if p["incident"] == "listing:demo"]
    assert len(listing_alerts) == 1 and "demo" in listing_alerts[0]["text"]


def test_a_listing_over_its_cap_ends_the_run_and_keeps_the_watermark(
        make_settings: MakeSettings, contexts: Callable[[Settings], PipelineContext], pos_sim: SimServer) -> None:
    ctx = contexts(make_settings(max_items_per_run=8))
    simctl.seed(pos_sim, 5, seed=1)
    assert not run_job(ctx, "pull").notes
    mark = _watermark(ctx)
    simctl.seed(pos_sim, 12, seed=2)

    stats = run_job(ctx, "pull")
    assert stats.notes and "demo" in stats.notes[0] and "max_items_per_run" in stats.notes[0]
    assert _watermark(ctx) == mark


def test_the_sweep_finds_what_the_incremental_pull_missed(
        make_settings: MakeSettings, contexts: Callable[[Settings], PipelineContext], pos_sim: SimServer,
        alerts: Callable[[PipelineContext], list[dict[str, Any]]]) -> None:
    # No lookback, no allowance: the incremental pass is as naive as it gets, so changes that
    # show up late slip behind its watermark and only the sweep can find them.
    ctx = contexts(make_settings(lookback_seconds=0, clock_allowance_seconds=0))
    simctl.faults(pos_sim, visibility_spread=5.0, seed=5)
    late = simctl.seed(pos_sim, 10, seed=1)
    time.sleep(0.3)
    simctl.faults(pos_sim)  # what changes from now on shows at once
    time.sleep(2.0)
    fresh = simctl.seed(pos_sim, 1, seed=2)
    run_job(ctx, "pull")
    _wait_all_visible(pos_sim)
    run_job(ctx, "pull")
    missed = {*late, *fresh} - _stored(ctx)
    assert missed, "the incremental pass must have missed the late changes"
    assert _metric(ctx, "connector_pos_missed_by_incremental_total") == 0

    stats = run_job(ctx, "sweep")
    assert not stats.notes
    assert _stored(ctx) == {*late, *fresh}
    assert _metric(ctx, "connector_pos_missed_by_incremental_total") == len(missed)
    missed_alerts = [p for p in alerts(ctx) if p["incident"] == "missed:demo"]
    assert len(missed_alerts) == 1 and str(len(missed)) in missed_alerts[0]["text"]


def test_the_lookback_overlap_does_not_spend_the_daemons_batch_budget(
        make_settings: MakeSettings, contexts: Callable[[Settings], PipelineContext], pos_sim: SimServer) -> None:
    ctx = contexts(make_settings())  # batch_size 7, every change within the 15 min lookback
    ids = simctl.seed(pos_sim, 20, seed=1)
    for _ in range(3):
        run_job(ctx, "pull", max_batches=1)  # the daemon's bounded run

    assert _stored(ctx) == set(ids)
