"""The crash harness: the real daemon as a subprocess, SIGKILLed at random moments while the
simulators misbehave; then a clean run, and the invariants.

Used by tests/reliability/test_crash_harness.py (CI size) and bench/chaos.py (long run).
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import requests
from sqlalchemy import func, select

from connector.demo_sstu import DEMO_DEPARTMENT_ID, prepare_mapping
from connector.showcase.records import ShowcaseRecord, ShowcaseState
from connector.simulators.onec import OnecSimulator
from connector.simulators.pos import PosSimulator
from connector.simulators.server import SimServer
from connector.simulators.sstu import SstuSimulator
from connector.sstu_export.records import SendState, SstuAppealRecord
from connector.store.db import Store
from connector.store.models import (
    Card,
    EdmsAppealRecord,
    Failure,
    JobRun,
    Message,
    MessageState,
    OutboxItem,
    PullWatermark,
)

# POS also shows its changes out of order (up to 2 s late), dates one appeal a year ahead and
# steps its clock back two minutes a few seconds into the run: the pull watermark's faults; and
# its data showcase stores half of two uploads before answering 503 (a reply lost mid-batch).
POS_FAULTS = {"error_rate": 0.03, "rate_limit": 0.03, "retry_after": 0, "latency_ms": 2,
              "visibility_spread": 2.0, "future_dated_next": 1, "clock_step_back": 120, "clock_step_after": 5,
              "showcase_partial_next": 2}
ONEC_FAULTS = {"error_rate": 0.03, "latency_ms": 2}
SSTU_FAULTS = {"error_rate": 0.03, "rate_limit": 0.03, "retry_after": 0, "latency_ms": 2}
FINAL_SSTU_STATUS = "Explained"  # every question of every appeal, POS or other channel
FINAL_SHOWCASE_STATUS = "ANSWERED"
BODY_ZONE = ZoneInfo("Europe/Moscow")  # the harness's configuration keeps the default zone
EDMS_SHARE = 20  # one EDMS appeal of another channel per 20 POS messages (at least 4)


def edms_seeds(n: int, start: int) -> list[dict[str, Any]]:
    """``n`` answered appeals of other channels for the 1С simulator (letters, reception, forwarded, two
    questions), cycling, with ids of their own; every fifth one more flagged «не выгружать в ССТУ»
    (in neither ССТУ nor the showcase).  Answered, so each has one final status."""
    today = datetime.now(BODY_ZONE).date().isoformat()  # the covering letter's date: the body's today
    seeds = []
    for k in range(start, start + n):
        answered = {"rubric": "0005.0005.0056.1168", "summary": f"Вопрос {k}", "executor": "Иванов И. И.",
                    "answer": {"text": f"Ответ по обращению {k}.", "file_name": "Ответ.pdf"}, "result": "Разъяснено"}
        seed: dict[str, Any] = {"id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"chaos-appeal:{k}")),
                                "delivery": ("Письменная форма", "Личный прием", "Письменная форма",
                                             "Электронная форма")[k % 4],
                                "applicant": "Петров Пётр Петрович", "address": "г. Энск, ул. Ленина, д. 1",
                                "questions": [answered]}
        if k % 4 == 2:
            seed["forwarded"] = {"body": "Правительство края", "number": f"01-12/{k}", "date": today}
        if k % 4 == 3:
            seed["questions"] = [answered, {**answered, "rubric": "0002.0013.0139.0329", "summary": f"Ещё {k}"}]
        seed["no_sstu"] = k % 5 == 4
        seeds.append(seed)
    return seeds


@dataclass
class ChaosReport:
    messages: int
    kills: int
    cards_per_message: dict[str, int] = field(default_factory=dict)
    answers_per_message: dict[str, int] = field(default_factory=dict)
    sstu_per_message: dict[str, int] = field(default_factory=dict)  # appeals ССТУ holds for the message's card
    sstu_not_final: int = 0           # held appeals whose status is not the final one
    sstu_rejected: int = 0
    showcase_per_message: dict[str, int] = field(default_factory=dict)  # showcase items carrying the message's number
    showcase_not_final: int = 0       # items whose status is not the final one
    showcase_strangers: int = 0       # items for no seeded message
    showcase_during_kills: int = 0    # showcase uploads while the daemon was being killed
    # the EDMS's appeals of other channels (card id →): appeals ССТУ holds, items on the showcase
    edms_sstu_per_appeal: dict[str, int] = field(default_factory=dict)
    edms_showcase_per_appeal: dict[str, int] = field(default_factory=dict)
    edms_flagged_shown: int = 0       # cards flagged «не выгружать в ССТУ» held by ССТУ or on the showcase
    leases_held: int = 0
    failures: list[str] = field(default_factory=list)
    states: dict[str, int] = field(default_factory=dict)
    clean_runs: int = 0
    cards_during_kills: int = 0
    answers_during_kills: int = 0
    sstu_during_kills: int = 0        # imports ССТУ accepted while the daemon was being killed
    missed_by_incremental: int = 0    # what the sweep found that the incremental pulls had missed
    sweeps: int = 0                   # sweeps that finished
    clock_warnings: int = 0

    @property
    def lost(self) -> int:
        """Seeded messages without a card or without an answer in POS."""
        return sum(1 for pid in self.answers_per_message
                   if self.cards_per_message.get(pid, 0) == 0 or self.answers_per_message[pid] == 0
                   or self.sstu_per_message.get(pid, 0) == 0 or self.showcase_per_message.get(pid, 0) == 0) + sum(
            1 for card in self.edms_sstu_per_appeal
            if self.edms_sstu_per_appeal[card] == 0 or self.edms_showcase_per_appeal.get(card, 0) == 0)

    @property
    def duplicated(self) -> int:
        return (sum(1 for n in self.cards_per_message.values() if n > 1)
                + sum(1 for n in self.answers_per_message.values() if n > 1)
                + sum(1 for n in self.sstu_per_message.values() if n > 1)
                + sum(1 for n in self.showcase_per_message.values() if n > 1) + self.showcase_strangers
                + sum(1 for n in self.edms_sstu_per_appeal.values() if n > 1)
                + sum(1 for n in self.edms_showcase_per_appeal.values() if n > 1) + self.edms_flagged_shown)

    def summary(self) -> str:
        return (f"messages={self.messages} edms_appeals={len(self.edms_sstu_per_appeal)} kills={self.kills} "
                f"(cards {self.cards_during_kills}, answers {self.answers_during_kills}, "
                f"SSTU imports {self.sstu_during_kills} while killing) "
                f"lost={self.lost} duplicated={self.duplicated} sstu_not_final={self.sstu_not_final} "
                f"sstu_rejected={self.sstu_rejected} showcase_not_final={self.showcase_not_final} "
                f"(showcase uploads {self.showcase_during_kills} while killing) "
                f"leases_held={self.leases_held} failures={len(self.failures)} clean_runs={self.clean_runs} "
                f"sweeps={self.sweeps} missed_by_incremental={self.missed_by_incremental} "
                f"clock_warnings={self.clock_warnings} "
                f"states={self.states}")


def _config(path: Path, data: Path, pos: str, onec: str, sstu: str, batch: int) -> None:
    path.write_text(f"""
