"""The figures of a discipline report, computed from ``MessageFacts`` alone (pure).

Every figure is described for coordinators in README («For coordinators») and in the report's
«Как считается» sheet (``METHOD`` below is that sheet's text).
"""

from __future__ import annotations

import math
import statistics
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime, timedelta, tzinfo

from pydantic import BaseModel, ConfigDict

from connector.discipline.accountability import Hold, Holder, Outcome, attribute, received_overdue
from connector.discipline.facts import MessageFacts
from connector.store.hops import EndReason, Hop

RATING_TARGET = 0.8      # Минстрой's smart-city standard: 80 % of answers rated 4 or 5
HIGH_RATING = 4
NO_UNIT = "(не назначено)"
TOP = 10
TREND_WEEKS = 8

METHOD: tuple[tuple[str, str], ...] = (
    ("Период", "Сообщения, поступившие в организацию (впервые получены коннектором из ПОС) в дни периода "
               "по часовому поясу органа. Все показатели — по этим сообщениям, на момент формирования отчёта."),
    ("Срок", "Срок ПОС (плановая дата ответа) истекает в конце этого дня по часовому поясу органа."),
    ("Поступило", "Подразделение/исполнитель: сообщения, которые оно/он держал хотя бы на одном этапе "
                  "(этап — исполнитель карточки СЭД с его собственным сроком, от назначения до исполнения, "
                  "переназначения, перенаправления или ответа)."),
    ("Отвечено", "Сообщения, ответ на которые принят ПОС."),
    ("В срок", "Ответ принят ПОС до истечения срока ПОС."),
    ("Просрочено по своей вине", "Срок ПОС истёк, пока сообщение было у этого этапа (организация, подразделение, "
                                 "исполнитель): ответ дан позже срока или не дан. Из нескольких держателей "
                                 "виноват ответственный исполнитель, затем более ранняя очередь, затем получивший "
                                 "первым. Если в момент истечения сообщение не было ни у кого — "
                                 f"«{NO_UNIT}» (вина организации)."),
    ("Получено просроченным", "Сообщение пришло (в организацию, подразделению или исполнителю) уже после истечения "
                              "срока ПОС, например перенаправлено с истёкшим сроком. Это не вина получателя и в "
                              "«просрочено по своей вине» не входит."),
    ("Продления", "Сколько раз собственный срок исполнителя в СЭД переносился на более позднюю дату."),
    ("Перенаправления", "Этапы, закончившиеся перенаправлением в другую организацию или передачей другому "
                        "исполнителю/подразделению."),
    ("Медиана, 90-й процентиль", "Дни от поступления до принятия ответа ПОС по отвеченным сообщениям; "
                                 "90-й процентиль — по методу ближайшего ранга (90 % ответов даны не дольше)."),
    ("Доля «в срок»", "В срок / (в срок + просрочено по своей вине + получено просроченным), по сообщениям, "
                      "чей исход уже известен (отвечены или срок истёк)."),
    ("Оценки", f"Оценка ответа заявителем из ПОС (1–5): число оценок и доля оценок {HIGH_RATING} и 5 против цели "
               f"{RATING_TARGET:.0%} (стандарт «Умный город» Минстроя). Пусто — оценок ещё нет."),
    ("Повторные", "Сообщения, которые ПОС пометил как повторные."),
    ("Категории, адреса", f"{TOP} самых частых категорий ПОС и адресов проблемы среди сообщений периода."),
    ("Динамика", f"{TREND_WEEKS} недель (пн–вс) по дате поступления, последняя — неделя конца периода."),
)


