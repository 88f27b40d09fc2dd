"""Hostile input through the running daemon: each item gets a safe result or a clear error,
and the daemon keeps running.

POS serves hostile attachment names, a 1 MB text full of emoji, RTL marks and control
characters, an appeal with every optional field missing and dates with odd offsets; 1С
answers with a DOCTYPE, an entity bomb and an external entity; the SSTU report runs on the
same messages.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import requests
from sqlalchemy import select

from connector.demo_sstu import DEMO_DEPARTMENT_ID, prepare_mapping
from connector.simulators.onec import OnecSimulator
from connector.simulators.pos import PosSimulator
from connector.simulators.server import SimServer
from connector.simulators.sstu import SstuSimulator
from connector.store.db import Store
from connector.store.models import Attachment, Failure, Message, MessageState

from testconfig import FAKETIME_STALLS_THREADS, onec_account_toml

pytestmark = pytest.mark.slow

HOSTILE_NAMES = [
    "../../../../etc/passwd", "/etc/shadow", "..\\..\\windows\\system32\\cmd.exe", "a\x00b.pdf", "CON", "nul.txt",
    "AUX.pdf", "COM1.docx", "LPT9", "..", ".", ".bashrc", "x" * 300 + ".pdf", "я" * 200 + ".docx",
    "file\r\nname.txt", "<script>alert(1)</script>.html", "=cmd|' /C calc'!A0.xlsx", "",
]
CONTROL = "".join(chr(c) for c in range(0, 32) if c not in (9, 10, 13)) + "\x7f"
BIG_TEXT = ("Прошу разобраться 🙏🏽 שלום עליכם \u202eтекст наоборот\u202c" + CONTROL + " مرحبا 👨‍👩‍👧 ") * 8_000
ODD_OFFSETS = [timezone(timedelta(hours=14)), timezone(timedelta(hours=-12)), timezone(timedelta(hours=5, minutes=45))]

CONFIG = """
[daemon]
data_dir = "{data}"
retry_delay_seconds = 0
max_attempts = 20

[schedule]
pull_seconds = 1
register_seconds = 1
track_seconds = 1
push_seconds = 1
sstu_seconds = 1

[retry]
max_attempts = 4
initial_wait = 0
max_wait = 0

[http]
allow_insecure = true
timeout_seconds = 10

[logging]
level = "INFO"

[monitoring]
listen = "127.0.0.1:{port}"

[sstu]
department_id = "{department}"
base_url = "{sstu}"

