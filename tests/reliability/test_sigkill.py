"""The real daemon as a subprocess, killed with SIGKILL mid-register and mid-push."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import tomllib  # noqa: F401  (the config below must stay valid TOML)
from collections.abc import Callable
from pathlib import Path

import pytest

from connector.simulators.server import SimServer

import simctl
from testconfig import settings_mapping

pytestmark = pytest.mark.slow


def _write_config(path: Path, mapping: dict) -> None:
    lines: list[str] = []

    def emit_table(name: str, table: dict) -> None:
        lines.append(f"[{name}]")
        for key, value in table.items():
            lines.append(f"{key} = {_toml(value)}")

    for section in ("daemon", "retry", "http"):
        emit_table(section, mapping[section])
    for account in mapping["accounts"]:
        lines.append("[[accounts]]")
        lines.extend(f"{k} = {_toml(v)}" for k, v in account.items())
    for name, target in mapping["edms"].items():
        emit_table(f"edms.{name}", target)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _toml(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def _run_once(config: Path, *, kill_when: Callable[[], bool] | None = None, timeout: float = 120) -> int | None:
    """Run ``connector run --once``; with ``kill_when``, SIGKILL it as soon as that holds."""
    proc = subprocess.Popen([sys.executable, "-m", "connector", "run", "--once", "--config", str(config)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env={**os.environ})
    deadline = time.monotonic() + timeout
    try:
        while proc.poll() is None:
            if kill_when is not None and kill_when():
                proc.send_signal(signal.SIGKILL)
                proc.wait(10)
                return None
            if time.monotonic() > deadline:
                raise AssertionError("daemon did not finish in time")
            time.sleep(0.02)
        output = proc.stdout.read().decode() if proc.stdout else ""
        assert proc.returncode == 0, output
        return proc.returncode
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_sigkill_during_register_and_push_leaves_one_card_and_one_answer(
        tmp_path: Path, pos_sim: SimServer, onec_sim: SimServer) -> None:
    count = 30
    ids = simctl.seed(pos_sim, count)
    config = tmp_path / "connector.toml"
    _write_config(config, settings_mapping(data_dir=tmp_path / "data",
                                           db_url=f"sqlite:///{tmp_path / 'data' / 'connector.db'}",
                                           pos_url=pos_sim.url, onec_url=onec_sim.url, lease_seconds=600))

    # 1. Killed while registering: some cards exist, not all.
    simctl.faults(onec_sim, latency_ms=40)
    assert _run_once(config, kill_when=lambda: 5 <= len(simctl.cards_per_pos_id(onec_sim)) < count) is None
    simctl.faults(onec_sim)
    _run_once(config)
    assert simctl.cards_per_pos_id(onec_sim) == {pid: 1 for pid in ids}

    # 2. Killed while pushing answers: some answers in POS, not all.
    simctl.onec_act(onec_sim, action="auto", assign=True, answer=True)
    simctl.faults(pos_sim, latency_ms=40)

    def some_answered() -> bool:
        return 5 <= simctl.pos_summary(pos_sim).get("answers", 0) < count

    assert _run_once(config, kill_when=some_answered) is None
    simctl.faults(pos_sim)
    _run_once(config)
    _run_once(config)

    appeals = simctl.pos_appeals(pos_sim)
    assert {pid: len(appeals[pid]["answers"]) for pid in ids} == {pid: 1 for pid in ids}
    assert simctl.cards_per_pos_id(onec_sim) == {pid: 1 for pid in ids}
