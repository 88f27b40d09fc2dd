"""The POS simulator: the v1 contract of ``docs/pos-api.md`` over WSGI, plus ``/_sim/*``.

Run it with :class:`connector.simulators.server.SimServer`.  Paths and bodies come from
:mod:`connector.pos_client.wire`, the same module the client uses.  Faults
(:mod:`connector.simulators.faults`) apply to protocol endpoints only, never to ``/_sim/*``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any
from urllib.parse import quote

from pydantic import BaseModel, ValidationError
from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from connector.domain import PosStatus
from connector.pos_client import wire
from connector.simulators.faults import FaultInjector, FaultSpec
from connector.simulators.pos import generator, showcase
from connector.simulators.pos.faults import ENDLESS_PREFIX, PosClock, PosFaultSpec
from connector.simulators.pos.ratings import rate_answers
from connector.simulators.pos.state import (
    DEFAULT_ACCOUNT,
    Reply,
    SeedRequest,
    SimAccount,
    SimAppeal,
    SimState,
    decode_cursor,
    error,
)

DEFAULT_LIMIT = 50
RATE_KEYS = ("share", "low_share", "repeat_share", "seed")


def _rule(template: str, endpoint: str, method: str) -> Rule:
    return Rule(template.replace("{", "<").replace("}", ">"), endpoint=endpoint, methods=[method])


URL_MAP = Map([
    _rule(wire.PATH_TOKEN, "auth.token", "POST"),
    _rule(wire.PATH_APPEALS, "appeals.list", "GET"),
    _rule(wire.PATH_APPEAL, "appeals.get", "GET"),
    _rule(wire.PATH_FILE, "appeals.file", "GET"),
    _rule(wire.PATH_STATUS, "appeals.status", "POST"),
    _rule(wire.PATH_ANSWER, "appeals.answer", "POST"),
    _rule(wire.PATH_REDIRECT, "appeals.redirect", "POST"),
    _rule(wire.PATH_CATEGORIES, "categories", "GET"),
    _rule(wire.PATH_SHOWCASE, "showcase", "POST"),
    Rule("/_sim/state", endpoint="sim.state", methods=["GET"]),
    Rule("/_sim/seed", endpoint="sim.seed", methods=["POST"]),
    Rule("/_sim/act", endpoint="sim.act", methods=["POST"]),
    Rule("/_sim/faults", endpoint="sim.faults", methods=["GET", "POST"]),
])


def _json(reply: Reply, headers: dict[str, str] | None = None) -> Response:
    status, body = reply
    return Response(json.dumps(body, ensure_ascii=False), status, headers=headers, mimetype="application/json")


def _invalid(exc: ValidationError) -> Reply:
    details = [{"field": ".".join(map(str, e["loc"])), "message": e["msg"]}
               for e in exc.errors(include_input=False, include_url=False)]
    return error(422, wire.ERR_VALIDATION, "request body does not match the contract", details)


def _parse(model: type[BaseModel], raw: bytes | str) -> Any:
    try:
        return model.model_validate_json(raw)
    except ValidationError as exc:
        return _invalid(exc)


def _canonical(model: BaseModel) -> str:
    return json.dumps(model.model_dump(mode="json", by_alias=True), sort_keys=True, ensure_ascii=False)


def _content_disposition(name: str) -> str:
    fallback = "".join(c if 32 <= ord(c) < 127 and c not in '"\\' else "_" for c in name) or "file"
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


class PosSimulator:
    """A WSGI callable standing for POS; ``SimServer(PosSimulator())`` serves it on loopback."""

    fault_model = PosFaultSpec

    def __init__(self, accounts: list[SimAccount] | None = None, faults: FaultSpec | None = None, *,
                 seed: int = 1, visibility_delay: float = 0.0) -> None:
        self.clock = PosClock()
        self.store = SimState(accounts or [DEFAULT_ACCOUNT], seed=seed, visibility_delay=visibility_delay,
                              clock=self.clock)
        self.store.future_dated = self._future_dated
        self.faults = FaultInjector()
        self._own_faults: dict[str, int] = {}
        self.set_faults(faults or PosFaultSpec())
        self._handlers: dict[str, Callable[..., Response]] = {
            "auth.token": self._token, "appeals.list": self._list, "appeals.get": self._get,
            "appeals.file": self._file, "appeals.status": self._status, "appeals.answer": self._answer,
            "appeals.redirect": self._redirect, "categories": self._categories, "showcase": self._showcase,
            "sim.state": self._sim_state, "sim.seed": self._sim_seed, "sim.act": self._sim_act,
            "sim.faults": self._sim_faults,
        }

    # --- in-process API ---------------------------------------------------------------------

    def seed(self, count: int, *, login: str | None = None, seed: int | None = None, min_attachment_kb: int = 2,
             max_attachment_kb: int = 200, large_attachment_every: int = 0, large_attachment_mb: int = 20) -> list[str]:
        return self.store.seed(SeedRequest(count=count, login=login, seed=seed, min_attachment_kb=min_attachment_kb,
                                           max_attachment_kb=max_attachment_kb,
                                           large_attachment_every=large_attachment_every,
                                           large_attachment_mb=large_attachment_mb))

    def summary(self) -> dict[str, Any]:
        return self.store.summary({**self.faults.state()["injected"], **self._own_faults})

    def state(self) -> dict[str, Any]:
        return {"summary": self.summary(), "appeals": self.store.details(), "showcase": self.showcase_items()}

    def showcase_items(self, org_id: str | None = None) -> list[dict[str, Any]]:
        """The items the data showcase holds (of one organisation)."""
        return showcase.items_of(self.store, org_id)

    @property
    def spec(self) -> PosFaultSpec:
        spec = self.faults.spec
        assert isinstance(spec, PosFaultSpec)
        return spec

    def set_faults(self, spec: FaultSpec) -> None:
        pos_spec = spec if isinstance(spec, PosFaultSpec) else PosFaultSpec.model_validate(spec.model_dump())
        self.faults.configure(pos_spec)
        self.clock.configure(pos_spec)
        self._own_faults = {}

    def http_date(self) -> datetime:
        """The time this server's ``Date`` header carries (its own, possibly stepped, clock)."""
        return self.clock.wall()

    def _future_dated(self) -> float:
        return self.spec.future_seconds if self.faults.take("future_dated") else 0.0

    def add_attachment(self, appeal_id: str, name: str, size: int, mime_type: str | None = None) -> str:
        """Attach a file of ``size`` generated bytes (any name, hostile ones included)."""
        return self.store.add_attachment(appeal_id, name, size, mime_type)

    def attachment_bytes(self, appeal_id: str, file_id: str) -> Iterable[bytes]:
        """The exact content served for an attachment, for tests to compare against."""
        size = next(a.size for a in self.store.appeals[appeal_id].appeal.attachments if a.id == file_id)
        return generator.attachment_chunks(appeal_id, file_id, size)

    def edit_appeal(self, appeal_id: str, omit: tuple[str, ...] = (), **update: Any) -> None:
        """Set fields of an appeal (model field names) and leave the ``omit`` wire fields out of
        what is served: 1 MB texts, odd offsets, missing optional fields."""
        self.store.edit(appeal_id, update, frozenset(omit))

    def touch(self, appeal_id: str) -> bool:
        return self.store.touch(appeal_id)

    def moderate_reject(self, appeal_id: str) -> bool:
        return self.store.moderate_reject(appeal_id)

    def rate_answers(self, share: float = 0.6, low_share: float = 0.3, repeat_share: float = 0.5,
                     seed: int | None = None) -> dict[str, Any]:
        """Applicants rate a share of the answers, some low; some low ones come back as repeat appeals."""
        outcome = rate_answers(self.store, share=float(share), low_share=float(low_share),
                               repeat_share=float(repeat_share), seed=seed)
        return {"rated": outcome.rated, "repeats": outcome.repeats}

    def revoke_tokens(self) -> int:
        return self.store.revoke_tokens()

    # --- WSGI --------------------------------------------------------------------------------

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        request = Request(environ)
        try:
            endpoint, args = URL_MAP.bind_to_environ(environ).match()
        except HTTPException as exc:
            code = exc.code or 404
            response = _json(error(code, wire.ERR_NOT_FOUND if code == 404 else wire.ERR_BAD_REQUEST,
                                   exc.name))
            return response(environ, start_response)
        response = self._dispatch(request, endpoint, args)
        return response(environ, start_response)

    def _dispatch(self, request: Request, endpoint: str, args: Mapping[str, Any]) -> Response:
        handler = self._handlers[endpoint]
        if endpoint.startswith("sim."):
            return handler(request)
        with self.store.lock:
            self.store.requests[endpoint] = self.store.requests.get(endpoint, 0) + 1
        spec = self.faults.spec
        self.faults.delay()
        if self.faults.server_error():
            return _json(error(503, wire.ERR_UNAVAILABLE, "service temporarily unavailable"))
        if self.faults.throttled():
            return _json(error(429, wire.ERR_RATE_LIMITED, "too many requests"),
                         headers={"Retry-After": str(spec.retry_after)})
        if endpoint == "auth.token":
            response = handler(request)
        else:
            account = self._authenticate(request)
            if account is None:
                return _json(error(401, wire.ERR_UNAUTHORIZED, "missing, invalid or expired access token"))
            response = handler(request, account, **args)
        if response.mimetype == "application/json" and self.faults.malformed():
            body = response.get_data()
            return Response(body[: max(1, len(body) // 2)] + b'\xff{"', 200, mimetype="application/json")
        return response

    def _authenticate(self, request: Request) -> SimAccount | None:
        scheme, _, token = request.headers.get(wire.HEADER_AUTHORIZATION, "").partition(" ")
        if scheme != wire.BEARER or not token:
            return None
        return self.store.account_for(token.strip())

    # --- protocol endpoints -----------------------------------------------------------------

    def _token(self, request: Request) -> Response:
        req = _parse(wire.WireTokenRequest, request.get_data())
        if isinstance(req, tuple):
            return _json((400, req[1]))
        ttl = self.faults.spec.token_ttl or 3600.0
        token = self.store.issue_token(req.login, req.password, ttl)
        if token is None:
            return _json(error(401, wire.ERR_UNAUTHORIZED, "wrong login or password"))
        return _json((200, wire.WireTokenResponse(access_token=token, expires_in=ttl).model_dump()))

    def _list(self, request: Request, account: SimAccount) -> Response:
        args = request.args
        try:
            limit = int(args.get(wire.PARAM_LIMIT, DEFAULT_LIMIT))
            if not 1 <= limit <= wire.MAX_LIMIT:
                raise ValueError
        except ValueError:
            return _json(error(400, wire.ERR_BAD_REQUEST, f"limit must be 1..{wire.MAX_LIMIT}",
                               {"field": wire.PARAM_LIMIT}))
        since = None
        if args.get(wire.PARAM_UPDATED_SINCE):
            try:
                since = datetime.fromisoformat(args[wire.PARAM_UPDATED_SINCE])
                if since.tzinfo is None:
                    raise ValueError
            except ValueError:
                return _json(error(400, wire.ERR_BAD_REQUEST, "updatedSince must be ISO 8601 with an offset",
                                   {"field": wire.PARAM_UPDATED_SINCE}))
        statuses = None
        if args.get(wire.PARAM_STATUS):
            try:
                statuses = {PosStatus(s) for s in args[wire.PARAM_STATUS].split(",")}
            except ValueError:
                return _json(error(400, wire.ERR_BAD_REQUEST, "unknown status", {"field": wire.PARAM_STATUS}))
        after = None
        cursor = args.get(wire.PARAM_CURSOR, "")
        endless = 0
        if cursor.startswith(ENDLESS_PREFIX):  # ~<n>~<cursor of the page served again>
            count, _, cursor = cursor[1:].partition(ENDLESS_PREFIX)
            endless = int(count) if count.isdigit() else 0
        if cursor:
            try:
                after = decode_cursor(cursor)
            except (ValueError, UnicodeDecodeError):
                return _json(error(400, wire.ERR_BAD_REQUEST, "invalid cursor", {"field": wire.PARAM_CURSOR}))
        duplicate = after is not None and self.faults.chance(self.faults.spec.duplicate_pages)
        if duplicate:
            with self.store.lock:
                self._own_faults["duplicate_page"] = self._own_faults.get("duplicate_page", 0) + 1
        items, next_cursor = self.store.list_page(account, since, statuses, limit, after, duplicate)
        if next_cursor is None and self.spec.endless_cursor:
            # a fresh cursor every time, to the same page again: only a bound on the listing ends it
            next_cursor = f"{ENDLESS_PREFIX}{endless + 1}{ENDLESS_PREFIX}{cursor}"
            with self.store.lock:
                self._own_faults["endless_cursor"] = self._own_faults.get("endless_cursor", 0) + 1
        return _json((200, {"items": items, "nextCursor": next_cursor}))

    def _find(self, account: SimAccount, appeal_id: str) -> SimAppeal | Response:
        sim = self.store.find(account, appeal_id)
        if sim is None:
            return _json(error(404, wire.ERR_NOT_FOUND, "no such appeal"))
        return sim

    def _get(self, request: Request, account: SimAccount, id: str) -> Response:
        sim = self._find(account, id)
        if isinstance(sim, Response):
            return sim
        return _json((200, {k: v for k, v in sim.appeal.to_wire().items() if k not in sim.omit}))

    def _file(self, request: Request, account: SimAccount, id: str, file_id: str) -> Response:
        sim = self._find(account, id)
        if isinstance(sim, Response):
            return sim
        att = next((a for a in sim.appeal.attachments if a.id == file_id), None)
        if att is None:
            return _json(error(404, wire.ERR_NOT_FOUND, "no such file"))
        limit = att.size // 2 if att.size and self.faults.truncated() else None
        response = Response(generator.attachment_chunks(id, file_id, att.size, limit), 200,
                            content_type=att.mime_type, direct_passthrough=True)
        response.headers["Content-Length"] = str(att.size)
        response.headers["Content-Disposition"] = _content_disposition(att.name)
        return response

    def _idempotent(self, request: Request, account: SimAccount, fingerprint: str,
                    effect: Callable[[], Reply]) -> Response:
        key = request.headers.get(wire.HEADER_IDEMPOTENCY_KEY)
        stored = self.store.replay(account.login, key, fingerprint)
        if stored is not None:
            return _json(stored)
        with self.store.lock:  # replay check and effect are one step for concurrent retries
            stored = self.store.replay(account.login, key, fingerprint)
            return _json(stored or self.store.remember(account.login, key, fingerprint, effect()))

    def _status(self, request: Request, account: SimAccount, id: str) -> Response:
        sim = self._find(account, id)
        if isinstance(sim, Response):
            return sim
        req = _parse(wire.WireStatusRequest, request.get_data())
        if isinstance(req, tuple):
            return _json(req)
        return self._idempotent(request, account, f"status:{id}:{_canonical(req)}",
                                lambda: self.store.set_status(sim, req))

    def _answer(self, request: Request, account: SimAccount, id: str) -> Response:
        sim = self._find(account, id)
        if isinstance(sim, Response):
            return sim
        raw: bytes | str | None = request.form.get(wire.PART_ANSWER)
        if raw is None and wire.PART_ANSWER in request.files:
            raw = request.files[wire.PART_ANSWER].read()
        if raw is None:
            return _json(error(400, wire.ERR_BAD_REQUEST, "multipart part 'answer' is missing",
                               {"field": wire.PART_ANSWER}))
        answer = _parse(wire.WireAnswer, raw)
        if isinstance(answer, tuple):
            return _json(answer)
        files = []
        for storage in request.files.getlist(wire.PART_FILES):
            digest, size = hashlib.sha256(), 0
            while chunk := storage.stream.read(1 << 16):
                digest.update(chunk)
                size += len(chunk)
            files.append({"name": storage.filename or "", "size": size, "sha256": digest.hexdigest(),
                          "mimeType": storage.mimetype or "application/octet-stream"})
        fingerprint = f"answer:{id}:{_canonical(answer)}:" + json.dumps(files, sort_keys=True)
        return self._idempotent(request, account, fingerprint, lambda: self.store.answer(sim, answer, files))

    def _redirect(self, request: Request, account: SimAccount, id: str) -> Response:
        sim = self._find(account, id)
        if isinstance(sim, Response):
            return sim
        req = _parse(wire.WireRedirect, request.get_data())
        if isinstance(req, tuple):
            return _json(req)
        return self._idempotent(request, account, f"redirect:{id}:{_canonical(req)}",
                                lambda: self.store.redirect(sim, req))

    def _categories(self, request: Request, account: SimAccount) -> Response:
        return _json((200, [c.model_dump(mode="json", by_alias=True) for c in self.store.categories]))

    def _showcase(self, request: Request, account: SimAccount) -> Response:
        return _json(showcase.upload(self.store, account.org_id, request.get_data(), self.faults))

    # --- /_sim/* ----------------------------------------------------------------------------

    def _sim_state(self, request: Request) -> Response:
        if request.args.get("summary") in ("1", "true", "yes"):
            return _json((200, {"summary": self.summary()}))
        return _json((200, self.state()))

    def _sim_seed(self, request: Request) -> Response:
        req = _parse(SeedRequest, request.get_data() or b"{}")
        if isinstance(req, tuple):
            return _json((400, req[1]))
        if req.login is not None and req.login not in self.store.accounts:
            return _json(error(400, wire.ERR_BAD_REQUEST, "unknown login", {"field": "login"}))
        return _json((200, {"created": self.store.seed(req)}))

    def _sim_act(self, request: Request) -> Response:
        try:
            body = json.loads(request.get_data() or b"{}")
            action, appeal_id = body.get("action"), str(body.get("id", ""))
        except (ValueError, AttributeError):
            return _json(error(400, wire.ERR_BAD_REQUEST, "expected {action, id}"))
        if action == "revoke_tokens":
            return _json((200, {"revoked": self.revoke_tokens()}))
        if action == "rate_answers":
            return _json((200, self.rate_answers(**{k: body[k] for k in RATE_KEYS if k in body})))
        acts = {"touch": self.touch, "moderate_reject": self.moderate_reject}
        if action not in acts:
            return _json(error(400, wire.ERR_BAD_REQUEST, "action must be touch, moderate_reject, rate_answers or revoke_tokens"))
        if not acts[action](appeal_id):
            return _json(error(404, wire.ERR_NOT_FOUND, "no such appeal"))
        return _json((200, {"ok": True, "id": appeal_id}))

    def _sim_faults(self, request: Request) -> Response:
        if request.method == "POST":
            spec = _parse(PosFaultSpec, request.get_data() or b"{}")
            if isinstance(spec, tuple):
                return _json((400, spec[1]))
            self.set_faults(spec)
        return _json((200, self.faults.state()))
