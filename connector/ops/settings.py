"""Settings of service operation: ``[monitoring]`` (/healthz, /metrics) and ``[alerts]``.

Both are plain :class:`~connector.config.StrictModel` sections: unknown keys are errors and
``smtp_password_file`` fills ``smtp_password``.  The monitoring endpoint binds to loopback
unless the operator says otherwise explicitly (``allow_public = true``): it exposes job
names and counts, which is nothing for the outside world to read.
"""

from __future__ import annotations

import ipaddress

from pydantic import Field, SecretStr, model_validator

from connector.i18n import _
from connector.settings_base import StrictModel


def split_host_port(listen: str) -> tuple[str, int]:
    """``"127.0.0.1:9464"`` → ``("127.0.0.1", 9464)``; IPv6 in brackets: ``"[::1]:9464"``."""
    host, sep, port_text = listen.rpartition(":")
    if not sep or not host:
        raise ValueError(_("listen: expected host:port, got {listen!r}").format(listen=listen))
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    elif ":" in host:
        raise ValueError(_("listen: write an IPv6 address in brackets, e.g. [::1]:9464 (got {listen!r})").format(
            listen=listen))
    if not port_text.isdigit() or not 0 <= int(port_text) <= 65535:
        raise ValueError(_("listen: port must be a number 0-65535, got {port!r}").format(port=port_text))
    return host, int(port_text)


def is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a host name other than localhost: cannot prove it stays on this machine


class MonitoringSettings(StrictModel):
    enabled: bool = Field(True, description="serve /healthz and /metrics")
    listen: str = Field("127.0.0.1:9464", description="host:port of the endpoint; port 0 picks a free port")
    allow_public: bool = Field(False, description="allow a non-loopback listen address")
    stall_after_seconds: int = Field(3600, ge=1, description="a job without a success for this long is stalled")

    @model_validator(mode="after")
    def _loopback_only(self) -> MonitoringSettings:
        host, _port = split_host_port(self.listen)
        if not self.allow_public and not is_loopback(host):
            raise ValueError(_("listen: {host!r} is not a loopback address; /healthz and /metrics expose "
                               "operational data: bind to 127.0.0.1 or set allow_public = true").format(host=host))
        return self

    @property
    def host(self) -> str:
        return split_host_port(self.listen)[0]

    @property
    def port(self) -> int:
        return split_host_port(self.listen)[1]


class AlertSettings(StrictModel):
    smtp_host: str = Field("", description="SMTP server; empty means no e-mail alerts")
    smtp_port: int = Field(25, ge=1, le=65535)
    smtp_starttls: bool = Field(False, description="upgrade the SMTP connection with STARTTLS (verified)")
    smtp_user: str = Field("", description="SMTP login; empty means no AUTH")
    smtp_password: SecretStr | None = None
    smtp_timeout: float = Field(30.0, gt=0, description="seconds for each SMTP operation")
    mail_from: str = ""
    mail_to: list[str] = Field(default_factory=list)
    webhook_url: str = Field("", description="JSON POST target; empty means no webhook")
    webhook_timeout: float = Field(10.0, gt=0)
    repeat_after_seconds: int = Field(3600, ge=60, description="an open incident is announced again after this")

    @model_validator(mode="after")
    def _complete_channels(self) -> AlertSettings:
        problems = []
        if self.smtp_host:
            if not self.mail_from:
                problems.append("mail_from: required when smtp_host is set")
            if not self.mail_to:
                problems.append("mail_to: at least one address is required when smtp_host is set")
        if self.smtp_password is not None and not self.smtp_user:
            problems.append("smtp_user: required when smtp_password is set")
        if self.webhook_url and not self.webhook_url.startswith(("https://", "http://")):
            problems.append(f"webhook_url: must be an http(s) URL, got {self.webhook_url!r}")
        if problems:
            raise ValueError("\n".join(problems))
        return self

    @property
    def email_enabled(self) -> bool:
        return bool(self.smtp_host)

    @property
    def webhook_enabled(self) -> bool:
        return bool(self.webhook_url)

    @property
    def enabled(self) -> bool:
        return self.email_enabled or self.webhook_enabled
