"""The МЭДО simulator through real directories and its loopback control app: intake, notifications, faults."""

from __future__ import annotations

import re
import time
import zipfile
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests

from connector.domain import CardRef, CardStage, PosMessage, StoredFile
from connector.edms_adapters.base import AdapterContext
from connector.edms_adapters.medo import incoming, mailbox, wire
from connector.edms_adapters.medo.adapter import MedoAdapter
from connector.edms_adapters.medo.settings import MedoSettings
from connector.simulators.faults import parse_fault_spec
from connector.simulators.medo import HOSTILE_KINDS, MedoFaultSpec, MedoSimulator
from connector.simulators.server import SimServer

from testconfig import FAKETIME_STALLS_THREADS


class Rig:
    def __init__(self, root: Path, encoding: str = "windows-1251") -> None:
        self.outbox, self.inbox = root / "out", root / "in"
        self.sim = MedoSimulator(self.outbox, self.inbox, encoding=encoding)
        settings = MedoSettings(type="medo", outbox_dir=self.outbox, inbox_dir=self.inbox,
                                sender_uid="0f3c2b1a-4d5e-4f60-8a7b-9c0d1e2f3a4b", sender_organization="Коннектор",
                                addressee_organization="Администрация", addressee_address="МЭДО-1")
        self.adapter = MedoAdapter(settings, AdapterContext(target_name="sim", session_factory=requests.Session,
                                                            data_dir=root / "data"))

    def send(self, pos_id: str) -> str:
        now = datetime(2026, 11, 1, tzinfo=UTC)
        msg = PosMessage(account="lko", pos_id=pos_id, text="Текст обращения", created_at=now, updated_at=now)
        return self.adapter.create_card(msg).external_id

    def notes(self) -> list[incoming.Notification]:
        found = []
        for package in sorted(self.inbox.iterdir()):
            root = wire.parse_safely((package / wire.DOCUMENT_XML).read_bytes())
            if incoming.check_message(root).type == wire.TYPE_NOTIFICATION:
                found.append(incoming.parse_notification(root))
        return found


@pytest.fixture
def rig(tmp_path: Path) -> Rig:
    return Rig(tmp_path)


@pytest.fixture
def served(rig: Rig) -> Iterator[tuple[Rig, str]]:
    with SimServer(rig.sim) as server:
        yield rig, server.url
    rig.sim.close()


def post(url: str, path: str, body: dict[str, Any]) -> requests.Response:
    return requests.post(url + path, json=body, timeout=10)


def test_process_accepts_each_package_once_in_windows_1251(rig: Rig) -> None:
    uid = rig.send("1")
    assert rig.sim.process() == {"taken": [uid]}
    assert rig.sim.process() == {"taken": []}
    notes = rig.notes()
    assert [(n.kind, n.doc_uid) for n in notes] == [(wire.N_ACCEPTED, uid)]
    assert notes[0].number == "ВХ-МЭДО-000001"
    raw = next(rig.inbox.iterdir()) / wire.DOCUMENT_XML
    assert wire.declared_encoding(raw.read_bytes()) == "windows-1251"
    ini = wire.parse_ini((raw.parent / wire.ENVELOPE_INI).read_bytes().decode("windows-1251"))
    assert ini[wire.INI_FILES] == {"0": "document.xml"}
    assert not [p for p in rig.inbox.iterdir() if p.name.startswith(".")]


def test_utf8_mode(tmp_path: Path) -> None:
    rig = Rig(tmp_path, encoding="utf-8")
    rig.send("1")
    rig.sim.process()
    raw = (next(rig.inbox.iterdir()) / wire.DOCUMENT_XML).read_bytes()
    assert wire.declared_encoding(raw) == "utf-8" and "Уведомление".encode() in raw


def test_invalid_package_is_refused_with_the_reason(rig: Rig) -> None:
    uid = rig.send("1")
    doc = rig.outbox / uid / wire.DOCUMENT_XML
    doc.write_bytes(doc.read_bytes().replace(b"xdms:body>", b"xdms:corpus>"))
    rig.sim.process()
    [note] = rig.notes()
    assert note.kind == wire.N_REFUSED and note.doc_uid == uid and "medo.xsd" in note.reason
    state = rig.sim.state()
    assert state["documents"][uid]["status"] == "refused" and state["rejected"][0]["uid"] == uid


