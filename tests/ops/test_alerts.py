"""Alerts against a local SMTP server (aiosmtpd) and a local webhook receiver."""

from __future__ import annotations

import json
import logging
import shutil
import socket
import ssl
import subprocess
import threading
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword, Session
from pydantic import SecretStr

from connector.i18n import Language, use_language
from connector.ops.alerts import STATE_FILE, Alerter
from connector.ops.settings import AlertSettings
from connector.store.db import Store
from connector.store.models import Failure, utcnow
from connector.transport import RetryingSession, RetryPolicy

from .conftest import APPLICANT

SMTP_USER, SMTP_PASSWORD = "pos-connector", "smtp-Pa55word-never-logged"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Mailbox:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.raw: list[bytes] = []
        self.logins: list[LoginPassword] = []

    async def handle_DATA(self, _server: Any, _session: Session, envelope: Envelope) -> str:
        data = envelope.original_content or b""
        self.raw.append(data)
        msg = message_from_bytes(data, policy=policy.default)
        assert isinstance(msg, EmailMessage)
        self.messages.append(msg)
        return "250 OK"

    def authenticate(self, _server: Any, _session: Session, _envelope: Envelope, _mechanism: str,
                     auth_data: Any) -> AuthResult:
        self.logins.append(auth_data)
        ok = isinstance(auth_data, LoginPassword) and auth_data.login == SMTP_USER.encode() \
            and auth_data.password == SMTP_PASSWORD.encode()
        return AuthResult(success=ok, handled=False)  # handled=False: the server answers 535 itself


@pytest.fixture
def mailbox() -> Iterator[tuple[Mailbox, int]]:
    box = Mailbox()
    port = _free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port, authenticator=box.authenticate,
                            auth_require_tls=False)
    controller.start()
    yield box, port
    controller.stop()


class Hook:
    def __init__(self) -> None:
        self.payloads: list[dict[str, Any]] = []
        self.status = 200


