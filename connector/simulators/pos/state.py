"""In-memory state of the POS simulator: accounts, tokens, appeals, idempotency records.

Pure logic, no HTTP: every public method takes the one lock and returns plain data or
``(http_status, json_body)`` for the WSGI layer to send.
"""

from __future__ import annotations

import base64
import random
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from connector.domain import PosStatus
from connector.pos_client import wire
from connector.simulators.base import LOCAL_ZONE
from connector.simulators.pos import generator
from connector.simulators.pos.faults import PosClock

Reply = tuple[int, Any]

ALLOWED: dict[PosStatus, frozenset[PosStatus]] = {
    PosStatus.EXECUTOR_ASSIGNED: frozenset({PosStatus.NEW}),
    PosStatus.DEADLINE_EXTENDED: frozenset({PosStatus.EXECUTOR_ASSIGNED}),
    PosStatus.REDIRECTED_SUBORDINATE: frozenset({PosStatus.NEW, PosStatus.EXECUTOR_ASSIGNED}),
    PosStatus.REDIRECTED_HIGHER: frozenset({PosStatus.NEW, PosStatus.EXECUTOR_ASSIGNED}),
}
ANSWERABLE = frozenset({PosStatus.EXECUTOR_ASSIGNED, PosStatus.DEADLINE_EXTENDED})


def error(status: int, code: str, message: str, details: Any = None) -> Reply:
    return status, wire.WireError(code=code, message=message, details=details).to_wire()


@dataclass(frozen=True)
class SimAccount:
    login: str
    password: str
    org_id: str
    org_name: str


DEFAULT_ACCOUNT = SimAccount("lko-demo", "demo-secret", "org-demo", "Администрация городского округа Демо")


class SeedRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    count: int = Field(ge=0, le=100_000)
    login: str | None = None
    seed: int | None = None
    min_attachment_kb: int = Field(2, ge=0)
    max_attachment_kb: int = Field(200, ge=0)
    large_attachment_every: int = Field(0, ge=0)
    large_attachment_mb: int = Field(20, ge=1, le=2048)


@dataclass
class SimAppeal:
    appeal: wire.WireAppeal
    visible_at: float
    history: list[dict[str, Any]] = field(default_factory=list)
    answers: list[dict[str, Any]] = field(default_factory=list)
    redirects: list[dict[str, Any]] = field(default_factory=list)
    omit: frozenset[str] = frozenset()  # wire fields left out of the served JSON (optional fields missing)
    listed: wire.WireListItem | None = None  # what the listing shows until visible_at (None: nothing)

    @property
    def key(self) -> tuple[datetime, str]:
        return self.appeal.updated_at, self.appeal.id

    def list_item(self) -> wire.WireListItem:
        return wire.WireListItem(id=self.appeal.id, status=self.appeal.status, updated_at=self.appeal.updated_at)

    def shown(self, now: float) -> wire.WireListItem | None:
        """The listing is eventually consistent: it shows the last change that became visible."""
        return self.list_item() if self.visible_at <= now else self.listed

    def detail(self) -> dict[str, Any]:
        a = self.appeal
        return {"id": a.id, "orgId": a.org_id, "status": a.status.value, "statusLabel": a.status_label,
                "updatedAt": a.updated_at.isoformat(), "statusHistory": list(self.history),
                "answers": list(self.answers), "redirects": list(self.redirects),
                "attachments": [x.to_wire() for x in a.attachments]}


