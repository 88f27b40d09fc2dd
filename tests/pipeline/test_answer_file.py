"""An answer the EDMS marks ready without its signed file never reaches POS incomplete.

POS accepts one answer only, so the message waits («ответ без файла», shown by ``status``),
goes out once with its file when the file arrives, lands in failures after
``answer_file_wait_hours``; a body that answers with text alone says so with
``answer_requires_file = false``, and then POS and ССТУ both get the answer.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import cycles
import pytest
import requests
from click.testing import CliRunner

from connector.cli import main
from connector.config import settings_from_mapping
from connector.demo_sstu import DEMO_DEPARTMENT_ID, prepare_mapping
from connector.ops.failures import list_failures, retry_failures
from connector.ops.metrics import Metrics
from connector.ops.status import status_report
from connector.pipeline.context import PipelineContext
from connector.pipeline.runner import build_context, run_job
from connector.simulators.directum import DirectumSimulator
from connector.simulators.medo import MedoSimulator
from connector.simulators.server import SimServer
from connector.simulators.sstu import SstuSimulator
from connector.store.models import utcnow

import simctl
from testconfig import settings_mapping

REASON = "ответ без файла"


def _context(tmp_path: Path, db_url: str, pos: SimServer, onec: SimServer, *, sstu: SimServer | None = None,
             edms: dict[str, Any] | None = None, **account: Any) -> PipelineContext:
    raw = settings_mapping(data_dir=tmp_path / "data", db_url=db_url, pos_url=pos.url, onec_url=onec.url)
    raw["accounts"][0].update(account)
    if edms is not None:
        raw["edms"] = {"onec": edms}  # the target keeps its name; only the system behind it changes
    if sstu is not None:
        raw["sstu"] = {"department_id": DEMO_DEPARTMENT_ID, "base_url": sstu.url}
    return build_context(settings_from_mapping(raw), sleep=lambda _s: None)


@pytest.fixture
def sstu_sim() -> Iterator[SimServer]:
    with SimServer(SstuSimulator()) as server:
        yield server


@pytest.fixture
def directum_sim() -> Iterator[SimServer]:
    sim = DirectumSimulator()
    with SimServer(sim) as server:
        yield server
    sim.close()


def _registered(ctx: PipelineContext, pos: SimServer, count: int = 1) -> list[str]:
    ids = simctl.seed(pos, count)
    run_job(ctx, "pull")
    run_job(ctx, "register")
    return ids


def _track_push(ctx: PipelineContext) -> None:
    run_job(ctx, "track")
    run_job(ctx, "push", max_batches=None)


def _answers(pos: SimServer, pos_id: str) -> list[dict[str, Any]]:
    return list(simctl.pos_appeals(pos)[pos_id]["answers"])


def _later(ctx: PipelineContext, hours: float) -> None:
    """Move the pipeline's clock on: nothing sleeps."""
    ctx.clock = lambda: utcnow() + timedelta(hours=hours)


def _status_cli(ctx: PipelineContext, tmp_path: Path, *args: str) -> str:
    config = tmp_path / "status.toml"
    config.write_text(f'[daemon]\ndata_dir = "{tmp_path / "data"}"\n'
                      f'database_url = "{ctx.settings.daemon.database_url}"\n'
                      '[[accounts]]\nname = "demo"\npos_base_url = "https://pos.invalid"\nlogin = "x"\n'
                      'password = "y"\nedms = "onec"\n[edms.onec]\ntype = "onec_dm"\n'
                      'url = "https://onec.invalid/ws"\nlogin = "x"\npassword = "y"\n', encoding="utf-8")
    result = CliRunner().invoke(main, ["status", *args, "--config", str(config)])
    assert result.exit_code == 0, result.output
    return result.stdout


