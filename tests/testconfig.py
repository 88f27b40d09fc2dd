"""The settings tests run with: simulators on loopback, no waiting between retries."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from connector.sstu_export.settings import SstuSettings

# The body's zone of these settings (`[sstu] timezone`, Europe/Moscow by default): the product and the
# simulators date registrations, answers and periods in it, so a test's "today" comes from here, never
# from the machine's UTC date (21:00-24:00 UTC it is already tomorrow in Moscow).
BODY_ZONE = ZoneInfo(SstuSettings.model_fields["timezone"].default)


def body_today(now: datetime | None = None) -> date:
    """The body's date at ``now`` (aware; default the current moment)."""
    return (now or datetime.now(BODY_ZONE)).astimezone(BODY_ZONE).date()


# libfaketime 0.9.10 does not shift sem_clockwait, on which Python 3.11 waits for every lock, event and queue
# with a timeout: under it such a wait lasts the whole offset (weeks), so the daemon's scheduler and polling
# threads stall whatever the date. tests/faketime_run.py deselects these tests.
FAKETIME_STALLS_THREADS = pytest.mark.faketime_unsafe(
    reason="threads waiting with a timeout stall under libfaketime (sem_clockwait is not faked)")


POS_LOGIN, POS_PASSWORD = "lko-demo", "demo-secret"
ONEC_LOGIN, ONEC_PASSWORD = "integration", "1c-secret"


def settings_mapping(*, data_dir: Path, db_url: str, pos_url: str, onec_url: str,
                     **daemon: Any) -> dict[str, Any]:
    return {
        "daemon": {"data_dir": str(data_dir), "database_url": db_url, "batch_size": 7,
                   "retry_delay_seconds": 0, "max_attempts": 3, "lease_seconds": 30, **daemon},
        "retry": {"max_attempts": 4, "initial_wait": 0, "max_wait": 0},
        "http": {"timeout_seconds": 5, "allow_insecure": True},
        "accounts": [{"name": "demo", "pos_base_url": pos_url, "login": POS_LOGIN, "password": POS_PASSWORD,
                      "edms": "onec", "page_size": 10}],
        "edms": {"onec": {"type": "onec_dm", "url": f"{onec_url}/base/ws/DMService",
                          "login": ONEC_LOGIN, "password": ONEC_PASSWORD}},
    }


# One account on 1С as a TOML tail for config-file tests; placeholders {pos} and {onec} stay
# for the caller's .format().
ONEC_ACCOUNT_TOML = """
[[accounts]]
name = "{name}"
pos_base_url = "{{pos}}"
login = "lko-demo"
password = "demo-secret"
edms = "onec"

[edms.onec]
type = "onec_dm"
url = "{{onec}}/base/ws/DMService"
login = "integration"
password = "1c-secret"
"""


def onec_account_toml(name: str = "demo") -> str:
    return ONEC_ACCOUNT_TOML.format(name=name)
