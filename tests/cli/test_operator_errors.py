"""What an operator sees when something is wrong: the real ``connector`` command in a subprocess,
one row per case.  Every row asserts the exit code (0 done, 1 work failed or differences found,
2 bad usage or input), that no traceback reaches the operator, and that the message names the key,
path or row to fix."""

from __future__ import annotations

import json
import os
import socket
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook

from connector.demo_sstu import DEMO_DEPARTMENT_ID, prepare_mapping
from connector.simulators.server import SimServer
from connector.simulators.sstu import SstuSimulator
from connector.store.db import Store
from connector.store.models import JobRun, utcnow

import simctl
from clirun import connector, free_port, write_config


@dataclass
class Run:
    """What a case's setup prepared: the command line, and what to check afterwards."""

    args: list[str]
    cwd: Path
    env: dict[str, str] = field(default_factory=dict)
    check: Callable[[subprocess.CompletedProcess[str]], None] = lambda _r: None


@dataclass
class Rig:
    tmp: Path
    request: pytest.FixtureRequest

    def sim(self, name: str) -> SimServer:
        return self.request.getfixturevalue(name)  # type: ignore[no-any-return]

    def upgraded(self, config: Path) -> Path:
        done = connector("db", "upgrade", "--config", str(config), cwd=self.tmp)
        assert done.returncode == 0, done.stderr
        return config


@pytest.fixture
def sstu_sim() -> Iterator[SimServer]:
    with SimServer(SstuSimulator()) as server:
        yield server


# --- the cases: each setup returns the Run; the table below gives exit code and message -------------

def demo_on_a_foreign_directory(rig: Rig) -> Run:
    target = rig.tmp / "var-lib"
    target.mkdir()
    (target / "production.db").write_text("precious", encoding="utf-8")

    def intact(_r: subprocess.CompletedProcess[str]) -> None:
        assert (target / "production.db").read_text(encoding="utf-8") == "precious"
        assert sorted(p.name for p in target.iterdir()) == ["production.db"]

    return Run(["demo", "--messages", "2", "--data-dir", str(target)], rig.tmp, check=intact)


def status_from_another_directory_names_the_missing_store(rig: Rig) -> Run:
    config = write_config(rig.tmp / "etc" / "connector.toml", daemon='data_dir = "var"')
    elsewhere = rig.tmp / "home"
    elsewhere.mkdir()

    def nothing_created(_r: subprocess.CompletedProcess[str]) -> None:
        assert not (elsewhere / "var").exists() and not (rig.tmp / "etc" / "var" / "connector.db").exists()

    return Run(["status", "--config", str(config)], elsewhere, check=nothing_created)


def an_import_never_creates_a_store(rig: Rig) -> Run:
    config = write_config(rig.tmp / "etc" / "connector.toml", daemon='data_dir = "var"')
    sample = Path(__file__).parents[2] / "connector" / "rubric_mapping" / "samples" / "SAMPLE_sstu_classifier.json"

    def nothing_created(_r: subprocess.CompletedProcess[str]) -> None:
        assert not (rig.tmp / "etc" / "var" / "connector.db").exists()

    return Run(["classifier", "import", str(sample), "--config", str(config)], rig.tmp, check=nothing_created)


def status_json_error_is_a_document(rig: Rig) -> Run:
    config = write_config(rig.tmp / "connector.toml")

    def error_document(r: subprocess.CompletedProcess[str]) -> None:
        assert str(rig.tmp / "data" / "connector.db") in json.loads(r.stdout)["error"]

    return Run(["status", "--json", "--config", str(config)], rig.tmp, check=error_document)


def status_names_config_and_store_relative_to_the_file(rig: Rig) -> Run:
    config = write_config(rig.tmp / "etc" / "connector.toml", daemon='data_dir = "var"')
    done = connector("db", "upgrade", "--config", "connector.toml", cwd=rig.tmp / "etc")
    assert done.returncode == 0, done.stderr
    return Run(["status", "--config", str(config)], rig.tmp)


