"""When the daemon runs what: the pipeline jobs downstream first, the sstu job daily at its time."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from connector.config import settings_from_mapping
from connector.daemon import schedule_jobs
from connector.ops.metrics import Metrics
from connector.pipeline.context import PipelineContext
from connector.pipeline.runner import build_context
from connector.store.models import JobRun

from testconfig import settings_mapping

pytestmark = pytest.mark.date_sensitive  # the sstu job's daily time is in the body's zone

DEPT = "5a0c8f2e-3b7d-4e61-9c2a-0d5e7f1b2c3d"


def _ctx(tmp_path: Path, **schedule: Any) -> PipelineContext:
    raw = settings_mapping(data_dir=tmp_path / "data", db_url=f"sqlite:///{tmp_path / 'c.db'}",
                           pos_url="http://127.0.0.1:9", onec_url="http://127.0.0.1:9")
    raw["sstu"] = {"department_id": DEPT, "base_url": "http://127.0.0.1:9", "send_time": "06:30"}
    raw["schedule"] = schedule
    return build_context(settings_from_mapping(raw))


@pytest.fixture
def scheduled(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Any]:
    def make(ctx: PipelineContext) -> dict[str, Any]:
        scheduler = BackgroundScheduler(timezone="UTC")
        scheduler.start(paused=True)  # next run times are computed, nothing runs
        request.addfinalizer(lambda: scheduler.shutdown(wait=False))
        request.addfinalizer(ctx.store.dispose)
        schedule_jobs(scheduler, ctx, Metrics(ctx.store, jobs=("pull",)))
        return {job.id.removeprefix("connector."): job for job in scheduler.get_jobs()}
    yield make


def test_at_start_the_downstream_jobs_go_first_a_never_run_sstu_job_before_them(
        tmp_path: Path, scheduled: Any) -> None:
    jobs = scheduled(_ctx(tmp_path))
    first = sorted(jobs, key=lambda name: jobs[name].next_run_time)
    assert first == ["sstu", "push", "track", "register", "pull", "sweep"]
    assert isinstance(jobs["sstu"].trigger, CronTrigger)
    assert jobs["sstu"].next_run_time - datetime.now(UTC) < timedelta(seconds=5)


def test_after_a_recent_success_the_sstu_job_waits_for_its_time_in_the_bodys_zone(
        tmp_path: Path, scheduled: Any) -> None:
    ctx = _ctx(tmp_path)
    with ctx.store.sessions.begin() as session:
        session.add(JobRun(job="sstu", worker="w", started_at=datetime.now(UTC) - timedelta(hours=2),
                           finished_at=datetime.now(UTC) - timedelta(hours=2), ok=True))
    jobs = scheduled(ctx)
    at = jobs["sstu"].next_run_time.astimezone(ctx.settings.sstu.zone)
    assert (at.hour, at.minute) == (6, 30)
    assert timedelta(0) < at - datetime.now(UTC) <= timedelta(days=1)


def test_an_sstu_interval_replaces_the_daily_time(tmp_path: Path, scheduled: Any) -> None:
    jobs = scheduled(_ctx(tmp_path, sstu_seconds=120))
    assert isinstance(jobs["sstu"].trigger, IntervalTrigger)
    assert jobs["sstu"].trigger.interval == timedelta(seconds=120)


def test_the_sweep_runs_at_start_only_when_its_last_success_is_older_than_its_interval(
        tmp_path: Path, scheduled: Any) -> None:
    ctx = _ctx(tmp_path, sweep_seconds=6 * 3600)
    with ctx.store.sessions.begin() as session:
        session.add(JobRun(job="sweep", worker="w", started_at=datetime.now(UTC) - timedelta(hours=1),
                           finished_at=datetime.now(UTC) - timedelta(hours=1), ok=True))
    jobs = scheduled(ctx)
    assert jobs["sweep"].trigger.interval == timedelta(hours=6)
    assert timedelta(hours=4.9) < jobs["sweep"].next_run_time - datetime.now(UTC) <= timedelta(hours=5)
    assert "sweep" not in scheduled(_ctx(tmp_path / "off", sweep_seconds=0))


def test_the_showcase_job_runs_on_its_interval_first_at_start_and_only_when_enabled(
        tmp_path: Path, scheduled: Any) -> None:
    assert "showcase" not in scheduled(_ctx(tmp_path / "off"))
    raw = settings_mapping(data_dir=tmp_path / "data", db_url=f"sqlite:///{tmp_path / 'c.db'}",
                           pos_url="http://127.0.0.1:9", onec_url="http://127.0.0.1:9")
    raw["showcase"] = {"enabled": True, "interval_seconds": 600}
    jobs = scheduled(build_context(settings_from_mapping(raw)))
    first = sorted(jobs, key=lambda name: jobs[name].next_run_time)
    assert first[:2] == ["showcase", "push"]  # downstream work first, as for sstu
    assert isinstance(jobs["showcase"].trigger, IntervalTrigger)
    assert jobs["showcase"].trigger.interval == timedelta(seconds=600)


def test_after_a_recent_sweep_the_showcase_still_runs_at_start(tmp_path: Path, scheduled: Any) -> None:
    raw = settings_mapping(data_dir=tmp_path / "data", db_url=f"sqlite:///{tmp_path / 'c.db'}",
                           pos_url="http://127.0.0.1:9", onec_url="http://127.0.0.1:9")
    raw["showcase"] = {"enabled": True}
    ctx = build_context(settings_from_mapping(raw))
    now = datetime.now(UTC)
    with ctx.store.sessions.begin() as session:
        session.add(JobRun(job="sweep", worker="w", started_at=now - timedelta(minutes=5), finished_at=now, ok=True))
    jobs = scheduled(ctx)
    assert jobs["sweep"].next_run_time - now > timedelta(hours=20)
    assert jobs["showcase"].next_run_time - now < timedelta(seconds=5)
