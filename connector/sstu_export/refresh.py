"""Store → appeals: read each message with a card, build its SSTU appeal, record the hash.

One pass looks at every reportable message (``since`` on), but only *builds* those whose
inputs changed: the snapshot of message + card + answer, hashed together with everything of
the configuration that can change the output (department, outcome table, bodies, mapping
version, classifier edition).  A build that fails is recorded once in failures with the
builder's message (appeal number, question, field); it is retried on every pass and the
failure is resolved by itself once the cause is fixed (a mapping imported, a GUID added).
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import and_, exists, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from connector.config import Settings
from connector.domain import CardStage
from connector.errors import DataError, Phrase
from connector.i18n import N_
from connector.pipeline.outbox_payloads import read_answer
from connector.pipeline.stored import stored_message
from connector.rubric_mapping import versions
from connector.rubric_mapping.lookup import Mapped, RubricLookup
from connector.rubric_mapping.service import current_lookup
from connector.sstu_export.bodies import load_bodies_file
from connector.sstu_export.builder import BodyDirectory, BuiltAppeal, SstuBuilder
from connector.sstu_export.edms_facts import EdmsAppealSnapshot, StoredAppeal, edms_appeal_facts
from connector.sstu_export.facts import (
    AppealSnapshot,
    StoredAnswer,
    StoredAnswerFile,
    StoredCard,
    appeal_facts,
    local_date,
)
from connector.sstu_export.records import SendState, SstuAppealRecord
from connector.store.db import Store
from connector.store.models import (
    Card,
    EdmsAppealRecord,
    Failure,
    Message,
    MessageState,
    OutboxItem,
    OutboxKind,
    utcnow,
)

Snapshot = AppealSnapshot | EdmsAppealSnapshot
#: what a refresh looks at: ("message", messages.id) or ("edms", edms_appeals.id)
Key = tuple[str, int]
MESSAGE, EDMS = "message", "edms"

log = logging.getLogger(__name__)

BUILD_JOB = "sstu.build"
CHUNK = 200


@dataclass
class BuildConfig:
    """Everything a build needs besides the snapshot, made once per pass."""

    settings: Settings
    builder: SstuBuilder
    zone: ZoneInfo
    fingerprint: str

    def build(self, snap: Snapshot) -> BuiltAppeal | None:
        facts = appeal_facts(snap, self.zone) if isinstance(snap, AppealSnapshot) else edms_appeal_facts(snap)
        if facts is None:
            return None
        for question in facts.questions:
            if question.unsent_files and question.answer is not None:
                # names may carry the applicant's; the count and the kinds say enough to find them
                log.warning("ССТУ takes one answer file: the signed main document was chosen, the others are not sent",
                            extra={"number": facts.number, "sent_kind": Path(question.answer.name).suffix.lower(),
                                   "not_sent": len(question.unsent_files)})
        return self.builder.build(facts)


def build_config(settings: Settings, store: Store) -> BuildConfig:
    """Raises :class:`DataError` when nothing can be built at all (no mapping imported)."""
    sstu = settings.sstu
    try:
        lookup = current_lookup(store)
    except DataError as exc:
        raise DataError(N_("SSTU report: {error}"), params={"error": exc.phrase()}) from None
    with store.session() as session:
        latest = versions.latest_version(session)
        if latest is None:
            raise DataError(N_("SSTU report: no rubric mapping imported yet (connector mapping import FILE)"))
        edition = versions.get_edition(session)
        codes = frozenset(versions.load_classifier(session, edition).nodes)
        mapping_ref = f"{latest.number}:{latest.content_hash}:{edition.label}"
    bodies = dict(sstu.bodies)
    if sstu.bodies_file is not None:
        bodies.update(load_bodies_file(sstu.bodies_file))
    builder = SstuBuilder(_code_for(lookup), outcomes=sstu.outcomes, bodies=BodyDirectory(bodies), codes=codes,
                          send_is_extend=sstu.send_is_extend)
    fingerprint = json.dumps({
        "is_extend": sstu.send_is_extend,
        "departments": {a.name: settings.sstu_department(a.name) for a in settings.accounts},
        "outcomes": {k: v.model_dump(mode="json") for k, v in sorted(sstu.outcomes.items())},
        "bodies": sorted(bodies.items()), "mapping": mapping_ref, "zone": sstu.timezone,
    }, sort_keys=True, ensure_ascii=False)
    return BuildConfig(settings=settings, builder=builder, zone=sstu.zone, fingerprint=fingerprint)


def _code_for(lookup: RubricLookup) -> Callable[[tuple[str, ...]], str | None]:
    def code_for(ids: tuple[str, ...]) -> str | None:
        padded = (*ids, None, None, None)[:3]
        found = lookup.by_ids(padded[0], padded[1], padded[2])
        return found.code if isinstance(found, Mapped) else None
    return code_for


# --- reading the store ---------------------------------------------------------------------

def load_snapshot(session: Session, settings: Settings, message_id: int) -> AppealSnapshot | None:
    """The stored facts of one message, or None when it has no card (nothing to report)."""
    message = session.get(Message, message_id)
    if message is None or message.card is None or message.payload is None:
        return None
    linked = _linked_appeal(session, message)
    if linked is not None and linked.no_sstu:
        return None  # the card says «не выгружать в ССТУ»
    card = message.card
    answer_item = session.scalar(select(OutboxItem).where(OutboxItem.message_id == message_id,
                                                          OutboxItem.kind == OutboxKind.ANSWER)
                                 .order_by(OutboxItem.id.desc()).limit(1))
    answer = None
    if answer_item is not None:
        queued = read_answer(answer_item.payload)
        answer = StoredAnswer(date=queued.date, decision=queued.decision, text=queued.text,
                              files=tuple(StoredAnswerFile(name=f.name, path=f.path, sha256=f.sha256)
                                          for f in queued.files))
    return AppealSnapshot(
        message_id=message.id,
        department_id=settings.sstu_department(message.account),
        message=stored_message(message, with_files=False),
        card=StoredCard(stage=CardStage(card.stage), registration_number=card.registration_number,
                        registration_date=card.registration_date, created_at=card.created_at,
                        checked_at=card.checked_at, redirect_org_id=card.redirect_org_id,
                        redirect_letter_number=card.redirect_letter_number,
                        redirect_letter_date=card.redirect_letter_date, rubric_code=card.rubric_code,
                        resolution=card.resolution),
        answer=answer,
        questions=linked.questions if linked is not None and len(linked.questions) > 1 else ())


def _linked_appeal(session: Session, message: Message) -> StoredAppeal | None:
    """The EDMS card of a POS message as ``list_appeals`` last saw it (None: not listed)."""
    record = session.scalar(select(EdmsAppealRecord).where(
        EdmsAppealRecord.pos_id == message.pos_id, EdmsAppealRecord.account == message.account)
        .order_by(EdmsAppealRecord.id).limit(1))
    return StoredAppeal.model_validate(record.content) if record is not None else None


def load_appeal_snapshot(session: Session, settings: Settings, appeal_id: int) -> EdmsAppealSnapshot | None:
    """An EDMS appeal of another channel, or None when it is flagged «не выгружать в ССТУ» or gone."""
    record = session.get(EdmsAppealRecord, appeal_id)
    if record is None or record.no_sstu:
        return None
    return EdmsAppealSnapshot(appeal_id=record.id, department_id=settings.sstu_department(record.account),
                              appeal=StoredAppeal.model_validate(record.content),
                              changed_on=local_date(record.changed_at, settings.sstu.zone))


def load_any(session: Session, settings: Settings, key: Key) -> Snapshot | None:
    kind, item_id = key
    return load_snapshot(session, settings, item_id) if kind == MESSAGE else \
        load_appeal_snapshot(session, settings, item_id)


def incoming_of(snap: Snapshot, zone: ZoneInfo) -> date | None:
    if isinstance(snap, AppealSnapshot):
        return local_date(snap.message.created_at, zone)
    return snap.appeal.received_on or snap.appeal.registration_date


def candidate_ids(session: Session, settings: Settings, ids: Sequence[int] | None = None) -> list[int]:
    query = (select(Message.id).join(Card, Card.message_id == Message.id)
             .where(Message.state != MessageState.FETCHING).order_by(Message.id))
    if settings.sstu.since is not None:
        since = datetime.combine(settings.sstu.since, datetime.min.time(), settings.sstu.zone)
        query = query.where(Message.created_at >= since.astimezone(UTC))
    if ids is not None:
        query = query.where(Message.id.in_(ids))
    return list(session.scalars(query))


def candidate_appeal_ids(session: Session, settings: Settings) -> list[int]:
    """EDMS appeals reported on their own: every card not of a POS message we hold (those are reported
    through the message).  Flagged cards are looked at too, to stop a pending send."""
    of_message = exists().where(and_(Message.pos_id == EdmsAppealRecord.pos_id,
                                     Message.account == EdmsAppealRecord.account))
    query = select(EdmsAppealRecord.id).where(~of_message).order_by(EdmsAppealRecord.id)
    if settings.sstu.since is not None:
        query = query.where(EdmsAppealRecord.received_on >= settings.sstu.since)
    return list(session.scalars(query))


# --- one pass ------------------------------------------------------------------------------

@dataclass
class RefreshStats:
    looked_at: int = 0
    built: int = 0
    changed: int = 0
    unchanged: int = 0
    not_ready: int = 0
    invalid: int = 0
    errors: list[str] = field(default_factory=list)


def refresh(store: Store, config: BuildConfig, *, message_ids: Sequence[int] | None = None,
            clock: Callable[[], datetime] = utcnow, force: bool = False) -> RefreshStats:
    """Bring ``sstu_appeals`` up to date with the store; ``force`` rebuilds unchanged inputs too."""
    stats = RefreshStats()
    with store.session() as session:
        ids: list[Key] = [(MESSAGE, i) for i in candidate_ids(session, config.settings, message_ids)]
        if message_ids is None:
            ids += [(EDMS, i) for i in candidate_appeal_ids(session, config.settings)]
    for chunk in _chunks(ids, CHUNK):
        try:
            _refresh_chunk(store, config, chunk, stats, clock, force)
        except IntegrityError:
            # another worker recorded one of these appeals first: again, now that its row exists
            _refresh_chunk(store, config, chunk, stats, clock, force)
    if stats.invalid:
        log.warning("SSTU appeals that cannot be built", extra={"count": stats.invalid})
    return stats


def _refresh_chunk(store: Store, config: BuildConfig, chunk: Sequence[Key], stats: RefreshStats,
                   clock: Callable[[], datetime], force: bool) -> None:
    counted = RefreshStats()  # merged only once the chunk is committed
    with store.sessions.begin() as session:
        for key in chunk:
            _refresh_one(session, config, key, counted, clock(), force)
    for name in ("looked_at", "built", "changed", "unchanged", "not_ready", "invalid"):
        setattr(stats, name, getattr(stats, name) + getattr(counted, name))
    stats.errors += counted.errors


def _chunks(ids: Sequence[Key], size: int) -> Iterator[Sequence[Key]]:
    for start in range(0, len(ids), size):
        yield ids[start:start + size]


def inputs_hash(snap: Snapshot, config: BuildConfig) -> str:
    return hashlib.sha256((snap.model_dump_json() + config.fingerprint).encode("utf-8")).hexdigest()


def _record_of(session: Session, key: Key) -> SstuAppealRecord | None:
    column = SstuAppealRecord.message_id if key[0] == MESSAGE else SstuAppealRecord.edms_appeal_id
    return session.scalar(select(SstuAppealRecord).where(column == key[1]))


def _refresh_one(session: Session, config: BuildConfig, key: Key, stats: RefreshStats, now: datetime,
                 force: bool) -> None:
    stats.looked_at += 1
    snap = load_any(session, config.settings, key)
    record = _record_of(session, key)
    if snap is None:
        if record is not None and record.send_state == SendState.PENDING:
            record.send_state = SendState.IDLE  # flagged «не выгружать в ССТУ» since: nothing more is sent
        return
    digest = inputs_hash(snap, config)
    if record is not None and record.inputs_hash == digest and not force:
        stats.unchanged += 1
        return
    try:
        built = config.build(snap)
        if built is not None:
            _check_number_unique(session, built, key)
    except DataError as exc:
        record = record or _new_record(session, key)
        record.inputs_hash = digest
        record.incoming_date = incoming_of(snap, config.zone)
        _mark_invalid(session, record, exc.operator_message)
        stats.invalid += 1
        stats.errors.append(exc.operator_message)
        return
    if built is None:
        stats.not_ready += 1
        return
    record = record or _new_record(session, key)
    apply_build(session, record, built, snap, config, now)
    record.inputs_hash = digest
    stats.built += 1
    if record.changed_at == now:
        stats.changed += 1


def _new_record(session: Session, key: Key) -> SstuAppealRecord:
    message_id, appeal_id = (key[1], None) if key[0] == MESSAGE else (None, key[1])
    record = SstuAppealRecord(message_id=message_id, edms_appeal_id=appeal_id, statuses=[], sent_statuses=[], inputs_hash="",
                              content_hash="", sent_hash="", archived_hash="", send_state=SendState.IDLE,
                              sends=0, attempts=0)
    session.add(record)
    session.flush()
    return record


def _check_number_unique(session: Session, built: BuiltAppeal, key: Key) -> None:
    others = session.scalars(select(SstuAppealRecord).where(
        SstuAppealRecord.department_id == built.appeal.department_id, SstuAppealRecord.number == built.number))
    for other in others:
        if (other.message_id, other.edms_appeal_id) == ((key[1], None) if key[0] == MESSAGE else (None, key[1])):
            continue
        if other.message_id is not None:
            pos_id = session.scalar(select(Message.pos_id).where(Message.id == other.message_id))
            holder = Phrase(N_("POS message {pos_id}"), {"pos_id": pos_id})
        else:
            card = session.scalar(select(EdmsAppealRecord.external_id).where(
                EdmsAppealRecord.id == other.edms_appeal_id))
            holder = Phrase(N_("EDMS card {card}"), {"card": card})
        raise DataError(N_("appeal {number}: the same registration number is already reported for {holder}; ССТУ "
                           "would replace one appeal with the other"),
                        params={"number": repr(built.number), "holder": holder})


def apply_build(session: Session, record: SstuAppealRecord, built: BuiltAppeal, snap: Snapshot,
                config: BuildConfig, now: datetime) -> None:
    """Record a valid build; a changed hash makes the appeal due for sending."""
    record.department_id = built.appeal.department_id
    record.number = built.number
    record.uuid = built.uuid
    record.incoming_date = incoming_of(snap, config.zone)
    record.built_at = now
    was_invalid = record.send_state == SendState.INVALID
    record.build_error = None
    if record.content_hash != built.content_hash:
        record.content_hash = built.content_hash
        record.statuses = list(built.statuses)
        record.changed_at = now
    if was_invalid:
        record.send_state = SendState.IDLE
        _resolve(session, record, BUILD_JOB, now)
    due = bool(config.settings.sstu.base_url) and record.content_hash != record.sent_hash
    if due and (record.send_state == SendState.IDLE or record.changed_at == now):
        record.send_state = SendState.PENDING
        record.attempts, record.next_attempt_at, record.last_error = 0, None, None
    elif not due and record.send_state == SendState.PENDING:
        record.send_state = SendState.IDLE  # the HTTP route was switched off: nothing would ever send it


def _mark_invalid(session: Session, record: SstuAppealRecord, reason: str) -> None:
    record.build_error = reason
    record.send_state = SendState.INVALID
    open_failure = session.scalar(select(Failure).where(
        Failure.item_kind == "sstu", Failure.item_id == record.id, Failure.job == BUILD_JOB,
        Failure.resolved_at.is_(None), Failure.reason == reason))
    if open_failure is None:
        _resolve(session, record, BUILD_JOB, utcnow())  # an earlier, different reason is superseded
        session.add(Failure(item_kind="sstu", item_id=record.id, message_id=record.message_id, job=BUILD_JOB,
                            reason=reason))


def _resolve(session: Session, record: SstuAppealRecord, job: str, now: datetime) -> None:
    for failure in session.scalars(select(Failure).where(
            Failure.item_kind == "sstu", Failure.item_id == record.id, Failure.job == job,
            Failure.resolved_at.is_(None))):
        failure.resolved_at = now


def rebuild(session: Session, config: BuildConfig, record: SstuAppealRecord) -> BuiltAppeal | None:
    """The appeal's current bytes (for sending or archiving); records a changed hash."""
    key: Key = (MESSAGE, record.message_id) if record.message_id is not None else \
        (EDMS, record.edms_appeal_id or 0)
    snap = load_any(session, config.settings, key)
    if snap is None:
        return None
    try:
        built = config.build(snap)
    except DataError as exc:
        _mark_invalid(session, record, exc.operator_message)
        return None
    if built is not None:
        apply_build(session, record, built, snap, config, utcnow())
        record.inputs_hash = inputs_hash(snap, config)
    return built

