"""DirectumSimulator: a WSGI app that behaves like Directum RX's Integration service (OData v4) on loopback.

Protocol endpoints under ``/Integration/odata/`` (prefix matched case-insensitively, HTTP Basic):
``$metadata`` (static CSDL), ``<Set>[?$filter&$select&$expand&$top&$skip]``, ``<Set>/$count`` (text/plain
with a UTF-8 BOM), ``<Set>(id)``, ``POST <Set>``, ``<Doc>(id)/Versions``, ``POST <Doc>(id)/Versions``,
``GET|POST <Doc>(id)/Versions(v)/Body``.  An empty collection is a 204 with no body; an unfiltered
collection query over ``max_unfiltered`` entities is refused with Directum's plain-string error.
Control: ``GET /_sim/state[?summary=1]``, ``POST /_sim/act``, ``POST /_sim/seed`` (letters we did not
create, e.g. a foreign one the POS-id lookup of another message answers with), ``GET|POST /_sim/faults``;
faults apply to protocol endpoints only.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pydantic import Field
from werkzeug.exceptions import NotFound
from werkzeug.wrappers import Request, Response

from connector.edms_adapters.directum_rx import wire
from connector.simulators.base import StatefulSimulator
from connector.simulators.directum.state import (
    DOCUMENT_SETS,
    VERSIONS,
    BodyRec,
    DirectumState,
    Expand,
    ODataError,
    SimNames,
)
from connector.simulators.faults import FaultInjector, FaultSpec

PREFIX = "/integration/odata"
DEFAULT_USERS = {"integration": "rx-secret"}
METADATA_PATH = Path(__file__).with_name("metadata.xml")
_ROUTE = re.compile(r"^(?P<set>I\w+)(?:\((?P<id>\d+)\))?(?:/(?P<versions>Versions)(?:\((?P<vid>\d+)\))?"
                    r"(?:/(?P<body>Body))?)?(?:/(?P<count>\$count))?$")


class DirectumFaultSpec(FaultSpec):
    """FaultSpec plus faults specific to this simulator."""

    unauthorized_next: int = Field(0, ge=0, description="the next N requests get 401")
    lost_reply_next: int = Field(0, ge=0, description="the next N POSTs are executed, then answered by a 500")
    answer_without_file_next: int = Field(0, ge=0, description="the next N answers (act answer/auto) are signed "
                                                                "with no version (attach_answer_file adds one)")
    only_path: str = Field("", description="lost_reply hits only POSTs whose path contains this, e.g. 'Versions'")
    ignore_lambdas: bool = Field(False, description="any(…) conditions in $filter match everything, as on a "
                                                    "server that skips conditions it does not support")


class DirectumSimulator(StatefulSimulator):
    fault_model = DirectumFaultSpec

    def __init__(self, users: dict[str, str] | None = None, faults: FaultSpec | None = None, *, seed: int = 1,
                 max_unfiltered: int = 50, names: SimNames | None = None, memory_limit: int = 1024 * 1024,
                 required_refs: tuple[str, ...] | None = None) -> None:
        self.users = dict(users) if users is not None else dict(DEFAULT_USERS)
        self.faults = FaultInjector(faults or DirectumFaultSpec())
        self.store = DirectumState(seed=seed, names=names, memory_limit=memory_limit,
                                   **({} if required_refs is None else {"required_refs": required_refs}))
        self.store.forget_answer_file = lambda: self.faults.take("answer_without_file")
        self.max_unfiltered = max_unfiltered
        self.requests: dict[str, int] = {}

    def _dispatch(self, request: Request) -> Response:
        path = request.path.rstrip("/")
        if path.startswith("/_sim/"):
            return self._sim(request, path)
        if not path.lower().startswith(PREFIX):
            raise NotFound()
        return self._protocol(request, path[len(PREFIX):].lstrip("/"))

    def _protocol(self, request: Request, resource: str) -> Response:
        f = self.faults
        f.delay()
        if f.take("unauthorized"):
            return _unauthorized()
        if f.throttled():
            return _error(ODataError(429, "Слишком много запросов. Повторите позже."),
                          headers={"Retry-After": str(f.spec.retry_after)})
        if f.server_error():
            return _error(ODataError(503, "Сервис интеграции временно недоступен."))
        if not self._authenticated(request):
            return _unauthorized()
        try:
            with self.store.lock:
                response, route = self._handle(request, resource)
                key = f"{request.method} {route}"
                self.requests[key] = self.requests.get(key, 0) + 1
        except ODataError as exc:
            return _error(exc)
        only = str(getattr(f.spec, "only_path", ""))
        if request.method == "POST" and only in resource and f.take("lost_reply"):
            return _error(ODataError(500, "Произошла внутренняя ошибка сервера. Соединение разорвано."))
        if f.malformed() and not response.is_streamed:
            data = response.get_data()
            response.set_data(data[: len(data) // 2] or b"{")
        return response

    def _authenticated(self, request: Request) -> bool:
        auth = request.authorization
        if auth is None or auth.type != "basic" or not auth.username:
            return False
        expected = self.users.get(auth.username)
        return expected is not None and hmac.compare_digest(expected.encode(), (auth.password or "").encode())

    # --- OData resources -----------------------------------------------------------------------------------
    def _handle(self, request: Request, resource: str) -> tuple[Response, str]:
        base = request.host_url.rstrip("/") + request.path[: request.path.lower().find(PREFIX) + len(PREFIX)]
        if resource == "$metadata" and request.method == "GET":
            text = METADATA_PATH.read_bytes().replace(  # an older installation names the task text Text
                f'Name="{wire.P_ACTION_ITEM}"'.encode(), f'Name="{self.store.names.task_text_property}"'.encode())
            return Response(text, content_type="application/xml"), "$metadata"
        if resource == "" and request.method == "GET":
            sets = self.store.entity_sets
            return _json({"@odata.context": f"{base}/$metadata",
                          "value": [{"name": s, "kind": "EntitySet", "url": s} for s in sets]}), "service"
        match = _ROUTE.match(resource)
        if match is None or match["set"] not in self.store.entity_sets:
            raise ODataError(404, f"Ресурс '{resource[:80]}' не найден.")
        set_name, method = match["set"], request.method
        entity_id = int(match["id"]) if match["id"] else None
        route = set_name + ("/Versions" if match["versions"] else "") + ("/Body" if match["body"] else "") \
            + ("/$count" if match["count"] else "")
        if match["versions"]:
            if set_name not in DOCUMENT_SETS or entity_id is None:
                raise ODataError(404, f"У {set_name} нет навигационного свойства Versions.")
            return self._versions(request, set_name, entity_id, match, base), route
        if match["count"]:
            if entity_id is not None or method != "GET":
                raise ODataError(400, "$count допустим только для коллекции.")
            count = len(self.store.query(set_name, request.args.get("$filter")))
            return Response((wire.BOM + str(count)).encode(), content_type="text/plain; charset=utf-8"), route
        if entity_id is not None:
            if method != "GET":
                raise ODataError(405, f"Метод {method} не поддерживается для {set_name}({entity_id}).")
            entity = self.store.get(set_name, entity_id)
            return _json({"@odata.context": f"{base}/$metadata#{set_name}/$entity",
                          **self._shape(request, set_name, entity)}), route
        if method == "POST":
            new_id = self.store.create(set_name, _body(request))
            created = self.store.serialize(set_name, self.store.get(set_name, new_id), None, {})
            return _json({"@odata.context": f"{base}/$metadata#{set_name}/$entity", **created}, 201,
                         headers={"Location": f"{base}/{wire.key(set_name, new_id)}"}), route
        if method != "GET":
            raise ODataError(405, f"Метод {method} не поддерживается для {set_name}.")
        filter_text = request.args.get("$filter")
        found = self.store.query(set_name, filter_text, ignore_lambdas=bool(getattr(self.faults.spec, "ignore_lambdas",
                                                                                       False)))
        top = _int_arg(request, "$top")
        if not filter_text and len(found) > self.max_unfiltered and (top is None or top > self.max_unfiltered):
            raise ODataError(400, wire.TOO_MANY_ENTITIES, plain=True)
        return self._collection(request, base, set_name, found), route

    def _versions(self, request: Request, set_name: str, doc_id: int, match: re.Match[str], base: str) -> Response:
        store, method = self.store, request.method
        version_id = int(match["vid"]) if match["vid"] else None
        context = f"{base}/$metadata#{set_name}({doc_id})/Versions"
        if version_id is None:
            if match["body"] or match["count"]:
                raise ODataError(400, "Не указана версия.")
            if method == "POST":
                new_id = store.create_version(set_name, doc_id, _body(request))
                created = store.serialize(VERSIONS, store.version(set_name, doc_id, new_id), None, {})
                return _json({"@odata.context": f"{context}/$entity", **created}, 201)
            if method != "GET":
                raise ODataError(405, f"Метод {method} не поддерживается для версий.")
            return self._collection(request, base, VERSIONS, store.versions_of(set_name, doc_id), context=context)
        version = store.version(set_name, doc_id, version_id)
        if not match["body"]:
            if method != "GET":
                raise ODataError(405, f"Метод {method} не поддерживается для версии.")
            return _json({"@odata.context": f"{context}/$entity", **self._shape(request, VERSIONS, version)})
        if method == "POST":
            payload = _body(request)
            value = payload.get(wire.P_VALUE)
            if not isinstance(value, str):
                raise ODataError(400, "Заполните свойство Value (содержимое в base64).")
            try:
                content = base64.b64decode(value, validate=True)
            except (binascii.Error, ValueError):
                raise ODataError(400, "Свойство Value не является строкой base64.") from None
            saved = store.set_body(set_name, doc_id, version_id, content)
            return _json({"@odata.context": f"{context}({version_id})/Body/$entity", wire.P_ID: saved.id})
        if method != "GET":
            raise ODataError(405, f"Метод {method} не поддерживается для тела версии.")
        rec = store.body(set_name, doc_id, version_id)
        if rec is None:
            return Response(status=204)
        return Response(_body_json(rec, f"{context}({version_id})/Body/$entity"), content_type=wire.JSON_CONTENT_TYPE)

    def _shape(self, request: Request, set_name: str, entity: dict[str, Any] | None) -> dict[str, Any]:
        """``entity`` serialized with the request's $select/$expand; None only validates them."""
        select = request.args.get("$select")
        fields = [s.strip() for s in select.split(",") if s.strip()] if select else None
        expand = _parse_expand(request.args.get("$expand", ""))
        if entity is None:
            self.store.check_options(set_name, fields, expand)
            return {}
        return self.store.serialize(set_name, entity, fields, expand)

    def _collection(self, request: Request, base: str, set_name: str, found: list[dict[str, Any]],
                    context: str = "") -> Response:
        skip = _int_arg(request, "$skip") or 0
        top = _int_arg(request, "$top")
        page = found[skip:] if top is None else found[skip: skip + top]
        self._shape(request, set_name, None)
        values = [self._shape(request, set_name, e) for e in page]
        if not values:
            return Response(status=204)
        return _json({"@odata.context": context or f"{base}/$metadata#{set_name}", "value": values})



