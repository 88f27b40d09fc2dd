"""Prometheus metrics of the daemon, in a registry of their own (no module-level state).

Two kinds:

* **store gauges** (items per lifecycle state, messages held back per reason, outbox depth,
  oldest pending age, open failures, last success per job) are read from the store on every scrape by a custom
  collector, so they are right even for work another worker did;
* **process counters** (job durations, job runs and failed runs per job, items per job,
  request retries) are fed by the daemon through :meth:`Metrics.observe_job` and
  :meth:`Metrics.count_retry`.

Label values are bounded by construction: job names, states, and retry *reasons* that are
categories ("HTTP 503", "ReadTimeout"), never item-specific text.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.registry import Collector
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from connector.logs import redact_secrets
from connector.ops.status import StatusReport, status_report
from connector.pipeline.answer_completeness import REASON as ANSWER_WAIT_REASON
from connector.showcase.records import ShowcaseState
from connector.sstu_export.records import SendState
from connector.store import job_history
from connector.store.db import Store
from connector.store.models import MessageState, OutboxState, PullWatermark

log = logging.getLogger(__name__)

PREFIX = "connector"
# Jobs take from a fraction of a second (nothing to do) to many minutes (a big pull).
JOB_BUCKETS = (0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600)
_MAX_REASON = 64


def last_successes(store: Store) -> dict[str, datetime]:
    """When each job last finished successfully (any worker), by job name."""
    with store.session() as session:
        return job_history.last_successes(session)


def pull_marks(store: Store) -> list[PullWatermark]:
    """Every account's watermark row with what its rules noticed (detached, read-only)."""
    with store.session() as session:
        rows = list(session.scalars(select(PullWatermark).order_by(PullWatermark.account)))
        session.expunge_all()
    return rows


class StoreCollector(Collector):
    """Reads the store on each scrape; a store that cannot be read gives ``connector_store_up 0``."""

    def __init__(self, store: Store, jobs: Sequence[str] = (),
                 report: Callable[[Store], StatusReport] = status_report) -> None:
        self.store = store
        self.jobs = tuple(jobs)
        self._report = report

    def describe(self) -> list[Metric]:
        return []  # no store access when registering; the families appear on collect()

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily(f"{PREFIX}_store_up", "1 when the state store answered this scrape")
        try:
            report = self._report(self.store)
            successes = last_successes(self.store)
            marks = pull_marks(self.store)
        except SQLAlchemyError as exc:
            # The exception text may carry the database URL: log the type only.
            log.warning("metrics: state store unavailable", extra={"error": type(exc).__name__})
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up

        messages = GaugeMetricFamily(f"{PREFIX}_messages", "Messages per lifecycle state", labels=["state"])
        for state in _all_states(MessageState, report.messages_by_state):
            messages.add_metric([state], report.messages_by_state.get(state, 0))
        yield messages

        outbox = GaugeMetricFamily(f"{PREFIX}_outbox_items", "Outbox items per state", labels=["state"])
        for state in _all_states(OutboxState, report.outbox_by_state):
            outbox.add_metric([state], report.outbox_by_state.get(state, 0))
        yield outbox

        sstu = GaugeMetricFamily(f"{PREFIX}_sstu_appeals", "SSTU appeals per send state", labels=["state"])
        for state in _all_states(SendState, report.sstu_by_send_state):
            sstu.add_metric([state], report.sstu_by_send_state.get(state, 0))
        yield sstu

        showcase = GaugeMetricFamily(f"{PREFIX}_showcase_items", "Data showcase items per send state",
                                     labels=["state"])
        for state in _all_states(ShowcaseState, report.showcase_by_send_state):
            showcase.add_metric([state], report.showcase_by_send_state.get(state, 0))
        yield showcase

        waiting = GaugeMetricFamily(f"{PREFIX}_messages_waiting",
                                    "Messages whose next step is held back, by reason (an answer without its file)",
                                    labels=["reason"])
        for reason in sorted({ANSWER_WAIT_REASON} | set(report.waiting_by_reason)):
            waiting.add_metric([reason], report.waiting_by_reason.get(reason, 0))
        yield waiting

        yield GaugeMetricFamily(f"{PREFIX}_outbox_depth", "Outbox items waiting to be sent",
                                value=report.outbox_depth)
        yield GaugeMetricFamily(f"{PREFIX}_oldest_pending_seconds",
                                "Age of the oldest pending outbox item (0 when none)",
                                value=report.oldest_pending_seconds or 0.0)
        yield GaugeMetricFamily(f"{PREFIX}_open_failures", "Items in failures (dead-letter queue), unresolved",
                                value=report.open_failures)

        missed = CounterMetricFamily(f"{PREFIX}_pos_missed_by_incremental",
                                     "POS changes the sweep found that the incremental pulls had missed "
                                     "(should stay 0)", labels=["account"])
        warnings = CounterMetricFamily(f"{PREFIX}_pos_clock_warnings",
                                       "POS appeals dated beyond now + the clock allowance", labels=["account"])
        for mark in marks:
            missed.add_metric([mark.account], mark.missed_by_incremental)
            warnings.add_metric([mark.account], mark.clock_warnings)
        yield missed
        yield warnings

        last_ok = GaugeMetricFamily(f"{PREFIX}_job_last_success_timestamp_seconds",
                                    "Unix time of the job's last successful run", labels=["job"])
        for job in sorted(set(self.jobs) | set(successes)):
            if job in successes:
                last_ok.add_metric([job], successes[job].timestamp())
        yield last_ok


