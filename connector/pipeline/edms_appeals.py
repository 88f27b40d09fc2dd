"""EDMS → store: the appeal cards of every channel (adapter capability ``list_appeals``).

Each target whose adapter offers the capability and whose settings switch it on is listed over a
window (``[sstu] edms_appeals_days`` back from today, never before ``[sstu] since``; a back-fill passes
its own ``since``).  Every card is upserted into ``edms_appeals`` by (target, card id) with the hash of
its content; answer files are written once under ``data_dir/edms_appeals/<target>/`` by their SHA-256.
Listing the same window again changes nothing, so the job is safe to repeat and to kill.

The SSTU report (:mod:`connector.sstu_export.refresh`) reads the table: cards of POS messages enrich
that message's report with their questions, the others are reported on their own.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

from sqlalchemy import select

from connector.domain import AppealQuestion, EdmsAppeal
from connector.edms_adapters.base import UnsupportedCapability, appeal_lister
from connector.errors import AuthError, ConnectorError
from connector.i18n import _
from connector.local_files import write_atomically
from connector.pipeline.context import PipelineContext
from connector.sstu_export.edms_facts import StoredAppeal
from connector.sstu_export.facts import StoredAnswer, StoredAnswerFile, StoredQuestion
from connector.store.models import EdmsAppealRecord

log = logging.getLogger(__name__)

CHUNK = 200


@dataclass
class SyncStats:
    targets: list[str] = field(default_factory=list)
    listed: int = 0
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    problems: list[str] = field(default_factory=list)


def window(ctx: PipelineContext, since: date | None = None) -> tuple[date, date]:
    sstu = ctx.settings.sstu
    today = ctx.clock().astimezone(sstu.zone).date()
    start = since or today - timedelta(days=sstu.edms_appeals_days)
    if since is None and sstu.since is not None:
        start = max(start, sstu.since)
    return start, today


def sync(ctx: PipelineContext, *, since: date | None = None) -> SyncStats:
    """List every target's appeals over the window and store what changed; a failing target is a
    problem in the result (the others go on), an expired login is raised."""
    stats = SyncStats()
    first, last = window(ctx, since)
    for target, account in _targets(ctx):
        try:
            lister = appeal_lister(ctx.adapter(target))
        except UnsupportedCapability:
            continue
        if not lister.appeals_enabled():
            continue
        stats.targets.append(target)
        try:
            _store(ctx, target, account, lister.list_appeals(first, last), stats)
        except AuthError:
            raise
        except ConnectorError as exc:
            stats.problems.append(_("edms.{target}: appeals not listed: {reason}").format(target=target,
                                                                                          reason=exc.shown))
            log.warning("EDMS appeals not listed", extra={"target": target, "reason": exc.operator_message})
    if stats.targets:
        log.info("EDMS appeals listed", extra={"listed": stats.listed, "new": stats.new, "changed": stats.changed})
    return stats


def _targets(ctx: PipelineContext) -> list[tuple[str, str]]:
    """Each EDMS target once, with the account it reports for (the first account that uses it)."""
    seen: dict[str, str] = {}
    for account in ctx.settings.accounts:
        seen.setdefault(account.edms, account.name)
    return list(seen.items())


def _store(ctx: PipelineContext, target: str, account: str, appeals: Iterable[EdmsAppeal], stats: SyncStats) -> None:
    batch: list[EdmsAppeal] = []
    for appeal in appeals:
        batch.append(appeal)
        if len(batch) >= CHUNK:
            _store_batch(ctx, target, account, batch, stats)
            batch = []
    if batch:
        _store_batch(ctx, target, account, batch, stats)


def _store_batch(ctx: PipelineContext, target: str, account: str, batch: list[EdmsAppeal], stats: SyncStats) -> None:
    folder = ctx.data_dir / "edms_appeals" / target
    now = ctx.clock()
    with ctx.store.sessions.begin() as session:
        for appeal in batch:
            stored = stored_appeal(appeal, folder)
            content = stored.model_dump(mode="json")
            digest = hashlib.sha256(stored.model_dump_json().encode("utf-8")).hexdigest()
            record = session.scalar(select(EdmsAppealRecord).where(
                EdmsAppealRecord.target == target, EdmsAppealRecord.external_id == appeal.ref.external_id))
            stats.listed += 1
            if record is None:
                record = EdmsAppealRecord(target=target, external_id=appeal.ref.external_id, account=account,
                                          content={}, content_hash="", seen_at=now, changed_at=now)
                session.add(record)
                stats.new += 1
            elif record.content_hash == digest:
                record.seen_at = now
                stats.unchanged += 1
                continue
            else:
                stats.changed += 1
            record.pos_id = appeal.pos_id
            record.number = appeal.registration_number
            record.received_on = appeal.received_on or appeal.registration_date
            record.delivery = appeal.delivery.value
            record.forwarded = appeal.forwarded is not None
            record.no_sstu = appeal.no_sstu
            record.questions = len(appeal.questions)
            record.content, record.content_hash = content, digest
            record.seen_at = record.changed_at = now


def stored_appeal(appeal: EdmsAppeal, folder: Path) -> StoredAppeal:
    """The appeal with its answer files written to ``folder`` (by content: each file once)."""
    return StoredAppeal(
        external_id=appeal.ref.external_id, url=appeal.ref.url, pos_id=appeal.pos_id,
        registration_number=appeal.registration_number, registration_date=appeal.registration_date,
        received_on=appeal.received_on, delivery=appeal.delivery, forwarded=appeal.forwarded,
        applicant=appeal.applicant, no_sstu=appeal.no_sstu,
        questions=tuple(_stored_question(q, folder) for q in appeal.questions))


def _stored_question(q: AppealQuestion, folder: Path) -> StoredQuestion:
    answer = None
    if q.answer is not None:
        files = []
        for f in q.answer.files:
            digest = hashlib.sha256(f.content).hexdigest()
            path = folder / f"{digest}{_suffix(f.name)}"
            if not path.exists():
                write_atomically(path, f.content)
            files.append(StoredAnswerFile(name=f.name, path=path, sha256=digest))
        answer = StoredAnswer(date=q.answer.date, decision=q.result, text=q.answer.text, files=tuple(files))
    return StoredQuestion(key=q.key, rubric_code=q.rubric_code, summary=q.summary, executor=q.executor,
                          stage=q.stage, result=q.result, answer=answer, redirect_org=q.redirect_org,
                          redirect_letter_number=q.redirect_letter_number,
                          redirect_letter_date=q.redirect_letter_date)


def _suffix(name: str) -> str:
    suffix = Path(name.replace("\x00", "")).suffix.lower()
    return suffix if len(suffix) <= 10 and suffix[1:].isalnum() else ".bin"
