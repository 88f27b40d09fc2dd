"""The ``sstu`` job and the export verbs against the store and the SSTU simulator (both backends)."""

from __future__ import annotations

import threading
import zipfile
from collections.abc import Iterator
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any

import cycles
import pytest
import requests
from sqlalchemy import select

from connector.config import settings_from_mapping
from connector.demo_sstu import DEMO_DEPARTMENT_ID, prepare_mapping
from connector.ops.failures import list_failures, retry_failures
from connector.pipeline.context import PipelineContext
from connector.pipeline.runner import build_context, run_job
from connector.simulators.server import SimServer
from connector.simulators.sstu import SstuSimulator
from connector.sstu_export.checkpath import check_path
from connector.sstu_export.client import SstuClient
from connector.sstu_export.records import SendState, SstuAppealRecord, SstuArchiveRecord
from connector.sstu_export.refresh import build_config
from connector.sstu_export.service import export_archive, period_of, reconcile_portal, requeue
from connector.store.models import Card, Message

import simctl
from testconfig import BODY_ZONE, body_today, settings_mapping

pytestmark = pytest.mark.date_sensitive  # report dates, the monthly period and the archive due date follow the body's calendar


@pytest.fixture
def sstu_sim() -> Iterator[SimServer]:
    with SimServer(SstuSimulator()) as server:
        yield server


def _context(tmp_path: Path, db_url: str, pos: SimServer, onec: SimServer, sstu: SimServer | None,
             **sstu_settings: Any) -> PipelineContext:
    raw = settings_mapping(data_dir=tmp_path / "data", db_url=db_url, pos_url=pos.url, onec_url=onec.url)
    raw["sstu"] = {"department_id": DEMO_DEPARTMENT_ID, **({"base_url": sstu.url} if sstu else {}), **sstu_settings}
    return build_context(settings_from_mapping(raw), sleep=lambda _s: None)


def _second_of_next_month() -> datetime:
    """09:00 on the 2nd of the body's next month: the previous month's archive is due then."""
    next_month = (body_today().replace(day=28) + timedelta(days=4)).replace(day=2)
    return datetime.combine(next_month, time(9), BODY_ZONE)


@pytest.fixture
def sctx(tmp_path: Path, db_url: str, pos_sim: SimServer, onec_sim: SimServer,
         sstu_sim: SimServer) -> Iterator[PipelineContext]:
    ctx = _context(tmp_path, db_url, pos_sim, onec_sim, sstu_sim)
    yield ctx
    ctx.close()
    ctx.store.dispose()


def _sim(sstu: SimServer) -> dict[str, Any]:
    return requests.get(f"{sstu.url}/_sim/state", timeout=10).json()


def _statuses_held(sstu: SimServer) -> dict[str, list[str]]:
    return {a["number"]: [q["status"] for q in a["appeal"]["questions"]] for a in _sim(sstu)["appeals"]}


def _records(ctx: PipelineContext) -> list[SstuAppealRecord]:
    with ctx.store.session() as session:
        return list(session.scalars(select(SstuAppealRecord).order_by(SstuAppealRecord.id)))


def test_a_changed_outcome_is_sent_once_with_the_new_status_an_unchanged_appeal_never(
        sctx: PipelineContext, pos_sim: SimServer, onec_sim: SimServer, sstu_sim: SimServer, tmp_path: Path) -> None:
    prepare_mapping(sctx.store, tmp_path / "mapping")
    simctl.seed(pos_sim, 12)
    cycles.until_in_work(sctx, onec_sim)

    first = run_job(sctx, "sstu")
    assert first.processed == 12 and not first.notes
    assert set(map(tuple, _statuses_held(sstu_sim).values())) == {("InWork",)}
    assert _sim(sstu_sim)["summary"]["accepted"] == 12

    again = run_job(sctx, "sstu")
    assert again.processed == 0
    assert _sim(sstu_sim)["summary"]["accepted"] == 12  # unchanged appeals are not sent again

    cycles.answer_all(sctx, onec_sim)
    changed = run_job(sctx, "sstu")
    summary = _sim(sstu_sim)["summary"]
    assert changed.processed == 12
    assert (summary["accepted"], summary["replaced"], summary["appeals"], summary["rejected"]) == (24, 12, 12, 0)
    assert summary["tolerated"] == 0  # our own output never needs what the portal merely takes
    assert set(map(tuple, _statuses_held(sstu_sim).values())) == {("Explained",)}
    assert all(r.sends == 2 and r.send_state == SendState.IDLE and r.receipt for r in _records(sctx))

    assert run_job(sctx, "sstu").processed == 0
    assert _sim(sstu_sim)["summary"]["accepted"] == 24