def test_acts_emit_the_notifications_the_adapter_folds(rig: Rig) -> None:
    uid = rig.send("1")
    rig.sim.process()
    rig.sim.act({"action": "assign", "pos_id": "1", "executor": "Иванова"})
    rig.sim.act({"action": "extend", "uid": uid, "deadline": "2027-02-01"})
    rig.sim.act({"action": "redirect", "pos_id": "1", "org_id": "ORG-1"})
    result = rig.sim.act({"action": "answer", "pos_id": "1"})
    kinds = [n.kind for n in rig.notes()]
    assert kinds.count(wire.N_COURSE) == 2 and kinds.count(wire.N_SENT) == 1
    course = [n for n in rig.notes() if n.kind == wire.N_COURSE]
    assert {n.course_text for n in course} == {"Продление срока рассмотрения до 2027-02-01", "Направлено по компетенции"}
    sent = next(n for n in rig.notes() if n.kind == wire.N_SENT)
    # a real report reference: no uid, the answer's registration number and date
    assert (sent.report_uid, sent.report_number) == ("", result["number"]) and sent.report_date
    answer = rig.inbox / result["answer_uid"]
    doc = incoming.parse_document(wire.parse_safely((answer / wire.DOCUMENT_XML).read_bytes()))
    assert (doc.number, doc.date, doc.links) == (sent.report_number, sent.report_date, (uid,))
    members = mailbox.check_container(answer / f"{result['answer_uid']}.zip", 10**8)
    assert set(members) == {"passport.xml", "Ответ.pdf"}


def test_unknown_action_and_target(rig: Rig) -> None:
    with pytest.raises(ValueError, match="unknown action"):
        rig.sim.act({"action": "explode"})
    with pytest.raises(KeyError, match="no document"):
        rig.sim.act({"action": "assign", "pos_id": "404"})


def test_auto_and_summary(rig: Rig) -> None:
    rig.send("1")
    rig.send("2")
    result = rig.sim.act({"action": "auto", "assign": True, "answer": True})
    assert len(result["taken"]) == len(result["assigned"]) == len(result["answered"]) == 2
    summary = rig.sim.summary()
    assert summary["by_pos_id"] == {"1": 1, "2": 1} and summary["by_status"] == {"answered": 2}


def test_fault_knobs_and_injection(rig: Rig) -> None:
    assert parse_fault_spec("duplicate_next=2,traversal_next=1", MedoFaultSpec).duplicate_next == 2
    rig.sim.set_faults(MedoFaultSpec(duplicate_next=1, bomb_next=1))
    rig.send("1")
    rig.sim.process()
    names = sorted(p.name for p in rig.inbox.iterdir())
    assert len(names) == 3 and sum(n.endswith("-dup") for n in names) == 1
    assert rig.sim.summary()["faults"]["injected"] == {"duplicate": 1, "bomb": 1}
    for kind in HOSTILE_KINDS:
        rig.sim.inject(kind)
    assert len(rig.sim.state()["hostile"]) == len(HOSTILE_KINDS) + 1
    with pytest.raises(ValueError, match="hostile"):
        rig.sim.inject("nice")


def test_control_app_over_http(served: tuple[Rig, str]) -> None:
    rig, url = served
    uid = rig.send("1")
    assert post(url, "/_sim/act", {"action": "process"}).json() == {"taken": [uid]}
    assert post(url, "/_sim/act", {"action": "assign", "pos_id": "1"}).status_code == 200
    assert post(url, "/_sim/act", {"action": "assign", "pos_id": "404"}).status_code == 404
    assert post(url, "/_sim/act", {"action": "nope"}).status_code == 400
    state = requests.get(url + "/_sim/state", timeout=10).json()
    assert state["documents"][uid]["reg_number"] == "ВХ-МЭДО-000001"
    assert [n["kind"] for n in state["documents"][uid]["notifications"]] == [wire.N_ACCEPTED, wire.N_EXECUTOR]
    summary = requests.get(url + "/_sim/state?summary=1", timeout=10).json()
    assert summary["by_pos_id"] == {"1": 1}
    assert post(url, "/_sim/faults", {"delay_next": 2}).json()["remaining"]["delay"] == 2
    assert post(url, "/_sim/faults", {"no_such_knob": 1}).status_code == 400
    assert requests.get(url + "/_sim/nothing", timeout=10).status_code == 404