def status_shows_a_running_job_with_its_zone(rig: Rig) -> Run:
    config = rig.upgraded(write_config(rig.tmp / "connector.toml"))
    store = Store(f"sqlite:///{rig.tmp / 'data' / 'connector.db'}")
    with store.sessions.begin() as session:
        session.add(JobRun(job="pull", worker="w", started_at=utcnow()))
    store.dispose()

    def zoned(r: subprocess.CompletedProcess[str]) -> None:
        [line] = [line for line in r.stdout.splitlines() if line.startswith("last pull")]
        assert line.endswith("running (no end recorded yet)") and " MSK " in line, line

    return Run(["status", "--config", str(config)], rig.tmp, check=zoned)


def postgres_down(rig: Rig) -> Run:
    port = free_port()
    config = write_config(rig.tmp / "connector.toml",
                          daemon=f'data_dir = "data"\ndatabase_url = "postgresql://op:s3cretpw@127.0.0.1:{port}/c"')
    return Run(["status", "--config", str(config)], rig.tmp, env={"PORT": str(port)})


def postgres_down_at_run_once(rig: Rig) -> Run:
    run = postgres_down(rig)
    return Run(["run", "--once", *run.args[1:]], rig.tmp)


def mysql_url(rig: Rig) -> Run:
    config = write_config(rig.tmp / "connector.toml", daemon='data_dir = "data"\ndatabase_url = "mysql://u@h/db"')
    return Run(["failures", "list", "--config", str(config)], rig.tmp)


def nonsense_url(rig: Rig) -> Run:
    config = write_config(rig.tmp / "connector.toml", daemon='data_dir = "data"\ndatabase_url = "nonsense"')
    return Run(["status", "--config", str(config)], rig.tmp)


def psycopg_not_installed(rig: Rig) -> Run:
    shim = rig.tmp / "shim" / "psycopg"
    shim.mkdir(parents=True)
    (shim / "__init__.py").write_text("raise ModuleNotFoundError(\"No module named 'psycopg'\", name='psycopg')\n")
    config = write_config(rig.tmp / "connector.toml",
                          daemon='data_dir = "data"\ndatabase_url = "postgresql://u@127.0.0.1:1/db"')
    return Run(["status", "--config", str(config)], rig.tmp, env={"PYTHONPATH": str(shim.parent)})


def sstu_send_while_sstu_answers_503(rig: Rig) -> Run:
    pos, onec, sstu = rig.sim("pos_sim"), rig.sim("onec_sim"), rig.sim("sstu_sim")
    config = rig.tmp / "connector.toml"
    onec_url = f"{onec.url}/base/ws/DMService"
    simctl.seed(pos, 4)
    registered = connector("run", "--once", "--config", str(write_config(config, pos=pos.url, onec=onec_url)),
                           cwd=rig.tmp)
    assert registered.returncode == 0, registered.stderr
    store = Store(f"sqlite:///{rig.tmp / 'data' / 'connector.db'}")
    prepare_mapping(store, rig.tmp / "mapping")
    store.dispose()
    # now the ССТУ route is switched on, and ССТУ answers 503 to everything
    write_config(config, pos=pos.url, onec=onec_url, retry_delay=60, head=f'[logging]\nformat = "text"\n\n[sstu]\n'
                 f'department_id = "{DEMO_DEPARTMENT_ID}"\nbase_url = "{sstu.url}"\n')
    simctl.faults(sstu, error_rate=1.0)

    def recorded_as_failed(r: subprocess.CompletedProcess[str]) -> None:
        assert "to retry" in r.stdout
        assert f"ССТУ POST {sstu.url}/" in r.stderr  # the retry warning names the system and endpoint
        status = connector("status", "--json", "--config", str(config), cwd=rig.tmp)
        assert json.loads(status.stdout)["last_runs"]["sstu"]["ok"] is False

    return Run(["sstu", "send", "--config", str(config)], rig.tmp, check=recorded_as_failed)


