"""``connector doctor`` against real simulators: a ready installation says so, and each thing an
installer gets wrong is one failed or warned row naming it."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from connector.demo_sstu import DEMO_DEPARTMENT_ID
from connector.simulators.server import SimServer
from connector.simulators.sstu import SstuSimulator

from clirun import connector, write_config


@pytest.fixture
def sstu_sim() -> Iterator[SimServer]:
    with SimServer(SstuSimulator()) as server:
        yield server


def _config(tmp_path: Path, pos: str, onec: str, sstu: str, *, password: str = "demo-secret") -> Path:
    secret = tmp_path / "lko.password"
    secret.write_text(password + "\n")
    secret.chmod(0o600)
    return write_config(tmp_path / "connector.toml", pos=pos, onec=f"{onec}/base/ws/DMService",
                        password=f'password_file = "{secret}"',
                        head=f'[sstu]\ndepartment_id = "{DEMO_DEPARTMENT_ID}"\nbase_url = "{sstu}"\n')


def _rows(result_stdout: str) -> dict[str, dict[str, str]]:
    doc = json.loads(result_stdout)
    return {c["name"]: c for c in doc["checks"]} | {"_worst": {"result": doc["worst"]}}


def test_a_ready_installation_passes_every_check(tmp_path: Path, pos_sim: SimServer, onec_sim: SimServer,
                                                 sstu_sim: SimServer) -> None:
    config = _config(tmp_path, pos_sim.url, onec_sim.url, sstu_sim.url)
    assert connector("db", "upgrade", "--config", str(config), cwd=tmp_path).returncode == 0
    (tmp_path / "data").chmod(0o700)
    result = connector("doctor", "--config", str(config), "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    rows = _rows(result.stdout)
    for name in ("data directory", "database", "POS demo", "clock vs POS demo", "EDMS onec",
                 f"ССТУ {DEMO_DEPARTMENT_ID}", "time zone", "free disk"):
        assert rows[name]["result"] == "ok", rows[name]
    assert "schema at" in rows["database"]["detail"] and "newest" in rows["database"]["detail"]
    text = connector("doctor", "--config", str(config), cwd=tmp_path)
    assert text.returncode == 0 and text.stdout.rstrip().endswith("ready")
    assert re.search(r"OK\s+POS demo", text.stdout) and re.search(r"OK\s+EDMS onec", text.stdout)
    russian = connector("doctor", "--config", str(config), cwd=tmp_path, env={"CONNECTOR_UI__LANGUAGE": "ru"})
    assert russian.returncode == 0, russian.stdout + russian.stderr
    for name in ("ПОС demo", "СЭД onec", "база данных", "каталог данных", "часы относительно ПОС demo"):
        assert re.search(rf"НОРМА\s+{name}", russian.stdout), russian.stdout
    assert russian.stdout.rstrip().endswith("готово к работе") and "EDMS" not in russian.stdout


def test_what_an_installer_gets_wrong_is_named_and_fails(tmp_path: Path, pos_sim: SimServer,
                                                        sstu_sim: SimServer) -> None:
    # no database yet, a rejected ЛКО password, a world-readable secret, an EDMS nobody listens on
    config = _config(tmp_path, pos_sim.url, "http://127.0.0.1:9", sstu_sim.url, password="wrong")
    (tmp_path / "lko.password").chmod(0o644)
    result = connector("doctor", "--config", str(config), "--json", cwd=tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    rows = _rows(result.stdout)
    assert rows["database"]["result"] == "fail" and "no database at" in rows["database"]["detail"]
    assert rows["POS demo"]["result"] == "fail" and "login rejected" in rows["POS demo"]["detail"]
    assert rows["EDMS onec"]["result"] == "fail"
    secret = rows["secret accounts.0.password_file"]
    assert secret["result"] == "warn" and "0644" in secret["detail"]
    assert rows["_worst"]["result"] == "fail"
    text = connector("doctor", "--config", str(config), cwd=tmp_path)
    assert text.returncode == 1 and "NOT READY" in text.stdout and "FAIL  database" in text.stdout
