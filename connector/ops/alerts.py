"""Alerts by e-mail (SMTP) and/or webhook: one message per incident, never one per item.

Incidents:

* ``failures`` -- items landed in failures since the last alert: one message for all of
  them ("5 new items in failures").  While failures stay open and nothing new arrives, a
  reminder goes out every ``repeat_after_seconds``.
* ``missed:<account>`` -- the sweep found POS changes the pulls had missed: once per increase.
* ``listing:<account>`` -- the account's POS listing did not end (a cap, pages with nothing new):
  like a stall, announced again every ``repeat_after_seconds``; forgotten when a listing ends well.
* ``stall:<job>`` -- the job has not succeeded for longer than ``stall_after_seconds`` (the
  same rule as ``/healthz``).  Announced once, again every ``repeat_after_seconds`` while it
  lasts; forgotten when the job succeeds again.

What was announced is kept in ``<data_dir>/alerts-state.json`` so a restart does not
announce the same incident twice.  A message carries only failure ids, POS account and
message ids, job names, counts and reasons (passed through the log redactor as a net):
never an applicant's name, address, e-mail, phone or text.  If every channel fails, the
incident is not marked as sent and the next check tries again.

Subjects and texts are in the configured language (``connector.i18n``: ``[ui] language``, Russian by
default); the log lines stay English.
"""

from __future__ import annotations

import json
import logging
import os
import smtplib
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import requests
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from connector.i18n import _, ngettext
from connector.logs import Redactor, active_redactor
from connector.ops.health_server import JobHealth, job_health
from connector.ops.mail import MailError, build_message, send_mail
from connector.ops.settings import AlertSettings
from connector.store import job_history
from connector.store.db import Store
from connector.store.models import Failure, Message, PullWatermark, utcnow
from connector.transport import RetryingSession, RetryPolicy

log = logging.getLogger(__name__)

STATE_FILE = "alerts-state.json"
STATE_VERSION = 1
LISTED_FAILURES = 20  # a message lists at most this many items; the count is always exact
_MAX_REASON = 300


@dataclass
class Incident:
    key: str  # "failures" or "stall:<job>": what "the same incident" means
    kind: str  # failures | failures_reminder | stall
    subject: str
    text: str
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class AlertState:
    failures_last_id: int = 0  # failures up to this id were announced
    failures_sent_at: datetime | None = None
    stalls: dict[str, datetime] = field(default_factory=dict)  # job → when its stall was announced
    missed: dict[str, int] = field(default_factory=dict)  # account → missed total announced
    listings: dict[str, datetime] = field(default_factory=dict)  # account → when its runaway was announced

    def to_json(self) -> dict[str, Any]:
        return {"version": STATE_VERSION, "failures_last_id": self.failures_last_id,
                "failures_sent_at": self.failures_sent_at.isoformat() if self.failures_sent_at else None,
                "stalls": {job: at.isoformat() for job, at in sorted(self.stalls.items())},
                "missed": dict(sorted(self.missed.items())),
                "listings": {name: at.isoformat() for name, at in sorted(self.listings.items())}}

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> AlertState:
        sent_at = doc.get("failures_sent_at")
        return cls(failures_last_id=int(doc.get("failures_last_id", 0)),
                   failures_sent_at=datetime.fromisoformat(sent_at) if sent_at else None,
                   stalls={job: datetime.fromisoformat(at) for job, at in dict(doc.get("stalls", {})).items()},
                   missed={name: int(n) for name, n in dict(doc.get("missed", {})).items()},
                   listings={name: datetime.fromisoformat(at)
                             for name, at in dict(doc.get("listings", {})).items()})


def load_state(path: Path) -> AlertState:
    try:
        return AlertState.from_json(json.loads(path.read_text(encoding="utf-8")))
    except FileNotFoundError:
        return AlertState()
    except (OSError, ValueError, TypeError, AttributeError) as exc:
        log.warning("alert state unreadable; starting afresh (open incidents are announced again)",
                    extra={"path": str(path), "error": type(exc).__name__})
        return AlertState()


def save_state(path: Path, state: AlertState) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(state.to_json(), fh)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


