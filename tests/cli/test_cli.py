"""The connector command as an operator uses it: exit codes, messages, --json."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests
from click.testing import CliRunner

from connector.cli import main
from connector.demo_sstu import DEMO_DEPARTMENT_ID, prepare_mapping
from connector.simulators.server import SimServer
from connector.simulators.sstu import SstuSimulator
from connector.store.db import Store
from connector.store.models import Failure, Message, MessageState

import simctl
from testconfig import FAKETIME_STALLS_THREADS, onec_account_toml

CONFIG = """
[daemon]
data_dir = "{data}"

[http]
allow_insecure = true

""" + onec_account_toml("demo")


def _config(tmp_path: Path, pos: str = "http://127.0.0.1:9", onec: str = "http://127.0.0.1:9",
            extra: str = "") -> Path:
    path = tmp_path / "connector.toml"
    path.write_text(CONFIG.format(data=tmp_path / "data", pos=pos, onec=onec) + extra, encoding="utf-8")
    return path


def test_bad_config_prints_each_offending_key_and_exits_2(tmp_path: Path) -> None:
    path = _config(tmp_path)
    path.write_text(path.read_text().replace('login = "lko-demo"', 'login = "lko-demo"\npage_sise = 5')
                    .replace("batch", "batch") + '\n[daemon2]\nx = 1\n')
    result = CliRunner().invoke(main, ["status", "--config", str(path)])
    assert result.exit_code == 2
    assert "accounts.0.page_sise: Extra inputs are not permitted" in result.output
    assert "daemon2: Extra inputs are not permitted" in result.output
    assert "Traceback" not in result.output


def test_missing_config_file_is_bad_input(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["run", "--once", "--config", str(tmp_path / "nope.toml")])
    assert result.exit_code == 2
    assert "file not found" in result.output


def test_status_json_and_failures_retry(tmp_path: Path) -> None:
    path = _config(tmp_path)
    store = Store(f"sqlite:///{tmp_path / 'data' / 'connector.db'}")
    with store.sessions.begin() as session:
        message = Message(account="demo", pos_id="100500", state=MessageState.FAILED,
                          failed_from=MessageState.STORED, attempts=5, payload={})
        session.add(message)
        session.flush()
        session.add(Failure(item_kind="message", item_id=message.id, message_id=message.id, job="register",
                            reason="EDMS refused: Документ не прошёл контроль"))
    runner = CliRunner()
    status = runner.invoke(main, ["status", "--json", "--config", str(path)])
    assert status.exit_code == 0, status.output
    doc = json.loads(status.stdout)
    assert doc["messages_by_state"] == {"failed": 1} and doc["open_failures"] == 1

    listed = runner.invoke(main, ["failures", "list", "--json", "--config", str(path)])
    [failure] = json.loads(listed.stdout)
    assert (failure["pos_id"], failure["reason"]) == ("100500", "EDMS refused: Документ не прошёл контроль")

    assert runner.invoke(main, ["failures", "retry", "--config", str(path)]).exit_code == 2
    unknown = runner.invoke(main, ["failures", "retry", "999", "--config", str(path)])
    assert unknown.exit_code == 2 and "no open failure with id 999" in unknown.output
    assert "re-queued 0" not in unknown.output
    retried = runner.invoke(main, ["failures", "retry", str(failure["id"]), "--config", str(path)])
    assert retried.exit_code == 0, retried.output
    with store.session() as session:
        again = session.query(Message).one()
        assert (again.state, again.attempts) == (MessageState.STORED, 0)
    assert json.loads(runner.invoke(main, ["failures", "list", "--json", "--config", str(path)]).stdout) == []
    store.dispose()


@FAKETIME_STALLS_THREADS
def test_daemon_runs_jobs_on_schedule_and_stops_cleanly_on_sigterm(
        tmp_path: Path, pos_sim: SimServer, onec_sim: SimServer) -> None:
    ids = simctl.seed(pos_sim, 5)
    path = _config(tmp_path, pos_sim.url, onec_sim.url, extra="")
    store = Store(f"sqlite:///{tmp_path / 'data' / 'connector.db'}")
    prepare_mapping(store, tmp_path / "mapping")
    store.dispose()
    sstu_server = SimServer(SstuSimulator()).__enter__()
    path.write_text(path.read_text().replace("[[accounts]]", f'[sstu]\ndepartment_id = "{DEMO_DEPARTMENT_ID}"\n'
                                             f'base_url = "{sstu_server.url}"\n\n[[accounts]]'))
    text = path.read_text().replace("[daemon]\n", "[daemon]\nretry_delay_seconds = 0\n")
    text += "\n[schedule]\npull_seconds = 1\nregister_seconds = 1\ntrack_seconds = 1\npush_seconds = 1\nsstu_seconds = 1\n"
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    text += f'\n[monitoring]\nlisten = "127.0.0.1:{port}"\n'
    path.write_text(text)
    proc = subprocess.Popen([sys.executable, "-m", "connector", "run", "--config", str(path)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={**os.environ})
    try:
        deadline = time.monotonic() + 60
        while len(simctl.cards_per_pos_id(onec_sim)) < len(ids):
            assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
            assert time.monotonic() < deadline, "the daemon did not register the seeded messages"
            time.sleep(0.1)
        health = requests.get(f"http://127.0.0.1:{port}/healthz", timeout=5)
        assert health.status_code == 200 and health.json()["status"] == "ok"
        metrics = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
        assert 'connector_messages{state="registered"}' in metrics or 'connector_messages{state="in_work"}' in metrics
        assert 'connector_sstu_appeals{state="failed"} 0.0' in metrics
        second = subprocess.run([sys.executable, "-m", "connector", "run", "--once", "--config", str(path)],
                                capture_output=True, text=True, timeout=60)
        assert second.returncode == 1 and "another daemon already uses" in second.stderr
        while requests.get(f"{sstu_server.url}/_sim/state", timeout=5).json()["summary"]["appeals"] < len(ids):
            assert time.monotonic() < deadline, "the daemon did not report the registered appeals to SSTU"
            time.sleep(0.1)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        sstu_server.__exit__(None, None, None)
    assert simctl.cards_per_pos_id(onec_sim) == {pid: 1 for pid in ids}


def test_edms_check_reports_each_account(tmp_path: Path, onec_sim: SimServer) -> None:
    good = _config(tmp_path, onec=onec_sim.url)
    result = CliRunner().invoke(main, ["edms", "check", "--config", str(good)])
    assert result.exit_code == 0, result.output
    assert "demo → edms.onec (onec_dm): ok" in result.output
    assert "useDigitalSignatures=false" in result.output  # DMGetSettingsRequest, read by health()

    bad = _config(tmp_path, onec=onec_sim.url)
    bad.write_text(bad.read_text().replace('password = "1c-secret"', 'password = "wrong-1c-password"'))
    result = CliRunner().invoke(main, ["edms", "check", "--config", str(bad)])
    assert result.exit_code == 1
    assert "demo → edms.onec (onec_dm): FAILED" in result.output
    assert "wrong-1c-password" not in result.output

    down = _config(tmp_path)  # nothing listens on port 9
    result = CliRunner().invoke(main, ["edms", "check", "--json", "--config", str(down)])
    assert result.exit_code == 1
    [check] = json.loads(result.stdout)
    assert check["ok"] is False and "127.0.0.1:9" in check["problem"]
    assert CliRunner().invoke(main, ["edms", "check", "--account", "nope", "--config", str(down)]).exit_code == 2
