"""What the stateful HTTP simulators share: the Python control API and the WSGI entry."""

from __future__ import annotations

import abc
import json
from collections.abc import Iterable
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

from pydantic import ValidationError
from werkzeug.exceptions import HTTPException, NotFound
from werkzeug.wrappers import Request, Response

from connector.simulators.faults import FaultInjector, FaultSpec

# The zone the simulated Russian systems keep their calendar in.
LOCAL_ZONE = ZoneInfo("Europe/Moscow")


class WsgiSimulator(abc.ABC):
    """The WSGI entry: a request goes to ``_dispatch``; werkzeug's HTTP errors are answers."""

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        request = Request(environ)
        try:
            response = self._dispatch(request)
        except HTTPException as exc:
            response = exc.get_response()  # type: ignore[assignment]
        return response(environ, start_response)

    @abc.abstractmethod
    def _dispatch(self, request: Request) -> Response:
        """Answer one request."""


class StatefulSimulator(WsgiSimulator):
    """A simulator whose state lives in ``store`` (with ``act``, ``state``, ``summary``,
    ``close`` and a ``lock``) and whose faults come from ``faults``."""

    fault_model: ClassVar[type[FaultSpec]] = FaultSpec
    store: Any
    faults: FaultInjector
    requests: dict[str, int]

    def act(self, body: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = self.store.act(body)
        return result

    def state(self) -> dict[str, Any]:
        result: dict[str, Any] = self.store.state()
        return result

    def seed(self, body: dict[str, Any]) -> dict[str, Any]:
        """Put records into the simulated system that did not come through its protocol."""
        seed = getattr(self.store, "seed", None)
        if seed is None:
            raise NotFound()
        result: dict[str, Any] = seed(body)
        return result

    def summary(self) -> dict[str, Any]:
        result: dict[str, Any] = self.store.summary()
        with self.store.lock:
            result["requests"] = dict(self.requests)
        result["faults"] = self.faults.state()
        return result

    def set_faults(self, spec: FaultSpec) -> None:
        self.faults.configure(spec)

    def close(self) -> None:
        self.store.close()

    def _sim(self, request: Request, path: str) -> Response:
        """``GET /_sim/state[?summary=1]``, ``POST /_sim/act``, ``POST /_sim/seed``, ``GET|POST /_sim/faults``."""
        if path == "/_sim/state" and request.method == "GET":
            return _json(self.summary() if request.args.get("summary") in ("1", "true") else self.state())
        if path in ("/_sim/act", "/_sim/seed") and request.method == "POST":
            handle = self.act if path == "/_sim/act" else self.seed
            try:
                return _json(handle(request.get_json(force=True)))
            except KeyError as exc:  # the simulators' UnknownTarget
                return _json({"error": str(exc.args[0])}, 404)
            except (ValueError, TypeError) as exc:
                return _json({"error": str(exc)}, 400)
        if path == "/_sim/faults":
            if request.method == "POST":
                try:
                    self.set_faults(self.fault_model.model_validate(request.get_json(force=True)))
                except ValidationError as exc:
                    return _json({"error": exc.errors(include_url=False, include_context=False)}, 400)
            return _json(self.faults.state())
        raise NotFound()


def _json(data: Any, status: int = 200) -> Response:
    return Response(json.dumps(data, ensure_ascii=False, default=str), status=status,
                    content_type="application/json; charset=utf-8")
