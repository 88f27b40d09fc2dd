"""The ``showcase`` job and ``connector showcase upload`` against the store and the POS simulator
(both backends): every appeal once, changes once, rejections in failures, a dry run sends nothing."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any

import cycles
import pytest
from sqlalchemy import select

from connector.config import settings_from_mapping
from connector.ops.failures import list_failures, retry_failures
from connector.ops.metrics import Metrics
from connector.ops.status import status_report
from connector.pipeline.context import PipelineContext
from connector.pipeline.runner import build_context, run_job
from connector.showcase.records import ShowcaseRecord, ShowcaseState
from connector.showcase.service import run_pass
from connector.simulators.pos import PosSimulator
from connector.simulators.server import SimServer

import simctl
from testconfig import BODY_ZONE, body_today, settings_mapping

pytestmark = pytest.mark.date_sensitive  # received dates, --since and the overdue flag follow the body's calendar

MESSAGES = 8


def _context(tmp_path: Path, db_url: str, pos: SimServer, onec: SimServer, **showcase: Any) -> PipelineContext:
    raw = settings_mapping(data_dir=tmp_path / "data", db_url=db_url, pos_url=pos.url, onec_url=onec.url)
    raw["showcase"] = {"enabled": True, "batch_size": 5, "territory": "71701000", **showcase}
    return build_context(settings_from_mapping(raw), sleep=lambda _s: None)


@pytest.fixture
def sctx(tmp_path: Path, db_url: str, pos_sim: SimServer, onec_sim: SimServer) -> Iterator[PipelineContext]:
    ctx = _context(tmp_path, db_url, pos_sim, onec_sim)
    yield ctx
    ctx.close()
    ctx.store.dispose()


@pytest.fixture
def lite(tmp_path: Path, pos_sim: SimServer, onec_sim: SimServer) -> Iterator[PipelineContext]:
    """SQLite only: for what does not depend on the backend (the four rules above run on both)."""
    ctx = _context(tmp_path, f"sqlite:///{tmp_path / 'lite.db'}", pos_sim, onec_sim)
    yield ctx
    ctx.close()
    ctx.store.dispose()


def _sim(pos: SimServer) -> PosSimulator:
    app = pos.app
    assert isinstance(app, PosSimulator)
    return app


def _held(pos: SimServer) -> dict[str, dict[str, Any]]:
    """The showcase's items by appeal number; a number held twice fails the test."""
    items = _sim(pos).showcase_items()
    numbers = [item["number"] for item in items]
    assert len(numbers) == len(set(numbers)), f"an appeal is on the showcase twice: {sorted(numbers)}"
    return {item["number"]: item for item in items}


def _uploads(pos: SimServer) -> int:
    return int(simctl.pos_summary(pos)["showcaseUploads"])


def _received_days_ago(pos: SimServer, ids: list[str], days: int) -> None:
    moment = datetime.combine(body_today() - timedelta(days=days), time(12), BODY_ZONE)
    for pos_id in ids:
        _sim(pos).edit_appeal(pos_id, created_at=moment, planned_date=(moment + timedelta(days=30)).date())


def test_a_back_fill_from_a_date_uploads_each_appeal_once_and_a_rerun_uploads_nothing(
        tmp_path: Path, db_url: str, pos_sim: SimServer, onec_sim: SimServer) -> None:
    ids = simctl.seed(pos_sim, MESSAGES, max_attachment_kb=4)
    old = ids[:3]
    _received_days_ago(pos_sim, old, 40)
    _received_days_ago(pos_sim, ids[3:], 1)  # POS's own dates are random within 20 days
    ctx = _context(tmp_path, db_url, pos_sim, onec_sim, since=(body_today() - timedelta(days=10)).isoformat())
    try:
        run_job(ctx, "pull")
        stats = run_job(ctx, "showcase")
        assert stats.processed == MESSAGES - 3 and not stats.notes
        assert set(_held(pos_sim)) == set(ids[3:])  # [showcase] since keeps the older ones back

        report, _ = run_pass(ctx, since=body_today() - timedelta(days=60))
        assert (report.new, report.uploaded, report.unchanged) == (3, 3, MESSAGES - 3)
        held = _held(pos_sim)
        assert set(held) == set(ids)
        item = held[old[0]]
        assert item["id"] == f"pos:{old[0]}" and item["channel"] == "POS" and item["status"] == "NEW"
        assert item["receivedDate"] == (body_today() - timedelta(days=40)).isoformat()
        assert item["territory"] == "71701000" and item["categoryId"] and "coordinates" in item
        assert item["overdue"] is True  # 30 days to answer, received 40 days ago

        uploads = _uploads(pos_sim)
        again, _ = run_pass(ctx, since=body_today() - timedelta(days=60))
        assert (again.to_upload, again.uploaded, again.unchanged) == (0, 0, MESSAGES)
        assert run_job(ctx, "showcase").processed == 0
        assert _uploads(pos_sim) == uploads  # nothing was sent at all
    finally:
        ctx.close()
        ctx.store.dispose()