def _split_top(text: str, sep: str) -> list[str]:
    """``text`` split at ``sep`` outside parentheses."""
    items, depth, start = [], 0, 0
    for i, ch in enumerate(text + sep):
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == sep and depth == 0:
            items.append(text[start:i].strip())
            start = i + 1
    return [item for item in items if item]


def _parse_expand(text: str) -> Expand:
    """``A,B($select=Id,Name),C($expand=D($select=Id))`` → {"A": (None, {}), "B": (["Id", "Name"], {}),
    "C": (None, {"D": (["Id"], {})})}; other nested options are refused."""
    out: Expand = {}
    for item in _split_top(text, ","):
        name, _, options = item.partition("(")
        select: list[str] | None = None
        nested: Expand = {}
        for option in _split_top(options[:-1] if options.endswith(")") else options, ";"):
            opt_name, _, value = option.partition("=")
            if opt_name.strip() == "$select":
                select = [v.strip() for v in value.split(",") if v.strip()]
            elif opt_name.strip() == "$expand":
                nested = _parse_expand(value)
            elif opt_name.strip():
                raise ODataError(400, f"Параметр {opt_name.strip()} внутри $expand не поддерживается.")
        out[name.strip()] = (select, nested)
    return out


def _int_arg(request: Request, name: str) -> int | None:
    value = request.args.get(name)
    if value is None:
        return None
    if not value.isdigit():
        raise ODataError(400, f"Параметр {name} должен быть неотрицательным целым числом.")
    return int(value)


