"""МЭДО golden messages (tests/golden/medo): notices and an answer written by hand the way real senders
write them (edms-public-clients.md M2–M4), replayed against the adapter's reader, through the adapter's
inbox, and compared with what the simulator emits.  The reference both must agree with."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from connector.domain import CardStage, PosMessage
from connector.edms_adapters.base import AdapterContext
from connector.edms_adapters.medo import incoming, wire
from connector.edms_adapters.medo.adapter import MedoAdapter
from connector.edms_adapters.registry import create_adapter
from connector.simulators.medo import MedoSimulator

GOLDEN = Path(__file__).parents[1] / "golden" / "medo"
#: the uid of "our document" in every golden notice; replays re-address it to the card under test
GOLDEN_DOC_UID = "7d1c3a52-0b8e-4f21-9a6d-2e5f8c4b1a90"

NOTICES: dict[str, dict[str, Any]] = {
    "accepted-2.2-common-block.xml": {
        "kind": wire.N_ACCEPTED, "number": "1842/МПР", "date": "2026-03-16", "created": "2026-03-16T09:12:47.318",
        "foundation_number": "ПОС-000123", "correspondent_org": "Министерство природных ресурсов Энской области"},
    "refused-2.2-common-block.xml": {
        "kind": wire.N_REFUSED, "reason": "Вопрос не относится к ведению министерства",
        "comment": "письмо возвращено отправителю", "foundation_date": "2026-03-13"},
    "accepted-2.0-no-created.xml": {
        "kind": wire.N_ACCEPTED, "number": "К-77/2026", "date": "02.04.2026", "created": "2026-04-02T15:03:00",
        "message_uid": "e0b4c7a2-93d1-4f6e-a15b-08c2d4e6f7a3"},
    "executor-assigned-2.6-clause.xml": {
        "kind": wire.N_EXECUTOR, "executor": wire.PersonInfo(
            person="Белова Т.А.", organization="Министерство природных ресурсов Энской области",
            department="Отдел охраны окружающей среды", post="Главный специалист")},
    "report-sent-reference-no-uid.xml": {
        "kind": wire.N_SENT, "report_uid": "", "report_number": "07-4410/26", "report_date": "2026-04-10",
        "signatory": "Орлов Г.В.", "report_org": "Министерство природных ресурсов Энской области"},
    "course-changed-reference.xml": {
        "kind": wire.N_COURSE, "reference": "Департамент лесного хозяйства Энской области",
        "course_text": "Направлено по компетенции в Департамент лесного хозяйства"},
}


def golden(name: str, doc_uid: str = GOLDEN_DOC_UID) -> bytes:
    return (GOLDEN / name).read_bytes().replace(GOLDEN_DOC_UID.encode(), doc_uid.encode())


def read(data: bytes) -> tuple[incoming.Header, etree._Element]:
    root = wire.parse_safely(data)
    return incoming.check_message(root), root


@pytest.mark.parametrize("name", sorted(NOTICES))
def test_golden_notice_is_read_by_name(name: str) -> None:
    header, root = read(golden(name))
    assert header.type == wire.TYPE_NOTIFICATION
    note = incoming.parse_notification(root, received="2000-01-01T00:00:00+00:00")
    assert note.doc_uid == GOLDEN_DOC_UID
    for key, expected in NOTICES[name].items():
        assert getattr(note, key) == expected, key


def test_golden_answer_document_is_read_with_its_links() -> None:
    header, root = read(golden("answer-document-extra-elements.xml"))
    assert header.type == wire.TYPE_DOCUMENT
    doc = incoming.parse_document(root)
    assert (doc.uid, doc.number, doc.date, doc.signer, doc.comment) == (
        "e4a6c8b0-d2f4-4a6c-9e8b-1d3f5a7c9e20", "07-4410/26", "2026-04-10", "Орлов Г.В.", "Разъяснено")
    assert doc.links == (GOLDEN_DOC_UID,) and doc.files == ("Ответ 07-4410.pdf",)


@pytest.mark.parametrize("version", ["1.0", "3.0", ""])
def test_a_version_we_do_not_read_is_refused(version: str) -> None:
    data = golden("accepted-2.2-common-block.xml").replace(b'xdms:version="2.2"', f'xdms:version="{version}"'.encode())
    with pytest.raises(wire.RejectedXml, match="unsupported xdms version"):
        read(data)


# --- through the adapter's inbox ---------------------------------------------------------------------
class Inbox:
    def __init__(self, root: Path, context: AdapterContext) -> None:
        self.root, self.inbox = root, root / "inbox"
        (root / "outbox").mkdir(parents=True)
        self.inbox.mkdir()
        self.adapter: MedoAdapter = create_adapter({  # type: ignore[assignment]
            "type": "medo", "outbox_dir": str(root / "outbox"), "inbox_dir": str(self.inbox),
            "sender_uid": "0f3c2b1a-4d5e-4f60-8a7b-9c0d1e2f3a4b", "sender_organization": "Коннектор ПОС",
            "addressee_organization": "Министерство", "addressee_address": "МЭДО-1", "scan_interval_seconds": 0},
            context)

    def drop(self, name: str, doc_uid: str, files: dict[str, bytes] | None = None) -> None:
        package = self.inbox / name.removesuffix(".xml")
        package.mkdir()
        (package / wire.DOCUMENT_XML).write_bytes(golden(name, doc_uid))
        for fname, content in (files or {}).items():
            (package / fname).write_bytes(content)
        ini = wire.build_ini("МЭДО", ["pos-connector"], [*(files or {}), wire.DOCUMENT_XML])
        (package / wire.ENVELOPE_INI).write_bytes(ini.encode("windows-1251"))

    def quarantined(self) -> list[str]:
        q = self.root / "quarantine"
        return sorted(p.name for p in q.iterdir()) if q.exists() else []


@pytest.fixture
def box(tmp_path: Path, adapter_context: AdapterContext) -> Inbox:
    return Inbox(tmp_path / "medo", adapter_context)


def test_real_notices_carry_a_card_from_registration_to_the_answer(box: Inbox,
                                                                   message: Callable[..., PosMessage]) -> None:
    ref = box.adapter.create_card(message("1001"))
    box.drop("accepted-2.2-common-block.xml", ref.external_id)
    state = box.adapter.get_card(ref)
    assert (state.registration_number, state.registration_date) == ("1842/МПР", date(2026, 3, 16))
    box.drop("executor-assigned-2.6-clause.xml", ref.external_id)
    state = box.adapter.get_card(ref)
    assert state.stage is CardStage.IN_WORK and [e.name for e in state.executors] == ["Белова Т.А."]
    box.drop("answer-document-extra-elements.xml", ref.external_id, {"Ответ 07-4410.pdf": b"%PDF-1.4 answer"})
    box.drop("report-sent-reference-no-uid.xml", ref.external_id)
    assert box.adapter.get_card(ref).stage is CardStage.ANSWER_READY
    answer = box.adapter.fetch_answer(ref)
    assert answer is not None
    assert (answer.text, answer.signer, answer.decision, answer.date) == (
        "О вырубке деревьев в сквере на ул. Лесной", "Орлов Г.В.", "Разъяснено", date(2026, 4, 10))
    assert [(f.name, f.content) for f in answer.files] == [("Ответ 07-4410.pdf", b"%PDF-1.4 answer")]
    assert box.quarantined() == []


def test_a_report_reference_finds_the_answer_by_its_number_alone(box: Inbox,
                                                                message: Callable[..., PosMessage]) -> None:
    ref = box.adapter.create_card(message("1001"))
    box.drop("accepted-2.2-common-block.xml", ref.external_id)
    # the answer links to some other document: only the report's number + date can find it
    box.drop("answer-document-extra-elements.xml", "00000000-0000-4000-8000-000000000000",
             {"Ответ 07-4410.pdf": b"%PDF-1.4"})
    box.drop("report-sent-reference-no-uid.xml", ref.external_id)
    assert box.adapter.get_card(ref).stage is CardStage.ANSWER_READY
    assert box.quarantined() == []


@pytest.mark.parametrize(("name", "stage", "field", "value"), [
    ("refused-2.2-common-block.xml", CardStage.REFUSED, "resolution", "Вопрос не относится к ведению министерства"),
    ("course-changed-reference.xml", CardStage.REDIRECTED, "redirect_org_id",
     "Департамент лесного хозяйства Энской области"),
    ("accepted-2.0-no-created.xml", CardStage.REGISTERED, "registration_number", "К-77/2026"),
])
def test_each_real_notice_is_seen_not_quarantined(box: Inbox, message: Callable[..., PosMessage], name: str,
                                                  stage: CardStage, field: str, value: str) -> None:
    ref = box.adapter.create_card(message("1001"))
    box.drop(name, ref.external_id)
    state = box.adapter.get_card(ref)
    assert (state.stage, getattr(state, field)) == (stage, value)
    assert box.quarantined() == []


# --- the simulator writes what the golden messages show ----------------------------------------------
def _shape(el: etree._Element) -> list[str]:
    return [etree.QName(c).localname for c in el if isinstance(c.tag, str)]


def test_simulator_notices_have_the_golden_body_shape(tmp_path: Path, message: Callable[..., PosMessage],
                                                      adapter_context: AdapterContext) -> None:
    box = Inbox(tmp_path / "medo", adapter_context)
    sim = MedoSimulator(box.root / "outbox", box.inbox)
    ref = box.adapter.create_card(message("1001"))
    sim.process()
    sim.act({"action": "refuse", "uid": ref.external_id, "reason": "Не по компетенции"})
    bodies = {}
    for package in box.inbox.iterdir():
        _, root = read((package / wire.DOCUMENT_XML).read_bytes())
        note = root.find(wire.q("notification"))
        assert note is not None
        bodies[note.get(wire.q("type"))] = _shape(note[0])
    for name, label in (("accepted-2.2-common-block.xml", "Зарегистрирован"),
                        ("refused-2.2-common-block.xml", "Отказано в регистрации")):
        _, root = read(golden(name))
        assert bodies[label] == _shape(root.find(wire.q("notification"))[0])  # type: ignore[index]


def test_a_2_7_transport_container_answer_is_read_from_its_passport(box: Inbox,
                                                                    message: Callable[..., PosMessage]) -> None:
    ref = box.adapter.create_card(message("1001"))
    box.drop("accepted-2.2-common-block.xml", ref.external_id)
    folder = GOLDEN / "answer-2.7-container"
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr(wire.PASSPORT_XML, (folder / wire.PASSPORT_XML).read_bytes())
        for name, content in (("mainDoc.pdf", b"%PDF-1.4 main"), ("attachment_1.pdf", b"%PDF-1.4 att"),
                              ("mainDoc_signature_1.p7s", b"0\x82sig"), ("reg_stamp.png", b"png"),
                              ("signature_stamp_1.png", b"png")):
            zf.writestr(name, content)
    package = box.inbox / "answer-2.7"
    package.mkdir()
    (package / wire.DOCUMENT_XML).write_bytes((folder / wire.DOCUMENT_XML).read_bytes())
    (package / "document.edc.zip").write_bytes(buf.getvalue())
    (package / wire.ENVELOPE_INI).write_bytes(
        wire.build_ini("МЭДО", ["x"], ["document.edc.zip", wire.DOCUMENT_XML]).encode("windows-1251"))
    # the report names the container's registration (07-4511/26 of 2026-04-11)
    box.drop("report-sent-reference-no-uid.xml", ref.external_id)
    report = box.inbox / "report-sent-reference-no-uid" / wire.DOCUMENT_XML
    report.write_bytes(report.read_bytes().replace(b"07-4410/26", b"07-4511/26").replace(b"2026-04-10<", b"2026-04-11<"))
    assert box.adapter.get_card(ref).stage is CardStage.ANSWER_READY
    answer = box.adapter.fetch_answer(ref)
    assert answer is not None and box.quarantined() == []
    assert (answer.text, answer.signer, answer.date) == ("О вырубке деревьев в сквере на ул. Лесной", "Орлов Г.В.",
                                                         date(2026, 4, 11))
    assert [(f.name, f.content) for f in answer.files] == [("mainDoc.pdf", b"%PDF-1.4 main"),
                                                           ("attachment_1.pdf", b"%PDF-1.4 att")]