def test_answer_without_its_file_is_not_sent_and_waits_with_the_reason_in_status(
        ctx: PipelineContext, pos_sim: SimServer, onec_sim: SimServer, tmp_path: Path) -> None:
    [pos_id] = _registered(ctx, pos_sim)
    simctl.onec_act(onec_sim, action="assign", pos_id=pos_id)
    simctl.onec_act(onec_sim, action="answer", pos_id=pos_id, without_file=True)
    _track_push(ctx)
    _track_push(ctx)

    assert _answers(pos_sim, pos_id) == []
    assert simctl.pos_appeals(pos_sim)[pos_id]["status"] == "EXECUTOR_ASSIGNED"
    assert list_failures(ctx.store) == []
    report = status_report(ctx.store)
    assert report.waiting_by_reason == {REASON: 1}
    [waiting] = report.waiting
    assert (waiting.account, waiting.pos_id, waiting.reason) == ("demo", pos_id, REASON)
    assert REASON in _status_cli(ctx, tmp_path) and pos_id in _status_cli(ctx, tmp_path)
    doc = json.loads(_status_cli(ctx, tmp_path, "--json"))
    assert doc["waiting_by_reason"] == {REASON: 1} and doc["waiting"][0]["pos_id"] == pos_id
    assert f'connector_messages_waiting{{reason="{REASON}"}} 1.0' in Metrics(ctx.store).render()[0].decode()


def test_the_file_arriving_later_sends_the_answer_once_with_its_file(
        ctx: PipelineContext, pos_sim: SimServer, onec_sim: SimServer) -> None:
    [pos_id] = _registered(ctx, pos_sim)
    simctl.faults(onec_sim, answer_without_file_next=1)  # the clerk forgets to attach the scan
    simctl.onec_act(onec_sim, action="auto", assign=True, answer=True)
    _track_push(ctx)
    assert _answers(pos_sim, pos_id) == []

    simctl.onec_act(onec_sim, action="attach_answer_file", pos_id=pos_id)
    _later(ctx, 1)
    _track_push(ctx)
    _later(ctx, 2)
    _track_push(ctx)
    run_job(ctx, "pull")

    [answer] = _answers(pos_sim, pos_id)
    assert [f["name"] for f in answer["files"]] == [f"Ответ на обращение №{pos_id}.pdf"]
    assert status_report(ctx.store).waiting == []
    assert status_report(ctx.store).messages_by_state == {"closed": 1}


def test_an_answer_still_without_its_file_after_the_wait_lands_in_failures(
        ctx: PipelineContext, pos_sim: SimServer, onec_sim: SimServer) -> None:
    [pos_id] = _registered(ctx, pos_sim)
    simctl.onec_act(onec_sim, action="answer", pos_id=pos_id, without_file=True)
    _track_push(ctx)
    _later(ctx, 23)  # the default wait is 24 hours
    _track_push(ctx)
    assert list_failures(ctx.store) == []

    _later(ctx, 25)
    _track_push(ctx)
    [failure] = list_failures(ctx.store)
    assert failure.pos_id == pos_id and REASON in failure.reason
    assert _answers(pos_sim, pos_id) == []
    assert status_report(ctx.store).waiting == []

    # the file is added in the EDMS; the operator re-queues: the answer goes once, with it
    simctl.onec_act(onec_sim, action="attach_answer_file", pos_id=pos_id)
    retry_failures(ctx.store, None)
    _later(ctx, 26)
    _track_push(ctx)
    [answer] = _answers(pos_sim, pos_id)
    assert len(answer["files"]) == 1


def test_the_wait_time_is_a_setting(tmp_path: Path, db_url: str, pos_sim: SimServer, onec_sim: SimServer) -> None:
    ctx = _context(tmp_path, db_url, pos_sim, onec_sim, answer_file_wait_hours=2)
    try:
        [pos_id] = _registered(ctx, pos_sim)
        simctl.onec_act(onec_sim, action="answer", pos_id=pos_id, without_file=True)
        _track_push(ctx)
        _later(ctx, 3)
        _track_push(ctx)
        [failure] = list_failures(ctx.store)
        assert failure.pos_id == pos_id and REASON in failure.reason
    finally:
        ctx.close()
        ctx.store.dispose()


def _sstu_held(sstu: SimServer) -> list[dict[str, Any]]:
    return list(requests.get(f"{sstu.url}/_sim/state", timeout=10).json()["appeals"])


