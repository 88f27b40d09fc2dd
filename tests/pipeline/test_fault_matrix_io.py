"""The fault matrix, continued: timeouts, a full disk, and the database going away mid-run.

Each case: no data lost, nothing twice, and the item either completes later or is in
failures with a clear reason.
"""

from __future__ import annotations

import errno
import hashlib
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cycles
import pytest
from sqlalchemy import func, select

import connector.local_files
import connector.pos_client.client as pos_client_module
from connector.config import settings_from_mapping
from connector.ops.failures import list_failures
from connector.pipeline.context import PipelineContext
from connector.pipeline.runner import build_context, run_job
from connector.simulators.server import SimServer
from connector.store.models import Attachment, JobRun, Message, MessageState, OutboxItem, OutboxState

import pg_server
import simctl
from testconfig import settings_mapping


def _exactly_once(pos: SimServer, onec: SimServer, ids: list[str]) -> None:
    appeals = simctl.pos_appeals(pos)
    assert {pid: len(appeals[pid]["answers"]) for pid in ids} == {pid: 1 for pid in ids}
    assert simctl.cards_per_pos_id(onec) == {pid: 1 for pid in ids}


@pytest.fixture
def quick_timeout_ctx(tmp_path: Path, db_url: str, pos_sim: SimServer, onec_sim: SimServer
                      ) -> Iterator[PipelineContext]:
    raw = settings_mapping(data_dir=tmp_path / "data", db_url=db_url, pos_url=pos_sim.url, onec_url=onec_sim.url)
    raw["http"]["timeout_seconds"] = 0.4
    ctx = build_context(settings_from_mapping(raw), sleep=lambda _s: None)
    yield ctx
    ctx.close()
    ctx.store.dispose()


@pytest.mark.parametrize("system", ["pos", "onec"])
def test_timeouts_whose_work_the_server_still_does_duplicate_nothing(
        quick_timeout_ctx: PipelineContext, pos_sim: SimServer, onec_sim: SimServer, system: str) -> None:
    """The server holds the request past our timeout and then carries it out anyway: the
    creates and answers we retried must not exist twice."""
    ids = simctl.seed(pos_sim, 6)
    simctl.faults(pos_sim if system == "pos" else onec_sim, timeout_next=4, hang_seconds=0.8)
    cycles.quick(quick_timeout_ctx, onec_sim)
    time.sleep(1)  # let the held requests finish on the server side
    cycles.quick(quick_timeout_ctx, onec_sim)
    _exactly_once(pos_sim, onec_sim, ids)
    injected = simctl.faults_state(pos_sim if system == "pos" else onec_sim)["injected"]
    assert injected.get("timeout") == 4


class _FullDisk:
    """``os`` as the POS client sees it: attachment writes fail with ENOSPC once ``allowance``
    bytes are used, until the operator frees space (``full = False``)."""

    def __init__(self, allowance: int) -> None:
        self.left, self.full = allowance, True

    def __getattr__(self, name: str) -> Any:
        return self._fdopen if name == "fdopen" else getattr(os, name)

    def _fdopen(self, fd: int, *args: Any, **kwargs: Any) -> Any:
        disk, fh = self, os.fdopen(fd, *args, **kwargs)

        class Handle:
            def write(self, data: bytes) -> int:
                if disk.full:
                    if disk.left < len(data):
                        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
                    disk.left -= len(data)
                return fh.write(data)

            def __getattr__(self, name: str) -> Any:
                return getattr(fh, name)

            def __enter__(self) -> Handle:
                return self

            def __exit__(self, *exc: object) -> None:
                fh.close()

        return Handle()


