"""job_runs read per job (the last run, the last success) and pruned by age as the runner records."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from connector.pipeline.runner import JOBS
from connector.store import job_history
from connector.store.db import Store
from connector.store.models import JobRun

NOW = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)


def test_the_runner_records_exactly_the_jobs_the_history_reads() -> None:
    assert set(JOBS) == set(job_history.JOB_NAMES)


def test_last_run_last_success_and_pruning(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'c.db'}")
    with store.sessions.begin() as session:
        for days, ok in ((40, True), (35, True), (2, True), (1, False)):
            started = NOW - timedelta(days=days)
            session.add(JobRun(job="pull", worker="w", started_at=started, finished_at=started + timedelta(seconds=3),
                               ok=ok))
        session.add(JobRun(job="push", worker="w", started_at=NOW - timedelta(days=90),
                           finished_at=NOW - timedelta(days=90), ok=True))
        session.add(JobRun(job="track", worker="w", started_at=NOW, finished_at=None, ok=None))  # running
    with store.sessions.begin() as session:
        latest = job_history.latest_runs(session)
        assert set(latest) == {"pull", "push", "track"}
        assert latest["pull"].ok is False and latest["track"].finished_at is None
        assert job_history.last_successes(session)["pull"] == NOW - timedelta(days=2) + timedelta(seconds=3)
        assert "track" not in job_history.last_successes(session)
        assert job_history.prune(session, "pull", NOW, keep_days=30) == 2  # only pull's, only the old ones
    with store.sessions.begin() as session:
        assert session.query(JobRun).filter_by(job="pull").count() == 2
        assert session.query(JobRun).filter_by(job="push").count() == 1  # pruned when push next records
    store.dispose()
