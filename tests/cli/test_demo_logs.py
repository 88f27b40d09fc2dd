"""The demo at DEBUG logging: no password, token, e-mail, phone or applicant's name in any log record."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from connector.simulators.pos import PosSimulator

pytestmark = pytest.mark.slow

MESSAGES = 25


def test_debug_logs_of_a_full_demo_carry_no_secrets_or_personal_data(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "connector", "demo", "--messages", str(MESSAGES),
                             "--log-level", "DEBUG", "--json", "--data-dir", str(tmp_path / "demo")],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    logs = result.stderr
    assert len(logs.splitlines()) > 100, "DEBUG logging must actually produce records"

    # The demo seeds its POS simulator deterministically: the same seed here gives the same people.
    twin = PosSimulator()
    twin.seed(MESSAGES, seed=2026)
    people = [sim.appeal.applicant for sim in twin.store.appeals.values()]
    assert len(people) == MESSAGES
    leaks = []
    for person in people:
        full_name = " ".join(p for p in (person.last_name, person.first_name, person.middle_name) if p)
        for value in (full_name, person.email, person.phone, person.address):
            if value and value in logs:
                leaks.append(value)
    assert leaks == []
    for secret in ("demo-secret", "1c-secret"):
        assert secret not in logs
    assert not re.search(r"Bearer\s+[A-Za-z0-9._-]{8,}", logs)
    assert not re.search(r"access_token", logs)