def test_a_full_disk_stops_the_pull_without_losing_or_failing_anything(
        ctx: PipelineContext, pos_sim: SimServer, onec_sim: SimServer, monkeypatch: pytest.MonkeyPatch) -> None:
    ids = simctl.seed(pos_sim, 8, min_attachment_kb=32, max_attachment_kb=64)
    attachments_dir = ctx.data_dir / "attachments"
    disk = _FullDisk(allowance=100 * 1024)
    monkeypatch.setattr(pos_client_module, "os", disk)

    stats = run_job(ctx, "pull")
    assert len(stats.notes) == 1
    assert "the disk is full" in stats.notes[0] and "resumes on the next run" in stats.notes[0]
    with ctx.store.session() as session:
        run = session.scalars(select(JobRun).where(JobRun.job == "pull")).one()
        failed_messages = session.scalar(select(func.count()).select_from(Message)
                                         .where(Message.state == MessageState.FAILED))
    assert run.ok is False and "internal error" not in (run.error or "")
    assert failed_messages == 0 and list_failures(ctx.store) == []
    assert not list(attachments_dir.rglob("*.part")), "no partial file is left behind"

    disk.full = False  # the operator freed space
    cycles.quick(ctx, onec_sim)
    _exactly_once(pos_sim, onec_sim, ids)
    appeals = simctl.pos_appeals(pos_sim)
    with ctx.store.session() as session:
        stored = {(a.message.pos_id, a.pos_file_id): a for a in session.scalars(select(Attachment))}
        for pid in ids:
            for file in appeals[pid]["attachments"]:
                attachment = stored[(pid, file["id"])]
                assert hashlib.sha256(Path(attachment.path).read_bytes()).hexdigest() == attachment.sha256
                assert attachment.size == file["size"]


