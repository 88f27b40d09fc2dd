"""OnecSimulator: a WSGI app that behaves like 1C:Document Management's DMService on loopback.

Endpoints: ``GET …?wsdl`` (the adapter's WSDL, soap:address rewritten to this server),
``POST …/DMService | DM.1cws | dm.1cws | dmservice`` (SOAP ``execute``, HTTP Basic),
``GET /_sim/state[?summary=1]``, ``POST /_sim/act``, ``POST /_sim/seed`` (cards under a given id, e.g. a
foreign one), ``GET|POST /_sim/faults``.
Faults apply to the SOAP endpoint only, never to ``/_sim/*``.
"""

from __future__ import annotations

import hmac
import json
from typing import Any

from lxml import etree
from pydantic import Field
from werkzeug.exceptions import NotFound
from werkzeug.wrappers import Request, Response

from connector.edms_adapters.onec_dm import wire
from connector.simulators.base import StatefulSimulator
from connector.simulators.faults import FaultInjector, FaultSpec
from connector.simulators.onec import soap
from connector.simulators.onec.state import OnecState, SimError, SimNames

SOAP_PATH_SUFFIXES = ("DMService", "DM.1cws", "dm.1cws", "dmservice")
DEFAULT_USERS = {"integration": "1c-secret"}
LOCK_CONFLICT = ("Конфликт блокировок при выполнении транзакции: Превышено максимальное время ожидания "
                 "предоставления блокировки")


_LAUGHS = "".join(f'<!ENTITY l{i} "{f"&l{i - 1};" * 10}">' for i in range(1, 10))
ENTITY_BOMB = ('<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE e [<!ENTITY l0 "ha">' + _LAUGHS + ']>\n'
               '<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>&l9;'
               '</soap:Body></soap:Envelope>').encode()
EXTERNAL_ENTITY = (b'<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE e [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n'
                   b'<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>&x;'
                   b'</soap:Body></soap:Envelope>')


class OnecFaultSpec(FaultSpec):
    """FaultSpec plus faults specific to 1C."""

    soap_fault_next: int = Field(0, ge=0, description="the next N requests get HTTP 500 with a lock-conflict Fault")
    dmerror_next: int = Field(0, ge=0, description="the next N requests get HTTP 200 with a DMError return")
    unauthorized_next: int = Field(0, ge=0, description="the next N requests get 401")
    lost_reply_next: int = Field(0, ge=0, description="the next N requests are executed, then answered by a Fault")
    doctype_next: int = Field(0, ge=0, description="the next N replies carry a DOCTYPE with an entity")
    entity_bomb_next: int = Field(0, ge=0, description="the next N replies are a billion-laughs entity bomb")
    external_entity_next: int = Field(0, ge=0, description="the next N replies pull in file:///etc/passwd")
    answer_without_file_next: int = Field(0, ge=0, description="the next N answers (act answer/auto) are signed "
                                                                "without their file (attach_answer_file adds it)")
    file_storage_down_next: int = Field(0, ge=0, description="the next N file writes/reads get the DMError "
                                                              "'Том хранения файлов недоступен'")
    file_size_mismatch_next: int = Field(0, ge=0, description="the next N file reads carry half the bytes "
                                                                "their size says")
    ignore_conditions: bool = Field(False, description="task lists ignore every condition and return every task "
                                                        "(a server that drops unknown conditions, S3)")
    only_request: str = Field("", description="soap_fault/dmerror/lost_reply/doctype hit only this request type, "
                                              "e.g. DMCreateRequest (empty: every request)")


