"""``messages find``: filters, sorting, the overdue view; a search by applicant is always audited."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest

from connector.ops.message_search import FindQuery, audit_entries, find_messages
from connector.pipeline.context import PipelineContext

from .conftest import APPLICANT, Clock, body_noon, seed
from clirun import connector, write_config
from testconfig import BODY_ZONE, body_today

pytestmark = pytest.mark.date_sensitive


def _seed_three(ctx: PipelineContext) -> None:
    today = body_today()
    seed(ctx, due=today - timedelta(days=2), pos_id="8880001", createdAt=body_noon(today - timedelta(days=40))
         .isoformat())
    seed(ctx, due=today + timedelta(days=5), pos_id="8880002", category="Автомобильные дороги",
         executor="Смирнова О.В.", createdAt=body_noon(today - timedelta(days=3)).isoformat(),
         applicant={**APPLICANT, "lastName": "Орлов"})
    seed(ctx, due=today - timedelta(days=3), pos_id="8880003", state="answered",
         createdAt=body_noon(today - timedelta(days=20)).isoformat())


def _find(ctx: PipelineContext, **kw: object) -> list[str]:
    result = find_messages(ctx.store, FindQuery(**kw), zone=BODY_ZONE, today=body_today(),  # type: ignore[arg-type]
                           recipients=ctx.settings.notices.recipients, who="tester")
    return [m.number for m in result.messages]


def test_filters_and_sorting(make_ctx: Callable[..., PipelineContext]) -> None:
    ctx = make_ctx(Clock(body_noon(body_today())))
    _seed_three(ctx)
    today = body_today()
    assert _find(ctx) == ["8880001", "8880003", "8880002"]  # by arrival
    assert _find(ctx, sort="due") == ["8880003", "8880001", "8880002"]
    assert _find(ctx, overdue=True) == ["8880001"]  # answered after its term is not "open overdue"
    assert _find(ctx, unit="дорог") == ["8880002"]
    assert _find(ctx, executor="смирнова") == ["8880002"]
    assert _find(ctx, category="Многоквартирные") == ["8880001", "8880003"]
    assert _find(ctx, state="answered") == ["8880003"]
    assert _find(ctx, number="8880002") == ["8880002"]
    assert _find(ctx, received_from=today - timedelta(days=25), received_to=today) == ["8880003", "8880002"]
    assert audit_entries(ctx.store) == []  # none of these touched personal data


def test_a_search_by_applicant_is_audited_before_results_are_shown(make_ctx: Callable[..., PipelineContext]) -> None:
    ctx = make_ctx(Clock(body_noon(body_today())))
    _seed_three(ctx)
    assert _find(ctx, applicant="орлов") == ["8880002"]
    [entry] = audit_entries(ctx.store)
    assert (entry.who, entry.action, entry.details, entry.results) == (
        "tester", "messages.find.applicant", {"applicant": "орлов", "sort": "received", "limit": 200}, 1)


def test_cli_find_prints_a_table_and_audit_list_shows_who_searched(
        tmp_path: Path, db_url: str, make_ctx: Callable[..., PipelineContext]) -> None:
    if not db_url.startswith("sqlite"):
        pytest.skip("the verbs read the store the same way on both backends; once is enough for the CLI")
    ctx = make_ctx(Clock(body_noon(body_today())))
    config = write_config(tmp_path / "cli" / "connector.toml",
                          daemon=f'data_dir = "{tmp_path / "w1"}"\ndatabase_url = "{ctx.store.url}"')
    _seed_three(ctx)
    plain = connector("messages", "find", "--overdue", "--config", str(config), cwd=tmp_path)
    assert plain.returncode == 0, plain.stderr
    assert "8880001" in plain.stdout and "overdue" in plain.stdout and "8880002" not in plain.stdout
    assert "POS No." in plain.stdout and "executor" in plain.stdout and "№ ПОС" not in plain.stdout
    russian = connector("messages", "find", "--overdue", "--config", str(config), cwd=tmp_path,
                        env={"CONNECTOR_UI__LANGUAGE": "ru"})
    assert russian.returncode == 0, russian.stderr
    assert "просрочено" in russian.stdout and "№ ПОС" in russian.stdout and "исполнитель" in russian.stdout
    assert "найдено: 1" in russian.stdout and "overdue" not in russian.stdout
    assert APPLICANT["lastName"] not in plain.stdout  # no applicant column without --applicant
    by_name = connector("messages", "find", "--applicant", "Орлов", "--json", "--config", str(config), cwd=tmp_path)
    assert by_name.returncode == 0, by_name.stderr
    doc = json.loads(by_name.stdout)
    assert [m["number"] for m in doc["messages"]] == ["8880002"] and doc["audited"] is True
    listed = connector("audit", "list", "--config", str(config), cwd=tmp_path)
    assert listed.returncode == 0 and "messages.find.applicant applicant=Орлов" in listed.stdout
    assert "results=1" in listed.stdout
    bad = connector("messages", "find", "--from", "31.12.2026", "--config", str(config), cwd=tmp_path)
    assert bad.returncode == 2 and "--from: expected a date YYYY-MM-DD" in bad.stderr
