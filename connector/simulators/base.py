"""What the stateful HTTP simulators share: the Python control API and the WSGI entry."""

from __future__ import annotations

import abc
from collections.abc import Iterable
from typing import Any

from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Request, Response

from connector.simulators.faults import FaultInjector, FaultSpec


class StatefulSimulator(abc.ABC):
    """A simulator whose state lives in ``store`` (with ``act``, ``state``, ``summary``,
    ``close`` and a ``lock``) and whose faults come from ``faults``."""

    store: Any
    faults: FaultInjector
    requests: dict[str, int]

    def act(self, body: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = self.store.act(body)
        return result

    def state(self) -> dict[str, Any]:
        result: dict[str, Any] = self.store.state()
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

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        request = Request(environ)
        try:
            response = self._dispatch(request)
        except HTTPException as exc:
            response = exc.get_response()  # type: ignore[assignment]
        return response(environ, start_response)

    @abc.abstractmethod
    def _dispatch(self, request: Request) -> Response:
        """Route one request to the protocol or the /_sim endpoints."""
