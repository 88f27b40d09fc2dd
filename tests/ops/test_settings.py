from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from connector.ops.settings import AlertSettings, MonitoringSettings


@pytest.mark.parametrize("listen", ["127.0.0.1:9464", "127.0.0.2:1", "localhost:9464", "[::1]:9464", "127.0.0.1:0"])
def test_loopback_listen_is_accepted(listen: str) -> None:
    assert MonitoringSettings(listen=listen).listen == listen


@pytest.mark.parametrize("listen", ["0.0.0.0:9464", "10.0.0.5:9464", "[::]:9464", "monitoring.example.org:9464"])
def test_non_loopback_listen_is_refused(listen: str) -> None:
    with pytest.raises(ValidationError, match="not a loopback address"):
        MonitoringSettings(listen=listen)


def test_non_loopback_listen_allowed_explicitly() -> None:
    settings = MonitoringSettings(listen="0.0.0.0:9464", allow_public=True)
    assert (settings.host, settings.port) == ("0.0.0.0", 9464)


@pytest.mark.parametrize(("listen", "match"), [
    ("9464", "expected host:port"),
    ("127.0.0.1:http", "port must be a number"),
    ("127.0.0.1:70000", "port must be a number"),
    ("::1:9464", "in brackets"),
])
def test_malformed_listen(listen: str, match: str) -> None:
    with pytest.raises(ValidationError, match=match):
        MonitoringSettings(listen=listen)


def test_defaults() -> None:
    monitoring, alerts = MonitoringSettings(), AlertSettings()
    assert (monitoring.enabled, monitoring.host, monitoring.port, monitoring.stall_after_seconds) == \
        (True, "127.0.0.1", 9464, 3600)
    assert not alerts.enabled and alerts.smtp_port == 25 and alerts.repeat_after_seconds == 3600


@pytest.mark.parametrize(("data", "match"), [
    ({"smtp_host": "mx", "mail_to": ["ops@example.org"]}, "mail_from: required"),
    ({"smtp_host": "mx", "mail_from": "c@example.org"}, "mail_to: at least one"),
    ({"smtp_password": "x"}, "smtp_user: required"),
    ({"webhook_url": "ftp://hook"}, "webhook_url: must be an http"),
    ({"smtp_hots": "mx"}, "Extra inputs are not permitted"),
])
def test_alert_settings_errors(data: dict[str, object], match: str) -> None:
    with pytest.raises(ValidationError, match=match):
        AlertSettings.model_validate(data)


def test_smtp_password_from_file_is_secret(tmp_path: Path) -> None:
    secret = tmp_path / "smtp.password"
    secret.write_text("s3cr3t-smtp\n")
    secret.chmod(0o600)
    alerts = AlertSettings.model_validate({"smtp_host": "mx", "mail_from": "c@example.org", "mail_to": ["o@x.org"],
                                           "smtp_user": "c", "smtp_password_file": str(secret)})
    assert alerts.smtp_password is not None and alerts.smtp_password.get_secret_value() == "s3cr3t-smtp"
    assert "s3cr3t" not in repr(alerts)