[daemon]
data_dir = "{data}"
batch_size = {batch}
concurrency = 4
max_attempts = 50
retry_delay_seconds = 0
lease_seconds = 600

[schedule]
pull_seconds = 1
register_seconds = 1
track_seconds = 1
push_seconds = 1
sstu_seconds = 1
sweep_seconds = 5

[showcase]
enabled = true
interval_seconds = 1
batch_size = 25

[pull]
sweep_days = 1

[retry]
max_attempts = 6
initial_wait = 0
max_wait = 0

[http]
timeout_seconds = 10
allow_insecure = true

[logging]
level = "WARNING"

[monitoring]
listen = "127.0.0.1:0"

[sstu]
department_id = "{DEMO_DEPARTMENT_ID}"
base_url = "{sstu}"

[[accounts]]
name = "chaos"
pos_base_url = "{pos}"
login = "lko-demo"
password = "demo-secret"
edms = "onec"
page_size = 50

[edms.onec]
type = "onec_dm"
url = "{onec}/base/ws/DMService"
login = "integration"
password = "1c-secret"

[edms.onec.appeals]
enabled = true
""", encoding="utf-8")


class _Executors(threading.Thread):
    """Simulated executors: keep assigning and answering whatever cards exist."""

    def __init__(self, onec: OnecSimulator) -> None:
        super().__init__(daemon=True)
        self.onec = onec
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.wait(0.2):
            self.onec.act({"action": "auto", "assign": True, "answer": True})


def _seed_appeals(onec_url: str, appeals: list[dict[str, Any]]) -> None:
    requests.post(f"{onec_url}/_sim/seed", json={"appeals": appeals}, timeout=30).raise_for_status()


def _wait_until_working(proc: subprocess.Popen[bytes], lock: Path, timeout: float = 60) -> None:
    """Kill times count from the moment the daemon holds its lock (start-up is not the point)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if lock.read_text().strip() == str(proc.pid):
                return
        except OSError:
            pass
        time.sleep(0.01)