@FAKETIME_STALLS_THREADS
def test_polling_mode_processes_in_the_background(rig: Rig) -> None:
    uid = rig.send("1")
    rig.sim.start_polling(0.02, assign=True)
    try:
        deadline = time.monotonic() + 5
        while rig.sim.state()["documents"].get(uid, {}).get("status") != "in_work" and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        rig.sim.stop_polling()
    assert rig.sim.state()["documents"][uid]["status"] == "in_work"


@pytest.mark.parametrize(("version", "header_created"), [("2.0", False), ("2.2", False), ("2.6", True), ("2.7", True)])
def test_versions_and_headers_real_senders_write_are_read_by_the_adapter(tmp_path: Path, version: str,
                                                                         header_created: bool) -> None:
    rig = Rig(tmp_path)
    rig.sim = MedoSimulator(rig.outbox, rig.inbox, version=version, header_created=header_created)
    uid = rig.send("1")
    rig.sim.process()
    raw = next(rig.inbox.iterdir()) / wire.DOCUMENT_XML
    header = incoming.header_of(wire.parse_safely(raw.read_bytes()))
    assert (header.version, bool(header.created)) == (version, header_created)
    rig.sim.act({"action": "answer", "pos_id": "1"})
    state = rig.adapter.get_card(CardRef(adapter="medo", external_id=uid))
    assert state.registration_number == "ВХ-МЭДО-000001" and state.stage is CardStage.ANSWER_READY
    assert not (tmp_path / "quarantine").exists() or not list((tmp_path / "quarantine").iterdir())


def test_an_unknown_version_is_refused_by_the_simulator(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="xdms version"):
        MedoSimulator(tmp_path / "o", tmp_path / "i", version="3.0")


def _repack(rig: Rig, uid: str, change: Callable[[bytes], bytes] | None = None,
            rename: tuple[str, str] | None = None) -> None:
    """Rewrite the container of the package ``uid`` in the outbox: its passport through ``change``,
    a member renamed by ``rename`` -- what an older or careless writer would have sent."""
    zpath = rig.outbox / uid / f"{uid}.zip"
    with zipfile.ZipFile(zpath) as zf:
        members = {i.filename: zf.read(i.filename) for i in zf.infolist()}
    if change is not None:
        members[wire.PASSPORT_XML] = change(members[wire.PASSPORT_XML])
    if rename is not None:
        members[rename[1]] = members.pop(rename[0])
        members[wire.PASSPORT_XML] = members[wire.PASSPORT_XML].replace(rename[0].encode(), rename[1].encode())
    with zipfile.ZipFile(zpath, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)


@pytest.mark.parametrize(("case", "reason"), [
    ("txt_main", "is not a PDF"),
    ("no_pages", "pagesQuantity"),
    ("order_from_1", "does not count from 0"),
])
def test_simulator_refuses_2_7_packages_a_receiver_would(rig: Rig, case: str, reason: str) -> None:
    now = datetime(2026, 11, 1, tzinfo=UTC)
    att = rig.outbox.parent / "a.bin"
    att.write_bytes(b"x")
    msg = PosMessage(account="lko", pos_id="1", text="Текст", created_at=now, updated_at=now,
                     attachments=(StoredFile(name="a.bin", path=att, size=1, sha256="0" * 64),))
    uid = rig.adapter.create_card(msg).external_id
    if case == "txt_main":
        _repack(rig, uid, rename=("Обращение.pdf", "Текст обращения.txt"))
    elif case == "no_pages":
        _repack(rig, uid, change=lambda p: re.sub(rb"<c:pagesQuantity>\d+</c:pagesQuantity>", b"", p))
    else:
        _repack(rig, uid, change=lambda p: p.replace(b"<c:order>0</c:order>", b"<c:order>1</c:order>"))
    rig.sim.process()
    assert reason in rig.sim.state()["rejected"][0]["reason"]
    assert [n.kind for n in rig.notes()] == [wire.N_REFUSED]
