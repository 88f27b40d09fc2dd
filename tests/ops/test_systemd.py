"""sd_notify against a datagram socket the test binds, and the shipped unit file."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from connector.ops import systemd

UNIT = Path(__file__).resolve().parents[2] / "connector" / "resources" / "pos-connector.service"


@pytest.fixture
def notify_socket(tmp_path: Path) -> Iterator[tuple[socket.socket, str]]:
    path = tmp_path / "notify.sock"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(path))
    sock.settimeout(2)
    yield sock, str(path)
    sock.close()


def test_ready_and_watchdog_reach_the_socket(notify_socket: tuple[socket.socket, str]) -> None:
    sock, path = notify_socket
    env = {"NOTIFY_SOCKET": path}
    assert systemd.ready(environ=env)
    assert sock.recv(4096) == b"READY=1"
    assert systemd.watchdog_ping(environ=env)
    assert sock.recv(4096) == b"WATCHDOG=1"
    assert systemd.stopping("finishing the running job", environ=env)
    assert sock.recv(4096) == b"STOPPING=1\nSTATUS=finishing the running job"


def test_abstract_namespace_socket() -> None:
    name = f"pos-connector-test-{uuid.uuid4().hex}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind("\0" + name)
        sock.settimeout(2)
        assert systemd.notify("READY=1", environ={"NOTIFY_SOCKET": "@" + name})
        assert sock.recv(4096) == b"READY=1"


def test_reads_the_process_environment(notify_socket: tuple[socket.socket, str],
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    sock, path = notify_socket
    monkeypatch.setenv("NOTIFY_SOCKET", path)
    assert systemd.watchdog_ping()
    assert sock.recv(4096) == b"WATCHDOG=1"


def test_no_socket_is_a_no_op(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    assert systemd.ready() is False
    assert systemd.notify("READY=1", environ={"NOTIFY_SOCKET": "vsock:2:1234"}) is False


def test_a_vanished_socket_does_not_raise(tmp_path: Path) -> None:
    assert systemd.notify("WATCHDOG=1", environ={"NOTIFY_SOCKET": str(tmp_path / "gone.sock")}) is False


@pytest.mark.parametrize(("env", "expected"), [
    ({}, None),
    ({"WATCHDOG_USEC": "120000000"}, 60.0),
    ({"WATCHDOG_USEC": "0"}, None),
    ({"WATCHDOG_USEC": "junk"}, None),
    ({"WATCHDOG_USEC": "120000000", "WATCHDOG_PID": str(os.getpid())}, 60.0),
    ({"WATCHDOG_USEC": "120000000", "WATCHDOG_PID": "1"}, None),  # meant for another process
])
def test_watchdog_interval(env: dict[str, str], expected: float | None) -> None:
    assert systemd.watchdog_interval(env) == expected


def _unit_options(text: str) -> dict[str, dict[str, list[str]]]:
    """systemd unit syntax: sections, repeated keys accumulate (configparser cannot keep them)."""
    sections: dict[str, dict[str, list[str]]] = {}
    current: dict[str, list[str]] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], {})
            continue
        key, _, value = line.partition("=")
        current.setdefault(key.strip(), []).append(value.strip())
    return sections


def test_unit_file_hardening() -> None:
    unit = _unit_options(UNIT.read_text(encoding="utf-8"))
    service = {k: v[-1] for k, v in unit["Service"].items()}
    expected = {
        "Type": "notify", "User": "pos-connector", "WatchdogSec": "120", "Restart": "on-failure",
        "ExecStart": "/opt/pos-connector/venv/bin/connector run --config /etc/pos-connector/connector.toml",
        "NoNewPrivileges": "yes", "ProtectSystem": "strict", "ProtectHome": "yes", "PrivateTmp": "yes",
        "PrivateDevices": "yes", "ReadWritePaths": "/var/lib/pos-connector", "StateDirectory": "pos-connector",
        "StateDirectoryMode": "0700", "ProtectKernelTunables": "yes", "ProtectKernelModules": "yes",
        "ProtectControlGroups": "yes", "RestrictAddressFamilies": "AF_UNIX AF_INET AF_INET6",
        "LockPersonality": "yes", "MemoryDenyWriteExecute": "yes", "CapabilityBoundingSet": "", "UMask": "0077",
    }
    assert {k: service.get(k) for k in expected} == expected
    assert "@system-service" in unit["Service"]["SystemCallFilter"]
    assert int(service["TimeoutStopSec"]) >= 600  # the running job may finish
    assert unit["Install"]["WantedBy"] == ["multi-user.target"]


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
def test_unit_file_verifies(tmp_path: Path) -> None:
    # The real ExecStart does not exist here; verify the same unit with an executable that does.
    copy = tmp_path / "pos-connector.service"
    copy.write_text(UNIT.read_text(encoding="utf-8").replace("/opt/pos-connector/venv/bin/connector", "/bin/true"))
    result = subprocess.run(["systemd-analyze", "verify", str(copy)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == ""
