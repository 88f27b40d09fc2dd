"""``[notices]`` refuses what cannot work, naming the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from connector.config import settings_from_mapping
from connector.errors import ConfigError

from testconfig import settings_mapping


def _mapping(tmp_path: Path, **notices: object) -> dict:
    mapping = settings_mapping(data_dir=tmp_path, db_url=f"sqlite:///{tmp_path}/c.db", pos_url="http://127.0.0.1:9",
                               onec_url="http://127.0.0.1:9")
    mapping["notices"] = notices
    return mapping


@pytest.mark.parametrize(("notices", "expected"), [
    ({"enabled": True}, "notices.enabled: notices are e-mail: set [alerts] smtp_host and mail_from"),
    ({"warn_days": [3, 3]}, "notices.warn_days: a threshold is given twice"),
    ({"warn_days": [90]}, "notices.warn_days: every threshold must be 0–60 days before the deadline"),
    ({"recipients": [{"unit": "ЖКХ", "to": ["zhkh.city.example"]}]},
     "notices.recipients.0.to: not an e-mail address: 'zhkh.city.example'"),
    ({"recipients": [{"unit": "ЖКХ", "to": ["a@b.ru"]}, {"unit": "ЖКХ", "to": ["c@b.ru"]}]},
     "notices: recipients: unit 'ЖКХ' is given twice"),
])
def test_bad_notice_settings_name_the_key(tmp_path: Path, notices: dict, expected: str) -> None:
    with pytest.raises(ConfigError) as refused:
        settings_from_mapping(_mapping(tmp_path, **notices))
    assert expected in refused.value.problems
