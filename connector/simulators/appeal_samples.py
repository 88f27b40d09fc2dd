"""Appeals of every channel the EDMS simulators can hold: the same seed for 1С and Directum.

Used by the conformance suite, the SSTU tests and ``connector demo``.  Rubric codes are codes of the
classifier edition the demo mapping uses; numbers and dates are left to the simulator.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

REDIRECT_BODY = "Министерство транспорта края"


def other_channel_appeals(today: date, *, prefix: str = "A") -> list[dict[str, Any]]:
    """Five appeals: a letter, a reception, a forwarded one, one with three questions, one flagged."""
    letter_date = (today - timedelta(days=3)).isoformat()
    return [
        {"key": f"{prefix}-letter", "delivery": "Письменная форма", "applicant": "Петров Пётр Петрович",
         "address": "г. Энск, ул. Ленина, д. 1, кв. 2",
         "questions": [{"rubric": "0005.0005.0056.1168", "summary": "Ремонт кровли", "executor": "Иванов И. И.",
                        "answer": {"text": "Ремонт кровли запланирован на май.", "file_name": "Ответ.pdf"},
                        "result": "Разъяснено"}]},
        {"key": f"{prefix}-reception", "delivery": "Личный прием", "applicant": "Сидорова Мария Ивановна",
         "questions": [{"rubric": "0002.0013.0139.0329", "summary": "Очередь в детский сад",
                        "executor": "Кузнецова А. П."}]},
        {"key": f"{prefix}-forwarded", "delivery": "Письменная форма", "applicant": "Орлов Олег Олегович",
         "forwarded": {"body": "Правительство края", "number": "01-12/345", "date": letter_date},
         "questions": [{"rubric": "0005.0005.0056.1156", "summary": "Отопление", "executor": "Иванов И. И."}]},
        {"key": f"{prefix}-multi", "delivery": "Электронная форма", "applicant": "Волкова Вера Викторовна",
         "email": "volkova@example.org",
         "questions": [
             {"rubric": "0005.0005.0056.1168", "summary": "Протекает крыша", "executor": "Иванов И. И.",
              "answer": {"text": "Крыша отремонтирована.", "file_name": "Ответ по кровле.pdf"},
              "result": "Поддержано"},
             {"rubric": "0003.0009.0099.0742", "summary": "Ямы на дороге",
              "redirect": {"organization": REDIRECT_BODY, "number": "02-07/88", "date": today.isoformat()}},
             {"rubric": "0002.0013.0139.0329", "summary": "Детский сад", "executor": "Кузнецова А. П."},
         ]},
        {"key": f"{prefix}-flagged", "delivery": "Письменная форма", "applicant": "Тестов Тест Тестович",
         "no_sstu": True, "questions": [{"rubric": "0005.0005.0056.1161", "summary": "Пробное обращение"}]},
    ]
