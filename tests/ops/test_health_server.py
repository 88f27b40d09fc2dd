"""/healthz and /metrics over real HTTP on loopback, against a seeded SQLite store."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from connector.ops.health_server import HealthServer
from connector.ops.metrics import Metrics
from connector.ops.settings import MonitoringSettings
from connector.store.db import Store
from connector.store.models import utcnow

JOBS = ("pull", "register", "track", "push")


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock(utcnow())


@pytest.fixture
def server(store: Store, clock: Clock) -> Iterator[HealthServer]:
    metrics = Metrics(store, jobs=JOBS)
    srv = HealthServer(MonitoringSettings(listen="127.0.0.1:0", stall_after_seconds=3600), store, metrics, JOBS,
                       started_at=clock.now - timedelta(hours=3), clock=clock)
    srv.start()
    yield srv
    srv.stop()


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


def test_healthz_ok_then_503_when_a_job_stalls(server: HealthServer, clock: Clock,
                                                add_run: Callable[..., None]) -> None:
    for job in JOBS:
        add_run(job, clock.now - timedelta(minutes=10))
    add_run("pull", clock.now - timedelta(minutes=1), ok=False, error="POS answered 503")  # a failed run

    response = requests.get(f"{server.url}/healthz", timeout=5)
    assert response.status_code == 200
    doc = response.json()
    assert doc["status"] == "ok" and doc["stalled"] == []
    assert set(doc["jobs"]) == set(JOBS) and not any(j["stalled"] for j in doc["jobs"].values())

    # An hour later only push succeeded again: the other three have stalled.
    clock.now += timedelta(hours=1)
    add_run("push", clock.now - timedelta(minutes=1))
    response = requests.get(f"{server.url}/healthz", timeout=5)
    assert response.status_code == 503
    doc = response.json()
    assert doc["status"] == "stalled"
    assert doc["stalled"] == ["pull", "register", "track"]
    assert doc["jobs"]["push"]["stalled"] is False


def test_a_job_that_never_succeeded_stalls_after_the_threshold(store: Store, clock: Clock) -> None:
    settings = MonitoringSettings(listen="127.0.0.1:0", stall_after_seconds=600)
    srv = HealthServer(settings, store, Metrics(store), ["pull"], started_at=clock.now, clock=clock)
    assert srv.health()[0] == 200  # just started: not stalled yet
    clock.now += timedelta(seconds=601)
    status, doc = srv.health()
    assert status == 503 and doc["stalled"] == ["pull"] and doc["jobs"]["pull"]["last_success"] is None


def test_old_success_before_a_restart_is_not_a_stall_at_once(store: Store, clock: Clock,
                                                             add_run: Callable[..., None]) -> None:
    add_run("pull", clock.now - timedelta(days=1))
    srv = HealthServer(MonitoringSettings(listen="127.0.0.1:0"), store, Metrics(store), ["pull"],
                       started_at=clock.now - timedelta(minutes=5), clock=clock)
    assert srv.health()[0] == 200


def test_metrics_expose_store_gauges(server: HealthServer, add_messages: Callable[..., list[int]],
                                     add_outbox: Callable[..., int], add_failures: Callable[..., list[int]]) -> None:
    add_messages("stored", 3)
    add_messages("registered", 2)
    add_outbox("pending", age_seconds=600)
    add_outbox("pending", age_seconds=30)
    add_outbox("sent", age_seconds=9000)
    add_failures(4)  # 4 messages in state failed, 4 open failures

    response = requests.get(f"{server.url}/metrics", timeout=5)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/plain")
    s = _samples(response.text)
    assert s[("connector_store_up", ())] == 1
    assert s[("connector_messages", (("state", "stored"),))] == 3
    assert s[("connector_messages", (("state", "registered"),))] == 2
    assert s[("connector_messages", (("state", "answer_ready"),))] == 3  # the outbox items' messages
    assert s[("connector_messages", (("state", "failed"),))] == 4
    assert s[("connector_messages", (("state", "closed"),))] == 0  # every state is present
    assert s[("connector_outbox_items", (("state", "pending"),))] == 2
    assert s[("connector_outbox_items", (("state", "sent"),))] == 1
    assert s[("connector_outbox_depth", ())] == 2
    assert 600 <= s[("connector_oldest_pending_seconds", ())] < 700
    assert s[("connector_open_failures", ())] == 4


def test_metrics_count_jobs_and_retries(server: HealthServer, clock: Clock, add_run: Callable[..., None]) -> None:
    metrics = server.metrics
    metrics.observe_job("pull", 1.5, True, processed=10, deferred=2)
    metrics.observe_job("pull", 40.0, False, processed=1, failed=3)
    metrics.count_retry("HTTP 503")
    transport_log = logging.getLogger("connector.transport")
    handler = metrics.retry_log_handler()
    transport_log.addHandler(handler)
    try:
        transport_log.warning("retrying request", extra={"attempt": 1, "reason": "ReadTimeout"})
        transport_log.warning("something else", extra={"reason": "ignored"})
    finally:
        transport_log.removeHandler(handler)
    add_run("pull", clock.now - timedelta(minutes=2))

    s = _samples(requests.get(f"{server.url}/metrics", timeout=5).text)
    assert s[("connector_job_duration_seconds_count", (("job", "pull"),))] == 2
    assert s[("connector_job_duration_seconds_sum", (("job", "pull"),))] == 41.5
    assert s[("connector_job_duration_seconds_bucket", (("job", "pull"), ("le", "2.5")))] == 1
    assert s[("connector_job_runs_total", (("job", "pull"),))] == 2
    assert s[("connector_job_failures_total", (("job", "pull"),))] == 1
    assert s[("connector_job_failures_total", (("job", "push"),))] == 0  # pre-created series
    assert s[("connector_job_items_total", (("job", "pull"), ("outcome", "processed")))] == 11
    assert s[("connector_job_items_total", (("job", "pull"), ("outcome", "failed")))] == 3
    assert s[("connector_retries_total", (("job", ""), ("reason", "HTTP 503")))] == 1
    assert s[("connector_retries_total", (("job", ""), ("reason", "ReadTimeout")))] == 1
    assert ("connector_retries_total", (("job", ""), ("reason", "ignored"))) not in s
    assert s[("connector_job_last_success_timestamp_seconds", (("job", "pull"),))] == pytest.approx(
        (clock.now - timedelta(minutes=2)).timestamp())


def test_each_metrics_instance_has_its_own_registry(store: Store) -> None:
    first, second = Metrics(store), Metrics(store)  # would raise "Duplicated timeseries" with a global
    first.observe_job("pull", 1, True)
    assert b'connector_job_runs_total{job="pull"} 1.0' in first.render()[0]
    assert b'connector_job_runs_total{job="pull"}' not in second.render()[0]


def test_store_down_is_503_and_store_up_0(server: HealthServer, store: Store) -> None:
    with store.engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE job_runs")
    response = requests.get(f"{server.url}/healthz", timeout=5)
    assert response.status_code == 503 and response.json() == {"status": "error", "error": "state store unavailable"}
    s = _samples(requests.get(f"{server.url}/metrics", timeout=5).text)
    assert s[("connector_store_up", ())] == 0


def test_unknown_path_and_head(server: HealthServer, clock: Clock, add_run: Callable[..., None]) -> None:
    for job in JOBS:
        add_run(job, clock.now)
    assert requests.get(f"{server.url}/admin", timeout=5).status_code == 404
    head = requests.head(f"{server.url}/healthz", timeout=5)
    assert head.status_code == 200 and head.content == b""
    assert json.loads(requests.get(f"{server.url}/healthz?verbose=1", timeout=5).text)["status"] == "ok"


def test_stop_frees_the_port(store: Store) -> None:
    srv = HealthServer(MonitoringSettings(listen="127.0.0.1:0"), store, Metrics(store), ())
    srv.start()
    url = srv.url
    srv.stop()
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{url}/healthz", timeout=2)
