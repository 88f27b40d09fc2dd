"""The ССТУ.РФ simulator: the import plugin and its read-back API over WSGI, plus ``/_sim/*``.

* ``POST /IPCP/HandlingReportPlugin/Api/Import`` -- one appeal per request, checked by
  :mod:`.checks` (written from the format document, independent of our exporter): 400 with
  ``{"reason": …}`` when it breaks the format, 200 with a receipt otherwise.  Accepted
  appeals are kept by (departmentId, number); a re-sent appeal replaces the earlier one.
* ``GET /IPCP/HandlingReportPlugin/Api/analytics/ver.0.2/requests/<departmentId>`` -- what the
  portal holds, one item per appeal with ``exceptionMessage`` (null when fine; the reason of
  the last rejection for an appeal that was never accepted).
* ``GET /_sim/state[?summary=1]``, ``GET|POST /_sim/faults`` (FaultSpec), ``POST /_sim/act``
  ``{"action": "set_exception"|"drop"|"hold_undelivered"|"plant_foreign"|"reset", "departmentId",
  "number", "message"}``: ``hold_undelivered`` keeps an accepted appeal's ``dispatchDate`` and
  ``uploadDate`` empty (received, not delivered on); ``plant_foreign`` lists an appeal we never sent
  (a «А26…» number registered by the Presidential Administration, or ``""`` for an item without a
  number), as a public read-back sample shows them.

Faults apply to the protocol endpoints only, never to ``/_sim/*``.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections import deque
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import ValidationError
from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from connector.simulators.faults import FaultInjector, FaultSpec
from connector.simulators.sstu.checks import Rejected, check_appeal

IMPORT_PATH = "/IPCP/HandlingReportPlugin/Api/Import"
READ_BACK_PATH = "/IPCP/HandlingReportPlugin/Api/analytics/ver.0.2/requests/<department_id>"
MAX_BODY = 16 * 1024 * 1024
KEEP_REJECTIONS = 1000

URL_MAP = Map([
    Rule(IMPORT_PATH, endpoint="import", methods=["POST"]),
    Rule(READ_BACK_PATH, endpoint="read_back", methods=["GET"]),
    Rule("/_sim/state", endpoint="sim.state", methods=["GET"]),
    Rule("/_sim/faults", endpoint="sim.faults", methods=["GET", "POST"]),
    Rule("/_sim/act", endpoint="sim.act", methods=["POST"]),
])

Key = tuple[str, str]


def _json(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(body, ensure_ascii=False), status, headers=headers, mimetype="application/json")


def _summary_questions(doc: dict[str, Any]) -> list[dict[str, Any]]:
    questions = doc.get("questions")
    if not isinstance(questions, list):
        return []
    return [{"code": q.get("code"), "status": q.get("status")} for q in questions if isinstance(q, dict)]


_PORTAL_ZONE = ZoneInfo("Europe/Moscow")  # the portal dates what it receives on Moscow's calendar


def _portal_today() -> str:
    return datetime.now(_PORTAL_ZONE).date().isoformat()


class SstuSimulator:
    """A WSGI callable standing for the ССТУ import plugin; ``SimServer(SstuSimulator())``."""

    def __init__(self, faults: FaultSpec | None = None, *, codes: set[str] | None = None) -> None:
        self.faults = FaultInjector(faults)
        self.codes = codes
        self.lock = threading.Lock()
        self.accepted: dict[Key, dict[str, Any]] = {}
        self.exceptions: dict[Key, str] = {}         # last rejection / planted portal error per appeal
        self.refused: dict[Key, list[dict[str, Any]]] = {}  # never accepted: question summary
        # read-back items we did not import: «А26…» appeals the Presidential Administration registered,
        # items without a number (both seen in a public read-back sample)
        self.foreign: list[dict[str, Any]] = []
        self.rejections: deque[dict[str, Any]] = deque(maxlen=KEEP_REJECTIONS)
        # accepted although our own writer never sends it (what public senders do send)
        self.tolerated: deque[dict[str, Any]] = deque(maxlen=KEEP_REJECTIONS)
        self.counts = {"requests": 0, "accepted": 0, "replaced": 0, "rejected": 0, "tolerated": 0}

    # --- in-process API -----------------------------------------------------------------------

    def summary(self) -> dict[str, Any]:
        with self.lock:
            return {**self.counts, "appeals": len(self.accepted), "faults": self.faults.state()["injected"]}

    def state(self) -> dict[str, Any]:
        with self.lock:
            appeals = [{"departmentId": k[0], "number": k[1], "appeal": v["appeal"], "version": v["version"],
                        "exceptionMessage": self.exceptions.get(k)} for k, v in sorted(self.accepted.items())]
            rejections = list(self.rejections)
        return {"summary": self.summary(), "appeals": appeals, "rejections": rejections,
                "tolerated": list(self.tolerated)}

    def appeal(self, department_id: str, number: str) -> dict[str, Any] | None:
        with self.lock:
            entry = self.accepted.get((department_id, number))
            return entry["appeal"] if entry else None

    def set_faults(self, spec: FaultSpec) -> None:
        self.faults.configure(spec)

    # --- WSGI -----------------------------------------------------------------------------------

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        request = Request(environ)
        try:
            endpoint, args = URL_MAP.bind_to_environ(environ).match()
        except HTTPException as exc:
            return _json(exc.code or 404, {"reason": exc.name})(environ, start_response)
        handlers: dict[str, Callable[..., Response]] = {
            "import": self._import, "read_back": self._read_back, "sim.state": self._sim_state,
            "sim.faults": self._sim_faults, "sim.act": self._sim_act,
        }
        if not endpoint.startswith("sim."):
            fault = self._fault()
            if fault is not None:
                return fault(environ, start_response)
        return handlers[endpoint](request, **args)(environ, start_response)

    def _fault(self) -> Response | None:
        with self.lock:
            self.counts["requests"] += 1
        spec = self.faults.spec
        self.faults.delay()
        if self.faults.server_error():
            return _json(503, {"reason": "service temporarily unavailable"})
        if self.faults.throttled():
            return _json(429, {"reason": "too many requests"}, headers={"Retry-After": str(spec.retry_after)})
        return None

    # --- protocol ---------------------------------------------------------------------------------

    def _reject(self, reason: str, doc: Any) -> Response:
        number = doc.get("number") if isinstance(doc, dict) else None
        department = doc.get("departmentId") if isinstance(doc, dict) else None
        with self.lock:
            self.counts["rejected"] += 1
            self.rejections.append({"departmentId": department, "number": number, "reason": reason})
            if isinstance(number, str) and isinstance(department, str) and number.strip():
                key = (department, number)
                self.exceptions[key] = reason
                if key not in self.accepted:  # a refused appeal still shows in the read-back
                    self.refused[key] = _summary_questions(doc)
        return _json(400, {"reason": reason, "number": number})

    def _import(self, request: Request) -> Response:
        if (request.content_length or 0) > MAX_BODY:
            return _json(413, {"reason": f"body larger than {MAX_BODY} bytes"})
        if request.mimetype != "application/json":
            return self._reject("Content-Type must be application/json", None)
        raw = request.get_data()
        try:
            doc = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError):
            return self._reject("the body is not UTF-8 JSON", None)
        try:
            notes = check_appeal(doc, codes=self.codes)
        except Rejected as exc:
            return self._reject(str(exc), doc)
        if notes:
            with self.lock:
                self.counts["tolerated"] += 1
                self.tolerated.append({"number": doc.get("number"), "notes": notes})
        key = (str(doc["departmentId"]).lower(), doc["number"])  # the portal matches GUIDs in any case
        with self.lock:
            previous = self.accepted.get(key)
            version = previous["version"] + 1 if previous else 1
            # received today; delivered on at once unless an act holds it (dispatchDate/uploadDate empty)
            self.accepted[key] = {"appeal": doc, "version": version, "received": _portal_today(),
                                  "delivered": previous["delivered"] if previous else True}
            self.exceptions.pop(key, None)
            self.refused.pop(key, None)
            self.counts["accepted"] += 1
            if previous:
                self.counts["replaced"] += 1
        return _json(200, {"id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"sstu:{key[0]}/{key[1]}")),
                           "number": doc["number"], "version": version, "result": "Accepted"})

    def _read_back(self, request: Request, department_id: str) -> Response:
        items = []
        with self.lock:
            for key, entry in sorted(self.accepted.items()):
                if key[0] == department_id:
                    delivered = entry["received"] if entry["delivered"] else None
                    items.append({"number": key[1], "departmentId": key[0],
                                  "questions": _summary_questions(entry["appeal"]),
                                  "receiveDate": entry["received"], "dispatchDate": delivered,
                                  "uploadDate": delivered, "exceptionMessage": self.exceptions.get(key)})
            for key, questions in sorted(self.refused.items()):
                if key[0] == department_id and key not in self.accepted:
                    items.append({"number": key[1], "departmentId": key[0], "questions": questions,
                                  "exceptionMessage": self.exceptions.get(key)})
            items.extend(item for item in self.foreign if item["departmentId"] == department_id)
        return _json(200, items)

    # --- /_sim/* -----------------------------------------------------------------------------------

    def _sim_state(self, request: Request) -> Response:
        if request.args.get("summary") in ("1", "true", "yes"):
            return _json(200, {"summary": self.summary()})
        return _json(200, self.state())

    def _sim_faults(self, request: Request) -> Response:
        if request.method == "POST":
            try:
                self.set_faults(FaultSpec.model_validate_json(request.get_data() or b"{}"))
            except ValidationError as exc:
                details = [{"field": ".".join(map(str, e["loc"])), "message": e["msg"]}
                           for e in exc.errors(include_input=False, include_url=False)]
                return _json(400, {"reason": "invalid fault spec", "details": details})
        return _json(200, self.faults.state())

    def _sim_act(self, request: Request) -> Response:
        try:
            body = json.loads(request.get_data() or b"{}")
            action = body.get("action")
            key = (str(body.get("departmentId", "")), str(body.get("number", "")))
        except (ValueError, AttributeError):
            return _json(400, {"reason": "expected {action, departmentId, number}"})
        with self.lock:
            if action == "reset":
                self.accepted.clear()
                self.exceptions.clear()
                self.refused.clear()
                self.rejections.clear()
                self.foreign.clear()
                return _json(200, {"ok": True})
            if action == "plant_foreign":  # number "" plants an item without a number
                self.foreign.append({"number": key[1], "departmentId": key[0], "isDirect": False,
                                     "questions": [{"status": "NotRegistered"}], "dispatchDate": None,
                                     "uploadDate": None, "exceptionMessage": None})
                return _json(200, {"ok": True, "action": action})
            if action not in ("set_exception", "drop", "hold_undelivered"):
                return _json(400, {"reason": "action must be set_exception, drop, hold_undelivered, "
                                             "plant_foreign or reset"})
            if key not in self.accepted:
                return _json(404, {"reason": "no such appeal"})
            if action == "drop":
                del self.accepted[key]
                self.exceptions.pop(key, None)
            elif action == "hold_undelivered":
                self.accepted[key]["delivered"] = False
            else:
                self.exceptions[key] = str(body.get("message") or "portal processing error")
        return _json(200, {"ok": True, "action": action})
