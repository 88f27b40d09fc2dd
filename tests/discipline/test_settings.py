"""``[reports]``: a wrong key or value names itself (exit 2 at start), the defaults need nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from connector.config import settings_from_mapping
from connector.errors import ConfigError

from testconfig import settings_mapping


def _settings(tmp_path: Path, reports: dict[str, object]):  # type: ignore[no-untyped-def]
    mapping = settings_mapping(data_dir=tmp_path, db_url="sqlite://", pos_url="http://127.0.0.1:9",
                               onec_url="http://127.0.0.1:9")
    return settings_from_mapping({**mapping, "reports": reports})


def test_defaults_send_nothing_until_recipients_are_set(tmp_path: Path) -> None:
    reports = _settings(tmp_path, {}).reports
    assert (reports.enabled, reports.weekly_day, reports.weekly_time) == (False, "mon", "08:00")
    assert _settings(tmp_path, {"recipients": ["a@adm.example"], "weekly_day": "FRI"}).reports.weekly_day == "fri"


@pytest.mark.parametrize(("reports", "named"), [
    ({"weekly_day": "monday"}, "reports.weekly_day"),
    ({"weekly_time": "8:00"}, "reports.weekly_time"),
    ({"recipients": ["mayor office"]}, "reports.recipients"),
    ({"subject": "Отчёт за {week}"}, "reports.subject"),
    ({"recipient": ["a@adm.example"]}, "reports.recipient"),
])
def test_a_wrong_value_is_named(tmp_path: Path, reports: dict[str, object], named: str) -> None:
    with pytest.raises(ConfigError) as caught:
        _settings(tmp_path, reports)
    assert any(named in problem for problem in caught.value.problems), caught.value.problems
