"""One SMTP hand-over, shared by alerts and notices: the server, STARTTLS and login of ``[alerts]``.

``send_mail`` returns nothing and raises :class:`MailError` (one line, secrets redacted by the
caller) when the server did not take the message.  SMTP is at-least-once: a connection lost after
the server's final "250" but before we read it makes the caller send the message again; a stable
``Message-ID`` (the caller's) lets mail clients show such a repeat as one message.
"""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Callable, Mapping, Sequence
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from connector.ops.settings import AlertSettings


class MailError(Exception):
    """The SMTP server could not be reached or refused the message."""


def build_message(settings: AlertSettings, *, to: Sequence[str], subject: str, text: str,
                  message_id: str | None = None, headers: Mapping[str, str] | None = None) -> EmailMessage:
    msg = EmailMessage()
    msg["Subject"] = subject
    msg["From"] = settings.mail_from
    msg["To"] = ", ".join(to)
    msg["Date"] = formatdate(localtime=False, usegmt=True)
    msg["Message-ID"] = message_id or make_msgid(domain=settings.mail_from.rpartition("@")[2] or None)
    for name, value in (headers or {}).items():
        msg[name] = value
    msg.set_content(text)
    return msg


def send_mail(settings: AlertSettings, msg: EmailMessage, *,
              smtp_factory: Callable[..., smtplib.SMTP] = smtplib.SMTP) -> None:
    try:
        with smtp_factory(settings.smtp_host, settings.smtp_port, timeout=settings.smtp_timeout) as smtp:
            if settings.smtp_starttls:
                smtp.starttls(context=ssl.create_default_context())
            if settings.smtp_user:
                password = settings.smtp_password.get_secret_value() if settings.smtp_password else ""
                smtp.login(settings.smtp_user, password)
            smtp.send_message(msg)
    except (smtplib.SMTPException, OSError) as exc:
        raise MailError(f"{type(exc).__name__}: {exc}") from exc