class Figures(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    received: int = 0
    answered: int = 0
    on_time: int = 0
    overdue_own: int = 0
    received_overdue: int = 0
    extensions: int = 0
    redirects: int = 0
    median_days: float | None = None
    p90_days: float | None = None
    rated: int = 0
    rated_high: int = 0
    repeats: int = 0

    @property
    def decided(self) -> int:
        return self.on_time + self.overdue_own + self.received_overdue

    @property
    def on_time_share(self) -> float | None:
        return self.on_time / self.decided if self.decided else None

    @property
    def high_share(self) -> float | None:
        return self.rated_high / self.rated if self.rated else None


class Row(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    unit: str
    executor: str = ""
    figures: Figures


class Week(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    start: date
    figures: Figures


class Report(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    first: date
    last: date
    unit: str | None = None
    generated_at: datetime
    total: Figures
    units: tuple[Row, ...]
    executors: tuple[Row, ...]
    categories: tuple[tuple[str, int], ...]
    addresses: tuple[tuple[str, int], ...]
    trend: tuple[Week, ...]


def nearest_rank(values: Sequence[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def _days(m: MessageFacts) -> float | None:
    return (m.answered_at - m.received_at).total_seconds() / 86400 if m.answered_at else None


def _holds(m: MessageFacts) -> list[Hold]:
    return [Hold(holder=Holder(organisation=h.organisation, unit=h.unit or NO_UNIT, executor=h.executor),
                 started_at=h.started_at, ended_at=h.ended_at, responsible=h.responsible, turn=h.turn)
            for h in m.hops]


def _figures(messages: Sequence[MessageFacts], *, zone: tzinfo, now: datetime,
             mine: Callable[[Hop], bool] | None = None,
             culprit: Callable[[Holder], bool] | None = None) -> Figures:
    """Figures over ``messages``; ``mine``/``culprit`` narrow hop-based figures to one unit or executor
    (None: the whole organisation)."""
    counts: Counter[str] = Counter()
    durations: list[float] = []
    ratings = [m.rating for m in messages if m.rating is not None]
    for m in messages:
        verdict = attribute(m.term, m.received_at, m.answered_at, _holds(m), zone=zone, now=now)
        own = [h for h in m.hops if mine is None or mine(h)]
        got = min((h.started_at for h in own), default=m.received_at) if mine else m.received_at
        late_arrival = received_overdue(m.term, got, zone=zone)
        counts["answered"] += m.answered_at is not None
        counts["on_time"] += verdict.outcome is Outcome.ON_TIME and not late_arrival
        counts["received_overdue"] += late_arrival
        counts["overdue_own"] += (verdict.outcome is Outcome.OVERDUE_OWN and not late_arrival and verdict.culprit
                                  is not None and (culprit is None or culprit(verdict.culprit)))
        counts["extensions"] += sum(h.extensions for h in own)
        counts["redirects"] += sum(h.end_reason in (EndReason.REDIRECTED, EndReason.REASSIGNED) for h in own) \
            if mine else any(h.end_reason is EndReason.REDIRECTED for h in m.hops)
        counts["repeats"] += m.repeated
        if (d := _days(m)) is not None:
            durations.append(d)
    return Figures(received=len(messages), answered=counts["answered"], on_time=counts["on_time"],
                   overdue_own=counts["overdue_own"], received_overdue=counts["received_overdue"],
                   extensions=counts["extensions"], redirects=counts["redirects"],
                   median_days=round(statistics.median(durations), 1) if durations else None,
                   p90_days=round(nearest_rank(durations, 0.9), 1) if durations else None,
                   rated=len(ratings), rated_high=sum(r >= HIGH_RATING for r in ratings), repeats=counts["repeats"])


def _unit(h: Hop) -> str:
    return h.unit or NO_UNIT


def _hop_of(unit: str, executor: str | None = None) -> Callable[[Hop], bool]:
    return lambda h: _unit(h) == unit and (executor is None or h.executor == executor)


def _culprit_is(unit: str, executor: str | None = None) -> Callable[[Holder], bool]:
    return lambda c: (c.unit or NO_UNIT) == unit and (executor is None or c.executor == executor)


def _top(values: Iterable[str]) -> tuple[tuple[str, int], ...]:
    counted = Counter(v for v in values if v)
    return tuple(sorted(counted.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP])


def week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())


def compute(facts: Sequence[MessageFacts], *, first: date, last: date, zone: tzinfo, now: datetime,
            unit: str | None = None, trend_facts: Sequence[MessageFacts] | None = None) -> Report:
    """The report over messages received ``first``..``last``; ``trend_facts`` are those of the
    ``TREND_WEEKS`` weeks ending with ``last``'s week (default: ``facts``)."""

    def in_scope(m: MessageFacts) -> bool:
        return unit is None or any(_unit(h) == unit for h in m.hops)

    period = [m for m in facts if in_scope(m) and first <= m.received_at.astimezone(zone).date() <= last]
    units = sorted({_unit(h) for m in period for h in m.hops} | ({NO_UNIT} if any(not m.hops for m in period)
                                                                  else set()))
    unit_rows = []
    for name in units if unit is None else [u for u in units if u == unit]:
        held = [m for m in period if any(_unit(h) == name for h in m.hops) or (name == NO_UNIT and not m.hops)]
        unit_rows.append(Row(unit=name, figures=_figures(held, zone=zone, now=now, mine=_hop_of(name),
                                                         culprit=_culprit_is(name))))
    people = sorted({(_unit(h), h.executor) for m in period for h in m.hops if h.executor})
    executor_rows = []
    for name, person in people if unit is None else [p for p in people if p[0] == unit]:
        held = [m for m in period if any((_unit(h), h.executor) == (name, person) for h in m.hops)]
        executor_rows.append(Row(unit=name, executor=person, figures=_figures(
            held, zone=zone, now=now, mine=_hop_of(name, person), culprit=_culprit_is(name, person))))
    trend_source = [m for m in (trend_facts if trend_facts is not None else facts) if in_scope(m)]
    weeks = [week_start(last) - timedelta(weeks=k) for k in range(TREND_WEEKS - 1, -1, -1)]
    trend = tuple(Week(start=w, figures=_figures(
        [m for m in trend_source if week_start(m.received_at.astimezone(zone).date()) == w], zone=zone, now=now))
        for w in weeks)
    return Report(first=first, last=last, unit=unit, generated_at=now, total=_figures(period, zone=zone, now=now),
                  units=tuple(unit_rows), executors=tuple(executor_rows),
                  categories=_top(m.category for m in period), addresses=_top(m.problem_address for m in period),
                  trend=trend)
