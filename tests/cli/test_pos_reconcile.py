"""`connector pos reconcile` on a generated ЛКО export finds exactly the planted differences."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from openpyxl import Workbook, load_workbook

from connector.cli import main
from connector.config import settings_from_mapping
from connector.domain import PosStatus
from connector.pipeline.runner import build_context, run_job
from connector.pos_client.wire import STATUS_LABELS
from connector.simulators.server import SimServer
from connector.store.models import Message, MessageState

import simctl
from testconfig import body_today, settings_mapping

pytestmark = pytest.mark.date_sensitive  # overdue is judged against the body's today

# The full column set of a recent ЛКО export; an older layout simply lacks some of them.
HEADERS = ["Номер", "Номер ЕПГУ", "Источник", "Категория", "Подкатегория", "Факт", "Дата поступления",
           "Дата планируемого завершения работ", "Стадия", "Статус", "Просрочено", "Фаст-трек", "ФЗ"]


def _export(path: Path, rows: list[dict[str, str]], headers: list[str] = HEADERS) -> Path:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = "Sheet0"
    sheet.append(headers)
    for row in rows:
        sheet.append([row.get(h, "") for h in headers])
    workbook.save(path)
    return path


def test_reconcile_finds_exactly_the_planted_differences_and_fix_queues_the_missing(
        tmp_path: Path, pos_sim: SimServer, onec_sim: SimServer) -> None:
    mapping = settings_mapping(data_dir=tmp_path / "data", db_url=f"sqlite:///{tmp_path / 'c.db'}",
                               pos_url=pos_sim.url, onec_url=onec_sim.url)
    ids = simctl.seed(pos_sim, 5)
    ctx = build_context(settings_from_mapping(mapping), sleep=lambda _s: None)
    run_job(ctx, "pull")
    [missed] = simctl.seed(pos_sim, 1, seed=99)  # POS has it; the daemon has not pulled it yet
    today = body_today()
    appeals = simctl.pos_appeals(pos_sim)
    rows = [{"Номер": pid, "Статус": STATUS_LABELS[PosStatus(appeals[pid]["status"])], "Просрочено": "Нет",
             "Дата планируемого завершения работ": (today + timedelta(days=20)).strftime("%d.%m.%Y")}
            for pid in ids]
    rows[1]["Статус"] = "Отправлен ответ заявителю"  # POS says answered; we saw it new
    rows[2]["Просрочено"] = "Да"                      # overdue in POS, not in our view
    # Its last day was yesterday in the body's zone (in the evening still "today" in UTC): overdue on both sides.
    rows[3].update({"Просрочено": "Да",
                    "Дата планируемого завершения работ": (today - timedelta(days=1)).strftime("%d.%m.%Y")})
    rows.append({"Номер": missed, "Статус": "Новое", "Просрочено": "Нет"})
    export = _export(tmp_path / "lko.xlsx", rows)
    config = tmp_path / "connector.toml"
    config.write_text(f'[daemon]\ndata_dir = "{tmp_path / "data"}"\ndatabase_url = "sqlite:///{tmp_path / "c.db"}"\n'
                      f'[http]\nallow_insecure = true\n'
                      f'[[accounts]]\nname = "demo"\npos_base_url = "{pos_sim.url}"\nlogin = "lko-demo"\n'
                      f'password = "demo-secret"\nedms = "onec"\n'
                      f'[edms.onec]\ntype = "onec_dm"\nurl = "{onec_sim.url}/ws/DMService"\nlogin = "integration"\n'
                      f'password = "1c-secret"\n', encoding="utf-8")

    result = CliRunner().invoke(main, ["pos", "reconcile", str(export), "--json", "--fix",
                                       "--report", str(tmp_path / "diff.xlsx"), "--config", str(config)])
    assert result.exit_code == 1, result.output  # differences found (as sstu reconcile)
    report = json.loads(result.stdout)
    found = sorted((d["kind"], d["number"]) for d in report["differences"])
    assert found == sorted([("missing", missed), ("status", ids[1]), ("overdue_in_pos_only", ids[2])])
    assert report["queued"] == [missed]
    assert load_workbook(tmp_path / "diff.xlsx")["Расхождения"].max_row == 4

    run_job(ctx, "pull")  # the queued message is fetched by id
    with ctx.store.session() as session:
        message = session.query(Message).filter_by(pos_id=missed).one()
        assert message.state == MessageState.STORED
    ctx.close()


def test_older_layout_reads_and_a_wrong_file_is_named(tmp_path: Path, pos_sim: SimServer) -> None:
    config = tmp_path / "connector.toml"
    config.write_text(f'[daemon]\ndata_dir = "{tmp_path / "data"}"\n[http]\nallow_insecure = true\n'
                      f'[[accounts]]\nname = "demo"\npos_base_url = "{pos_sim.url}"\nlogin = "l"\npassword = "p"\n'
                      f'edms = "onec"\n[edms.onec]\ntype = "onec_dm"\nurl = "http://127.0.0.1:9/x"\nlogin = "i"\n'
                      f'password = "s"\n', encoding="utf-8")
    old = _export(tmp_path / "old.xlsx", [{"Номер": "777", "Статус": "Новое"}], headers=["Номер", "Статус"])
    assert CliRunner().invoke(main, ["db", "upgrade", "--config", str(config)]).exit_code == 0
    result = CliRunner().invoke(main, ["pos", "reconcile", str(old), "--json", "--config", str(config)])
    assert result.exit_code == 1, result.output
    assert [d["kind"] for d in json.loads(result.stdout)["differences"]] == ["missing"]

    wrong = tmp_path / "wrong.xlsx"
    workbook = Workbook()
    workbook.active.title = "Лист1"  # type: ignore[union-attr]
    workbook.save(wrong)
    bad = CliRunner().invoke(main, ["pos", "reconcile", str(wrong), "--config", str(config)])
    assert bad.exit_code == 2 and "no sheet «Sheet0»" in bad.output
    garbage = tmp_path / "garbage.xlsx"
    garbage.write_bytes(b"not a workbook")
    assert CliRunner().invoke(main, ["pos", "reconcile", str(garbage), "--config", str(config)]).exit_code == 2
