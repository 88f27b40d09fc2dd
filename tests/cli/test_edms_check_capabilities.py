"""``connector edms check`` lists each target's optional capabilities: offered, off, or why not."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from connector.cli import main
from connector.simulators.server import SimServer

from testconfig import onec_account_toml


def _config(tmp_path: Path, onec: str, extra: str = "") -> Path:
    path = tmp_path / "connector.toml"
    medo = tmp_path / "medo"
    path.write_text(f'[daemon]\ndata_dir = "{tmp_path / "data"}"\n\n[http]\nallow_insecure = true\n'
                    + onec_account_toml("demo").format(pos="http://127.0.0.1:9", onec=onec) + extra + f"""
[[accounts]]
name = "medo-account"
pos_base_url = "http://127.0.0.1:9"
login = "lko-2"
password = "secret-2"
edms = "medo"

[edms.medo]
type = "medo"
outbox_dir = "{medo / 'out'}"
inbox_dir = "{medo / 'in'}"
archive_dir = "{medo / 'archive'}"
quarantine_dir = "{medo / 'quarantine'}"
sender_uid = "0f3c2b1a-4d5e-4f60-8a7b-9c0d1e2f3a4b"
sender_organization = "Коннектор ПОС"
addressee_organization = "Администрация города"
addressee_address = "МЭДО-АДМ-001"
""", encoding="utf-8")
    for sub in ("out", "in", "archive", "quarantine"):
        (medo / sub).mkdir(parents=True, exist_ok=True)
    return path


def test_edms_check_shows_list_appeals_per_target(tmp_path: Path, onec_sim: SimServer) -> None:
    path = _config(tmp_path, onec_sim.url)
    result = CliRunner().invoke(main, ["edms", "check", "--json", "--config", str(path)])
    by_account = {c["account"]: c for c in json.loads(result.stdout)}
    assert by_account["demo"]["capabilities"]["list_appeals"] == "off"  # offered, not switched on
    medo = by_account["medo-account"]["capabilities"]["list_appeals"]
    assert medo.startswith("no: МЭДО carries documents between bodies")
    # control tasks are a declared capability too: 1С «Поручение», МЭДО's notification package
    assert by_account["demo"]["capabilities"]["create_control_task"] == "yes"
    assert by_account["medo-account"]["capabilities"]["create_control_task"] == "yes"

    path = _config(tmp_path, onec_sim.url, extra="\n[edms.onec.appeals]\nenabled = true\n")
    result = CliRunner().invoke(main, ["edms", "check", "--config", str(path)])
    assert "  list_appeals: yes" in result.output
    assert "  list_appeals: no: МЭДО" in result.output
