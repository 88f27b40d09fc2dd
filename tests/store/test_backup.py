"""``connector db backup | restore | check`` as an operator uses them: a backup taken while the
daemon works, the data directory (or the PostgreSQL schema) wiped, the backup restored — and the
daemon finishes every message exactly once, as if nothing had happened."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from connector.simulators.server import SimServer

import simctl

pytestmark = pytest.mark.slow


def _config(path: Path, data: Path, db_url: str, pos: str, onec: str) -> None:
    path.write_text(f"""
[daemon]
data_dir = "{data}"
database_url = "{db_url}"
batch_size = 5
max_attempts = 50
retry_delay_seconds = 0
lease_seconds = 600

[schedule]
pull_seconds = 1
register_seconds = 1
track_seconds = 1
push_seconds = 1

[retry]
max_attempts = 4
initial_wait = 0
max_wait = 0

[http]
timeout_seconds = 10
allow_insecure = true

[logging]
level = "WARNING"

[monitoring]
listen = "127.0.0.1:0"

[[accounts]]
name = "demo"
pos_base_url = "{pos}"
login = "lko-demo"
password = "demo-secret"
edms = "onec"
page_size = 10

[edms.onec]
type = "onec_dm"
url = "{onec}/base/ws/DMService"
login = "integration"
password = "1c-secret"
""", encoding="utf-8")


def _cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "connector", *args], capture_output=True, text=True,
                          timeout=timeout)


def _wait(predicate, timeout: float = 60) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def _stuck(db_url: str) -> list[tuple[object, ...]]:
    """What keeps messages from closing, for the failure message."""
    engine = create_engine(db_url.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT o.message_id, o.kind, o.target, o.state, o.attempts, o.last_error, m.state "
                                 "FROM outbox o JOIN messages m ON m.id = o.message_id "
                                 "WHERE o.state != 'sent' OR m.state != 'closed'")).all()
    engine.dispose()
    return [tuple(r) for r in rows]


def _wipe(db_url: str, data: Path) -> None:
    shutil.rmtree(data, ignore_errors=True)
    if db_url.startswith("sqlite:///"):
        database = Path(db_url.removeprefix("sqlite:///"))
        for path in (database, Path(f"{database}-wal"), Path(f"{database}-shm")):
            path.unlink(missing_ok=True)
    else:
        engine = create_engine(db_url.replace("postgresql://", "postgresql+psycopg://", 1))
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        engine.dispose()


def test_backup_under_a_running_daemon_wipe_restore_loses_nothing(
        tmp_path: Path, db_url: str, pos_sim: SimServer, onec_sim: SimServer) -> None:
    count = 30
    ids = simctl.seed(pos_sim, count)
    data = tmp_path / "data"
    config = tmp_path / "connector.toml"
    _config(config, data, db_url, pos_sim.url, onec_sim.url)
    backup = tmp_path / "backups" / "store.tar.gz"

    daemon = subprocess.Popen([sys.executable, "-m", "connector", "run", "--config", str(config)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        _wait(lambda: len(simctl.cards_per_pos_id(onec_sim)) >= 10)
        simctl.onec_act(onec_sim, action="auto", assign=True, answer=True)
        _wait(lambda: simctl.pos_summary(pos_sim).get("answers", 0) >= 3)
        made = _cli("db", "backup", str(backup), "--config", str(config), "--json")
        assert made.returncode == 0, made.stderr
        report = json.loads(made.stdout)
        assert report["messages"] > 0 and report["files"] > 0
        assert oct(backup.stat().st_mode & 0o777) == "0o600"
        # the daemon keeps working after the snapshot: the restored store will be behind the peers
        answered_at_backup = simctl.pos_summary(pos_sim).get("answers", 0)

        def more_answered() -> bool:
            simctl.onec_act(onec_sim, action="auto", assign=True, answer=True)
            return simctl.pos_summary(pos_sim).get("answers", 0) >= answered_at_backup + 3

        _wait(more_answered)
    finally:
        daemon.send_signal(signal.SIGTERM)
        _, stderr = daemon.communicate(timeout=60)
    assert daemon.returncode == 0, stderr.decode()[-2000:]

    again = _cli("db", "backup", str(backup), "--config", str(config))
    assert again.returncode == 2 and "already exists" in again.stderr and "Traceback" not in again.stderr

    _wipe(db_url, data)
    restored = _cli("db", "restore", str(backup), "--config", str(config))
    assert restored.returncode == 0, restored.stderr
    assert f"{report['messages']} message(s)" in restored.stdout
    checked = _cli("db", "check", "--config", str(config), "--json")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert json.loads(checked.stdout)["ok"] is True

    # a second restore over a store that holds messages needs --force
    refused = _cli("db", "restore", str(backup), "--config", str(config))
    assert refused.returncode == 2 and "--force" in refused.stderr

    # the restored store is behind the peers: passes until every message is closed (a loaded
    # machine may need more than the four a quiet one does), never a second card or answer
    status: dict = {}
    for _ in range(10):
        simctl.onec_act(onec_sim, action="auto", assign=True, answer=True)
        done = _cli("run", "--once", "--config", str(config), timeout=300)
        assert done.returncode in (0, 1), done.stdout[-2000:] + done.stderr[-2000:]
        status = json.loads(_cli("status", "--config", str(config), "--json").stdout)
        if status["messages_by_state"] == {"closed": count}:
            break
    assert status["messages_by_state"] == {"closed": count}, (status, _stuck(db_url))
    assert status["open_failures"] == 0, status
    appeals = simctl.pos_appeals(pos_sim)
    assert {pid: len(appeals[pid]["answers"]) for pid in ids} == {pid: 1 for pid in ids}
    assert simctl.cards_per_pos_id(onec_sim) == {pid: 1 for pid in ids}


def test_db_check_names_a_missing_and_a_damaged_attachment(
        tmp_path: Path, pos_sim: SimServer, onec_sim: SimServer) -> None:
    simctl.seed(pos_sim, 6)
    data = tmp_path / "data"
    config = tmp_path / "connector.toml"
    _config(config, data, f"sqlite:///{data / 'connector.db'}", pos_sim.url, onec_sim.url)
    assert _cli("run", "--once", "--config", str(config), timeout=300).returncode == 0
    files = sorted(p for p in (data / "attachments").rglob("*") if p.is_file())
    assert len(files) >= 2
    files[0].unlink()
    files[1].write_bytes(b"tampered")
    (data / "attachments" / "stray.bin").write_bytes(b"x")
    checked = _cli("db", "check", "--config", str(config))
    assert checked.returncode == 1, checked.stdout
    assert "missing_file: " in checked.stdout and str(files[0]) in checked.stdout
    assert "damaged_file: " in checked.stdout and str(files[1]) in checked.stdout
    assert "orphaned_file: " in checked.stdout and "stray.bin" in checked.stdout
    assert "Traceback" not in checked.stdout + checked.stderr


def test_restore_refuses_a_file_that_is_not_a_backup(tmp_path: Path) -> None:
    data = tmp_path / "data"
    config = tmp_path / "connector.toml"
    _config(config, data, f"sqlite:///{data / 'connector.db'}", "http://127.0.0.1:9", "http://127.0.0.1:9")
    bogus = tmp_path / "bogus.tar.gz"
    bogus.write_bytes(os.urandom(64))
    result = _cli("db", "restore", str(bogus), "--config", str(config))
    assert result.returncode == 2 and str(bogus) in result.stderr and "Traceback" not in result.stderr


def test_a_restore_frees_the_leases_of_the_workers_that_were_running(tmp_path: Path, db_url: str) -> None:
    """A backup taken under running workers holds their leases; nothing would free them on PostgreSQL
    before they expire (lease_seconds), so the restored messages would sit untouched that long."""
    from datetime import UTC, datetime, timedelta

    from connector.store.backup import backup, restore
    from connector.store.db import Store
    from connector.store.models import Message

    data = tmp_path / "data"
    store = Store(db_url)
    with store.sessions.begin() as session:
        session.add(Message(account="a", pos_id="P-1", state="registered", attempts=0, claimed_by="host:123",
                            lease_until=datetime.now(UTC) + timedelta(hours=1)))
    archive = tmp_path / "b.tar.gz"
    backup(store, data, archive)
    store.dispose()
    _wipe(db_url, data)
    restore(db_url, data, archive, force=False)
    store = Store(db_url)
    with store.sessions() as session:
        [message] = session.query(Message).all()
        assert (message.pos_id, message.claimed_by, message.lease_until) == ("P-1", None, None)
    store.dispose()