def _body(request: Request) -> dict[str, Any]:
    try:
        payload = json.loads(request.get_data().decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError):
        raise ODataError(400, "Тело запроса не является корректным JSON.") from None
    if not isinstance(payload, dict):
        raise ODataError(400, "Тело запроса должно быть объектом JSON.")
    return payload


def _body_json(rec: BodyRec, context: str) -> Iterator[bytes]:
    """``{"Id":…, "Value":"<base64>"}`` streamed, so a big body is never base64-encoded whole in memory."""
    yield json.dumps({"@odata.context": context, wire.P_ID: rec.id})[:-1].encode() + b', "Value": "'
    if rec.data is not None:
        yield base64.b64encode(rec.data)
    else:
        assert rec.path is not None
        with rec.path.open("rb") as src:
            yield from wire.b64_chunks(src)
    yield b'"}'


def _error(exc: ODataError, headers: dict[str, str] | None = None) -> Response:
    return _json(exc.payload(), exc.status, headers=headers)


def _unauthorized() -> Response:
    return Response("Unauthorized", status=401, headers={"WWW-Authenticate": 'Basic realm="Directum RX"'})


def _json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(data, ensure_ascii=False, default=str), status=status, headers=headers,
                    content_type=wire.JSON_CONTENT_TYPE)