def test_a_changed_status_is_sent_again_once(sctx: PipelineContext, pos_sim: SimServer, onec_sim: SimServer) -> None:
    ids = simctl.seed(pos_sim, 4, max_attachment_kb=4)
    run_job(sctx, "pull")
    assert run_job(sctx, "showcase").processed == len(ids)
    assert {i["status"] for i in _held(pos_sim).values()} == {"NEW"}

    cycles.until_in_work(sctx, onec_sim)
    assert run_job(sctx, "showcase").processed == len(ids)
    assert {i["status"] for i in _held(pos_sim).values()} == {"IN_WORK"}
    assert run_job(sctx, "showcase").processed == 0

    cycles.answer_all(sctx, onec_sim)
    assert run_job(sctx, "showcase").processed == len(ids)
    held = _held(pos_sim)
    assert set(held) == set(ids)
    assert {(i["status"], i["closedDate"]) for i in held.values()} == {("ANSWERED", body_today().isoformat())}
    assert run_job(sctx, "showcase").processed == 0
    with sctx.store.session() as session:
        records = list(session.scalars(select(ShowcaseRecord)))
    assert {(r.sends, r.send_state) for r in records} == {(3, ShowcaseState.IDLE)}
    assert all(r.result and r.result["accepted"] for r in records)


def test_a_rejected_item_lands_in_failures_and_a_retry_sends_it_again(
        sctx: PipelineContext, pos_sim: SimServer) -> None:
    simctl.seed(pos_sim, MESSAGES, max_attachment_kb=4)
    run_job(sctx, "pull")
    simctl.faults(pos_sim, showcase_reject_next=1)
    stats = run_job(sctx, "showcase")
    assert (stats.processed, stats.failed) == (MESSAGES - 1, 1)
    [failure] = list_failures(sctx.store)
    assert failure.item_kind == "showcase" and failure.job == "showcase.upload" and failure.pos_id
    assert "ITEM_REJECTED" in failure.reason and failure.pos_id not in _held(pos_sim)
    assert status_report(sctx.store).showcase_by_send_state == {"idle": MESSAGES - 1, "failed": 1}
    body = Metrics(sctx.store).render()[0].decode()
    assert 'connector_showcase_items{state="failed"} 1.0' in body and 'connector_showcase_items{state="pending"} 0.0' in body
    assert run_job(sctx, "showcase").processed == 0  # a refused item waits for the operator

    assert retry_failures(sctx.store, [failure.id]).requeued == [failure.id]
    assert run_job(sctx, "showcase").processed == 1
    assert len(_held(pos_sim)) == MESSAGES and list_failures(sctx.store) == []
    assert status_report(sctx.store).showcase_by_send_state == {"idle": MESSAGES}


def test_an_upload_broken_halfway_is_sent_again_without_duplicates(lite: PipelineContext, pos_sim: SimServer) -> None:
    ids = simctl.seed(pos_sim, MESSAGES, max_attachment_kb=4)
    run_job(lite, "pull")
    simctl.faults(pos_sim, showcase_partial_next=1)  # the first half stored, then 503; the transport retries
    stats = run_job(lite, "showcase")
    assert stats.processed == MESSAGES and not stats.notes
    assert set(_held(pos_sim)) == set(ids)