def _all_states(enum_type: type[enum.StrEnum], seen: dict[str, int]) -> list[str]:
    # Every known state, even at 0, so a series does not vanish when its last item moves on.
    return [s.value for s in enum_type] + sorted(set(seen) - {s.value for s in enum_type})


class Metrics:
    """The daemon's metrics.  ``render()`` gives the Prometheus text exposition."""

    def __init__(self, store: Store | None = None, *, jobs: Sequence[str] = ()) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.job_duration = Histogram(f"{PREFIX}_job_duration_seconds", "Duration of job runs", ["job"],
                                      buckets=JOB_BUCKETS, registry=self.registry)
        self.job_runs = Counter(f"{PREFIX}_job_runs", "Job runs", ["job"], registry=self.registry)
        self.job_failures = Counter(f"{PREFIX}_job_failures", "Job runs that ended with an error or notes",
                                    ["job"], registry=self.registry)
        self.items = Counter(f"{PREFIX}_job_items", "Items handled by jobs, by outcome",
                             ["job", "outcome"], registry=self.registry)
        self.retries = Counter(f"{PREFIX}_retries", "Retried requests and items, by reason",
                               ["job", "reason"], registry=self.registry)
        for job in jobs:  # series exist from the first scrape on, at 0
            self.job_runs.labels(job=job)
            self.job_failures.labels(job=job)
        if store is not None:
            self.registry.register(StoreCollector(store, jobs))

    def observe_job(self, name: str, seconds: float, ok: bool, *, processed: int = 0, failed: int = 0,
                    deferred: int = 0) -> None:
        """One finished run of job ``name``; ``failed`` items went to failures, ``deferred`` back off."""
        self.job_duration.labels(job=name).observe(max(seconds, 0.0))
        self.job_runs.labels(job=name).inc()
        if not ok:
            self.job_failures.labels(job=name).inc()
        for outcome, count in (("processed", processed), ("failed", failed), ("deferred", deferred)):
            if count:
                self.items.labels(job=name, outcome=outcome).inc(count)

    def count_retry(self, reason: str, job: str = "") -> None:
        """One retry; ``reason`` is a category such as ``"HTTP 503"`` or an exception class name.
        Masked like a log line: this handler sees the record before the log filter does."""
        self.retries.labels(job=job, reason=redact_secrets(reason or "unknown")[:_MAX_REASON]).inc()

    def retry_log_handler(self) -> logging.Handler:
        """A handler for the ``connector.transport`` logger that counts its "retrying request"
        records, so request retries are counted without changing the transport."""
        return _RetryCountingHandler(self)

    def render(self) -> tuple[bytes, str]:
        """(body, content type) of the text exposition format."""
        return generate_latest(self.registry), CONTENT_TYPE_LATEST


class _RetryCountingHandler(logging.Handler):
    def __init__(self, metrics: Metrics) -> None:
        super().__init__(logging.NOTSET)
        self.metrics = metrics

    def emit(self, record: logging.LogRecord) -> None:
        if str(record.msg).startswith("retrying request"):
            self.metrics.count_retry(str(getattr(record, "reason", "unknown")), job=str(getattr(record, "job", "")))
