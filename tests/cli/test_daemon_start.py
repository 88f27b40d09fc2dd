"""Starting the daemon where an operator can get it wrong: two daemons on one SQLite file, a
database that is down at start, and the demo pointed at a directory that is not its own."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from clirun import connector, free_port, write_config


def _daemon(config: Path, cwd: Path) -> subprocess.Popen[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("CONNECTOR_")}
    return subprocess.Popen([sys.executable, "-m", "connector", "run", "--config", str(config)], cwd=cwd,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=environ)


def _stop(proc: subprocess.Popen[str]) -> tuple[int, str]:
    proc.send_signal(signal.SIGTERM)
    try:
        out, err = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
    return proc.returncode, out + err


def test_two_daemons_with_different_data_dirs_refuse_one_sqlite_database(tmp_path: Path) -> None:
    shared = tmp_path / "shared" / "connector.db"
    slow = "\n[schedule]\npull_seconds = 3600\nregister_seconds = 3600\ntrack_seconds = 3600\npush_seconds = 3600\n"
    configs = [write_config(tmp_path / name / "connector.toml",
                            daemon=f'data_dir = "data"\ndatabase_url = "sqlite:///{shared}"',
                            head=f'[monitoring]\nlisten = "127.0.0.1:0"\n{slow}') for name in ("a", "b")]
    first = _daemon(configs[0], tmp_path)
    try:
        deadline = time.monotonic() + 30
        while not shared.with_name("connector.db.lock").exists() or not shared.exists():
            assert first.poll() is None, first.communicate()
            assert time.monotonic() < deadline, "the first daemon did not start"
            time.sleep(0.1)
        time.sleep(0.5)
        second = _daemon(configs[1], tmp_path)
        try:
            out, err = second.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            second.kill()
            raise AssertionError("the second daemon ran alongside the first on the same database") from None
        assert second.returncode == 1, out + err
        assert f"база данных {shared} уже используется другим экземпляром службы" in err and "Traceback" not in out + err
        assert first.poll() is None
    finally:
        code, output = _stop(first)
    assert code == 0, output


def test_the_daemon_waits_for_a_database_that_is_down_and_says_so_once(tmp_path: Path) -> None:
    port = free_port()
    config = write_config(tmp_path / "connector.toml",
                          daemon=f'data_dir = "data"\ndatabase_url = "postgresql://op:pw@127.0.0.1:{port}/c"')
    daemon = subprocess.Popen([sys.executable, "-m", "connector", "run", "--config", str(config)], cwd=tmp_path,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              env={k: v for k, v in os.environ.items() if not k.startswith("CONNECTOR_")})
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(iter(daemon.stdout.readline, "")) if daemon.stdout else None,
                              daemon=True)
    reader.start()
    deadline = time.monotonic() + 60
    while not any("database unavailable" in line for line in lines):
        assert daemon.poll() is None, "".join(lines)
        assert time.monotonic() < deadline, "the daemon never said the database is unavailable"
        time.sleep(0.1)
    time.sleep(4)  # back-off 1 s, 2 s: more attempts, still one line
    assert daemon.poll() is None, "".join(lines)
    daemon.send_signal(signal.SIGTERM)
    assert daemon.wait(30) == 0, "".join(lines)
    reader.join(10)
    output = "".join(lines)
    assert sum(f"database unavailable: 127.0.0.1:{port}" in line for line in lines) == 1, output
    assert "Traceback" not in output and "pw@" not in output


def test_demo_reuses_its_own_directory_and_leaves_a_foreign_file_in_it(tmp_path: Path) -> None:
    target = tmp_path / "demo"
    first = connector("demo", "--messages", "2", "--data-dir", str(target), cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    (target / "notes.txt").write_text("mine", encoding="utf-8")
    again = connector("demo", "--messages", "2", "--data-dir", str(target), cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert (target / "notes.txt").read_text(encoding="utf-8") == "mine"