def monitoring_port_in_use(rig: Rig) -> Run:
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    holder.listen()
    port = holder.getsockname()[1]
    rig.request.addfinalizer(holder.close)
    config = write_config(rig.tmp / "connector.toml", head=f'[monitoring]\nlisten = "127.0.0.1:{port}"\n')
    return Run(["run", "--config", str(config)], rig.tmp, env={"PORT": str(port)})


def edms_url_without_scheme(rig: Rig) -> Run:
    config = write_config(rig.tmp / "connector.toml", onec="dms.example.org/base/ws/DMService")
    return Run(["status", "--config", str(config)], rig.tmp)


def classifier_without_one_valid_code(rig: Rig) -> Run:
    config = rig.upgraded(write_config(rig.tmp / "connector.toml"))
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["0002.0000.00001", "Социальная сфера"])
    book.save(rig.tmp / "classifier.xlsx")
    return Run(["classifier", "import", str(rig.tmp / "classifier.xlsx"), "--config", str(config)], rig.tmp)


def data_dir_below_a_file(rig: Rig) -> Run:
    (rig.tmp / "blocker").write_text("", encoding="utf-8")
    config = write_config(rig.tmp / "connector.toml", daemon='data_dir = "blocker/data"')
    return Run(["run", "--once", "--config", str(config)], rig.tmp)


def data_dir_not_writable(rig: Rig) -> Run:
    if os.geteuid() == 0:
        pytest.skip("root writes everywhere")
    (rig.tmp / "ro").mkdir(mode=0o500)
    config = write_config(rig.tmp / "connector.toml", daemon='data_dir = "ro/data"')
    return Run(["run", "--once", "--config", str(config)], rig.tmp)


def world_readable_secret_file(rig: Rig) -> Run:
    secret = rig.tmp / "lko.password"
    secret.write_text("demo-secret\n", encoding="utf-8")
    secret.chmod(0o644)
    config = write_config(rig.tmp / "connector.toml", password='password_file = "lko.password"')
    return Run(["db", "upgrade", "--config", str(config)], rig.tmp)


def empty_archive_dir_means_no_archives(rig: Rig) -> Run:
    config = rig.upgraded(write_config(
        rig.tmp / "connector.toml", head=f'[sstu]\ndepartment_id = "{DEMO_DEPARTMENT_ID}"\narchive_dir = ""\n'))
    store = Store(f"sqlite:///{rig.tmp / 'data' / 'connector.db'}")
    prepare_mapping(store, rig.tmp / "mapping")
    store.dispose()
    work = rig.tmp / "shell"
    work.mkdir()

    def nothing_written(_r: subprocess.CompletedProcess[str]) -> None:
        assert list(work.iterdir()) == [] and not (rig.tmp / "data" / "sstu").exists()

    return Run(["sstu", "export", "--period", "2020-01", "--config", str(config)], work, check=nothing_written)


def config_in_windows_1251(rig: Rig) -> Run:
    config = write_config(rig.tmp / "connector.toml", head="# Администрация района\n", encoding="cp1251")
    return Run(["status", "--config", str(config)], rig.tmp)


def connector_config_names_a_directory(rig: Rig) -> Run:
    return Run(["status"], rig.tmp, env={"CONNECTOR_CONFIG": str(rig.tmp)})


def failures_retry_unknown_id(rig: Rig) -> Run:
    config = rig.upgraded(write_config(rig.tmp / "connector.toml"))
    return Run(["failures", "retry", "999", "--config", str(config)], rig.tmp)


def sstu_resend_unknown_number(rig: Rig) -> Run:
    config = rig.upgraded(write_config(
        rig.tmp / "connector.toml",
        head=f'[sstu]\ndepartment_id = "{DEMO_DEPARTMENT_ID}"\nbase_url = "http://127.0.0.1:9"\n'))
    return Run(["sstu", "resend", "--number", "НЕТ-ТАКОГО-1", "--config", str(config)], rig.tmp)


