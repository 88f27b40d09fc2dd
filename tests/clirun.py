"""The real ``connector`` command in a subprocess, and a small configuration file for it."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

ACCOUNT = """
[[accounts]]
name = "demo"
pos_base_url = "{pos}"
login = "lko-demo"
{password}
edms = "onec"

[edms.onec]
type = "onec_dm"
url = "{onec}"
login = "integration"
password = "1c-secret"
"""


def connector(*args: str, cwd: Path, env: dict[str, str] | None = None,
              timeout: float = 90) -> subprocess.CompletedProcess[str]:
    # no configuration from the environment; the language stays the suite's (tests/conftest.py)
    environ = {k: v for k, v in os.environ.items() if not k.startswith("CONNECTOR_") or k == "CONNECTOR_UI__LANGUAGE"}
    return subprocess.run([sys.executable, "-m", "connector", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, env={**environ, **(env or {})})


def write_config(path: Path, *, daemon: str = 'data_dir = "data"', head: str = "", pos: str = "http://127.0.0.1:9",
                 onec: str = "http://127.0.0.1:9/base/ws/DMService", password: str = 'password = "demo-secret"',
                 encoding: str = "utf-8", retry_delay: int = 0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = (f"[daemon]\n{daemon}\nretry_delay_seconds = {retry_delay}\n\n[http]\nallow_insecure = true\n\n"
            "[retry]\nmax_attempts = 2\ninitial_wait = 0\nmax_wait = 0\n\n"
            f"{head}\n" + ACCOUNT.format(pos=pos, onec=onec, password=password))
    path.write_text(text, encoding=encoding)
    return path


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
