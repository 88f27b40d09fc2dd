"""``connector sstu export|send|resend|reconcile`` as an operator runs them, with a config file."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from click.testing import CliRunner, Result

from connector.cli import main
from connector.demo_sstu import DEMO_DEPARTMENT_ID, prepare_mapping
from connector.simulators.server import SimServer
from connector.simulators.sstu import SstuSimulator
from connector.sstu_export.service import period_of
from connector.store.db import Store

import simctl
from testconfig import body_today, onec_account_toml

pytestmark = pytest.mark.date_sensitive  # the export period is the body's current month

CONFIG = """
[daemon]
data_dir = "{data}"
retry_delay_seconds = 0

[http]
allow_insecure = true

[sstu]
department_id = "{department}"
base_url = "{sstu}"

""" + onec_account_toml("demo")


@pytest.fixture
def sstu_sim() -> Iterator[SimServer]:
    with SimServer(SstuSimulator()) as server:
        yield server


def _run(*args: str) -> tuple[Result, dict]:
    result = CliRunner().invoke(main, list(args))
    try:
        doc = json.loads(result.stdout) if "--json" in args else {}
    except ValueError:
        doc = {}
    return result, doc


def test_an_operator_sends_exports_reconciles_and_resends(
        tmp_path: Path, pos_sim: SimServer, onec_sim: SimServer, sstu_sim: SimServer) -> None:
    config = tmp_path / "connector.toml"
    config.write_text(CONFIG.format(data=tmp_path / "data", pos=pos_sim.url, onec=onec_sim.url, sstu=sstu_sim.url,
                                    department=DEMO_DEPARTMENT_ID), encoding="utf-8")
    simctl.seed(pos_sim, 6)

    result, _ = _run("run", "--once", "--config", str(config))
    assert result.exit_code == 1  # the sstu job cannot work without a mapping, and says so
    result, doc = _run("sstu", "send", "--json", "--config", str(config))
    assert result.exit_code == 1 and "no POS categories known yet" in doc["errors"][0]

    store = Store(f"sqlite:///{tmp_path / 'data' / 'connector.db'}")
    prepare_mapping(store, tmp_path / "mapping")
    store.dispose()
    result, doc = _run("run", "--once", "--config", str(config))  # one pass of every job, sstu included
    assert result.exit_code == 0, result.output
    assert requests.get(f"{sstu_sim.url}/_sim/state", params={"summary": 1}, timeout=5).json()["summary"]["appeals"] == 6
    result, doc = _run("sstu", "send", "--json", "--config", str(config))
    assert result.exit_code == 0 and doc["sent"] == 0
    result, doc = _run("status", "--json", "--config", str(config))
    assert doc["sstu_by_send_state"] == {"idle": 6}

    period = period_of(body_today())
    out = tmp_path / "carry"
    result, doc = _run("sstu", "export", "--period", period, "--through", "--out", str(out), "--json",
                       "--config", str(config))
    assert result.exit_code == 0, result.output
    assert doc["export"]["appeals"] == 6 and doc["export"]["parts"] == [str(out / "sstu_001.zip")]
    result, _ = _run("sstu", "validate", str(out))
    assert result.exit_code == 0 and "6 appeal(s)" in result.output

    numbers = sorted(a["number"] for a in requests.get(f"{sstu_sim.url}/_sim/state", timeout=5).json()["appeals"])
    requests.post(f"{sstu_sim.url}/_sim/act", timeout=5,
                  json={"action": "drop", "departmentId": DEMO_DEPARTMENT_ID, "number": numbers[2]})
    result, doc = _run("sstu", "reconcile", "--json", "--config", str(config))
    assert result.exit_code == 1 and doc["to_resend"] == [numbers[2]]
    result, doc = _run("sstu", "reconcile", "--resend", "--config", str(config))
    assert result.exit_code == 0 and "1 appeal(s) queued" in result.output
    result, doc = _run("sstu", "send", "--json", "--config", str(config))
    assert doc["sent"] == 1
    result, doc = _run("sstu", "reconcile", "--json", "--config", str(config))
    assert result.exit_code == 0 and doc["to_resend"] == []

    result, doc = _run("sstu", "resend", "--number", numbers[0], "--now", "--json", "--config", str(config))
    assert result.exit_code == 0 and doc == {"queued": 1, "upload": {"sent": 1, "failed": 0, "deferred": 0}}


def test_bad_period_and_missing_section_are_bad_input(tmp_path: Path) -> None:
    config = tmp_path / "connector.toml"
    config.write_text(CONFIG.format(data=tmp_path / "data", pos="http://127.0.0.1:9", onec="http://127.0.0.1:9",
                                    sstu="http://127.0.0.1:8", department=DEMO_DEPARTMENT_ID), encoding="utf-8")
    result, _ = _run("sstu", "export", "--period", "2026-13", "--config", str(config))
    assert result.exit_code == 2 and "--period: expected YYYY-MM, got '2026-13'" in result.output

    bare = tmp_path / "bare.toml"
    bare.write_text(config.read_text().replace(f'department_id = "{DEMO_DEPARTMENT_ID}"\n', "")
                    .replace('base_url = "http://127.0.0.1:8"\n', ""), encoding="utf-8")
    result, _ = _run("sstu", "send", "--config", str(bare))
    assert result.exit_code == 2 and "no [sstu] section" in result.output