@pytest.fixture
def webhook() -> Iterator[tuple[Hook, str]]:
    hook = Hook()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            hook.payloads.append(json.loads(body))
            self.send_response(hook.status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield hook, f"http://127.0.0.1:{server.server_address[1]}/hook"
    server.shutdown()
    server.server_close()


@pytest.fixture
def make_alerter(store: Store, tmp_path: Path, mailbox: tuple[Mailbox, int],
                 webhook: tuple[Hook, str]) -> Callable[..., Alerter]:
    _box, port = mailbox
    _hook, url = webhook

    def make(**overrides: Any) -> Alerter:
        settings = AlertSettings.model_validate({
            "smtp_host": "127.0.0.1", "smtp_port": port, "smtp_user": SMTP_USER, "smtp_password": SMTP_PASSWORD,
            "mail_from": "pos-connector@example.org", "mail_to": ["duty@example.org", "admin@example.org"],
            "webhook_url": url, "repeat_after_seconds": 3600, **overrides.pop("settings", {})})
        session = RetryingSession(RetryPolicy(max_attempts=1), sleep=lambda _s: None)
        return Alerter(settings, store, data_dir=tmp_path / "data", session=session, **overrides)

    return make


def _body(msg: EmailMessage) -> str:
    return str(msg.get_content())


def _all_log_text(caplog: pytest.LogCaptureFixture) -> str:
    # Every record but those of the test's own SMTP server (aiosmtpd's "mail.log" traces the dialogue).
    return "\n".join(f"{r.getMessage()} {vars(r)}" for r in caplog.records if not r.name.startswith("mail.log"))


@pytest.mark.parametrize(("language", "subject", "head", "review"), [
    ("ru", "[pos-connector] 5 новых элементов в очереди сбоев",
     "Коннектор ПОС на {host}: 5 новых элементов в очереди сбоев (всего открыто: 5).",
     "Разбор: connector failures list; connector failures retry ID"),
    ("en", "[pos-connector] 5 new items in failures",
     "POS connector on {host}: 5 new items in failures (open in total: 5).",
     "To review: connector failures list; connector failures retry ID"),
])
def test_alert_mail_speaks_the_configured_language_only(language: Language, subject: str, head: str, review: str,
                                                        make_alerter: Callable[..., Alerter],
                                                        add_failures: Callable[..., list[int]],
                                                        mailbox: tuple[Mailbox, int],
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CONNECTOR_UI__LANGUAGE")
    monkeypatch.setenv("LANG", "C.UTF-8")
    use_language(language)  # what loading a configuration with [ui] language does
    try:
        alerter = make_alerter()
        add_failures(5)
        assert [i.key for i in alerter.check(utcnow())] == ["failures"]
    finally:
        use_language(None)
    mail = mailbox[0].messages[0]
    body = _body(mail)
    assert mail["Subject"] == subject
    assert body.startswith(head.format(host=alerter.host)) and review in body
    other = "POS connector" if language == "ru" else "Коннектор ПОС"
    assert other not in body and body.count("job=register") == 5


def test_one_message_per_incident_not_per_item(make_alerter: Callable[..., Alerter],
                                               add_failures: Callable[..., list[int]],
                                               mailbox: tuple[Mailbox, int], webhook: tuple[Hook, str],
                                               caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    box, hook = mailbox[0], webhook[0]
    alerter = make_alerter()
    now = utcnow()
    assert alerter.check(now) == []  # nothing in failures yet

    add_failures(5)
    sent = alerter.check(now)
    assert [i.key for i in sent] == ["failures"]
    assert len(box.messages) == 1 and len(hook.payloads) == 1  # one for 5 items, not 5
    mail = box.messages[0]
    assert mail["Subject"] == "[pos-connector] 5 new items in failures"  # tests run in English (conftest)
    assert mail["To"] == "duty@example.org, admin@example.org"
    body = _body(mail)
    assert body.count("job=register") == 5 and "pos_id=7000" in body
    assert hook.payloads[0]["incident"] == "failures" and hook.payloads[0]["count"] == 5
    assert [f["pos_id"] for f in hook.payloads[0]["failures"]] == [f"7000{i:04d}" for i in range(1, 6)]
    assert box.logins and box.logins[0].login == SMTP_USER.encode()

    # No change: nothing new, however often we look.
    assert alerter.check(now + timedelta(seconds=60)) == []
    assert alerter.check(now + timedelta(seconds=120)) == []
    assert len(box.messages) == 1 and len(hook.payloads) == 1

    # More failures: a new incident with just the new ones.
    add_failures(2, job="push", reason="POS refused the status: 409")
    sent = alerter.check(now + timedelta(seconds=180))
    assert [i.kind for i in sent] == ["failures"]
    assert "2 new items in failures" in box.messages[1]["Subject"]
    assert "open in total: 7" in _body(box.messages[1]) and _body(box.messages[1]).count("job=push") == 2

    # Still open after repeat_after_seconds: one reminder, counting all of them.
    sent = alerter.check(now + timedelta(seconds=180 + 3600))
    assert [i.kind for i in sent] == ["failures_reminder"]
    assert "7 items still in failures" in box.messages[2]["Subject"]
    assert len(box.messages) == 3 and len(hook.payloads) == 3

    # Neither the SMTP password nor the applicant's data went anywhere.
    everything = "\n".join(b.decode("utf-8", "replace") for b in box.raw) + json.dumps(hook.payloads,
                                                                                       ensure_ascii=False)
    everything += _all_log_text(caplog)
    for secret in (SMTP_PASSWORD, *APPLICANT.values(), "Иванова", "maria.ivanova"):
        assert secret not in everything


def test_resolved_failures_stop_reminders(make_alerter: Callable[..., Alerter], store: Store,
                                          add_failures: Callable[..., list[int]],
                                          mailbox: tuple[Mailbox, int]) -> None:
    alerter = make_alerter()
    now = utcnow()
    add_failures(3)
    assert len(alerter.check(now)) == 1
    with store.sessions.begin() as session:
        for failure in session.query(Failure):
            failure.resolved_at = now
    assert alerter.check(now + timedelta(hours=2)) == []
    assert len(mailbox[0].messages) == 1


def test_job_stall_is_announced_once_then_after_repeat(make_alerter: Callable[..., Alerter],
                                                       add_run: Callable[..., None],
                                                       mailbox: tuple[Mailbox, int], webhook: tuple[Hook, str]) -> None:
    box, hook = mailbox[0], webhook[0]
    now = utcnow()
    alerter = make_alerter(jobs=("pull", "push"), stall_after_seconds=3600, started_at=now - timedelta(hours=5),
                           settings={"repeat_after_seconds": 3 * 3600})
    add_run("push", now - timedelta(minutes=5))
    add_run("pull", now - timedelta(hours=2))
    add_run("pull", now - timedelta(minutes=30), ok=False, error="POS answered HTTP 503 for maria.ivanova@example.ru")

    sent = alerter.check(now)
    assert [i.key for i in sent] == ["stall:pull"]
    assert "job pull stalled" in box.messages[0]["Subject"]
    body = _body(box.messages[0])
    assert "HTTP 503" in body and "maria.ivanova" not in body and "<email>" in body
    assert hook.payloads[0]["job"] == "pull" and hook.payloads[0]["kind"] == "stall"

    def at(minutes: int) -> list[str]:
        return [i.key for i in alerter.check(now + timedelta(minutes=minutes))]

    assert at(10) == []  # the same incident: silent
    assert at(56) == ["stall:push"]  # push stalls too: a new incident, for push only
    add_run("pull", now + timedelta(minutes=62))
    assert at(63) == []  # pull recovered
    assert at(62 + 61) == ["stall:pull"]  # and stalls again: a new incident at once
    assert at(56 + 180) == ["stall:push"]  # push still stalled after repeat_after_seconds: reminded
    assert len(box.messages) == 4 == len(hook.payloads)


def test_state_survives_a_restart(make_alerter: Callable[..., Alerter], add_failures: Callable[..., list[int]],
                                  add_run: Callable[..., None], mailbox: tuple[Mailbox, int], tmp_path: Path) -> None:
    now = utcnow()
    started = now - timedelta(hours=2)
    add_failures(5)
    first = make_alerter(jobs=("pull",), stall_after_seconds=3600, started_at=started)
    assert {i.key for i in first.check(now)} == {"failures", "stall:pull"}
    state_file = tmp_path / "data" / STATE_FILE
    assert state_file.stat().st_mode & 0o777 == 0o600

    second = make_alerter(jobs=("pull",), stall_after_seconds=3600, started_at=started)  # the daemon restarted
    assert second.check(now + timedelta(minutes=1)) == []
    add_failures(1)
    assert [i.key for i in second.check(now + timedelta(minutes=2))] == ["failures"]
    assert len(mailbox[0].messages) == 3


def test_corrupt_state_file_starts_afresh(make_alerter: Callable[..., Alerter], add_failures: Callable[..., list[int]],
                                          tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / STATE_FILE).write_text("{not json")
    add_failures(1)
    assert len(make_alerter().check()) == 1


def test_undelivered_alert_is_tried_again(make_alerter: Callable[..., Alerter], add_failures: Callable[..., list[int]],
                                          webhook: tuple[Hook, str], caplog: pytest.LogCaptureFixture) -> None:
    hook = webhook[0]
    hook.status = 500
    alerter = make_alerter(settings={"smtp_host": ""})  # webhook only, and it fails
    add_failures(2)
    now = utcnow()
    assert alerter.check(now) == []
    assert "alert could not be sent" in caplog.text
    hook.status = 204
    assert [i.key for i in alerter.check(now + timedelta(seconds=60))] == ["failures"]
    assert len(hook.payloads) == 2 and hook.payloads[1]["count"] == 2


def test_wrong_smtp_password_is_not_logged(make_alerter: Callable[..., Alerter], add_failures: Callable[..., list[int]],
                                           webhook: tuple[Hook, str], caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    wrong = "wrong-Pa55word-xyz"
    alerter = make_alerter(settings={"smtp_password": wrong})
    add_failures(1)
    sent = alerter.check(utcnow())
    assert len(sent) == 1 and len(webhook[0].payloads) == 1  # the webhook still carried it
    errors = [getattr(r, "error", "") for r in caplog.records if r.getMessage() == "alert e-mail failed"]
    assert len(errors) == 1 and errors[0].startswith("SMTPAuthenticationError"), errors
    assert wrong not in _all_log_text(caplog) and SMTP_PASSWORD not in _all_log_text(caplog)


def test_disabled_without_channels(store: Store, tmp_path: Path, add_failures: Callable[..., list[int]]) -> None:
    alerter = Alerter(AlertSettings(), store, data_dir=tmp_path)
    add_failures(1)
    assert not alerter.enabled and alerter.check(datetime.now().astimezone()) == []


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl is needed to make a test certificate")
def test_starttls_is_verified_and_used(store: Store, tmp_path: Path, add_failures: Callable[..., list[int]],
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True, timeout=60)
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(cert, key)
    box, port = Mailbox(), _free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port, tls_context=server_tls, require_starttls=True,
                            authenticator=box.authenticate)  # AUTH only after STARTTLS
    controller.start()
    try:
        settings = AlertSettings(smtp_host="127.0.0.1", smtp_port=port, smtp_starttls=True, smtp_user=SMTP_USER,
                                 smtp_password=SecretStr(SMTP_PASSWORD), mail_from="c@example.org",
                                 mail_to=["duty@example.org"])
        add_failures(2)
        # Our own certificate is not trusted: the alert is not sent in clear instead.
        untrusted = Alerter(settings, store, data_dir=tmp_path / "a")
        assert untrusted.check() == [] and box.messages == []
        monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # trust it (create_default_context reads this)
        trusted = Alerter(settings, store, data_dir=tmp_path / "b")
        assert [i.key for i in trusted.check()] == ["failures"]
        assert len(box.messages) == 1 and box.logins[-1].password == SMTP_PASSWORD.encode()
    finally:
        controller.stop()
