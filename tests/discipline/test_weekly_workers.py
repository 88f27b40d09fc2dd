"""Two daemons on one PostgreSQL database both reach the weekly report's hour: one e-mail goes out."""

from __future__ import annotations

import socket
import threading
import uuid
from datetime import UTC, datetime, time, timedelta
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from connector.config import settings_from_mapping
from connector.pipeline.outcomes import JobStats
from connector.pipeline.runner import build_context, run_job

import pg_server
from testconfig import BODY_ZONE, settings_mapping

pytestmark = pytest.mark.postgres


class Box:
    def __init__(self) -> None:
        self.subjects: list[str] = []

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:
        self.subjects.append(str(message_from_bytes(envelope.original_content or b"", policy=policy.default)
                                 ["Subject"]))
        return "250 OK"


def test_two_workers_send_the_weekly_report_once(pg: pg_server.PgServer, tmp_path: Path) -> None:
    url = pg_server.create_database(pg, f"weekly_{uuid.uuid4().hex[:8]}")
    box = Box()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    today = datetime.now(BODY_ZONE).date()
    monday = today - timedelta(days=today.weekday())
    at = datetime.combine(monday, time(8, 0), tzinfo=BODY_ZONE).astimezone(UTC)
    contexts = []
    for worker in ("a", "b"):
        mapping = settings_mapping(data_dir=tmp_path / worker, db_url=url, pos_url="http://127.0.0.1:9",
                                   onec_url="http://127.0.0.1:9", worker_id=worker)
        mapping |= {"alerts": {"smtp_host": "127.0.0.1", "smtp_port": port, "mail_from": "c@adm.example",
                               "mail_to": ["it@adm.example"]},
                    "reports": {"recipients": ["mayor-office@adm.example"]}}
        contexts.append(build_context(settings_from_mapping(mapping), sleep=lambda _s: None, clock=lambda: at))
    results: list[JobStats] = []
    start = threading.Barrier(2)

    def run(ctx: Any) -> None:
        start.wait()
        results.append(run_job(ctx, "weekly_report"))

    try:
        threads = [threading.Thread(target=run, args=(c,)) for c in contexts]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        results.append(run_job(contexts[0], "weekly_report"))  # and again later: nothing more
    finally:
        controller.stop()
        for c in contexts:
            c.close()
            c.store.dispose()
    assert sorted(r.processed for r in results) == [0, 0, 1] and not any(r.notes for r in results)
    assert len(box.subjects) == 1 and f"{monday - timedelta(weeks=1):%d.%m.%Y}" in box.subjects[0]
