"""`connector demo` is the first thing an admin runs: it must finish with every message through."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("edms", ["onec", "medo", "directum"])
def test_demo_json_reports_every_message_through(tmp_path: Path, edms: str) -> None:
    result = subprocess.run([sys.executable, "-m", "connector", "demo", "--messages", "30", "--json",
                             "--edms", edms, "--data-dir", str(tmp_path / "demo")],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)  # --json: one document on stdout and nothing else
    assert report["ok"] is True
    assert (report["pulled"], report["cards"], report["answered_in_pos"], report["closed"]) == (30, 30, 30, 30)
    assert (report["duplicate_cards"], report["duplicate_answers"], report["failures"]) == (0, 0, 0)
    assert Path(report["data_dir"]) == tmp_path / "demo"
