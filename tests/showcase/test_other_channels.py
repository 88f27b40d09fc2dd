"""The EDMS's appeals of other channels (letters, reception, forwarded, several questions) on the POS
data showcase beside the POS messages: each once, a re-run sends nothing, a change once, and the
showcase job lists the appeals itself (the sstu job is off here)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

from connector.config import settings_from_mapping
from connector.demo_sstu import prepare_mapping
from connector.pipeline.context import PipelineContext
from connector.pipeline.runner import build_context, run_job
from connector.showcase.service import run_pass
from connector.simulators.appeal_samples import other_channel_appeals
from connector.simulators.onec.app import OnecSimulator
from connector.simulators.pos import PosSimulator
from connector.simulators.server import SimServer

import simctl
from testconfig import BODY_ZONE, body_today, settings_mapping

pytestmark = pytest.mark.date_sensitive  # cards are registered on the body's today; --since follows it

PREFIX = "SC"


@pytest.fixture
def octx(tmp_path: Path, db_url: str, pos_sim: SimServer, onec_sim: SimServer) -> Iterator[PipelineContext]:
    raw = settings_mapping(data_dir=tmp_path / "data", db_url=db_url, pos_url=pos_sim.url, onec_url=onec_sim.url)
    raw["edms"]["onec"]["appeals"] = {"enabled": True}
    raw["showcase"] = {"enabled": True, "batch_size": 5, "territory": "71701000",
                       "since": (body_today() - timedelta(days=10)).isoformat()}
    ctx = build_context(settings_from_mapping(raw), sleep=lambda _s: None)
    assert not ctx.settings.sstu.enabled  # the showcase lists the EDMS's appeals on its own
    prepare_mapping(ctx.store, tmp_path / "mapping")  # rubric → POS category
    yield ctx
    ctx.close()
    ctx.store.dispose()


def _seed(onec: SimServer, appeals: list[dict[str, Any]]) -> None:
    requests.post(f"{onec.url}/_sim/seed", json={"appeals": appeals}, timeout=10).raise_for_status()


def _registered_days_ago(onec: SimServer, days: int, applicant: str) -> None:
    app = onec.app
    assert isinstance(app, OnecSimulator)
    with app.store.lock:
        for doc in app.store.docs.values():
            if doc.properties.get("Заявитель") == applicant or applicant in doc.properties.values():
                doc.reg_date = body_today() - timedelta(days=days)


def _held(pos: SimServer) -> dict[str, dict[str, Any]]:
    app = pos.app
    assert isinstance(app, PosSimulator)
    items = app.showcase_items()
    ids = [item["id"] for item in items]
    assert len(ids) == len(set(ids)), f"an appeal is on the showcase twice: {sorted(ids)}"
    return {item["id"]: item for item in items}


def _uploads(pos: SimServer) -> int:
    return int(simctl.pos_summary(pos)["showcaseUploads"])


def test_a_back_fill_uploads_pos_and_other_channel_appeals_once_and_a_rerun_nothing(
        octx: PipelineContext, pos_sim: SimServer, onec_sim: SimServer) -> None:
    pos_ids = simctl.seed(pos_sim, 3, max_attachment_kb=4)
    app = pos_sim.app
    assert isinstance(app, PosSimulator)
    yesterday = datetime.combine(body_today() - timedelta(days=1), time(12), BODY_ZONE)
    for pos_id in pos_ids:  # POS's own dates are random within 20 days
        app.edit_appeal(pos_id, created_at=yesterday, planned_date=(yesterday + timedelta(days=30)).date())
    run_job(octx, "pull")
    seeds = other_channel_appeals(body_today(), prefix=PREFIX)
    _seed(onec_sim, seeds)
    _registered_days_ago(onec_sim, 40, "Петров Пётр Петрович")  # the letter: older than [showcase] since
    stats = run_job(octx, "showcase")
    assert not stats.notes and stats.failed == 0
    held = _held(pos_sim)
    edms = {i: item for i, item in held.items() if i.startswith("edms:onec:")}
    assert {held[f"pos:{p}"]["channel"] for p in pos_ids} <= {"POS"}
    # reception, forwarded and the three-question e-mail; the letter is older, the flagged card never shown
    assert sorted(item["channel"] for item in edms.values()) == ["EMAIL", "FORWARDED", "RECEPTION"]
    assert all(item["territory"] == "71701000" and item["categoryId"] for item in edms.values())
    multi = next(item for item in edms.values() if item["channel"] == "EMAIL")
    assert multi["status"] == "IN_WORK"  # its third question is still worked on

    report, _ = run_pass(octx, since=body_today() - timedelta(days=60))  # the back-fill lists from then on
    assert (report.new, report.uploaded) == (1, 1) and not report.notes
    held = _held(pos_sim)
    letter = next(item for item in held.values() if item["channel"] == "LETTER")
    assert letter["status"] == "ANSWERED" and letter["receivedDate"] == (body_today() - timedelta(days=40)).isoformat()
    assert len(held) == 3 + 4

    uploads = _uploads(pos_sim)
    again, _ = run_pass(octx, since=body_today() - timedelta(days=60))
    assert (again.to_upload, again.uploaded, again.unchanged) == (0, 0, 3 + 4)
    assert run_job(octx, "showcase").processed == 0
    assert _uploads(pos_sim) == uploads  # nothing was sent at all


def test_a_changed_other_channel_appeal_is_sent_again_once(
        octx: PipelineContext, pos_sim: SimServer, onec_sim: SimServer) -> None:
    seeds = other_channel_appeals(body_today(), prefix=PREFIX)
    reception = seeds[1]
    _seed(onec_sim, [reception])
    assert run_job(octx, "showcase").processed == 1
    (item,) = _held(pos_sim).values()
    assert (item["channel"], item["status"]) == ("RECEPTION", "IN_WORK")

    reception["questions"][0].update(answer={"text": "Место в детском саду выделено.", "file_name": "Ответ.pdf"},
                                     result="Поддержано")
    _seed(onec_sim, [reception])
    assert run_job(octx, "showcase").processed == 1
    (item,) = _held(pos_sim).values()
    assert (item["status"], item["closedDate"]) == ("ANSWERED", body_today().isoformat())
    assert run_job(octx, "showcase").processed == 0
