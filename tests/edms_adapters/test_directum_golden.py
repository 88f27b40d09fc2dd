"""Golden Directum RX exchanges (tests/golden/directum/, written from public RX code) replayed against the
adapter -- which must send exactly those requests and read those replies -- and against the simulator,
which must answer them as the reference does."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import requests
from werkzeug.wrappers import Request, Response

from connector.domain import CardRef
from connector.edms_adapters.base import AdapterContext
from connector.edms_adapters.directum_rx import DirectumRxAdapter, DirectumRxSettings, wire
from connector.simulators.directum import DirectumSimulator
from connector.simulators.server import SimServer

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "directum"
SCENARIOS = sorted(GOLDEN.glob("*.json"))
AUTH = ("integration", "rx-secret")


def load(path: Path) -> dict[str, Any]:
    return dict(json.loads(path.read_text(encoding="utf-8")))


def _key(method: str, path: str, params: dict[str, str]) -> str:
    return json.dumps([method, path, dict(sorted(params.items()))], ensure_ascii=False)


class GoldenServer:
    """Answers only the scenario's requests, each exactly as written; anything else is a 400 that names it."""

    def __init__(self, exchanges: list[dict[str, Any]]) -> None:
        self.replies = {_key(e["request"]["method"], e["request"]["path"], e["request"]["params"]): e["reply"]
                        for e in exchanges}
        self.unexpected: list[str] = []
        self.seen: list[str] = []

    def __call__(self, environ: Any, start_response: Any) -> Any:
        request = Request(environ)
        path = request.path.split("/Integration/odata/", 1)[-1]
        key = _key(request.method, path, dict(request.args))
        self.seen.append(key)
        reply = self.replies.get(key)
        if reply is None:
            self.unexpected.append(key)
            response = Response(json.dumps(wire.error_json(f"no golden reply for {key}")), status=400,
                                content_type=wire.JSON_CONTENT_TYPE)
        elif reply["body"] is None:
            response = Response(status=reply["status"])
        else:
            response = Response(json.dumps(reply["body"], ensure_ascii=False), status=reply["status"],
                                content_type=wire.JSON_CONTENT_TYPE)
        return response(environ, start_response)


def adapter_for(url: str, context: AdapterContext) -> DirectumRxAdapter:
    return DirectumRxAdapter(DirectumRxSettings.model_validate({
        "type": "directum_rx", "url": url + "/Integration/odata", "login": AUTH[0], "password": AUTH[1],
        "document_kind_id": 1, "business_unit_id": 1, "department_id": 1}), context)


@pytest.mark.parametrize("path", [p for p in SCENARIOS if "expect" in load(p)], ids=lambda p: p.stem)
def test_adapter_sends_the_golden_requests_and_reads_the_golden_replies(path: Path,
                                                                         adapter_context: AdapterContext) -> None:
    scenario = load(path)
    expect = scenario["expect"]
    golden = GoldenServer(scenario["exchanges"])
    with SimServer(golden) as server:
        state = adapter_for(server.url, adapter_context).get_card(
            CardRef(adapter="directum_rx", external_id=expect["letter_id"]))
    assert golden.unexpected == []
    assert golden.seen == list(golden.replies)  # every golden request, in the golden order
    assert state.stage.value == expect["stage"]
    assert [e.name for e in state.executors] == expect["executors"]
    assert state.deadline == (date.fromisoformat(expect["deadline"]) if expect["deadline"] else None)
    assert state.resolution == expect["resolution"]
    assert state.registration_number == expect["registration_number"]


def _setup(sim: DirectumSimulator, steps: list[dict[str, Any]]) -> None:
    store = sim.store
    for step in steps:
        if "letters" in step or "persons" in step:
            for _ in range(int(step.get("persons", 0))):
                store.create(wire.S_PERSONS, {wire.P_LAST_NAME: "Петров"})
            for pos_id in step.get("letters", ()):
                person = store.create(wire.S_PERSONS, {wire.P_LAST_NAME: "Петров"})
                store.create(wire.S_INCOMING, {
                    wire.P_SUBJECT: f"Обращение ПОС №{pos_id}", wire.P_IN_NUMBER: pos_id, wire.P_NOTE: "",
                    wire.P_DATED: "2030-03-01T09:12:00+03:00",
                    **wire.bind(wire.P_CORRESPONDENT, wire.S_PERSONS, person),
                    **wire.bind(wire.P_DOCUMENT_KIND, wire.S_DOCUMENT_KINDS, 1),
                    **wire.bind(wire.P_BUSINESS_UNIT, wire.S_BUSINESS_UNITS, 1),
                    **wire.bind(wire.P_DEPARTMENT, wire.S_DEPARTMENTS, 1)})
        else:
            sim.act(step)


def _holds(golden: Any, actual: Any, where: str = "") -> Iterator[str]:
    """Differences where ``actual`` lacks a key of ``golden`` or has an incompatible type."""
    if isinstance(golden, dict):
        if not isinstance(actual, dict):
            yield f"{where or '/'}: object expected, got {actual!r:.60}"
            return
        for key, value in golden.items():
            if key not in actual:
                yield f"{where}/{key}: missing"
            else:
                yield from _holds(value, actual[key], f"{where}/{key}")
    elif isinstance(golden, list):
        if not isinstance(actual, list) or len(actual) != len(golden):
            yield f"{where}: list of {len(golden)} expected, got {actual!r:.60}"
            return
        for n, (g, a) in enumerate(zip(golden, actual, strict=True)):
            yield from _holds(g, a, f"{where}[{n}]")
    elif golden is not None and actual is not None and type(golden) is not type(actual):
        yield f"{where}: {type(golden).__name__} expected, got {actual!r:.60}"


Send = Callable[..., requests.Response]


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_simulator_answers_the_golden_requests_as_the_reference_does(path: Path) -> None:
    scenario = load(path)
    sim = DirectumSimulator(max_unfiltered=0)
    try:
        _setup(sim, scenario.get("setup", []))
        with SimServer(sim) as server:
            for exchange in scenario["exchanges"]:
                req, reply = exchange["request"], exchange["reply"]
                resp = requests.request(req["method"], f"{server.url}/Integration/odata/{req['path']}",
                                        params=req["params"], json=req.get("body"), auth=AUTH, timeout=10)
                assert resp.status_code == reply["status"], (req, resp.text)
                if reply["body"] is None:
                    assert resp.content == b""
                    continue
                body = resp.json()
                assert list(_holds(reply["body"], body)) == [], req
                if reply["status"] >= 400:
                    golden_text = wire.error_text(json.dumps(reply["body"]).encode())
                    text = wire.error_text(resp.content)
                    assert text == golden_text or _same_subject(golden_text, text), (golden_text, text)
    finally:
        sim.close()


def _same_subject(golden: str, actual: str) -> bool:
    """A refusal names the same property / required fields (wording of the type name may differ)."""
    quoted = golden.split("'")[1::2]
    return bool(quoted) and quoted[0] in actual
