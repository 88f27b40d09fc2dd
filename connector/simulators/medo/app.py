"""MedoSimulator: the counterpart СЭД of a МЭДО file exchange, plus its loopback HTTP control app.

It reads the packages the adapter drops into ``outbox_dir`` (its incoming), validates them with the
shipped XSD (invalid → ``documentRefused`` with the reason) and answers with notification packages in
``inbox_dir``: windows-1251 by default, UTF-8 on request.  Picked-up packages move to ``store_dir``.
Notifications are written as real senders write them (edms-public-clients.md M2–M4): the real type labels,
the common block (time, foundation, correspondent) before the specific fields, ``reportSent/report`` as a
document reference without a uid, answers with links/enclosures/clauses/executor; xdms ``version`` 2.2 by
default (2.0, 2.6, 2.7 on request) and no ``header@created`` unless ``header_created``.

Control (the instance is a WSGI app; run it with SimServer): ``GET /_sim/state[?summary=1]``,
``POST /_sim/act`` ``{"action": "process" | "assign" | "extend" | "answer" | "redirect" | "refuse" | "auto" |
"inject", "pos_id" | "uid": …, …}`` (``answer`` with ``"without_file": true`` sends the signed answer without
its file; a later ``answer`` re-sends it complete), ``GET|POST /_sim/faults`` (:class:`MedoFaultSpec`).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import Field, ValidationError
from werkzeug.exceptions import NotFound
from werkzeug.wrappers import Request, Response

from connector.simulators.base import WsgiSimulator
from connector.simulators.faults import FaultInjector, FaultSpec
from connector.simulators.medo.state import MedoState, UnknownTarget, utc_now
from connector.simulators.medo.writer import HOSTILE_KINDS
from connector.simulators.teams import plan_team

ACTIONS = ("process", "assign", "extend", "answer", "redirect", "refuse", "auto", "inject")


class MedoFaultSpec(FaultSpec):
    """FaultSpec plus file-exchange faults; each ``*_next`` counts notifications (answers for traversal)."""

    duplicate_next: int = Field(0, ge=0, description="the next N notifications are written twice")
    delay_next: int = Field(0, ge=0, description="the next N notifications arrive without envelope (still being "
                                                 "copied) and are completed by the next process")
    bomb_next: int = Field(0, ge=0, description="an XML bomb package precedes each of the next N notifications")
    entity_next: int = Field(0, ge=0, description="an external-entity package precedes the next N notifications")
    doctype_next: int = Field(0, ge=0, description="a package with a DOCTYPE precedes the next N notifications")
    wrong_encoding_next: int = Field(0, ge=0, description="a package declaring windows-1251 but written in UTF-8 "
                                                          "precedes the next N notifications")
    unknown_next: int = Field(0, ge=0, description="a package of an unknown message type precedes the next N")
    zipbomb_next: int = Field(0, ge=0, description="a document whose container is a ZIP bomb precedes the next N")
    traversal_next: int = Field(0, ge=0, description="the next N answer containers hold a ../ member")


# malformed_next comes from FaultSpec: a truncated XML package precedes each of the next N notifications
_PRECEDING = ("malformed", "bomb", "entity", "doctype", "wrong_encoding", "unknown", "zipbomb")


class MedoFaultInjector(FaultInjector):
    def preceding(self) -> list[str]:
        return [kind for kind in _PRECEDING if self.take(kind)]


class MedoSimulator(WsgiSimulator):
    def __init__(self, outbox_dir: Path, inbox_dir: Path, *, faults: FaultSpec | None = None,
                 encoding: str = "windows-1251", seed: int = 1, store_dir: Path | None = None,
                 clock: Callable[[], datetime] = utc_now, version: str = "2.2",
                 header_created: bool = False) -> None:
        if encoding not in ("windows-1251", "utf-8"):
            raise ValueError("encoding must be windows-1251 or utf-8")
        outbox_dir, inbox_dir = Path(outbox_dir), Path(inbox_dir)
        outbox_dir.mkdir(parents=True, exist_ok=True)
        inbox_dir.mkdir(parents=True, exist_ok=True)
        self.faults = MedoFaultInjector(faults or MedoFaultSpec())
        self.store = MedoState(outbox_dir, inbox_dir, store_dir or outbox_dir.parent / "medo-sim-received",
                               encoding=encoding, seed=seed, clock=clock, version=version,
                               header_created=header_created)
        self.store.before_notification = self.faults.preceding
        self.store.duplicate = lambda: self.faults.take("duplicate")
        self.store.delay = lambda: self.faults.take("delay")
        self.store.traversal = lambda: self.faults.take("traversal")
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # --- Python API --------------------------------------------------------------------------------------
    def process(self) -> dict[str, Any]:
        return self.store.process()

    def act(self, body: dict[str, Any]) -> dict[str, Any]:
        action = body.get("action")
        if action not in ACTIONS:
            raise ValueError(f"unknown action {action!r} ({', '.join(ACTIONS)})")
        s = self.store
        with s.lock:
            if action == "process":
                return s.process()
            if action == "inject":
                kind = str(body.get("kind", ""))
                if kind not in HOSTILE_KINDS:
                    raise ValueError(f"unknown hostile package kind {kind!r} ({', '.join(HOSTILE_KINDS)})")
                return {"package": s.write_hostile(kind, str(body.get("uid") or ""))}
            if action == "auto":
                return self._auto(bool(body.get("assign", True)), bool(body.get("answer", False)))
            doc = s.target(body)
            handler = {"assign": s.assign, "extend": s.extend, "answer": s.answer, "redirect": s.redirect,
                       "refuse": s.refuse}[str(action)]
            return handler(doc, body)

    def _auto(self, assign: bool, answer: bool) -> dict[str, Any]:
        s = self.store
        result = s.process()
        done: dict[str, list[str]] = {"assigned": [], "answered": []}
        for doc in list(s.docs.values()):
            if doc.status == "accepted" and assign:  # a team in several units (connector.simulators.teams)
                for step in plan_team(s._random, s.today()):
                    s.assign(doc, {"executor": step.executor, "department": step.unit})
                done["assigned"].append(doc.uid)
            if doc.status in ("accepted", "in_work", "extended") and answer:
                s.answer(doc, {})
                done["answered"].append(doc.uid)
        return {**result, **done}

    def inject(self, kind: str, doc_uid: str = "") -> str:
        """Write one hostile package (see HOSTILE_KINDS) into the inbox now; returns its name."""
        return self.act({"action": "inject", "kind": kind, "uid": doc_uid})["package"]

    def state(self) -> dict[str, Any]:
        return self.store.state()

    def summary(self) -> dict[str, Any]:
        return {**self.store.summary(), "faults": self.faults.state()}

    def set_faults(self, spec: FaultSpec) -> None:
        self.faults.configure(spec)

    def start_polling(self, interval: float = 2.0, *, assign: bool = False, answer: bool = False) -> None:
        """Background mode for ``connector sim edms --kind medo``: process (and optionally act) every interval."""
        if self._thread is not None:
            return
        self._stop.clear()

        def loop() -> None:
            while not self._stop.wait(interval):
                self.act({"action": "auto", "assign": assign, "answer": answer})

        self._thread = threading.Thread(target=loop, name="medo-sim-poll", daemon=True)
        self._thread.start()

    def stop_polling(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    def close(self) -> None:
        self.stop_polling()

    # --- WSGI control app --------------------------------------------------------------------------------
    def _dispatch(self, request: Request) -> Response:
        path = request.path.rstrip("/")
        if path == "/_sim/state" and request.method == "GET":
            return _json(self.summary() if request.args.get("summary") in ("1", "true") else self.state())
        if path == "/_sim/act" and request.method == "POST":
            try:
                return _json(self.act(request.get_json(force=True)))
            except UnknownTarget as exc:
                return _json({"error": str(exc.args[0])}, 404)
            except (ValueError, TypeError) as exc:
                return _json({"error": str(exc)}, 400)
        if path == "/_sim/faults" and request.method in ("GET", "POST"):
            if request.method == "POST":
                try:
                    self.set_faults(MedoFaultSpec.model_validate(request.get_json(force=True)))
                except ValidationError as exc:
                    return _json({"error": exc.errors(include_url=False, include_context=False)}, 400)
            return _json(self.faults.state())
        raise NotFound()


def control_app(sim: MedoSimulator) -> Callable[..., Iterable[bytes]]:
    """The WSGI control app of ``sim`` (the simulator instance itself)."""
    return sim


def _json(data: Any, status: int = 200) -> Response:
    return Response(json.dumps(data, ensure_ascii=False, default=str), status=status,
                    content_type="application/json; charset=utf-8")