def test_an_unmapped_category_lands_in_failures_and_goes_out_once_mapped(
        sctx: PipelineContext, pos_sim: SimServer, onec_sim: SimServer, sstu_sim: SimServer, tmp_path: Path) -> None:
    simctl.seed(pos_sim, 10)
    cycles.until_in_work(sctx, onec_sim)
    stats = run_job(sctx, "sstu")
    assert len(stats.notes) == 1 and stats.notes[0].startswith("SSTU report: no POS categories known yet")
    assert _records(sctx) == []

    prepare_mapping(sctx.store, tmp_path / "mapping", omit=("c01", "c01.02"))
    run_job(sctx, "sstu")
    records = _records(sctx)
    invalid = [r for r in records if r.send_state == SendState.INVALID]
    failures = [f for f in list_failures(sctx.store) if f.job == "sstu.build"]
    assert invalid, "the seed has messages in «Автомобильные дороги» (c01)"
    assert len(failures) == len(invalid)
    assert all("no SSTU classifier code for POS category «Автомобильные дороги / " in f.reason for f in failures)
    assert _sim(sstu_sim)["summary"]["appeals"] == len(records) - len(invalid)

    run_job(sctx, "sstu")  # still broken: no second failure for the same reason
    assert len([f for f in list_failures(sctx.store) if f.job == "sstu.build"]) == len(invalid)

    prepare_mapping(sctx.store, tmp_path / "mapping2", import_reference=False)
    run_job(sctx, "sstu")
    assert _sim(sstu_sim)["summary"]["appeals"] == 10
    assert list_failures(sctx.store) == []


def test_an_appeal_rejected_by_sstu_is_in_failures_with_the_portals_reason(
        tmp_path: Path, db_url: str, pos_sim: SimServer, onec_sim: SimServer) -> None:
    allowed = {"0005.0005.0056.1168", "0003.0009.0099.0742", "0003.0009.0097.0690", "0005.0005.0056.1170"}
    with SimServer(SstuSimulator(codes=allowed)) as strict:
        ctx = _context(tmp_path, db_url, pos_sim, onec_sim, strict)
        try:
            prepare_mapping(ctx.store, tmp_path / "mapping")
            simctl.seed(pos_sim, 15)
            cycles.until_in_work(ctx, onec_sim)
            stats = run_job(ctx, "sstu")
            failed = [r for r in _records(ctx) if r.send_state == SendState.FAILED]
            assert failed and stats.failed == len(failed)
            reasons = [f.reason for f in list_failures(ctx.store) if f.job == "sstu.send"]
            assert len(reasons) == len(failed)
            assert all("rejected" in r and "code" in r for r in reasons), reasons
            # a rejected appeal is not retried by itself: it waits for a change or an operator
            assert run_job(ctx, "sstu").processed == 0
            assert retry_failures(ctx.store, None).requeued
            run_job(ctx, "sstu")
            assert len([f for f in list_failures(ctx.store) if f.job == "sstu.send"]) == len(failed)
        finally:
            ctx.close()
            ctx.store.dispose()


def test_server_errors_cost_retries_not_appeals(
        sctx: PipelineContext, pos_sim: SimServer, onec_sim: SimServer, sstu_sim: SimServer, tmp_path: Path) -> None:
    prepare_mapping(sctx.store, tmp_path / "mapping")
    simctl.seed(pos_sim, 6)
    cycles.until_in_work(sctx, onec_sim)
    simctl.faults(sstu_sim, fail_next=3, throttle_next=2, retry_after=0)
    stats = run_job(sctx, "sstu")
    assert stats.processed == 6 and stats.failed == 0
    assert _sim(sstu_sim)["summary"]["appeals"] == 6


def test_reconcile_finds_missing_and_rejected_and_resend_fixes_them(
        sctx: PipelineContext, pos_sim: SimServer, onec_sim: SimServer, sstu_sim: SimServer, tmp_path: Path) -> None:
    prepare_mapping(sctx.store, tmp_path / "mapping")
    simctl.seed(pos_sim, 8)
    cycles.until_in_work(sctx, onec_sim)
    run_job(sctx, "sstu")
    numbers = sorted(_statuses_held(sstu_sim))
    act = f"{sstu_sim.url}/_sim/act"
    requests.post(act, json={"action": "drop", "departmentId": DEMO_DEPARTMENT_ID, "number": numbers[0]}, timeout=5)
    requests.post(act, json={"action": "set_exception", "departmentId": DEMO_DEPARTMENT_ID, "number": numbers[1],
                             "message": "Код вопроса не найден"}, timeout=5)

    client = SstuClient(sstu_sim.url, sctx.new_session())
    [report] = reconcile_portal(sctx.store, sctx.settings, client)
    assert [d.number for d in report.report.missing] == [numbers[0]]
    assert [(d.number, d.reason) for d in report.report.rejected] == [(numbers[1], "Код вопроса не найден")]
    assert report.report.matched == 6 and report.report.stale == []

    assert requeue(sctx.store, sctx.settings, numbers=report.report.to_resend) == 2
    assert run_job(sctx, "sstu").processed == 2
    [after] = reconcile_portal(sctx.store, sctx.settings, client)
    assert after.report.ok and after.report.matched == 8


