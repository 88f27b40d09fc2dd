"""The demo's appeals of other channels: letters, reception, forwarded, several questions, a flagged card.

Seeded into the EDMS simulator after the POS messages went through (targets whose adapter lists
appeals: 1С, Directum): the five sample appeals of :mod:`connector.simulators.appeal_samples`, and
two more questions on the cards of the first POS messages (one answered, one redirected by
competence).  The SSTU step then reports them; :func:`count` says how many came from where.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import BaseModel
from sqlalchemy import select

from connector.simulators.appeal_samples import REDIRECT_BODY, other_channel_appeals
from connector.sstu_export.records import SstuAppealRecord
from connector.store.db import Store

# A SAMPLE ССТУ GUID for the body the demo's questions are redirected to (not a real body's id).
DEMO_REDIRECT_GUID = "7c9e6679-7425-40de-944b-e07fc1f90ae7"
DEMO_BODIES = {REDIRECT_BODY: DEMO_REDIRECT_GUID}
MULTI_QUESTION_POS_CARDS = 3


class AppealCounts(BaseModel):
    from_pos: int = 0
    other_channels: int = 0
    multi_question: int = 0


def demo_appeals(today: date, pos_ids: list[str]) -> list[dict[str, Any]]:
    """What the demo seeds: the sample appeals and extra questions on the first POS cards."""
    extra = [{"pos_id": pos_id, "delivery": "Электронная форма", "questions": [
        {"rubric": "0005.0005.0056.1161", "summary": "Вопрос из сообщения ПОС", "executor": "Иванов И. И.",
         "answer": {"text": "Мусор вывезен.", "file_name": "Ответ.pdf"}, "result": "Разъяснено"},
        {"rubric": "0003.0009.0099.0742", "summary": "Дорога у дома",
         "redirect": {"organization": REDIRECT_BODY, "number": f"02-07/{100 + i}", "date": today.isoformat()}},
        {"rubric": "0005.0005.0056.1168", "summary": "Кровля", "executor": "Кузнецова А. П."},
    ]} for i, pos_id in enumerate(pos_ids[:MULTI_QUESTION_POS_CARDS])]
    return other_channel_appeals(today, prefix="demo") + extra


def expected_other_channels(seeded: list[dict[str, Any]]) -> int:
    """Seeded appeals of other channels that ССТУ gets (not a POS card's, not flagged)."""
    return sum(1 for a in seeded if not a.get("pos_id") and not a.get("no_sstu"))


def count(store: Store) -> AppealCounts:
    """Reported appeals by origin, and those with several questions (each with its own status)."""
    with store.session() as session:
        rows = session.execute(select(SstuAppealRecord.message_id, SstuAppealRecord.statuses).where(
            SstuAppealRecord.content_hash != "", SstuAppealRecord.build_error.is_(None))).all()
    return AppealCounts(from_pos=sum(1 for r in rows if r.message_id is not None),
                        other_channels=sum(1 for r in rows if r.message_id is None),
                        multi_question=sum(1 for r in rows if len(r.statuses or []) > 1))