class OnecSimulator(StatefulSimulator):
    fault_model = OnecFaultSpec

    def __init__(self, users: dict[str, str] | None = None, faults: FaultSpec | None = None, *, seed: int = 1,
                 names: SimNames | None = None, memory_limit: int = 1024 * 1024,
                 use_digital_signatures: bool = False) -> None:
        self.users = dict(users) if users is not None else dict(DEFAULT_USERS)
        self.faults = FaultInjector(faults or OnecFaultSpec())
        self.store = OnecState(seed=seed, names=names, memory_limit=memory_limit)
        self.store.forget_answer_file = lambda: self.faults.take("answer_without_file")
        self.store.take_fault = self.faults.take
        self.store.use_digital_signatures = use_digital_signatures
        self.requests: dict[str, int] = {}

    def _dispatch(self, request: Request) -> Response:
        path = request.path.rstrip("/")
        if path.startswith("/_sim/"):
            return self._sim(request, path)
        if request.method == "GET" and "wsdl" in {k.lower() for k in request.args}:
            return Response(self._wsdl(request.base_url), content_type=wire.CONTENT_TYPE)
        if request.method == "POST" and path.endswith(SOAP_PATH_SUFFIXES):
            return self._soap(request)
        raise NotFound()

    def _wsdl(self, location: str) -> bytes:
        parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
        tree = etree.parse(str(wire.WSDL_PATH), parser)
        for address in tree.iter("{http://schemas.xmlsoap.org/wsdl/soap/}address"):
            address.set("location", location)
        return bytes(etree.tostring(tree, xml_declaration=True, encoding="UTF-8"))

    def _soap(self, request: Request) -> Response:
        f = self.faults
        f.delay()
        if f.take("unauthorized"):
            return _unauthorized()
        if f.throttled():
            return Response(soap.fault("Сервер перегружен"), status=429, content_type=wire.CONTENT_TYPE,
                            headers={"Retry-After": str(f.spec.retry_after)})
        if f.server_error():
            return _fault_response("Внутренняя ошибка сервера 1С:Предприятия")
        user = self._authenticate(request)
        if user is None:
            return _unauthorized()
        root = _parse(request.get_data())
        if isinstance(root, Response):
            return root
        only = str(getattr(f.spec, "only_request", ""))
        targeted = not only or _request_type(root) == only
        if targeted and f.take("soap_fault"):
            return _fault_response(LOCK_CONFLICT)
        if targeted and f.take("dmerror"):
            return _xml(soap.dm_error("Неверные параметры запроса"))
        with self.store.lock:
            self.store.ignore_conditions = bool(getattr(f.spec, "ignore_conditions", False))
            rtype, body = soap.handle(self.store, root, user)
            self.requests[rtype] = self.requests.get(rtype, 0) + 1
        if targeted and f.take("lost_reply"):
            return _fault_response("Соединение с сервером 1С:Предприятия разорвано")
        if targeted and f.take("doctype"):
            body = body.replace(b"?>", b'?>\n<!DOCTYPE x [<!ENTITY boom "boom">]>', 1)
        if targeted and f.take("entity_bomb"):
            body = ENTITY_BOMB
        if targeted and f.take("external_entity"):
            body = EXTERNAL_ENTITY
        if f.malformed():
            body = body[: len(body) // 2]
        return _xml(body)

    def _authenticate(self, request: Request) -> str | None:
        auth = request.authorization
        if auth is None or auth.type != "basic" or not auth.username:
            return None
        expected = self.users.get(auth.username)
        if expected is None or not hmac.compare_digest(expected.encode(), (auth.password or "").encode()):
            return None
        return auth.username



def _parse(data: bytes) -> etree._Element | Response:
    """Safe parse: no entities, no network, no DTD; a DOCTYPE is refused.  ``huge_tree`` because a
    30 MB attachment arrives as one 40 MB base64 text node."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=True)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError:
        return _fault_response("Ошибка разбора XML запроса", code="soap:Client")
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None:
        return _fault_response("DOCTYPE в запросе запрещён", code="soap:Client")
    return root


def _request_type(root: etree._Element) -> str:
    try:
        return soap.request_type(root)[0]
    except SimError:
        return ""


def _fault_response(message: str, code: str = "soap:Server") -> Response:
    return Response(soap.fault(message, code), status=500, content_type=wire.CONTENT_TYPE)


def _unauthorized() -> Response:
    return Response("Unauthorized", status=401, headers={"WWW-Authenticate": 'Basic realm="1C"'})


def _xml(body: bytes) -> Response:
    return Response(body, content_type=wire.CONTENT_TYPE)


def _json(data: Any, status: int = 200) -> Response:
    return Response(json.dumps(data, ensure_ascii=False, default=str), status=status,
                    content_type="application/json; charset=utf-8")