@dataclass(frozen=True)
class _FailureRow:
    id: int
    job: str
    item_kind: str
    account: str | None
    pos_id: str | None
    reason: str


class Alerter:
    """``check(now)`` looks at the store and sends what is due; returns the incidents sent."""

    def __init__(self, settings: AlertSettings, store: Store, *, data_dir: Path, jobs: Sequence[str] = (),
                 stall_after_seconds: float | None = None, started_at: datetime | None = None,
                 session: requests.Session | None = None, redactor: Redactor | None = None,
                 smtp_factory: Callable[..., smtplib.SMTP] = smtplib.SMTP) -> None:
        self.settings = settings
        self.store = store
        self.state_path = data_dir / STATE_FILE
        self.jobs = tuple(jobs)
        self.stall_after_seconds = stall_after_seconds
        self.started_at = started_at or utcnow()
        self._session = session
        self._smtp_factory = smtp_factory
        self._redact = redactor or active_redactor()
        if settings.smtp_password is not None:
            self._redact.add_secrets([settings.smtp_password.get_secret_value()])
        self.host = socket.gethostname()
        self.state = load_state(self.state_path)

    @property
    def enabled(self) -> bool:
        return self.settings.enabled

    def check(self, now: datetime | None = None) -> list[Incident]:
        if not self.enabled:
            return []
        now = now or utcnow()
        sent: list[Incident] = []
        try:
            sent += self._check_failures(now)
            sent += self._check_pull(now)
            sent += self._check_stalls(now)
        except SQLAlchemyError as exc:
            log.warning("alerts: state store unavailable; will check again", extra={"error": type(exc).__name__})
        return sent

    # -- failures ---------------------------------------------------------------------------

    def _check_failures(self, now: datetime) -> list[Incident]:
        state = self.state
        open_q = select(func.count(), func.max(Failure.id)).where(Failure.resolved_at.is_(None))
        with self.store.session() as session:
            open_total, _ = session.execute(open_q).one()
            new_count, new_max = session.execute(open_q.where(Failure.id > state.failures_last_id)).one()
        if new_count:
            rows = self._failure_rows(after_id=state.failures_last_id)
            incident = self._failures_incident("failures", new_count, open_total, rows)
            if self._deliver(incident):
                state.failures_last_id, state.failures_sent_at = int(new_max), now
                self._save()
                return [incident]
            return []
        if not open_total:
            if state.failures_sent_at is not None:
                state.failures_sent_at = None
                self._save()
            return []
        if state.failures_sent_at is None or self._due(state.failures_sent_at, now):
            incident = self._failures_incident("failures_reminder", open_total, open_total,
                                               self._failure_rows(after_id=0))
            if self._deliver(incident):
                state.failures_sent_at = now
                self._save()
                return [incident]
        return []

    def _failure_rows(self, *, after_id: int) -> list[_FailureRow]:
        # Only ids, job, kind, account, POS id and reason: nothing of the applicant's.
        query = (select(Failure.id, Failure.job, Failure.item_kind, Message.account, Message.pos_id, Failure.reason)
                 .outerjoin(Message, Message.id == Failure.message_id)
                 .where(Failure.resolved_at.is_(None), Failure.id > after_id)
                 .order_by(Failure.id).limit(LISTED_FAILURES))
        with self.store.session() as session:
            return [_FailureRow(id=r[0], job=r[1], item_kind=r[2], account=r[3], pos_id=r[4],
                                reason=self._clean(r[5])) for r in session.execute(query)]

    def _failures_incident(self, kind: str, count: int, open_total: int, rows: list[_FailureRow]) -> Incident:
        if kind == "failures":
            subject = "[pos-connector] " + ngettext("{count} new item in failures", "{count} new items in failures",
                                                    count).format(count=count)
            head = ngettext("POS connector on {host}: {count} new item in failures (open in total: {open_total}).",
                            "POS connector on {host}: {count} new items in failures (open in total: {open_total}).",
                            count).format(host=self.host, count=count, open_total=open_total)
        else:
            subject = "[pos-connector] " + ngettext("{count} item still in failures", "{count} items still in failures",
                                                    count).format(count=count)
            head = ngettext("POS connector on {host}: {count} item is still in failures.",
                            "POS connector on {host}: {count} items are still in failures.",
                            count).format(host=self.host, count=count)
        lines = [f"#{r.id} job={r.job} item={r.item_kind} account={r.account or '-'} pos_id={r.pos_id or '-'} "
                 f"reason={r.reason}" for r in rows]
        if count > len(rows):
            more = count - len(rows)
            lines.append(_("… and {more} more").format(more=more))
        text = "\n".join([head, "", *lines, "",
                          _("To review: connector failures list; connector failures retry ID")])
        data = {"count": count, "open_failures": open_total,
                "failures": [{"id": r.id, "job": r.job, "item_kind": r.item_kind, "account": r.account,
                              "pos_id": r.pos_id, "reason": r.reason} for r in rows]}
        return Incident(key="failures", kind=kind, subject=subject, text=text, data=data)

    # -- the pull watermark's alarms ----------------------------------------------------------

    def _check_pull(self, now: datetime) -> list[Incident]:
        with self.store.session() as session:
            marks = session.execute(select(PullWatermark.account, PullWatermark.missed_by_incremental,
                                           PullWatermark.listing_error, PullWatermark.listing_error_at)).all()
        sent: list[Incident] = []
        changed = False
        for account, missed, error, error_at in marks:
            announced = self.state.missed.get(account, 0)
            if missed > announced:
                incident = self._missed_incident(account, missed - announced, missed)
                if self._deliver(incident):
                    self.state.missed[account] = missed
                    changed = True
                    sent.append(incident)
            listed_at = self.state.listings.get(account)
            if error is None:
                if listed_at is not None:
                    del self.state.listings[account]
                    changed = True
                continue
            if listed_at is not None and not self._due(listed_at, now):
                continue
            incident = self._listing_incident(account, error, error_at)
            if self._deliver(incident):
                self.state.listings[account] = now
                changed = True
                sent.append(incident)
        if changed:
            self._save()
        return sent

    def _missed_incident(self, account: str, new: int, total: int) -> Incident:
        subject = "[pos-connector] " + ngettext("the sweep found {new} missed POS message",
                                                "the sweep found {new} missed POS messages", new).format(new=new)
        text = (ngettext("POS connector on {host}, account {account}: the sweep found and ingested {new} message the "
                         "incremental pulls had missed (total {total}); it should stay 0: check the POS clock and "
                         "[pull] lookback_seconds.",
                         "POS connector on {host}, account {account}: the sweep found and ingested {new} messages the "
                         "incremental pulls had missed (total {total}); it should stay 0: check the POS clock and "
                         "[pull] lookback_seconds.", new).format(host=self.host, account=account, new=new, total=total)
                + "\n\n" + _("Details: journalctl -u pos-connector"))
        return Incident(key=f"missed:{account}", kind="missed", subject=subject, text=text,
                        data={"account": account, "count": new, "total": total})

    def _listing_incident(self, account: str, error: str, at: datetime | None) -> Incident:
        reason, since = self._clean(error), at.isoformat(timespec="seconds") if at else "—"
        subject = "[pos-connector] " + _("the POS listing did not end ({account})").format(account=account)
        text = "\n".join([
            _("POS connector on {host}, account {account}: the pull stopped; its watermark did not move.").format(
                host=self.host, account=account),
            _("Reason: {reason}").format(reason=reason), _("Since: {since}").format(since=since), "",
            _("Check: connector status; [pull] max_pages_per_run, max_items_per_run")])
        return Incident(key=f"listing:{account}", kind="listing", subject=subject, text=text,
                        data={"account": account, "reason": reason})

    # -- stalled jobs -----------------------------------------------------------------------

    def _check_stalls(self, now: datetime) -> list[Incident]:
        if self.stall_after_seconds is None or not self.jobs:
            return []
        health = job_health(self.store, self.jobs, now=now, started_at=self.started_at,
                            stall_after_seconds=self.stall_after_seconds)
        sent: list[Incident] = []
        changed = False
        for job in health:
            announced = self.state.stalls.get(job.job)
            if not job.stalled:
                if announced is not None:
                    log.info("job recovered", extra={"job": job.job})
                    del self.state.stalls[job.job]
                    changed = True
                continue
            if announced is not None and not self._due(announced, now):
                continue
            incident = self._stall_incident(job)
            if self._deliver(incident):
                self.state.stalls[job.job] = now
                changed = True
                sent.append(incident)
        if changed:
            self._save()
        return sent

    def _stall_incident(self, job: JobHealth) -> Incident:
        with self.store.session() as session:
            last = job_history.latest_run(session, job.job)
            last_error = self._clean(last.error) if last is not None and last.error else ""
        hours = job.seconds_since / 3600
        since = job.last_success.isoformat(timespec="seconds") if job.last_success else "—"
        subject = "[pos-connector] " + _("job {job} stalled").format(job=job.job)
        text = "\n".join([
            _("POS connector on {host}: job {job} has not succeeded for {hours:.1f} h (threshold {threshold:.0f} s).")
            .format(host=self.host, job=job.job, hours=hours, threshold=self.stall_after_seconds),
            _("Last success: {since}").format(since=since),
            *([_("Last error: {error}").format(error=last_error)] if last_error else []),
            "", _("Check: connector status; journalctl -u pos-connector"),
        ])
        data = {"job": job.job, "seconds_since_success": round(job.seconds_since),
                "last_success": job.last_success.isoformat() if job.last_success else None,
                "last_error": last_error or None}
        return Incident(key=f"stall:{job.job}", kind="stall", subject=subject, text=text, data=data)

    # -- delivery ---------------------------------------------------------------------------

    def _due(self, sent_at: datetime, now: datetime) -> bool:
        return (now - sent_at).total_seconds() >= self.settings.repeat_after_seconds

    def _clean(self, text: str) -> str:
        text = " ".join(text.split())
        return self._redact(text[:_MAX_REASON] + ("…" if len(text) > _MAX_REASON else ""))

    def _deliver(self, incident: Incident) -> bool:
        incident.subject, incident.text = self._redact(incident.subject), self._redact(incident.text)
        results = []
        if self.settings.email_enabled:
            results.append(self._send_email(incident))
        if self.settings.webhook_enabled:
            results.append(self._send_webhook(incident))
        delivered = any(results)
        if delivered:
            log.warning("alert sent", extra={"incident": incident.key, "kind": incident.kind})
        else:
            log.error("alert could not be sent on any channel; will try again", extra={"incident": incident.key})
        return delivered

    def _send_email(self, incident: Incident) -> bool:
        s = self.settings
        msg = build_message(s, to=s.mail_to, subject=incident.subject, text=incident.text,
                            headers={"X-Pos-Connector-Incident": incident.key})
        try:
            send_mail(s, msg, smtp_factory=self._smtp_factory)
        except MailError as exc:
            log.error("alert e-mail failed", extra={"incident": incident.key, "smtp_host": s.smtp_host,
                                                    "error": self._redact(str(exc))})
            return False
        return True

    def _send_webhook(self, incident: Incident) -> bool:
        payload = {"source": "pos-connector", "host": self.host, "incident": incident.key, "kind": incident.kind,
                   "subject": incident.subject, "text": incident.text, "at": utcnow().isoformat(), **incident.data}
        if self._session is None:
            self._session = RetryingSession(RetryPolicy(max_attempts=3, initial_wait=1, max_wait=10),
                                            timeout=self.settings.webhook_timeout, system="alerts webhook")
        try:
            response = self._session.post(self.settings.webhook_url, json=payload,
                                          timeout=self.settings.webhook_timeout)
        except requests.RequestException as exc:
            log.error("alert webhook failed", extra={"incident": incident.key, "error": type(exc).__name__})
            return False
        if not response.ok:
            log.error("alert webhook refused", extra={"incident": incident.key, "status": response.status_code})
            return False
        return True

    def _save(self) -> None:
        try:
            save_state(self.state_path, self.state)
        except OSError as exc:
            log.error("alert state not saved; a restart may announce open incidents again",
                      extra={"path": str(self.state_path), "error": type(exc).__name__})

    def close(self) -> None:
        if self._session is not None:
            self._session.close()
