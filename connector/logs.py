"""Structured logs with secrets and personal data masked by construction.

Every record passes :class:`RedactingFilter`: registered secret values (all SecretStr fields
of the settings, adapters' included, and passwords inside URLs) and anything shaped like an
e-mail address or a phone number are replaced before any handler formats it.  Applicants'
names never reach a log call in our code (we log POS ids); the filter is the net under that
rule.  Command output, error texts and metric labels go through :func:`redact_secrets`
(the secrets only: there an e-mail may be the point).
"""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_PHONE = re.compile(r"(?<!\d)(?:\+7|8)[\s(-]*\d{3}[\s)-]*\d{3}[\s-]*\d{2}[\s-]*\d{2}(?!\d)")
_STANDARD_ATTRS = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}
# ``scheme://user:password@host``: the password is masked wherever a URL is printed, even one
# that never went through the settings (a library's error text, a pasted database URL).
_URL_CREDENTIALS = re.compile(r"(\b[A-Za-z][A-Za-z0-9+.-]*://[^\s/:@]*):[^\s/@]+@")

# Personal data of the applicant whose message is being processed in this context: masked
# in any record emitted meanwhile, whichever library emits it.
_CURRENT_PII: ContextVar[tuple[str, ...]] = ContextVar("connector_current_pii", default=())


@contextmanager
def pii_scope(values: Iterable[str]) -> Iterator[None]:
    """While processing one applicant's message, mask their name, e-mail, phone and address."""
    parts: set[str] = set()
    for value in values:
        value = (value or "").strip()
        if len(value) >= 3:
            parts.add(value)
            parts.update(word for word in re.findall(r"\w{3,}", value) if not word.isdigit())
    token = _CURRENT_PII.set(tuple(sorted(parts, key=len, reverse=True)))
    try:
        yield
    finally:
        _CURRENT_PII.reset(token)


class Redactor:
    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._secrets: set[str] = set()
        self.add_secrets(secrets)

    def add_secrets(self, secrets: Iterable[str]) -> None:
        self._secrets.update(s for s in secrets if s and len(s) >= 4)

    def mask_secrets(self, text: str) -> str:
        """Only the secrets: for command output, where e-mails and phones may be the point."""
        text = _URL_CREDENTIALS.sub(r"\1:***@", text)
        for secret in sorted(self._secrets, key=len, reverse=True):
            if secret in text:
                text = text.replace(secret, "***")
        return text

    def __call__(self, text: str) -> str:
        text = self.mask_secrets(text)
        for value in _CURRENT_PII.get():
            if value in text:
                text = text.replace(value, "<pii>")
        text = _EMAIL.sub("<email>", text)
        return _PHONE.sub("<phone>", text)


class RedactingFilter(logging.Filter):
    def __init__(self, redactor: Redactor) -> None:
        super().__init__()
        self.redactor = redactor

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = self.redactor(record.getMessage())
        record.args = None
        for key, value in list(vars(record).items()):
            if key not in _STANDARD_ATTRS and isinstance(value, str):
                setattr(record, key, self.redactor(value))
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = self.redactor(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD_ATTRS and not key.startswith("_"):
                doc[key] = value if isinstance(value, str | int | float | bool | type(None)) else str(value)
        if record.exc_text:
            doc["exc"] = record.exc_text
        return json.dumps(doc, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        extras = " ".join(f"{k}={v}" for k, v in vars(record).items()
                          if k not in _STANDARD_ATTRS and not k.startswith("_"))
        line = f"{record.levelname:<7} {record.name}: {record.getMessage()}" + (f" [{extras}]" if extras else "")
        return line + (f"\n{record.exc_text}" if record.exc_text else "")


_active = Redactor()


def active_redactor() -> Redactor:
    """The redactor of the last :func:`configure_logging`: the process's secrets."""
    return _active


def redact_secrets(text: str) -> str:
    """``text`` with every configured secret and URL password masked: for stdout, errors, metrics."""
    return _active.mask_secrets(text)


def configure_logging(level: str = "INFO", fmt: str = "json", secrets: Iterable[str] = (),
                      stream: Any = None) -> Redactor:
    """Install one handler on the root logger; returns the redactor to add secrets later."""
    global _active
    redactor = _active = Redactor(secrets)
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.addFilter(RedactingFilter(redactor))
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        if getattr(old, "_connector", False):
            root.removeHandler(old)
    handler._connector = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level)
    for noisy in ("urllib3", "zeep", "werkzeug", "apscheduler", "alembic"):
        logging.getLogger(noisy).setLevel(max(logging.getLevelName(level), logging.WARNING))
    return redactor