def pos_reconcile_with_differences(rig: Rig) -> Run:
    config = rig.upgraded(write_config(rig.tmp / "connector.toml"))
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Sheet0"
    sheet.append(["Номер", "Статус"])
    sheet.append(["777", "Новое"])
    book.save(rig.tmp / "lko.xlsx")
    return Run(["pos", "reconcile", str(rig.tmp / "lko.xlsx"), "--config", str(config)], rig.tmp)


CASES: list[tuple[Callable[[Rig], Run], int, list[str], list[str]]] = [
    # setup, exit code, the message names…, never shown
    (demo_on_a_foreign_directory, 2, ["var-lib", "not empty and was not created by the demo"], []),
    (status_from_another_directory_names_the_missing_store, 2, ["no database at {tmp}/etc/var/connector.db"], []),
    (an_import_never_creates_a_store, 2, ["no database at {tmp}/etc/var/connector.db", "connector db upgrade"], []),
    (status_json_error_is_a_document, 2, ["no database at"], []),
    (status_names_config_and_store_relative_to_the_file, 0,
     ["configuration: {tmp}/etc/connector.toml", "database: {tmp}/etc/var/connector.db"], []),
    (status_shows_a_running_job_with_its_zone, 0, ["last pull", "running"], ["FAILED: None"]),
    (postgres_down, 1, ["database unavailable: 127.0.0.1:{PORT}: Connection refused"], ["s3cretpw"]),
    (postgres_down_at_run_once, 1, ["database unavailable: 127.0.0.1:"], ["s3cretpw"]),
    (mysql_url, 2, ["daemon.database_url", "unsupported database URL mysql"], []),
    (nonsense_url, 2, ["daemon.database_url", "unsupported database URL 'nonsense'"], []),
    (psycopg_not_installed, 2, ["PostgreSQL support is not installed: pip install 'pos-connector[postgres]'"], []),
    (sstu_send_while_sstu_answers_503, 1, ["item(s) left to retry", "HTTP 5"], []),
    (monitoring_port_in_use, 1, ["monitoring listen 127.0.0.1:{PORT} is in use: set [monitoring] listen"], []),
    (edms_url_without_scheme, 2, ["edms.onec.url", "must start with https://"], []),
    (classifier_without_one_valid_code, 2, ["classifier.xlsx", "Sheet row 1", "0002.0000.00001"],
     ["IntegrityError"]),
    (data_dir_below_a_file, 1, ["{tmp}/blocker/data", "Not a directory"], []),
    (data_dir_not_writable, 1, ["{tmp}/ro/data", "Permission denied"], []),
    (world_readable_secret_file, 0, ["password_file: secret file {tmp}/lko.password is readable by other users"],
     ["UserWarning"]),
    (empty_archive_dir_means_no_archives, 0, ["0 appeal(s)"], []),
    (config_in_windows_1251, 2, ["{tmp}/connector.toml", "not UTF-8"], []),
    (connector_config_names_a_directory, 2, ["{tmp} is a directory, not a configuration file"], []),
    (failures_retry_unknown_id, 2, ["no open failure with id 999"], ["re-queued 0"]),
    (sstu_resend_unknown_number, 2, ["НЕТ-ТАКОГО-1"], ["queued to be sent again"]),
    (pos_reconcile_with_differences, 1, ["1 difference(s)", "missing"], []),
]


@pytest.mark.parametrize(("setup", "code", "named", "hidden"), CASES, ids=[c[0].__name__ for c in CASES])
def test_operator_error(setup: Callable[[Rig], Run], code: int, named: list[str], hidden: list[str],
                        tmp_path: Path, request: pytest.FixtureRequest) -> None:
    tmp = tmp_path.resolve()
    run = setup(Rig(tmp, request))
    result = connector(*run.args, cwd=run.cwd, env=run.env)
    output = result.stdout + result.stderr
    assert "Traceback" not in output, output
    assert result.returncode == code, output
    values: dict[str, Any] = {"tmp": tmp, "PORT": run.env.get("PORT", "")}
    for text in named:
        assert text.format(**values) in output, output
    for text in hidden:
        assert text not in output, output
    run.check(result)
