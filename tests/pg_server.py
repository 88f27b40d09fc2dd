"""A throw-away PostgreSQL server on loopback for the test suite.

``tests/system_deps.py`` installs Debian's ``postgresql`` package when no server binaries
are present (``make test`` runs it); :func:`start_server` then creates a
cluster in a temporary directory and starts it on a free port.  Nothing is skipped: if the
server cannot start, the PostgreSQL tests fail with the reason.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path


def server_bin_dir() -> Path | None:
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), reverse=True)
    if candidates:
        return Path(candidates[0]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class PgServer:
    url: str
    data_dir: Path
    bin_dir: Path
    run_as: list[str]

    def pg_ctl(self, *args: str) -> None:
        subprocess.run([*self.run_as, str(self.bin_dir / "pg_ctl"), "-D", str(self.data_dir), *args],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)

    def stop(self) -> None:
        try:
            self.pg_ctl("stop", "-m", "immediate", "-w")
        finally:
            shutil.rmtree(self.data_dir.parent, ignore_errors=True)

    def restart(self) -> None:
        self.pg_ctl("restart", "-m", "immediate", "-w")


def start_server() -> PgServer:
    bin_dir = server_bin_dir()
    if bin_dir is None:
        raise RuntimeError("no PostgreSQL server binaries: run `python tests/system_deps.py`")
    base = Path(tempfile.mkdtemp(prefix="pos-connector-pg-"))
    data_dir = base / "data"
    run_as: list[str] = []
    if os.geteuid() == 0:  # initdb refuses to run as root
        user = "postgres"
        pwd.getpwnam(user)
        run_as = ["runuser", "-u", user, "--"]
        os.chmod(base, 0o755)
        shutil.chown(base, user=user)
    port = _free_port()
    subprocess.run([*run_as, str(bin_dir / "initdb"), "-D", str(data_dir), "-U", "connector", "--auth=trust",
                    "-E", "UTF8", "--locale=C.UTF-8"],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    options = f"-c listen_addresses=127.0.0.1 -c port={port} -c unix_socket_directories={base} -c fsync=off"
    server = PgServer(url=f"postgresql+psycopg://connector@127.0.0.1:{port}/postgres",
                      data_dir=data_dir, bin_dir=bin_dir, run_as=run_as)
    server.pg_ctl("start", "-w", "-t", "60", "-l", str(base / "server.log"), "-o", options)
    deadline = time.monotonic() + 30
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                break
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
    return server


def create_database(server: PgServer, name: str) -> str:
    import psycopg

    with psycopg.connect(server.url.replace("+psycopg", ""), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return server.url.rsplit("/", 1)[0] + f"/{name}"