def run_chaos(workdir: Path, *, messages: int, kills: int, seed: int = 1, batch: int = 10,
              min_alive: float = 0.3, max_alive: float = 1.5, log: Any = print) -> ChaosReport:
    rng = random.Random(seed)
    pos_sim, onec_sim, sstu_sim = PosSimulator(), OnecSimulator(), SstuSimulator()
    with SimServer(pos_sim) as pos, SimServer(onec_sim) as onec, SimServer(sstu_sim) as sstu:
        requests.post(f"{pos.url}/_sim/faults", json=POS_FAULTS, timeout=10).raise_for_status()
        ids = pos_sim.seed(messages // 2, seed=seed, max_attachment_kb=16)
        # appeals of other channels: half in the EDMS from the start, the rest with the waves
        cards = edms_seeds(max(4, messages // EDMS_SHARE) // 2, 0)
        _seed_appeals(onec.url, cards)
        # the other half arrives while the daemon is being killed, in three waves
        rest, wave_at = messages - len(ids), sorted({kills * n // 4 for n in (1, 2, 3)})
        waves = {k: rest // len(wave_at) + (rest % len(wave_at) if k == wave_at[-1] else 0) for k in wave_at}
        config = workdir / "connector.toml"
        data = workdir / "data"
        _config(config, data, pos.url, onec.url, sstu.url, batch)
        data.mkdir(parents=True, exist_ok=True)
        setup = Store(f"sqlite:///{data / 'connector.db'}")
        prepare_mapping(setup, workdir / "mapping")
        setup.dispose()
        for sim, faults in ((onec, ONEC_FAULTS), (sstu, SSTU_FAULTS)):
            requests.post(f"{sim.url}/_sim/faults", json=faults, timeout=10).raise_for_status()
        executors = _Executors(onec_sim)
        executors.start()
        command = [sys.executable, "-m", "connector", "run", "--config", str(config)]
        done = 0
        try:
            for kill in range(kills):
                if waves.get(kill):
                    ids += pos_sim.seed(waves[kill], seed=seed + kill + 1, max_attachment_kb=16)
                    more = edms_seeds(max(4, messages // EDMS_SHARE) // 2 // len(wave_at) + 1, len(cards))
                    _seed_appeals(onec.url, more)
                    cards += more
                proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                        env={**os.environ})
                _wait_until_working(proc, data / "connector.db.lock")
                time.sleep(rng.uniform(min_alive, max_alive))
                proc.send_signal(signal.SIGKILL)
                proc.wait(30)
                done = kill + 1
                if done % 50 == 0:
                    log(f"{done} kills; answers so far {pos_sim.summary().get('answers')}")
        finally:
            executors.stop.set()
            executors.join()
        for sim in (pos, onec, sstu):
            requests.post(f"{sim.url}/_sim/faults", json={}, timeout=10).raise_for_status()
        report = ChaosReport(messages=messages, kills=done,
                             cards_during_kills=len(onec_sim.summary()["by_external_id"]),
                             answers_during_kills=int(pos_sim.summary().get("answers", 0)),
                             sstu_during_kills=int(sstu_sim.summary()["accepted"]),
                             showcase_during_kills=int(pos_sim.summary()["showcaseUploads"]))
        store = Store(f"sqlite:///{data / 'connector.db'}", migrate=False)
        for _ in range(12):  # clean runs until nothing moves
            onec_sim.act({"action": "auto", "assign": True, "answer": True})
            subprocess.run([*command[:-2], "--once", *command[-2:]], check=False, timeout=600,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ})
            report.clean_runs += 1
            with store.session() as session:
                open_count = session.scalar(select(func.count()).select_from(Message).where(
                    Message.state.not_in([MessageState.CLOSED, MessageState.FAILED]))) or 0
                unsent = session.scalar(select(func.count()).select_from(SstuAppealRecord).where(
                    SstuAppealRecord.send_state == SendState.PENDING)) or 0
                unsent += session.scalar(select(func.count()).select_from(ShowcaseRecord).where(
                    ShowcaseRecord.send_state == ShowcaseState.PENDING)) or 0
            if open_count == 0 and unsent == 0:
                break
        by_external = onec_sim.summary()["by_external_id"]
        appeals = {a["id"]: a for a in pos_sim.state()["appeals"]}
        report.cards_per_message = {pid: int(by_external.get(pid, 0)) for pid in ids}
        report.answers_per_message = {pid: len(appeals[pid]["answers"]) for pid in ids}
        held = sstu_sim.state()
        held_numbers: dict[str, int] = {}
        for appeal in held["appeals"]:
            held_numbers[appeal["number"]] = held_numbers.get(appeal["number"], 0) + 1
            report.sstu_not_final += any(q["status"] != FINAL_SSTU_STATUS for q in appeal["appeal"]["questions"])
        report.sstu_rejected = int(held["summary"]["rejected"])
        on_showcase: dict[str, int] = {}
        for item in pos_sim.showcase_items():
            on_showcase[item["id"]] = on_showcase.get(item["id"], 0) + 1
            report.showcase_not_final += item["status"] != FINAL_SHOWCASE_STATUS
        report.showcase_per_message = {pid: on_showcase.get(f"pos:{pid}", 0) for pid in ids}
        shown = [a["id"] for a in cards if not a["no_sstu"]]
        report.edms_showcase_per_appeal = {card: on_showcase.get(f"edms:onec:{card}", 0) for card in shown}
        flagged = {a["id"] for a in cards if a["no_sstu"]}
        report.edms_flagged_shown = sum(on_showcase.get(f"edms:onec:{card}", 0) for card in flagged)
        report.showcase_strangers = len(set(on_showcase) - {f"pos:{pid}" for pid in ids}
                                        - {f"edms:onec:{card}" for card in [*shown, *flagged]})
        with store.session() as session:
            report.missed_by_incremental = sum(session.scalars(select(PullWatermark.missed_by_incremental)))
            report.clock_warnings = sum(session.scalars(select(PullWatermark.clock_warnings)))
            report.sweeps = session.scalar(select(func.count()).select_from(JobRun).where(
                JobRun.job == "sweep", JobRun.ok.is_(True))) or 0
            number_of = dict(session.execute(select(Message.pos_id, Card.registration_number)
                                             .join(Card, Card.message_id == Message.id)).all())
            report.sstu_per_message = {pid: held_numbers.get(number_of.get(pid, ""), 0) for pid in ids}
            sstu_number_of = dict(session.execute(select(EdmsAppealRecord.external_id, SstuAppealRecord.number)
                                                  .join(SstuAppealRecord,
                                                        SstuAppealRecord.edms_appeal_id == EdmsAppealRecord.id)).all())
            report.edms_sstu_per_appeal = {card: held_numbers.get(sstu_number_of.get(card, ""), 0) for card in shown}
            report.edms_flagged_shown += sum(held_numbers.get(sstu_number_of.get(card, ""), 0) for card in flagged)
            report.leases_held = sum(session.scalar(select(func.count()).select_from(model).where(
                model.claimed_by.is_not(None))) or 0
                for model in (Message, Card, OutboxItem, SstuAppealRecord, ShowcaseRecord))
            report.failures = [f.reason for f in session.scalars(select(Failure).where(Failure.resolved_at.is_(None)))]
            report.states = dict(session.execute(select(Message.state, func.count()).group_by(Message.state)).all())
        store.dispose()
        onec_sim.close()
    return report
