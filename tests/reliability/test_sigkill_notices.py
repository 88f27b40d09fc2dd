"""The real daemon as a subprocess, SIGKILLed while it sends notices and while it opens control tasks.

The invariant (delivery.py): nothing is lost; a notice is repeated at most once per kill -- the window
between the SMTP server's "250" and our mark -- and the repeat carries the same Message-ID; a control
task exists exactly once per (card, reason) whatever the kills."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
import requests
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import Envelope, Session

from connector.simulators.server import SimServer

import simctl
from clirun import free_port
from testconfig import FAKETIME_STALLS_THREADS, ONEC_LOGIN, ONEC_PASSWORD, POS_LOGIN, POS_PASSWORD

pytestmark = pytest.mark.slow


class SlowMailbox:
    """An SMTP sink that takes 30 ms per message, so a kill lands between deliveries."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, _server: Any, _session: Session, envelope: Envelope) -> str:
        await asyncio.sleep(0.03)
        msg = message_from_bytes(envelope.original_content or b"", policy=policy.default)
        assert isinstance(msg, EmailMessage)
        self.messages.append(msg)
        return "250 OK"

    def of(self, kind: str) -> list[EmailMessage]:
        return [m for m in list(self.messages) if m["X-Pos-Connector-Notice"] == kind]


@pytest.fixture
def smtp() -> Iterator[tuple[SlowMailbox, int]]:
    box, port = SlowMailbox(), free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    yield box, port
    controller.stop()


def _config(path: Path, data: Path, pos: SimServer, onec: SimServer, smtp_port: int) -> Path:
    path.write_text(f"""
[daemon]
data_dir = "{data}"
batch_size = 3
retry_delay_seconds = 0
lease_seconds = 60

[retry]
max_attempts = 4
initial_wait = 0
max_wait = 0

[http]
allow_insecure = true
timeout_seconds = 5

[alerts]
smtp_host = "127.0.0.1"
smtp_port = {smtp_port}
mail_from = "pos@city.example"
mail_to = ["duty@city.example"]

[notices]
enabled = true
warn_days = [0]
digest_time = "23:59"
lease_seconds = 60

[[notices.recipients]]
unit = "Канцелярия"
to = ["office@city.example"]

[[accounts]]
name = "demo"
pos_base_url = "{pos.url}"
login = "{POS_LOGIN}"
password = "{POS_PASSWORD}"
edms = "onec"
page_size = 10

[edms.onec]
type = "onec_dm"
url = "{onec.url}/base/ws/DMService"
login = "{ONEC_LOGIN}"
password = "{ONEC_PASSWORD}"
""", encoding="utf-8")
    return path


def _run_once(config: Path, *, kill_when: Callable[[], bool] | None = None, timeout: float = 120) -> bool:
    """``connector run --once``; True when it was SIGKILLed because ``kill_when`` held."""
    proc = subprocess.Popen([sys.executable, "-m", "connector", "run", "--once", "--config", str(config)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ})
    deadline = time.monotonic() + timeout
    try:
        while proc.poll() is None:
            if kill_when is not None and kill_when():
                proc.send_signal(signal.SIGKILL)
                proc.wait(10)
                return True
            if time.monotonic() > deadline:
                raise AssertionError("daemon did not finish in time")
            time.sleep(0.01)
        return False
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def _control_tasks(onec: SimServer) -> Counter[tuple[str, str]]:
    held: Counter[tuple[str, str]] = Counter()
    for doc in simctl.onec_state(onec)["documents"].values():
        for task in doc["controlTasks"]:
            held[(doc["externalObject"]["id"], task["description"])] += 1
    return held


@FAKETIME_STALLS_THREADS
def test_sigkill_while_notifying_and_opening_control_tasks_loses_nothing_and_repeats_at_most_once_per_kill(
        tmp_path: Path, pos_sim: SimServer, onec_sim: SimServer, smtp: tuple[SlowMailbox, int]) -> None:
    box, port = smtp
    count = 24
    ids = simctl.seed(pos_sim, count)
    config = _config(tmp_path / "connector.toml", tmp_path / "data", pos_sim, onec_sim, port)

    # 1. Killed while the new-message notices go out.
    kills = 0
    kills += _run_once(config, kill_when=lambda: 4 <= len(box.of("new_message")) < count)
    assert kills == 1, "the kill must land while the notices go out"
    _run_once(config)  # on SQLite the restart frees the killed worker's leases at once
    news = box.of("new_message")
    numbers = Counter(str(m["Subject"]).split("№ ")[1].split(":")[0] for m in news)
    assert set(numbers) == set(ids), "a new-message notice was lost"
    assert len(news) - count <= kills
    by_id = Counter(str(m["Message-ID"]) for m in news)
    assert len(by_id) == count  # a repeat is the same message (same Message-ID), never a different one

    # 2. Answers, applicants' ratings, and a kill while the control tasks are opened in 1С.
    simctl.onec_act(onec_sim, action="auto", assign=True, answer=True)
    _run_once(config)
    reply = requests.post(f"{pos_sim.url}/_sim/act", json={"action": "rate_answers", "share": 1.0, "low_share": 0.7,
                                                            "repeat_share": 0.0, "seed": 5}, timeout=30)
    low = [pid for pid, r in reply.json()["rated"].items() if r <= 2]
    assert len(low) >= 6
    simctl.faults(onec_sim, latency_ms=60)
    kills_2 = _run_once(config, kill_when=lambda: 2 <= sum(_control_tasks(onec_sim).values()) < len(low))
    assert kills_2, "the kill must land while the control tasks are opened"
    simctl.faults(onec_sim)
    _run_once(config)
    tasks = _control_tasks(onec_sim)
    assert sorted(pid for pid, _ in tasks) == sorted(low) and set(tasks.values()) == {1}
    control = box.of("control")
    assert len({str(m["Message-ID"]) for m in control}) == len(low)
    assert len(control) - len(low) <= int(kills_2)