def test_text_only_answers_when_allowed_reach_pos_and_sstu_alike(
        tmp_path: Path, db_url: str, pos_sim: SimServer, onec_sim: SimServer, sstu_sim: SimServer) -> None:
    ctx = _context(tmp_path, db_url, pos_sim, onec_sim, sstu=sstu_sim, answer_requires_file=False)
    try:
        prepare_mapping(ctx.store, tmp_path / "mapping")
        [pos_id] = _registered(ctx, pos_sim)
        simctl.onec_act(onec_sim, action="answer", pos_id=pos_id, without_file=True,
                        text="Уважаемый заявитель! Дорога будет отремонтирована в мае.")
        _track_push(ctx)
        [answer] = _answers(pos_sim, pos_id)
        assert answer["files"] == [] and "отремонтирована" in answer["text"]
        assert status_report(ctx.store).waiting == []

        stats = run_job(ctx, "sstu")
        assert not stats.notes and list_failures(ctx.store) == []
        [held] = _sstu_held(sstu_sim)
        [question] = held["appeal"]["questions"]
        assert question["status"] == "Explained"  # answered on both sides, never «in work» on one
        assert question["attachment"]["name"].endswith(".txt")
    finally:
        ctx.close()
        ctx.store.dispose()


def test_while_the_file_is_missing_sstu_reports_in_work_like_pos(
        tmp_path: Path, db_url: str, pos_sim: SimServer, onec_sim: SimServer, sstu_sim: SimServer) -> None:
    ctx = _context(tmp_path, db_url, pos_sim, onec_sim, sstu=sstu_sim)
    try:
        prepare_mapping(ctx.store, tmp_path / "mapping")
        [pos_id] = _registered(ctx, pos_sim)
        simctl.onec_act(onec_sim, action="assign", pos_id=pos_id)
        simctl.onec_act(onec_sim, action="answer", pos_id=pos_id, without_file=True)
        _track_push(ctx)
        stats = run_job(ctx, "sstu")
        assert not stats.notes and list_failures(ctx.store) == []
        [held] = _sstu_held(sstu_sim)
        assert [q["status"] for q in held["appeal"]["questions"]] == ["InWork"]
        assert _answers(pos_sim, pos_id) == []
    finally:
        ctx.close()
        ctx.store.dispose()


def test_directum_answer_without_its_file_waits_then_goes_once_with_it(
        tmp_path: Path, db_url: str, pos_sim: SimServer, onec_sim: SimServer, directum_sim: SimServer) -> None:
    ctx = _context(tmp_path, db_url, pos_sim, onec_sim,
                   edms={"type": "directum_rx", "url": f"{directum_sim.url}/Integration/odata",
                         "login": "integration", "password": "rx-secret",
                         "document_kind_id": 1, "business_unit_id": 1, "department_id": 1})
    try:
        [pos_id] = _registered(ctx, pos_sim)
        simctl.faults(directum_sim, answer_without_file_next=1)
        simctl.onec_act(directum_sim, action="auto", assign=True, answer=True)
        _track_push(ctx)
        assert _answers(pos_sim, pos_id) == []
        assert status_report(ctx.store).waiting_by_reason == {REASON: 1}

        simctl.onec_act(directum_sim, action="attach_answer_file", pos_id=pos_id)
        _later(ctx, 1)
        _track_push(ctx)
        _later(ctx, 2)
        _track_push(ctx)
        [answer] = _answers(pos_sim, pos_id)
        assert [f["name"] for f in answer["files"]] == [f"Ответ на обращение №{pos_id}.pdf"]
        assert status_report(ctx.store).waiting == []
    finally:
        ctx.close()
        ctx.store.dispose()


def test_directum_answer_without_its_file_lands_in_failures_after_the_wait(
        tmp_path: Path, db_url: str, pos_sim: SimServer, onec_sim: SimServer, directum_sim: SimServer) -> None:
    ctx = _context(tmp_path, db_url, pos_sim, onec_sim,
                   edms={"type": "directum_rx", "url": f"{directum_sim.url}/Integration/odata",
                         "login": "integration", "password": "rx-secret",
                         "document_kind_id": 1, "business_unit_id": 1, "department_id": 1})
    try:
        [pos_id] = _registered(ctx, pos_sim)
        simctl.onec_act(directum_sim, action="answer", pos_id=pos_id, without_file=True)
        _track_push(ctx)
        _later(ctx, 25)
        _track_push(ctx)
        [failure] = list_failures(ctx.store)
        assert failure.pos_id == pos_id and REASON in failure.reason
        assert _answers(pos_sim, pos_id) == []
    finally:
        ctx.close()
        ctx.store.dispose()


