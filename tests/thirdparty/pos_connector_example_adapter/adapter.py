"""ExampleAdapter: a small JSON-over-HTTP EDMS ("ExampleDesk"), idempotent by client-chosen ids."""

from __future__ import annotations

import base64
import uuid
from datetime import date, datetime
from typing import Any, ClassVar, Literal

import requests
from pydantic import SecretStr

from connector.domain import Answer, AnswerFile, CardRef, CardStage, CardState, Executor, PosMessage
from connector.edms_adapters.base import AdapterContext, AdapterSettings, prove_card_owner
from connector.errors import AuthError, FatalAdapterError, RemoteRejected, TransientError

NAMESPACE = uuid.UUID("5d0c7a4e-3f55-4c1b-9d0e-0e7f3a8d2b11")


def card_id(account: str, pos_id: str) -> str:
    return str(uuid.uuid5(NAMESPACE, f"{account}:{pos_id}"))


class ExampleSettings(AdapterSettings):
    type: Literal["example_edms"]
    url: str
    api_key: SecretStr


class ExampleAdapter:
    name: ClassVar[str] = "example_edms"
    settings_model: ClassVar[type[AdapterSettings]] = ExampleSettings
    # optional capabilities (connector.edms_adapters.base.OPTIONAL_CAPABILITIES): none, each with why
    capabilities: ClassVar[frozenset[str]] = frozenset()
    unsupported: ClassVar[dict[str, str]] = {
        "list_appeals": "ExampleDesk keeps only the cards the connector created",
        "create_control_task": "ExampleDesk has no tasks: the curator gets the notice e-mail alone",
    }

    def __init__(self, settings: ExampleSettings, context: AdapterContext) -> None:
        self.settings = settings
        self.session = context.session_factory()
        self.session.headers["X-Api-Key"] = settings.api_key.get_secret_value()

    def _call(self, method: str, path: str, **kw: Any) -> requests.Response:
        try:
            reply = self.session.request(method, self.settings.url + path, **kw)
        except (requests.Timeout, requests.ConnectionError) as exc:
            raise TransientError(f"ExampleDesk at {self.settings.url} unreachable", detail=str(exc)) from None
        if reply.status_code in (401, 403):
            raise AuthError(f"ExampleDesk at {self.settings.url} rejected the API key")
        if reply.status_code >= 500 or reply.status_code == 429:
            raise TransientError(f"ExampleDesk answered HTTP {reply.status_code}")
        if reply.status_code >= 400 and reply.status_code != 404:
            raise RemoteRejected(f"ExampleDesk refused {method} {path}", status=reply.status_code)
        return reply

    def create_card(self, msg: PosMessage) -> CardRef:
        cid = card_id(msg.account, msg.pos_id)
        # PUT keeps a card already there as it is, so the card is checked before anything is added to it
        self._call("PUT", f"/cards/{cid}", json={"pos_id": msg.pos_id, "title": msg.text[:200]})
        card = self._call("GET", f"/cards/{cid}").json()
        prove_card_owner(msg, system="ExampleDesk", card_id=cid, owner_pos_id=card.get("pos_id"))
        present = {f["sha256"] for f in card["files"]}
        for index, file in enumerate(msg.attachments):
            if file.sha256 in present:
                continue
            with file.path.open("rb") as body:
                self._call("PUT", f"/cards/{cid}/files/{index}", params={"name": file.name}, data=body)
        return CardRef(adapter=self.name, external_id=cid)

    def get_card(self, ref: CardRef) -> CardState:
        reply = self._call("GET", f"/cards/{ref.external_id}")
        if reply.status_code == 404:
            raise RemoteRejected(f"ExampleDesk has no card {ref.external_id}", status=404)
        card = reply.json()
        return CardState(
            ref=ref, stage=CardStage(card["stage"]), registration_number=card["reg_number"],
            registration_date=date.fromisoformat(card["reg_date"]),
            executors=tuple(Executor(name=e["name"], department=e["unit"], responsible=e["responsible"],
                                     due=date.fromisoformat(e["due"]),
                                     done_at=datetime.fromisoformat(e["done_at"]) if e["done_at"] else None)
                            for e in card["executors"]),
            deadline=date.fromisoformat(card["deadline"]) if card["deadline"] else None,
            redirect_org_id=card.get("redirect_org") or "")

    def fetch_answer(self, ref: CardRef) -> Answer | None:
        answer = self._call("GET", f"/cards/{ref.external_id}").json().get("answer")
        if not answer:
            return None
        files = tuple(AnswerFile(name=f["name"], content=base64.b64decode(f["content"])) for f in answer["files"])
        return Answer(text=answer["text"], signer=answer["signer"], date=date.fromisoformat(answer["date"]),
                      decision=answer["decision"], files=files)

    def health(self) -> None:
        try:
            self._call("GET", "/health")
        except TransientError as exc:
            raise FatalAdapterError(exc.operator_message) from None

    def close(self) -> None:
        self.session.close()
