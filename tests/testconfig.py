"""The settings tests run with: simulators on loopback, no waiting between retries."""

from __future__ import annotations

from pathlib import Path
from typing import Any

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