def test_archives_carry_only_what_changed_and_every_file_is_valid(
        sctx: PipelineContext, pos_sim: SimServer, onec_sim: SimServer, tmp_path: Path) -> None:
    prepare_mapping(sctx.store, tmp_path / "mapping")
    simctl.seed(pos_sim, 9)
    cycles.until_in_work(sctx, onec_sim)
    config = build_config(sctx.settings, sctx.store)
    period = period_of(body_today())

    first = export_archive(sctx.store, config, tmp_path / "a1", period, through=True)
    assert first.appeals == 9 and check_path(tmp_path / "a1").ok
    with zipfile.ZipFile(first.parts[0]) as zf:
        names = sorted(zf.namelist())
    assert len(names) == 9 and all(n.endswith(".json") for n in names)
    assert Path(first.parts[0]).with_name(Path(first.parts[0]).stem + ".manifest.csv").is_file()

    assert export_archive(sctx.store, config, tmp_path / "a2", period, through=True).appeals == 0

    cycles.answer_all(sctx, onec_sim)
    third = export_archive(sctx.store, config, tmp_path / "a3", period, through=True)
    assert third.appeals == 9 and check_path(tmp_path / "a3").ok
    with zipfile.ZipFile(third.parts[0]) as zf:
        assert sorted(zf.namelist()) == names  # same uuids: a re-export replaces, never duplicates

    with pytest.raises(Exception, match="already holds archive parts"):
        export_archive(sctx.store, config, tmp_path / "a3", period, through=True, changed_only=False)


def test_the_monthly_archive_is_written_once_for_the_previous_month(
        tmp_path: Path, db_url: str, pos_sim: SimServer, onec_sim: SimServer) -> None:
    ctx = _context(tmp_path, db_url, pos_sim, onec_sim, None, archive_dir=str(tmp_path / "archives"))
    try:
        prepare_mapping(ctx.store, tmp_path / "mapping")
        simctl.seed(pos_sim, 5)
        cycles.until_in_work(ctx, onec_sim)
        next_month = _second_of_next_month()
        ctx.clock = lambda: next_month
        this_period = period_of(body_today())
        stats = run_job(ctx, "sstu")
        assert not stats.notes
        with ctx.store.session() as session:
            archives = list(session.scalars(select(SstuArchiveRecord)))
        assert [(a.period, a.kind, a.appeals) for a in archives] == [(this_period, "monthly", 5)]
        assert check_path(tmp_path / "archives" / this_period).ok
        run_job(ctx, "sstu")
        with ctx.store.session() as session:
            assert len(list(session.scalars(select(SstuArchiveRecord)))) == 1
    finally:
        ctx.close()
        ctx.store.dispose()


def test_a_redirect_is_transferred_with_the_receiving_bodys_guid_and_our_covering_letter(
        tmp_path: Path, db_url: str, pos_sim: SimServer, onec_sim: SimServer, sstu_sim: SimServer) -> None:
    minstroy = "9b1deb4d-3b7d-4bad-9bdd-2b0d7b3dcb6d"
    ctx = _context(tmp_path, db_url, pos_sim, onec_sim, sstu_sim,
                   bodies={"org-minstroy": minstroy})
    try:
        prepare_mapping(ctx.store, tmp_path / "mapping")
        known, unknown, *_rest = simctl.seed(pos_sim, 4)
        cycles.until_in_work(ctx, onec_sim)
        simctl.onec_act(onec_sim, action="redirect", pos_id=known, org_id="org-minstroy", letter_number="ИСХ-77/1")
        simctl.onec_act(onec_sim, action="redirect", pos_id=unknown, org_id="Управление ЗАГС")
        run_job(ctx, "track")
        run_job(ctx, "sstu")

        held = {a["number"]: a["appeal"] for a in _sim(sstu_sim)["appeals"]}
        transferred = [q for a in held.values() for q in a["questions"] if q["status"] == "Transferred"]
        assert len(transferred) == 1
        assert transferred[0]["transfer"]["departmentId"] == minstroy
        assert transferred[0]["transfer"]["transferNumber"] == "ИСХ-77/1"
        reasons = [f.reason for f in list_failures(ctx.store) if f.job == "sstu.build"]
        assert len(reasons) == 1
        assert "redirect to «Управление ЗАГС»: the body is not in the directory of bodies" in reasons[0]
        assert len(held) == 3  # the unknown redirect is not sent; the rest went out
    finally:
        ctx.close()
        ctx.store.dispose()