def encode_cursor(key: tuple[datetime, str]) -> str:
    return base64.urlsafe_b64encode(f"{key[0].isoformat()}|{key[1]}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    when, _, appeal_id = raw.partition("|")
    parsed = datetime.fromisoformat(when)
    if parsed.tzinfo is None or not appeal_id:
        raise ValueError("bad cursor")
    return parsed, appeal_id


class SimState:
    def __init__(self, accounts: list[SimAccount], *, seed: int, visibility_delay: float,
                 clock: PosClock | None = None) -> None:
        self.lock = threading.RLock()
        self.clock = clock or PosClock()
        self.accounts = {a.login: a for a in accounts}
        self.visibility_delay = visibility_delay
        self.categories = generator.build_categories()
        self.appeals: dict[str, SimAppeal] = {}
        self.tokens: dict[str, tuple[str, float]] = {}
        self.idempotency: dict[tuple[str, str], tuple[str, Reply]] = {}
        self.showcase: dict[str, Any] = {}
        self.showcase_uploads = 0
        self.showcase_rejected = 0
        self.requests: dict[str, int] = {}
        self._rng = random.Random(seed)
        self.future_dated: Callable[[], float] = lambda: 0.0  # seconds ahead for the next change (a fault)

    def now(self) -> datetime:
        """The POS clock for a change made now (stepped back or in the future under faults)."""
        with self.lock:
            return self.clock.stamp() + timedelta(seconds=self.future_dated())

    def _becomes_visible(self, sim: SimAppeal, before: wire.WireListItem | None) -> None:
        """A change shows in the listing after the visibility lag; until then the last
        visible version (``before``) is what the listing shows."""
        lag = self.clock.visibility_lag(self.visibility_delay)
        now = time.monotonic()
        if not lag:
            sim.visible_at = now
            return
        if sim.visible_at <= now:
            sim.listed = before
        sim.visible_at = now + lag

    # --- tokens ---------------------------------------------------------------------------

    def issue_token(self, login: str, password: str, ttl: float) -> str | None:
        with self.lock:
            account = self.accounts.get(login)
            if account is None or not secrets.compare_digest(account.password, password):
                return None
            token = secrets.token_urlsafe(24)
            self.tokens[token] = (login, time.monotonic() + ttl)
            return token

    def account_for(self, token: str) -> SimAccount | None:
        with self.lock:
            login, expires = self.tokens.get(token, ("", 0.0))
            if time.monotonic() >= expires:
                self.tokens.pop(token, None)
                return None
            return self.accounts[login]

    def revoke_tokens(self) -> int:
        with self.lock:
            count = len(self.tokens)
            self.tokens.clear()
            return count

    # --- reading ---------------------------------------------------------------------------

    def list_page(self, account: SimAccount, since: datetime | None, status: set[PosStatus] | None, limit: int,
                  after: tuple[datetime, str] | None, duplicate: bool) -> tuple[list[dict[str, Any]], str | None]:
        with self.lock:
            now = time.monotonic()
            shown = (s.shown(now) for s in self.appeals.values() if s.appeal.org_id == account.org_id)
            rows = sorted((i for i in shown if i is not None
                           and (since is None or i.updated_at >= since)
                           and (status is None or i.status in status)), key=lambda i: (i.updated_at, i.id))
            fresh = [i for i in rows if after is None or (i.updated_at, i.id) > after]
            page: list[wire.WireListItem] = []
            if duplicate and after is not None and after[1] in self.appeals:
                page.append(self.appeals[after[1]].list_item())
                limit = max(limit - 1, 1)
            page.extend(fresh[:limit])
            more = len(fresh) > limit
            cursor = encode_cursor((page[-1].updated_at, page[-1].id)) if more and page else None
            return [i.to_wire() for i in page], cursor

    def find(self, account: SimAccount, appeal_id: str) -> SimAppeal | None:
        with self.lock:
            sim = self.appeals.get(appeal_id)
            return sim if sim is not None and sim.appeal.org_id == account.org_id else None

    # --- idempotency -----------------------------------------------------------------------

    def replay(self, login: str, key: str | None, fingerprint: str) -> Reply | None:
        if not key:
            return None
        with self.lock:
            stored = self.idempotency.get((login, key))
            if stored is None:
                return None
            if stored[0] != fingerprint:
                return error(422, wire.ERR_IDEMPOTENCY_REUSED, "Idempotency-Key was used for another request")
            return stored[1]

    def remember(self, login: str, key: str | None, fingerprint: str, reply: Reply) -> Reply:
        if key and reply[0] < 500:
            with self.lock:
                self.idempotency[(login, key)] = (fingerprint, reply)
        return reply

    # --- changes ----------------------------------------------------------------------------

    def _change(self, sim: SimAppeal, status: PosStatus | None = None, *, planned: date | None = None,
                **event: Any) -> None:
        before = sim.list_item()
        update: dict[str, Any] = {"updated_at": self.now()}
        if status is not None:
            update |= {"status": status, "status_label": wire.STATUS_LABELS[status], "stage": wire.stage_for(status)}
            sim.history.append({"status": status.value, "at": update["updated_at"].isoformat(),
                                **{k: v for k, v in event.items() if v},
                                **({"plannedDate": planned.isoformat()} if planned else {})})
        if planned is not None:
            update["planned_date"] = planned
        sim.appeal = sim.appeal.model_copy(update=update)
        self._becomes_visible(sim, before)

    def set_status(self, sim: SimAppeal, req: wire.WireStatusRequest) -> Reply:
        with self.lock:
            current = sim.appeal.status
            if req.status == current:
                return 200, sim.appeal.to_wire()
            if current not in ALLOWED.get(req.status, frozenset()):
                return error(409, wire.ERR_INVALID_TRANSITION, f"{current.value} → {req.status.value} is not allowed",
                             {"from": current.value, "to": req.status.value})
            self._change(sim, req.status, planned=req.planned_date, comment=req.comment, executor=req.executor)
            return 200, sim.appeal.to_wire()

    def answer(self, sim: SimAppeal, answer: wire.WireAnswer, files: list[dict[str, Any]]) -> Reply:
        with self.lock:
            current = sim.appeal.status
            if sim.answers or current is PosStatus.ANSWERED:
                return error(409, wire.ERR_ALREADY_ANSWERED, "the appeal already has an answer")
            if current not in ANSWERABLE:
                return error(409, wire.ERR_INVALID_TRANSITION, f"{current.value} cannot be answered",
                             {"from": current.value, "to": PosStatus.ANSWERED.value})
            self._change(sim, PosStatus.ANSWERED)
            sim.answers.append({**answer.to_wire(), "files": files, "at": sim.appeal.updated_at.isoformat()})
            return 200, sim.appeal.to_wire()

    def redirect(self, sim: SimAppeal, req: wire.WireRedirect) -> Reply:
        with self.lock:
            current = sim.appeal.status
            if req.target_org_id == sim.appeal.org_id:
                return error(422, wire.ERR_VALIDATION, "cannot redirect to the same organisation",
                             {"field": "targetOrgId"})
            if current is PosStatus.REDIRECTED_SUBORDINATE and sim.redirects \
                    and sim.redirects[-1]["targetOrgId"] == req.target_org_id:
                return 200, sim.appeal.to_wire()
            if current not in ALLOWED[PosStatus.REDIRECTED_SUBORDINATE]:
                return error(409, wire.ERR_INVALID_TRANSITION, f"{current.value} cannot be redirected",
                             {"from": current.value, "to": PosStatus.REDIRECTED_SUBORDINATE.value})
            self._change(sim, PosStatus.REDIRECTED_SUBORDINATE, comment=req.comment)
            sim.redirects.append({**req.to_wire(), "at": sim.appeal.updated_at.isoformat()})
            return 200, sim.appeal.to_wire()

    def touch(self, appeal_id: str) -> bool:
        with self.lock:
            sim = self.appeals.get(appeal_id)
            if sim is not None:
                self._change(sim)
            return sim is not None

    def moderate_reject(self, appeal_id: str) -> bool:
        with self.lock:
            sim = self.appeals.get(appeal_id)
            if sim is not None:
                self._change(sim, PosStatus.MODERATION_REJECTED, comment="set by POS moderator")
            return sim is not None

    def edit(self, appeal_id: str, update: dict[str, Any], omit: frozenset[str] = frozenset()) -> None:
        """Change fields of an appeal as POS would serve them (hostile or unusual content)."""
        with self.lock:
            sim = self.appeals[appeal_id]
            sim.appeal = wire.WireAppeal.model_validate({**sim.appeal.model_dump(), **update})
            sim.omit = omit
            self._change(sim)

    def add_attachment(self, appeal_id: str, name: str, size: int, mime_type: str | None = None) -> str:
        with self.lock:
            sim = self.appeals[appeal_id]
            file_id = f"{appeal_id}-{len(sim.appeal.attachments) + 1}"
            att = wire.WireAttachment(id=file_id, name=name, size=size, mime_type=mime_type or generator.mime_for(name))
            sim.appeal = sim.appeal.model_copy(update={"attachments": [*sim.appeal.attachments, att]})
            self._change(sim)
            return file_id

    # --- seeding ---------------------------------------------------------------------------

    def seed(self, req: SeedRequest) -> list[str]:
        with self.lock:
            account = self.accounts[req.login] if req.login else next(iter(self.accounts.values()))
            rng = random.Random(req.seed) if req.seed is not None else random.Random(self._rng.getrandbits(64))
            next_id = 10_000_000 + rng.randrange(80_000_000)
            created: list[str] = []
            for n in range(1, req.count + 1):
                next_id += rng.randint(1, 37)
                while str(next_id) in self.appeals:
                    next_id += 1
                appeal = self._generate(rng, str(next_id), account, req, large=bool(
                    req.large_attachment_every and n % req.large_attachment_every == 0))
                sim = SimAppeal(appeal, 0.0, history=[
                    {"status": PosStatus.NEW.value, "at": appeal.updated_at.isoformat()}])
                self._becomes_visible(sim, None)
                self.appeals[appeal.id] = sim
                created.append(appeal.id)
            return created

    def _generate(self, rng: random.Random, appeal_id: str, account: SimAccount, req: SeedRequest,
                  *, large: bool) -> wire.WireAppeal:
        who = generator.person(rng)
        top, sub, fact = generator.pick_category(rng, self.categories)
        problem = generator.street_address(rng)
        created = datetime.now(UTC) - timedelta(minutes=rng.randint(5, 20 * 24 * 60))
        fast = rng.random() < 0.15
        files = []
        for _ in range(rng.randint(0, 3)):
            name = rng.choice(generator.ATTACHMENT_NAMES)
            size = rng.randint(req.min_attachment_kb * 1024, max(req.min_attachment_kb, req.max_attachment_kb) * 1024)
            files.append((name, size))
        if large:
            files.append((f"видеозапись {appeal_id}.zip" if rng.random() < 0.5 else "Фото высокого разрешения.jpg",
                          req.large_attachment_mb * 1024 * 1024))
        return wire.WireAppeal(
            id=appeal_id, epgu_number=str(rng.randrange(10**9, 10**10)), source=rng.choice(generator.SOURCES),
            org_id=account.org_id, org_name=account.org_name, org_received_name=account.org_name,
            category=wire.WireRef(id=top.id, name=top.name), subcategory=wire.WireRef(id=sub.id, name=sub.name),
            fact=wire.WireRef(id=fact.id, name=fact.name), text=generator.appeal_text(rng, top.name, problem),
            applicant=wire.WireApplicant(last_name=who.last_name, first_name=who.first_name,
                                         middle_name=who.middle_name, email=who.email, phone=who.phone,
                                         address=who.address),
            problem_address=problem,
            coordinates=wire.WireCoordinates(lat=round(56.85 + rng.uniform(-0.05, 0.05), 6),
                                             lon=round(35.9 + rng.uniform(-0.08, 0.08), 6)),
            created_at=created,
            planned_date=(created.astimezone(LOCAL_ZONE) + timedelta(days=10 if fast else 30)).date(),
            status=PosStatus.NEW, status_label=wire.STATUS_LABELS[PosStatus.NEW], stage=wire.STAGE_IN_WORK,
            fz59=rng.random() < 0.4, fast_track=fast, repeated=rng.random() < 0.05, rating=None,
            attachments=[wire.WireAttachment(id=f"{appeal_id}-{i}", name=name, size=size,
                                             mime_type=generator.mime_for(name))
                         for i, (name, size) in enumerate(files, start=1)],
            updated_at=self.now())

    # --- inspection ------------------------------------------------------------------------

    def summary(self, faults: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            by_status = {s.value: 0 for s in PosStatus}
            for sim in self.appeals.values():
                by_status[sim.appeal.status.value] += 1
            return {"appeals": len(self.appeals), "byStatus": by_status,
                    "answers": sum(len(s.answers) for s in self.appeals.values()),
                    "redirects": sum(len(s.redirects) for s in self.appeals.values()),
                    "showcase": len(self.showcase), "showcaseUploads": self.showcase_uploads,
                    "showcaseRejected": self.showcase_rejected, "requests": dict(self.requests),
                    "notYetVisible": sum(s.visible_at > time.monotonic() for s in self.appeals.values()),
                    "faultsInjected": dict(faults)}

    def details(self) -> list[dict[str, Any]]:
        with self.lock:
            return [s.detail() for s in sorted(self.appeals.values(), key=lambda s: s.appeal.id)]