def test_a_full_disk_while_storing_an_answer_stops_track_and_the_answer_goes_once(
        ctx: PipelineContext, pos_sim: SimServer, onec_sim: SimServer, monkeypatch: pytest.MonkeyPatch) -> None:
    ids = simctl.seed(pos_sim, 5)
    run_job(ctx, "pull")
    run_job(ctx, "register")
    simctl.onec_act(onec_sim, action="auto", assign=True, answer=True)
    real_fsync = os.fsync

    def no_space(fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(connector.local_files.os, "fsync", no_space)
    stats = run_job(ctx, "track")
    assert len(stats.notes) == 1 and "the disk is full" in stats.notes[0]
    assert list_failures(ctx.store) == []
    assert not list((ctx.data_dir / "answers").rglob("*.part"))

    monkeypatch.setattr(connector.local_files.os, "fsync", real_fsync)
    for job in ("track", "push", "pull"):
        run_job(ctx, job)
    _exactly_once(pos_sim, onec_sim, ids)


def test_a_postgresql_restart_during_a_run_loses_and_duplicates_nothing(
        tmp_path: Path, pos_sim: SimServer, onec_sim: SimServer) -> None:
    """A private server, restarted (immediate mode: connections cut) while jobs are running."""
    server = pg_server.start_server()
    try:
        url = pg_server.create_database(server, "restart")
        raw = settings_mapping(data_dir=tmp_path / "data", db_url=url, pos_url=pos_sim.url, onec_url=onec_sim.url)
        ctx = build_context(settings_from_mapping(raw), sleep=lambda _s: None)
        ids = simctl.seed(pos_sim, 40)
        simctl.faults(pos_sim, latency_ms=15)
        simctl.faults(onec_sim, latency_ms=15)
        restarted = threading.Event()

        def restart_soon() -> None:
            time.sleep(0.4)
            server.restart()
            restarted.set()

        threading.Thread(target=restart_soon, daemon=True).start()
        deadline = time.monotonic() + 120
        notes: list[str] = []
        while time.monotonic() < deadline:
            notes += [n for job in ("pull", "register") for n in run_job(ctx, job).notes]
            simctl.onec_act(onec_sim, action="auto", assign=True, answer=True)
            notes += [n for job in ("track", "push", "pull") for n in run_job(ctx, job).notes]
            if restarted.is_set() and _all_closed(ctx, len(ids)):
                break
        assert restarted.is_set()
        assert notes and all("database unavailable" in n for n in notes), notes
        _exactly_once(pos_sim, onec_sim, ids)
        with ctx.store.session() as session:
            assert session.scalar(select(func.count()).select_from(OutboxItem)
                                  .where(OutboxItem.state != OutboxState.SENT)) == 0
        assert list_failures(ctx.store) == []
        ctx.close()
        ctx.store.dispose()
    finally:
        server.stop()


def _all_closed(ctx: PipelineContext, count: int) -> bool:
    try:
        with ctx.store.session() as session:
            closed = session.scalar(select(func.count()).select_from(Message)
                                    .where(Message.state == MessageState.CLOSED))
    except Exception:  # noqa: BLE001 - the server may still be coming back
        return False
    return closed == count


def test_a_bug_on_one_item_holds_neither_the_batch_nor_its_lease(
        ctx: PipelineContext, pos_sim: SimServer, onec_sim: SimServer, monkeypatch: pytest.MonkeyPatch) -> None:
    import connector.pipeline.register as register

    ids = simctl.seed(pos_sim, 5)
    run_job(ctx, "pull")
    with ctx.store.session() as session:
        poison = session.scalars(select(Message.id).order_by(Message.id)).first()
    real = register._create_card

    def buggy(work: Any) -> Any:
        if work.id == poison:
            raise ValueError("a bug")
        return real(work)

    monkeypatch.setattr(register, "_create_card", buggy)
    stats = run_job(ctx, "register")  # no retry delay in the tests: its attempts run out in this run
    assert any("internal error (ValueError) in register" in n for n in stats.notes)
    with ctx.store.session() as session:
        message = session.get(Message, poison)
        assert message is not None and message.claimed_by is None
        assert message.attempts == ctx.settings.daemon.max_attempts and message.state == MessageState.FAILED
    assert len(simctl.cards_per_pos_id(onec_sim)) == len(ids) - 1  # the others went on
    [failure] = list_failures(ctx.store)
    assert failure.reason == "internal error (ValueError) in register; see the log"


def test_a_bug_recording_one_item_costs_the_others_of_its_batch_nothing(
        ctx: PipelineContext, pos_sim: SimServer, onec_sim: SimServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """The batch's records share one transaction: one save that raises rolls it back, and every
    item is then recorded on its own, counted once."""
    import connector.pipeline.lifecycle as lifecycle

    ids = simctl.seed(pos_sim, 5)
    run_job(ctx, "pull")
    with ctx.store.session() as session:
        poison = session.scalars(select(Message.id).order_by(Message.id.desc())).first()  # the last of the batch
    real = lifecycle.registered

    def buggy(message: Message) -> None:
        if message.id == poison:
            raise ValueError("a bug")
        real(message)

    monkeypatch.setattr(lifecycle, "registered", buggy)
    stats = run_job(ctx, "register")
    assert stats.processed == len(ids) - 1, "the four saved before the bug are counted once"
    assert any("internal error (ValueError) in register" in n for n in stats.notes)
    with ctx.store.session() as session:
        messages = session.scalars(select(Message).order_by(Message.id)).all()
        assert all(m.claimed_by is None for m in messages)
        assert [m.state for m in messages] == [MessageState.REGISTERED] * (len(ids) - 1) + [MessageState.FAILED]
        assert all(m.card is not None for m in messages[:-1]) and messages[-1].card is None
    assert len(simctl.cards_per_pos_id(onec_sim)) == len(ids)  # the poison's card, found again on each attempt
    [failure] = list_failures(ctx.store)
    assert failure.reason == "internal error (ValueError) in register; see the log"


@pytest.mark.parametrize("concurrency", [1, 4])
def test_a_slow_call_at_the_end_of_a_batch_does_not_hold_back_the_records_before_it(
        ctx: PipelineContext, pos_sim: SimServer, onec_sim: SimServer, monkeypatch: pytest.MonkeyPatch,
        concurrency: int) -> None:
    """The EDMS hangs on the batch's last card: the cards created before it are in the store within a
    second, so a kill or a crash now would not make the EDMS calls for them again."""
    import connector.pipeline.register as register

    ctx.settings.daemon.concurrency = concurrency
    ids = simctl.seed(pos_sim, 5)
    run_job(ctx, "pull")
    with ctx.store.session() as session:
        last = session.scalars(select(Message.id).order_by(Message.id.desc())).first()
    real, release = register._create_card, threading.Event()

    def slow_on_the_last(work: Any) -> Any:
        if work.id == last:
            release.wait(30)
        return real(work)

    monkeypatch.setattr(register, "_create_card", slow_on_the_last)
    job = threading.Thread(target=run_job, args=(ctx, "register"))
    job.start()
    try:
        deadline, registered = time.monotonic() + 10, 0
        while time.monotonic() < deadline and registered < len(ids) - 1:
            time.sleep(0.1)
            with ctx.store.session() as session:
                registered = session.scalar(select(func.count()).select_from(Message)
                                            .where(Message.state == MessageState.REGISTERED)) or 0
        assert registered == len(ids) - 1, "the four cards made before the slow one are recorded while it runs"
    finally:
        release.set()
        job.join(60)
    with ctx.store.session() as session:
        assert session.scalar(select(func.count()).select_from(Message)
                              .where(Message.state == MessageState.REGISTERED)) == len(ids)
