"""Appeals of every channel reach ССТУ: letters, reception, forwarded, several questions, flagged cards.

The 1С simulator holds the appeals (connector.simulators.appeal_samples); the ``sstu`` job lists them
through the adapter's ``list_appeals`` and sends them to the SSTU simulator, which checks each appeal
against the format document on its own.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cycles
import pytest
import requests
from sqlalchemy import select

from connector.config import settings_from_mapping
from connector.demo_sstu import DEMO_DEPARTMENT_ID, prepare_mapping
from connector.pipeline.context import PipelineContext
from connector.pipeline.runner import build_context, run_job
from connector.simulators.appeal_samples import REDIRECT_BODY, other_channel_appeals
from connector.simulators.server import SimServer
from connector.simulators.sstu import SstuSimulator
from connector.sstu_export.records import SstuAppealRecord
from connector.store.models import EdmsAppealRecord

import simctl
from testconfig import body_today, settings_mapping

pytestmark = pytest.mark.date_sensitive  # cards are registered on the body's today

REDIRECT_GUID = "7c9e6679-7425-40de-944b-e07fc1f90ae7"


@pytest.fixture
def sstu_sim() -> Iterator[SimServer]:
    with SimServer(SstuSimulator()) as server:
        yield server


@pytest.fixture
def actx(tmp_path: Path, db_url: str, pos_sim: SimServer, onec_sim: SimServer,
         sstu_sim: SimServer) -> Iterator[PipelineContext]:
    raw = settings_mapping(data_dir=tmp_path / "data", db_url=db_url, pos_url=pos_sim.url, onec_url=onec_sim.url)
    raw["edms"]["onec"]["appeals"] = {"enabled": True}
    raw["sstu"] = {"department_id": DEMO_DEPARTMENT_ID, "base_url": sstu_sim.url,
                   "bodies": {REDIRECT_BODY: REDIRECT_GUID}}
    ctx = build_context(settings_from_mapping(raw), sleep=lambda _s: None)
    prepare_mapping(ctx.store, tmp_path / "mapping")
    yield ctx
    ctx.close()
    ctx.store.dispose()


def _seed(onec: SimServer, appeals: list[dict[str, Any]]) -> None:
    requests.post(f"{onec.url}/_sim/seed", json={"appeals": appeals}, timeout=10).raise_for_status()


def _held(sstu: SimServer) -> dict[str, dict[str, Any]]:
    state = requests.get(f"{sstu.url}/_sim/state", timeout=10).json()
    return {a["appeal"]["name"]: a["appeal"] for a in state["appeals"]}


def _accepted(sstu: SimServer) -> int:
    return int(requests.get(f"{sstu.url}/_sim/state", timeout=10).json()["summary"]["accepted"])


def test_other_channels_are_reported_with_their_route_and_each_question_its_own_status(
        actx: PipelineContext, onec_sim: SimServer, sstu_sim: SimServer) -> None:
    today = body_today()
    _seed(onec_sim, other_channel_appeals(today))
    stats = run_job(actx, "sstu")
    assert not stats.notes and stats.processed == 4
    held = _held(sstu_sim)
    assert "Тестов Тест Тестович" not in held  # «не выгружать в ССТУ»
    letter, reception = held["Петров Пётр Петрович"], held["Сидорова Мария Ивановна"]
    forwarded, multi = held["Орлов Олег Олегович"], held["Волкова Вера Викторовна"]
    assert (letter["isDirect"], letter["format"], letter["questions"][0]["status"]) == (True, "Other", "Explained")
    assert letter["questions"][0]["attachment"]["name"] == "Ответ.pdf"
    assert reception["questions"][0]["status"] == "InWork"
    assert (forwarded["isDirect"], forwarded["number"], forwarded["createDate"]) == (
        False, "01-12/345", other_channel_appeals(today)[2]["forwarded"]["date"])
    assert forwarded["questions"][0]["incomingDate"] >= forwarded["createDate"]
    statuses = [q["status"] for q in multi["questions"]]
    assert statuses == ["Supported", "Transferred", "InWork"]  # the second question only is Transferred
    assert [q["code"] for q in multi["questions"]] == ["0005.0005.0056.1168", "0003.0009.0099.0742",
                                                       "0002.0013.0139.0329"]
    transfer = multi["questions"][1]["transfer"]
    assert (transfer["departmentId"], transfer["transferNumber"]) == (REDIRECT_GUID, "02-07/88")
    assert all("transfer" not in q for i, q in enumerate(multi["questions"]) if i != 1)

    assert run_job(actx, "sstu").processed == 0  # listed again, nothing changed: nothing re-sent
    assert _accepted(sstu_sim) == 4


def test_a_question_added_later_is_sent_once_and_a_flagged_card_never(
        actx: PipelineContext, onec_sim: SimServer, sstu_sim: SimServer) -> None:
    seeds = other_channel_appeals(body_today())
    reception, flagged = seeds[1], seeds[4]
    _seed(onec_sim, [reception, flagged])
    assert run_job(actx, "sstu").processed == 1
    reception["questions"].append({"rubric": "0005.0005.0056.1156", "summary": "Отопление"})
    flagged["questions"].append({"rubric": "0005.0005.0056.1156", "summary": "Ещё вопрос"})
    _seed(onec_sim, [reception, flagged])
    assert run_job(actx, "sstu").processed == 1
    assert run_job(actx, "sstu").processed == 0
    held = _held(sstu_sim)
    assert [q["status"] for q in held["Сидорова Мария Ивановна"]["questions"]] == ["InWork", "InWork"]
    assert "Тестов Тест Тестович" not in held and _accepted(sstu_sim) == 2
    with actx.store.session() as session:
        flagged_row = session.scalar(select(EdmsAppealRecord).where(EdmsAppealRecord.no_sstu.is_(True)))
        assert flagged_row is not None and flagged_row.questions == 2  # listed, never reported
        assert session.scalar(select(SstuAppealRecord).where(
            SstuAppealRecord.edms_appeal_id == flagged_row.id)) is None


def test_a_pos_card_with_several_questions_is_reported_with_each(
        actx: PipelineContext, pos_sim: SimServer, onec_sim: SimServer, sstu_sim: SimServer) -> None:
    simctl.seed(pos_sim, 2)
    cycles.until_in_work(actx, onec_sim)
    with actx.store.session() as session:
        pos_ids = sorted(session.scalars(select(EdmsAppealRecord.pos_id)))  # nothing listed yet
    assert pos_ids == []
    state = requests.get(f"{onec_sim.url}/_sim/state", timeout=10).json()["documents"]
    pos_id = next(d["externalObject"]["id"] for d in state.values() if d.get("externalObject"))
    _seed(onec_sim, [{"pos_id": pos_id, "delivery": "Электронная форма", "questions": [
        {"rubric": "0005.0005.0056.1168", "executor": "Иванов И. И."},
        {"rubric": "0003.0009.0099.0742", "redirect": {"organization": REDIRECT_BODY, "number": "02-07/90",
                                                        "date": body_today().isoformat()}}]}])
    assert run_job(actx, "sstu").processed == 2
    statuses = sorted(tuple(q["status"] for q in a["questions"]) for a in _held(sstu_sim).values())
    assert statuses == [("InWork",), ("InWork", "Transferred")]
