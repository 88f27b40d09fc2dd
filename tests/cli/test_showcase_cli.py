"""``connector showcase upload`` as an operator back-fills the POS data showcase, with a config file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from connector.cli import main
from connector.simulators.server import SimServer

import simctl
from testconfig import onec_account_toml

pytestmark = pytest.mark.date_sensitive  # received dates and the overdue flag follow the body's calendar

CONFIG = """
[daemon]
data_dir = "{data}"
retry_delay_seconds = 0

[http]
allow_insecure = true

[showcase]
enabled = true
since = "2020-01-01"

""" + onec_account_toml("demo")


def _run(*args: str) -> tuple[Result, dict[str, Any]]:
    result = CliRunner().invoke(main, list(args))
    try:
        doc = json.loads(result.stdout) if "--json" in args else {}
    except ValueError:
        doc = {}
    return result, doc


def test_an_operator_counts_then_back_fills_and_a_second_run_sends_nothing(
        tmp_path: Path, pos_sim: SimServer, onec_sim: SimServer) -> None:
    config = tmp_path / "connector.toml"
    config.write_text(CONFIG.format(data=tmp_path / "data", pos=pos_sim.url, onec=onec_sim.url), encoding="utf-8")
    simctl.seed(pos_sim, 4)
    result, _ = _run("run", "--once", "--config", str(config))  # pull … and the showcase job
    assert result.exit_code == 0, result.output
    assert simctl.pos_summary(pos_sim)["showcase"] == 4
    simctl.seed(pos_sim, 2, seed=8)
    assert _run("run", "--once", "--config", str(config))[0].exit_code == 0
    assert simctl.pos_summary(pos_sim)["showcase"] == 6

    result, doc = _run("showcase", "upload", "--since", "2019-01-01", "--dry-run", "--json", "--config", str(config))
    assert result.exit_code == 0, result.output
    assert (doc["dry_run"], doc["looked_at"], doc["to_upload"], doc["uploaded"]) == (True, 6, 0, 0)
    uploads = simctl.pos_summary(pos_sim)["showcaseUploads"]
    result, _ = _run("showcase", "upload", "--config", str(config))
    assert result.exit_code == 0 and "uploaded 0, rejected 0" in result.output
    assert simctl.pos_summary(pos_sim)["showcaseUploads"] == uploads

    result, _ = _run("status", "--config", str(config))
    assert "showcase items: idle 6" in result.output
    result, _ = _run("showcase", "upload", "--since", "1.12.2026", "--config", str(config))
    assert result.exit_code == 2 and "1.12.2026" in result.output  # a date that is not YYYY-MM-DD