def test_two_workers_on_one_postgresql_database_send_each_appeal_once_and_one_archive(
        tmp_path: Path, db_url: str, pos_sim: SimServer, onec_sim: SimServer, sstu_sim: SimServer) -> None:
    if db_url.startswith("sqlite"):
        pytest.skip("SQLite has one daemon per database (the lockfile guards it)")
    archives = tmp_path / "archives"
    first = _context(tmp_path / "w1", db_url, pos_sim, onec_sim, sstu_sim, archive_dir=str(archives))
    second = _context(tmp_path / "w2", db_url, pos_sim, onec_sim, sstu_sim, archive_dir=str(archives))
    try:
        prepare_mapping(first.store, tmp_path / "mapping")
        simctl.seed(pos_sim, 30)
        cycles.until_in_work(first, onec_sim)
        next_month = _second_of_next_month()
        for ctx in (first, second):
            ctx.clock = lambda: next_month  # both see the monthly archive as due
        errors: list[BaseException] = []

        def work(ctx: PipelineContext) -> None:
            try:
                stats = run_job(ctx, "sstu")
                assert not stats.notes, stats.notes
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)

        threads = [threading.Thread(target=work, args=(ctx,)) for ctx in (first, second)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        assert errors == []
        summary = _sim(sstu_sim)["summary"]
        assert (summary["accepted"], summary["appeals"], summary["rejected"]) == (30, 30, 0)
        with first.store.session() as session:
            monthly = list(session.scalars(select(SstuArchiveRecord)))
        assert [(a.kind, a.appeals) for a in monthly] == [("monthly", 30)]
        assert list_failures(first.store) == []
    finally:
        for ctx in (first, second):
            ctx.close()
            ctx.store.dispose()


def test_the_cards_own_rubric_wins_over_the_mapping_and_a_bad_one_is_reported(
        sctx: PipelineContext, pos_sim: SimServer, onec_sim: SimServer, sstu_sim: SimServer, tmp_path: Path) -> None:
    prepare_mapping(sctx.store, tmp_path / "mapping")
    own, bad, plain = simctl.seed(pos_sim, 3)
    cycles.until_in_work(sctx, onec_sim)
    simctl.onec_act(onec_sim, action="set_property", pos_id=own, name="Рубрика ССТУ", value="0005.0005.0056.1149")
    simctl.onec_act(onec_sim, action="set_property", pos_id=bad, name="Рубрика ССТУ", value="0005.0005.0000.0000")
    run_job(sctx, "track")
    run_job(sctx, "sstu")
    with sctx.store.session() as session:
        number_of = dict(session.execute(select(Message.pos_id, Card.registration_number)
                                         .join(Card, Card.message_id == Message.id)).all())
    held = {a["number"]: a["appeal"]["questions"][0]["code"] for a in _sim(sstu_sim)["appeals"]}
    assert held[number_of[own]] == "0005.0005.0056.1149"
    assert number_of[bad] not in held and number_of[plain] in held
    [failure] = [f for f in list_failures(sctx.store) if f.job == "sstu.build"]
    assert failure.pos_id == bad and "code" in failure.reason and "question" in failure.reason


def test_without_an_http_route_a_retried_build_failure_is_not_left_pending(
        tmp_path: Path, db_url: str, pos_sim: SimServer, onec_sim: SimServer) -> None:
    ctx = _context(tmp_path, db_url, pos_sim, onec_sim, None, archive_dir=str(tmp_path / "archives"))
    try:
        prepare_mapping(ctx.store, tmp_path / "mapping")
        simctl.seed(pos_sim, 10)
        cycles.until_in_work(ctx, onec_sim)
        run_job(ctx, "sstu")  # every appeal built once
        prepare_mapping(ctx.store, tmp_path / "mapping2", omit=("c01", "c01.02"), import_reference=False)
        run_job(ctx, "sstu")  # an admin's mapping breaks some of them
        assert any(r.send_state == SendState.INVALID and r.content_hash for r in _records(ctx))
        prepare_mapping(ctx.store, tmp_path / "mapping3", import_reference=False)
        retry_failures(ctx.store, None)
        run_job(ctx, "sstu")
        assert {r.send_state for r in _records(ctx)} == {SendState.IDLE}  # archives only: nothing to send
        assert list_failures(ctx.store) == []
    finally:
        ctx.close()
        ctx.store.dispose()