def test_medo_answer_sent_without_its_file_waits_until_the_sed_sends_it_complete(
        tmp_path: Path, db_url: str, pos_sim: SimServer, onec_sim: SimServer) -> None:
    root = tmp_path / "medo"
    medo = MedoSimulator(root / "outbox", root / "inbox")
    ctx = _context(tmp_path, db_url, pos_sim, onec_sim, edms={
        "type": "medo", "outbox_dir": str(root / "outbox"), "inbox_dir": str(root / "inbox"),
        "archive_dir": str(root / "archive"), "quarantine_dir": str(root / "quarantine"),
        "sender_uid": "0f3c2b1a-4d5e-4f60-8a7b-9c0d1e2f3a4b", "sender_organization": "Коннектор ПОС",
        "addressee_organization": "Администрация города", "addressee_address": "МЭДО-АДМ-001",
        "scan_interval_seconds": 0})
    try:
        [pos_id] = _registered(ctx, pos_sim)
        medo.process()
        medo.act({"action": "assign", "pos_id": pos_id})
        medo.act({"action": "answer", "pos_id": pos_id, "without_file": True})
        _track_push(ctx)
        assert _answers(pos_sim, pos_id) == []
        assert status_report(ctx.store).waiting_by_reason == {REASON: 1}

        medo.act({"action": "answer", "pos_id": pos_id})  # the СЭД re-sends the answer with its file
        _later(ctx, 1)
        _track_push(ctx)
        _later(ctx, 2)
        _track_push(ctx)
        [answer] = _answers(pos_sim, pos_id)
        assert len(answer["files"]) == 1
        assert status_report(ctx.store).waiting == []
    finally:
        ctx.close()
        ctx.store.dispose()
        medo.close()


def test_a_normal_cycle_is_unchanged(ctx: PipelineContext, pos_sim: SimServer, onec_sim: SimServer) -> None:
    ids = simctl.seed(pos_sim, 3)
    cycles.quick(ctx, onec_sim)
    for pos_id in ids:
        [answer] = _answers(pos_sim, pos_id)
        assert len(answer["files"]) == 1
    assert status_report(ctx.store).waiting == []


def test_track_asks_directum_once_for_what_an_answered_card_needs(
        tmp_path: Path, db_url: str, pos_sim: SimServer, onec_sim: SimServer, directum_sim: SimServer) -> None:
    ctx = _context(tmp_path, db_url, pos_sim, onec_sim,
                   edms={"type": "directum_rx", "url": f"{directum_sim.url}/Integration/odata",
                         "login": "integration", "password": "rx-secret",
                         "document_kind_id": 1, "business_unit_id": 1, "department_id": 1})
    try:
        ids = _registered(ctx, pos_sim, 3)
        simctl.onec_act(directum_sim, action="auto", assign=True, answer=True)
        calls = directum_sim.app.requests
        before, connections = dict(calls), directum_sim.connections_accepted
        run_job(ctx, "track")
        # over kept-alive connections: at most one per concurrent call, not one per request
        assert directum_sim.connections_accepted - connections <= ctx.settings.daemon.concurrency
        made = {kind: calls.get(kind, 0) - before.get(kind, 0) for kind in calls}
        per_card = {kind: count / len(ids) for kind, count in made.items() if count}
        # the letter, its tasks, its answer (by InResponseTo and by InResponseToDocuments), the answer's
        # versions, the last version's body: each once per card
        assert per_card == {"GET IIncomingLetters": 1, "GET IActionItemExecutionTasks": 1, "GET IOutgoingLetters": 2,
                            "GET IOutgoingLetters/Versions": 1, "GET IOutgoingLetters/Versions/Body": 1}
        run_job(ctx, "push", max_batches=None)
        for pos_id in ids:  # and what was read once is what POS gets: one answer with its file
            [answer] = _answers(pos_sim, pos_id)
            assert len(answer["files"]) == 1
    finally:
        ctx.close()
        ctx.store.dispose()