""" + onec_account_toml("hostile")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@FAKETIME_STALLS_THREADS
def test_hostile_pos_content_and_hostile_soap_replies_through_the_running_daemon(tmp_path: Path) -> None:
    pos_sim, onec_sim, sstu_sim = PosSimulator(), OnecSimulator(), SstuSimulator()
    with SimServer(pos_sim) as pos, SimServer(onec_sim) as onec, SimServer(sstu_sim) as sstu:
        ids = pos_sim.seed(8, seed=5, max_attachment_kb=8)
        big, bare, east, west, nepal, named, _, _ = ids
        pos_sim.edit_appeal(big, text=BIG_TEXT, problem_address=CONTROL + "ул. Ленина 🏠")
        pos_sim.edit_appeal(bare, omit=("text", "applicant", "category", "subcategory", "fact", "plannedDate",
                                        "coordinates", "problemAddress", "epguNumber", "source", "orgName"))
        for pid, zone in zip((east, west, nepal), ODD_OFFSETS, strict=True):
            pos_sim.edit_appeal(pid, created_at=datetime.now(zone).replace(microsecond=123456) - timedelta(hours=1))
        for name in HOSTILE_NAMES:
            pos_sim.add_attachment(named, name, 1024)
        requests.post(f"{onec.url}/_sim/faults", timeout=5,
                      json={"doctype_next": 1, "entity_bomb_next": 1, "external_entity_next": 1}).raise_for_status()

        data = tmp_path / "data"
        data.mkdir()
        store = Store(f"sqlite:///{data / 'connector.db'}")
        prepare_mapping(store, tmp_path / "mapping")
        port = _free_port()
        config = tmp_path / "connector.toml"
        config.write_text(CONFIG.format(data=data, port=port, pos=pos.url, onec=onec.url, sstu=sstu.url,
                                        department=DEMO_DEPARTMENT_ID), encoding="utf-8")
        log = (tmp_path / "daemon.log").open("wb")
        proc = subprocess.Popen([sys.executable, "-m", "connector", "run", "--config", str(config)],
                                stdout=log, stderr=subprocess.STDOUT, env={**os.environ})
        stop = threading.Event()

        def executors() -> None:
            while not stop.wait(0.3):
                onec_sim.act({"action": "auto", "assign": True, "answer": True})

        worker = threading.Thread(target=executors, daemon=True)
        worker.start()
        try:
            deadline = time.monotonic() + 180
            while True:
                assert proc.poll() is None, (tmp_path / "daemon.log").read_text(errors="replace")[-3000:]
                answered = sum(1 for a in pos_sim.state()["appeals"] if a["answers"])
                if answered == len(ids) and sstu_sim.summary()["appeals"] >= len(ids) - 1:
                    break
                assert time.monotonic() < deadline, f"answered {answered}/{len(ids)}; sstu {sstu_sim.summary()}"
                time.sleep(0.3)
            time.sleep(2)  # a few more ticks over everything: the daemon keeps running
            assert proc.poll() is None
            assert requests.get(f"http://127.0.0.1:{port}/healthz", timeout=5).status_code == 200
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(60) == 0
        finally:
            stop.set()
            if proc.poll() is None:
                proc.kill()
            log.close()

        # exactly once, whatever the content
        assert {pid: len(a["answers"]) for pid, a in ((a["id"], a) for a in pos_sim.state()["appeals"])} \
            == {pid: 1 for pid in ids}
        assert onec_sim.summary()["by_external_id"] == {pid: 1 for pid in ids}
        injected = onec_sim.faults.state()["injected"]
        assert injected.get("entity_bomb") == 1 and injected.get("external_entity") == 1

        # hostile names: every file under the data directory, with a plain name, complete
        root = (data / "attachments").resolve()
        with store.session() as session:
            files = list(session.scalars(select(Attachment).join(Message).where(Message.pos_id == named)))
            assert len(files) == len(pos_sim.store.appeals[named].appeal.attachments)
            for file in files:
                path = Path(file.path).resolve()
                assert path.is_relative_to(root) and path.is_file() and path.stat().st_size == file.size
                assert "\x00" not in path.name and "/" not in path.name and len(path.name.encode()) <= 255
            states = set(session.scalars(select(Message.state)))
            failures = [f.reason for f in session.scalars(select(Failure).where(Failure.resolved_at.is_(None)))]
        store.dispose()
        assert states == {MessageState.CLOSED}

        # the 1 MB text reached the card cut to the configured summary, as valid XML text
        card = next(d for d in onec_sim.state()["documents"].values()
                    if (d.get("externalObject") or {}).get("id") == big)
        assert 0 < len(card["summary"]) <= 2000 and not set(card["summary"]) & set(CONTROL.replace("\x7f", ""))

        # SSTU: every appeal that can be reported is; the one without a category is a clear failure
        assert sstu_sim.summary()["rejected"] == 0
        assert sstu_sim.summary()["appeals"] == len(ids) - 1
        assert failures == [failure for failure in failures if "no SSTU classifier code" in failure]
        assert len(failures) == 1 and "«(none)»" in failures[0]

        # nothing read from /etc/passwd and no secret reached the log
        text = (tmp_path / "daemon.log").read_text(errors="replace")
        assert "root:x:0:0" not in text and "demo-secret" not in text and "1c-secret" not in text
        assert "root:x:0:0" not in (data / "connector.db").read_bytes().decode("utf-8", "replace")


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


@FAKETIME_STALLS_THREADS
def test_hostile_medo_packages_are_quarantined_while_the_daemon_completes_the_rest(tmp_path: Path) -> None:
    from connector.demo_edms import DEMO_TARGETS
    from connector.simulators.medo import HOSTILE_KINDS

    pos_sim = PosSimulator()
    with SimServer(pos_sim) as pos, DEMO_TARGETS["medo"](tmp_path / "medo") as medo:
        ids = pos_sim.seed(6, seed=9, max_attachment_kb=4)
        pos_sim.edit_appeal(ids[0], text=BIG_TEXT)  # control characters must not break the XML package
        data = tmp_path / "data"
        edms = "\n".join(f"{k} = {_toml_value(v)}" for k, v in medo.settings().items())
        config = tmp_path / "connector.toml"
        config.write_text(CONFIG.split("[sstu]")[0].format(data=data, port=_free_port())
                          .replace("sstu_seconds = 1\n", "")
                          + f'[[accounts]]\nname = "hostile"\npos_base_url = "{pos.url}"\nlogin = "lko-demo"\n'
                          f'password = "demo-secret"\nedms = "medo"\n\n[edms.medo]\n{edms}\n', encoding="utf-8")
        log = (tmp_path / "daemon.log").open("wb")
        proc = subprocess.Popen([sys.executable, "-m", "connector", "run", "--config", str(config)],
                                stdout=log, stderr=subprocess.STDOUT, env={**os.environ})
        try:
            deadline = time.monotonic() + 180
            injected = 0
            while sum(1 for a in pos_sim.state()["appeals"] if a["answers"]) < len(ids):
                assert proc.poll() is None, (tmp_path / "daemon.log").read_text(errors="replace")[-3000:]
                assert time.monotonic() < deadline, "МЭДО messages did not all get an answer"
                if injected < len(HOSTILE_KINDS):
                    medo.act({"action": "inject", "kind": HOSTILE_KINDS[injected]})
                    injected += 1
                medo.act({"action": "auto", "assign": True, "answer": True})
                time.sleep(0.3)
            time.sleep(2)
            assert proc.poll() is None
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(60) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
            log.close()
        assert medo.cards_per_pos_id() == {pid: 1 for pid in ids}
        assert {a["id"]: len(a["answers"]) for a in pos_sim.state()["appeals"]} == {pid: 1 for pid in ids}
        quarantine = Path(medo.settings()["inbox_dir"]).parent / "quarantine"
        reasons = sorted(quarantine.glob("*.reason.txt"))
        assert len(reasons) == len(HOSTILE_KINDS)  # every hostile package, each with its reason
        assert all(r.read_text(encoding="utf-8").strip() for r in reasons)
        text = (tmp_path / "daemon.log").read_text(errors="replace")
        assert "root:x:0:0" not in text
