"""The ExampleDesk simulator: the adapter's counterpart, a real HTTP server with state."""

from __future__ import annotations

import base64
import hashlib
import threading
from datetime import UTC, date, datetime, timedelta
from typing import Any

from werkzeug.wrappers import Request, Response


def _today() -> date:
    return datetime.now(UTC).date()


class ExampleDeskSimulator:
    def __init__(self, api_key: str = "example-key") -> None:
        self.api_key = api_key
        self.cards: dict[str, dict[str, Any]] = {}
        self.fail_next = 0
        self.lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        with self.lock:
            reply = self._route(request)
        return reply(environ, start_response)

    def _route(self, request: Request) -> Response:
        parts = [p for p in request.path.split("/") if p]
        if parts[:1] == ["_sim"]:
            return Response(status=204)
        if request.headers.get("X-Api-Key") != self.api_key:
            return Response("unauthorized", status=401)
        if self.fail_next > 0:
            self.fail_next -= 1
            return Response("busy", status=503)
        if parts == ["health"]:
            return Response("ok")
        if len(parts) >= 2 and parts[0] == "cards":
            card = self.cards.get(parts[1])
            if len(parts) == 2 and request.method == "PUT":
                if card is None:
                    number = len(self.cards) + 1
                    self.cards[parts[1]] = {
                        "id": parts[1], "pos_id": request.get_json()["pos_id"], "stage": "registered",
                        "reg_number": f"EX-{number:05d}", "reg_date": _today().isoformat(),
                        "executors": [], "deadline": None, "files": [], "answer": None, "redirect_org": ""}
                    return Response(status=201)
                return Response(status=200)
            if card is None:
                return Response("no such card", status=404)
            if len(parts) == 2:
                return Response(_json(card), content_type="application/json")
            if len(parts) == 4 and parts[2] == "files" and request.method == "PUT":
                data = request.get_data()
                sha = hashlib.sha256(data).hexdigest()
                if all(f["sha256"] != sha for f in card["files"]):
                    card["files"].append({"name": request.args["name"], "sha256": sha, "size": len(data)})
                return Response(status=204)
        return Response("not found", status=404)

    # Python control API (the harness drives the EDMS side directly).
    def hold_card(self, card_id: str, pos_id: str) -> None:
        """A card the adapter did not create, under ``card_id``, carrying ``pos_id`` (a restored backup)."""
        with self.lock:
            self.cards[card_id] = {
                "id": card_id, "pos_id": pos_id, "stage": "registered", "reg_number": f"EX-{len(self.cards) + 1:05d}",
                "reg_date": _today().isoformat(), "executors": [], "deadline": None, "files": [], "answer": None,
                "redirect_org": ""}

    def act(self, action: str, pos_id: str, **kw: Any) -> None:
        with self.lock:
            card = next(c for c in self.cards.values() if c["pos_id"] == pos_id)
            if action == "assign":  # each executor with its unit, own term and completion time
                due = kw.get("due_date") or (_today() + timedelta(days=30)).isoformat()
                executor = {"name": kw.get("executor") or "Смирнова Е. В.", "unit": kw.get("department", ""),
                            "responsible": bool(kw.get("responsible", not card["executors"])), "due": due,
                            "done_at": None}
                card.update(stage="in_work", executors=[*card["executors"], executor],
                            deadline=max(e["due"] for e in [*card["executors"], executor]))
            elif action == "complete":
                person = next(e for e in card["executors"] if not e["done_at"]
                              and kw.get("executor") in (None, e["name"]))
                person["done_at"] = datetime.now(UTC).isoformat()
            elif action == "extend":
                later = (_today() + timedelta(days=60)).isoformat()
                for person in card["executors"]:
                    person["due"] = later if not person["done_at"] else person["due"]
                card.update(stage="extended", deadline=later)
            elif action == "answer":
                content = b"%PDF-1.4 example answer " + pos_id.encode()
                card.update(stage="answer_ready", answer={
                    "text": "Ответ по существу обращения", "signer": "Глава администрации", "decision": "Разъяснено",
                    "date": _today().isoformat(),
                    "files": [{"name": f"Ответ №{pos_id}.pdf", "content": base64.b64encode(content).decode()}]})
            elif action == "redirect":
                card.update(stage="redirected", redirect_org=kw.get("org_id", ""))

    def count_for(self, pos_id: str) -> int:
        with self.lock:
            return sum(1 for c in self.cards.values() if c["pos_id"] == pos_id)


def _json(doc: Any) -> str:
    import json

    return json.dumps(doc, ensure_ascii=False)