def test_an_appeal_without_a_category_is_in_failures_once_until_it_gets_one(
        lite: PipelineContext, pos_sim: SimServer) -> None:
    ids = simctl.seed(pos_sim, 2, max_attachment_kb=4)
    _sim(pos_sim).edit_appeal(ids[0], omit=("category", "subcategory", "fact"))
    run_job(lite, "pull")
    assert run_job(lite, "showcase").processed == 1
    run_job(lite, "showcase")
    [failure] = list_failures(lite.store)
    assert failure.job == "showcase.build" and "no category" in failure.reason and failure.pos_id == ids[0]
    retry_failures(lite.store, None)  # rebuilt on the next run: still no category, so in failures again, once
    assert run_job(lite, "showcase").processed == 0
    assert [f.job for f in list_failures(lite.store)] == ["showcase.build"]

    _sim(pos_sim).edit_appeal(ids[0])  # POS serves the category again
    run_job(lite, "pull")
    assert run_job(lite, "showcase").processed == 1
    assert set(_held(pos_sim)) == set(ids) and list_failures(lite.store) == []


def test_a_dry_run_counts_what_would_go_and_sends_and_stores_nothing(
        sctx: PipelineContext, pos_sim: SimServer) -> None:
    simctl.seed(pos_sim, MESSAGES, max_attachment_kb=4)
    run_job(sctx, "pull")
    report, _ = run_pass(sctx, dry_run=True)
    assert (report.dry_run, report.new, report.to_upload, report.uploaded) == (True, MESSAGES, MESSAGES, 0)
    assert _uploads(pos_sim) == 0 and _held(pos_sim) == {}
    with sctx.store.session() as session:
        assert session.scalars(select(ShowcaseRecord)).first() is None


def test_a_showcase_that_stays_down_costs_one_attempt_per_item_and_the_next_run_sends_them(
        lite: PipelineContext, pos_sim: SimServer) -> None:
    ids = simctl.seed(pos_sim, 3, max_attachment_kb=4)
    run_job(lite, "pull")
    simctl.faults(pos_sim, error_rate=1.0)
    stats = run_job(lite, "showcase")
    assert (stats.processed, stats.failed, stats.skipped) == (0, 0, 3)
    assert any("left to retry" in note and "503" in note for note in stats.notes)  # the run says it did not work
    with lite.store.session() as session:
        assert {(r.send_state, r.attempts) for r in session.scalars(select(ShowcaseRecord))} == {
            (ShowcaseState.PENDING, 1)}
    simctl.faults(pos_sim)
    assert run_job(lite, "showcase").processed == 3
    assert set(_held(pos_sim)) == set(ids) and list_failures(lite.store) == []


def test_a_refused_login_stops_the_account_without_spending_attempts(
        tmp_path: Path, pos_sim: SimServer, onec_sim: SimServer) -> None:
    db_url = f"sqlite:///{tmp_path / 'lite.db'}"
    simctl.seed(pos_sim, 2, max_attachment_kb=4)
    good = _context(tmp_path, db_url, pos_sim, onec_sim)
    run_job(good, "pull")
    good.close()
    good.store.dispose()
    raw = settings_mapping(data_dir=tmp_path / "data", db_url=db_url, pos_url=pos_sim.url, onec_url=onec_sim.url)
    raw["accounts"][0]["password"] = "wrong"
    raw["showcase"] = {"enabled": True}
    bad = build_context(settings_from_mapping(raw), sleep=lambda _s: None)
    try:
        stats = run_job(bad, "showcase")
        assert stats.processed == 0 and any(note.startswith("demo: ") for note in stats.notes)
        with bad.store.session() as session:
            assert {(r.send_state, r.attempts, r.claimed_by) for r in session.scalars(select(ShowcaseRecord))} == {
                (ShowcaseState.PENDING, 0, None)}
        assert list_failures(bad.store) == []
    finally:
        bad.close()
        bad.store.dispose()
