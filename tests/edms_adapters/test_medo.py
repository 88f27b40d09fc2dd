"""MedoAdapter against the МЭДО simulator through real directories: packages, notifications, hostile input."""

from __future__ import annotations

import hashlib
import logging
import os
import sys
import zipfile
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from connector.domain import CardStage, PosMessage, StoredFile
from connector.edms_adapters.base import AdapterContext
from connector.edms_adapters.medo import incoming, wire
from connector.edms_adapters.medo.adapter import MedoAdapter, document_uid
from connector.edms_adapters.registry import create_adapter
from connector.errors import FatalAdapterError, ForeignCardError, SkippableItemError, TransientError
from connector.simulators.medo import HOSTILE_KINDS, MedoFaultSpec, MedoSimulator

pytestmark = pytest.mark.date_sensitive  # МЭДО packages and notifications carry the body's dates

SENDER_UID = "0f3c2b1a-4d5e-4f60-8a7b-9c0d1e2f3a4b"


class Env:
    def __init__(self, root: Path, context: AdapterContext, *, sim_encoding: str = "windows-1251",
                 **settings: Any) -> None:
        self.root = root
        self.outbox, self.inbox = root / "outbox", root / "inbox"
        self.sim = MedoSimulator(self.outbox, self.inbox, encoding=sim_encoding)
        self.raw = {"type": "medo", "outbox_dir": str(self.outbox), "inbox_dir": str(self.inbox),
                    "sender_uid": SENDER_UID, "sender_organization": "Коннектор ПОС",
                    "addressee_organization": "Администрация города", "addressee_address": "МЭДО-АДМ-001",
                    **settings}
        self.context = context
        self.adapter: MedoAdapter = create_adapter(self.raw, context)  # type: ignore[assignment]

    def act(self, action: str, pos_id: str = "1001", **kw: Any) -> dict[str, Any]:
        return self.sim.act({"action": action, "pos_id": pos_id, **kw})

    def quarantined(self) -> list[str]:
        q = self.root / "quarantine"
        return sorted(p.name for p in q.iterdir()) if q.exists() else []


@pytest.fixture
def env(tmp_path: Path, adapter_context: AdapterContext) -> Env:
    return Env(tmp_path / "medo", adapter_context)


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_create_twice_writes_one_package_with_a_deterministic_uid(env: Env, message: Callable[..., PosMessage],
                                                                   tmp_path: Path) -> None:
    msg = message("1001")
    ref1 = env.adapter.create_card(msg)
    ref2 = env.adapter.create_card(msg)
    assert ref1 == ref2
    assert ref1.external_id == document_uid("lko-1", "1001")
    assert [p.name for p in env.outbox.iterdir()] == [ref1.external_id]
    env.sim.process()
    assert env.adapter.create_card(msg) == ref1          # taken by the gateway, remembered in the index
    assert list(env.outbox.iterdir()) == []
    # even with the index lost, a re-send is the same document, and the СЭД holds one card
    lost = AdapterContext(target_name="test", session_factory=env.context.session_factory, data_dir=tmp_path / "new")
    assert MedoAdapter(env.adapter.settings, lost).create_card(msg) == ref1
    env.sim.process()
    summary = env.sim.summary()
    assert summary["by_pos_id"] == {"1001": 1} and summary["duplicates"] == 1


def test_send_log_naming_another_message_under_our_uid_is_refused(env: Env, message: Callable[..., PosMessage]) -> None:
    uid = document_uid("lko-1", "1002")
    env.adapter.index.mark_sent(uid, "1999", "2026-11-01T09:00:00+00:00")  # a send log restored from elsewhere
    with pytest.raises(ForeignCardError) as refused:
        env.adapter.create_card(message("1002"))
    assert (refused.value.card_id, refused.value.owner_pos_id, refused.value.pos_id) == (uid, "1999", "1002")
    assert list(env.outbox.iterdir()) == [], "nothing is sent for it either"


@pytest.mark.parametrize("encoding", ["utf-8", "windows-1251"])
def test_written_package_validates_and_has_the_envelope(tmp_path: Path, adapter_context: AdapterContext,
                                                        message: Callable[..., PosMessage], encoding: str) -> None:
    env = Env(tmp_path / "medo", adapter_context, encoding=encoding)
    uid = env.adapter.create_card(message("1001")).external_id
    package = env.outbox / uid
    raw = (package / wire.DOCUMENT_XML).read_bytes()
    assert wire.declared_encoding(raw) == encoding
    root = wire.parse_safely(raw)
    wire.schema(wire.MEDO_XSD).assertValid(root)
    doc = incoming.parse_document(root)
    # as 2.7 writers send it (M1): header «Транспортный контейнер» and only the container
    assert (doc.uid, doc.container) == (uid, f"{uid}.zip") and root.find(wire.q("document")) is None
    assert (incoming.header_of(root).uid, incoming.header_of(root).type) == (uid, wire.TYPE_CONTAINER)
    with zipfile.ZipFile(package / doc.container) as zf:
        passport = etree.fromstring(zf.read(wire.PASSPORT_XML))
        wire.schema(wire.CONTAINER_XSD).assertValid(passport)
        assert passport.findtext("c:requisites/c:documentKind", namespaces=wire.C_NSMAP) == "Обращение гражданина"
        main, attachments = wire.parse_passport(passport)
        # as real 2.7 writers build it (M1): a PDF main document with its page count
        assert main == "Обращение.pdf" and zf.read(main).startswith(b"%PDF") and attachments == ()
        assert int(passport.findtext("c:document/c:pagesQuantity", namespaces=wire.C_NSMAP) or 0) >= 1
    ini = wire.parse_ini((package / wire.ENVELOPE_INI).read_bytes().decode(encoding))
    assert ini[wire.INI_FILES] == {"0": f"{uid}.zip", "1": "document.xml"}
    assert ini[wire.INI_ADDRESSEES] == {"0": "МЭДО-АДМ-001"}
    assert ini[wire.INI_LETTER]["ЭЦП"] == "1" and "Петров" not in ini[wire.INI_LETTER]["ТЕМА"]
    assert not [p for p in env.outbox.iterdir() if p.name.startswith(".")]


def test_attachments_round_trip_byte_exact(env: Env, message: Callable[..., PosMessage],
                                           make_file: Callable[[str, bytes], StoredFile]) -> None:
    big = os.urandom(30 * 1024 * 1024)
    files = (make_file("скан паспорта.pdf", big), make_file("../../etc/passwd", b"not a path"),
             make_file("фото 1.jpg", b"\xff\xd8jpeg"), make_file("ФОТО 1.jpg", b"\xff\xd8other"))
    env.adapter.create_card(message("1001", attachments=files))
    env.sim.process()
    doc = next(iter(env.sim.state()["documents"].values()))
    assert [(f["name"], f["sha256"], f["size"]) for f in doc["files"]] == [
        ("скан паспорта.pdf", sha(big), len(big)), ("passwd", sha(b"not a path"), 10),
        ("фото 1.jpg", sha(b"\xff\xd8jpeg"), 6), ("ФОТО 1 (2).jpg", sha(b"\xff\xd8other"), 7)]


def test_too_big_package_is_skippable(tmp_path: Path, adapter_context: AdapterContext,
                                      message: Callable[..., PosMessage],
                                      make_file: Callable[[str, bytes], StoredFile]) -> None:
    env = Env(tmp_path / "medo", adapter_context, max_package_mb=1)
    with pytest.raises(SkippableItemError, match="max_package_mb"):
        env.adapter.create_card(message("1001", attachments=(make_file("big.bin", b"x" * 2_000_000),)))
    assert list(env.outbox.iterdir()) == []


def test_lifecycle_registration_executor_extension_answer(env: Env, message: Callable[..., PosMessage]) -> None:
    ref = env.adapter.create_card(message("1001"))
    state = env.adapter.get_card(ref)
    assert (state.stage, state.registration_number, state.registration_date) == (CardStage.REGISTERED, "", None)

    env.sim.process()
    state = env.adapter.get_card(ref)
    sim_doc = env.sim.state()["documents"][ref.external_id]
    reg_date = date.fromisoformat(sim_doc["reg_date"])
    assert state.stage is CardStage.REGISTERED
    assert state.registration_number == sim_doc["reg_number"] and state.registration_number.startswith("ВХ-МЭДО-")
    assert state.registration_date == reg_date

    env.act("assign", executor="Иванова Мария Сергеевна")
    state = env.adapter.get_card(ref)
    assert state.stage is CardStage.IN_WORK
    assert [e.name for e in state.executors] == ["Иванова Мария Сергеевна"]
    assert state.deadline == reg_date + timedelta(days=30)

    env.act("extend", deadline=(reg_date + timedelta(days=60)).isoformat())
    state = env.adapter.get_card(ref)
    assert (state.stage, state.deadline) == (CardStage.EXTENDED, reg_date + timedelta(days=60))
    assert env.adapter.fetch_answer(ref) is None

    result = env.act("answer", text="Мусор вывезен.", signer="Смирнова Елена Викторовна", decision="Поддержано")
    state = env.adapter.get_card(ref)
    assert state.stage is CardStage.ANSWER_READY
    answer = env.adapter.fetch_answer(ref)
    assert answer is not None
    assert (answer.text, answer.signer, answer.decision) == ("Мусор вывезен.", "Смирнова Елена Викторовна",
                                                             "Поддержано")
    expected = env.sim.state()["answers"][result["answer_uid"]]["files"]
    assert [(f.name, sha(f.content), f.mime_type) for f in answer.files] == [
        (expected[0]["name"], expected[0]["sha256"], "application/pdf")]
    assert answer.files[0].content.startswith(b"%PDF")
    # every processed package was archived, none deleted, the inbox is empty
    assert list(env.inbox.iterdir()) == []
    assert len(list((env.root / "archive").iterdir())) == 6  # 5 notifications + the answer document


def test_redirect_and_refusal(env: Env, message: Callable[..., PosMessage]) -> None:
    redirected = env.adapter.create_card(message("1001"))
    refused = env.adapter.create_card(message("1002"))
    env.sim.process()
    env.act("redirect", "1001", org_id="ORG-77", comment="Направлено по компетенции в Минприроды")
    env.act("refuse", "1002", reason="Обращение анонимное")
    state = env.adapter.get_card(redirected)
    assert (state.stage, state.redirect_org_id, state.redirect_comment) == (
        CardStage.REDIRECTED, "ORG-77", "Направлено по компетенции в Минприроды")
    state = env.adapter.get_card(refused)
    assert (state.stage, state.resolution) == (CardStage.REFUSED, "Обращение анонимное")


@pytest.mark.parametrize("encoding", ["windows-1251", "utf-8"])
def test_notifications_in_both_encodings(tmp_path: Path, adapter_context: AdapterContext,
                                         message: Callable[..., PosMessage], encoding: str) -> None:
    env = Env(tmp_path / "medo", adapter_context, sim_encoding=encoding)
    ref = env.adapter.create_card(message("1001"))
    env.sim.process()
    env.act("assign", executor="Кузнецов Алексей Петрович")
    note = next((env.root / "medo-sim-received").parent.glob("inbox/*/document.xml"))
    assert wire.declared_encoding(note.read_bytes()) == encoding
    state = env.adapter.get_card(ref)
    assert state.registration_number.startswith("ВХ-МЭДО-")
    assert state.executors[0].name == "Кузнецов Алексей Петрович"


@pytest.mark.parametrize("kind", HOSTILE_KINDS)
def test_hostile_package_is_quarantined_and_the_others_still_processed(
        env: Env, message: Callable[..., PosMessage], kind: str, caplog: pytest.LogCaptureFixture) -> None:
    ref = env.adapter.create_card(message("1001"))
    env.sim.process()
    package = env.sim.inject(kind, ref.external_id)
    env.act("assign", executor="Соколова Ольга Николаевна")
    with caplog.at_level(logging.WARNING):
        state = env.adapter.get_card(ref)
    assert state.registration_number and state.executors[0].name == "Соколова Ольга Николаевна"
    assert env.quarantined() == [package, f"{package}.reason.txt"]
    reason = (env.root / "quarantine" / f"{package}.reason.txt").read_text(encoding="utf-8")
    assert reason.strip()
    assert list(env.inbox.iterdir()) == []
    assert len(list((env.root / "archive").iterdir())) == 2
    assert "quarantined" in caplog.text and "Петров" not in caplog.text + reason


@pytest.mark.parametrize(("knob", "hostile"), [("malformed_next", "malformed"), ("bomb_next", "bomb"),
                                                ("entity_next", "entity"), ("unknown_next", "unknown"),
                                                ("wrong_encoding_next", "wrong_encoding")])
def test_fault_knobs_precede_notifications_with_hostile_packages(env: Env, message: Callable[..., PosMessage],
                                                                  knob: str, hostile: str) -> None:
    env.sim.set_faults(MedoFaultSpec(**{knob: 1}))
    ref = env.adapter.create_card(message("1001"))
    env.sim.process()
    assert env.adapter.get_card(ref).registration_number
    assert len(env.quarantined()) == 2
    assert env.sim.state()["hostile"][0]["kind"] == hostile


def test_path_traversal_in_answer_container_is_quarantined_then_a_clean_answer_works(
        env: Env, message: Callable[..., PosMessage]) -> None:
    ref = env.adapter.create_card(message("1001"))
    env.sim.process()
    env.sim.set_faults(MedoFaultSpec(traversal_next=1))
    env.act("answer")
    state = env.adapter.get_card(ref)
    assert state.stage is CardStage.IN_WORK  # reportSent points at a quarantined answer
    assert env.adapter.fetch_answer(ref) is None
    reasons = [p.read_text(encoding="utf-8") for p in (env.root / "quarantine").glob("*.reason.txt")]
    assert len(reasons) == 1 and "path traversal" in reasons[0]
    assert not (env.root / "evil.txt").exists() and not (env.root.parent / "evil.txt").exists()
    env.act("answer")
    assert env.adapter.get_card(ref).stage is CardStage.ANSWER_READY
    assert env.adapter.fetch_answer(ref) is not None


def test_duplicate_notifications_are_harmless(env: Env, message: Callable[..., PosMessage]) -> None:
    env.sim.set_faults(MedoFaultSpec(duplicate_next=10))
    ref = env.adapter.create_card(message("1001"))
    env.sim.process()
    env.act("assign", executor="Иванова Мария Сергеевна")
    env.act("answer")
    state = env.adapter.get_card(ref)
    assert state.stage is CardStage.ANSWER_READY
    assert [e.name for e in state.executors] == ["Иванова Мария Сергеевна"]
    assert len(env.adapter.fetch_answer(ref).files) == 1  # type: ignore[union-attr]
    assert len(list((env.root / "archive").iterdir())) == 2 * 4 + 1
    assert env.quarantined() == []


# Under libfaketime time.time() is shifted but the kernel stamps file times with the real clock,
# so every fresh package looks older than the grace and is quarantined.
@pytest.mark.faketime_unsafe(reason="file mtimes are not shifted with the faked clock")
def test_incomplete_package_waits_instead_of_being_quarantined(env: Env, message: Callable[..., PosMessage]) -> None:
    env.sim.set_faults(MedoFaultSpec(delay_next=1))
    ref = env.adapter.create_card(message("1001"))
    env.sim.process()
    state = env.adapter.get_card(ref)
    assert (state.stage, state.registration_number) == (CardStage.REGISTERED, "")
    assert len(list(env.inbox.iterdir())) == 1 and env.quarantined() == []
    env.sim.process()  # the gateway finishes copying
    assert env.adapter.get_card(ref).registration_number.startswith("ВХ-МЭДО-")


def test_bare_xml_notification_and_stray_files(env: Env, message: Callable[..., PosMessage]) -> None:
    ref = env.adapter.create_card(message("1001"))
    env.sim.process()
    package = next(env.inbox.iterdir())
    (env.inbox / "accepted.xml").write_bytes((package / wire.DOCUMENT_XML).read_bytes())
    for p in package.iterdir():
        p.unlink()
    package.rmdir()
    (env.inbox / "readme.txt").write_text("not a package")
    (env.inbox / ".in-progress").mkdir()
    assert env.adapter.get_card(ref).registration_number.startswith("ВХ-МЭДО-")
    assert env.quarantined() == ["readme.txt", "readme.txt.reason.txt"]
    assert [p.name for p in env.inbox.iterdir()] == [".in-progress"]


def test_inbox_scans_are_throttled_but_see_changes(env: Env, message: Callable[..., PosMessage]) -> None:
    env.adapter.create_card(message("1001"))
    env.sim.process()
    assert env.adapter.scan_inbox()["processed"] == 1
    assert env.adapter.scan_inbox() == {"processed": 0, "quarantined": 0, "incomplete": 0, "skipped": 0}


def test_health(env: Env, tmp_path: Path, adapter_context: AdapterContext) -> None:
    env.adapter.health()
    assert (env.root / "archive").is_dir() and (env.root / "quarantine").is_dir()
    missing = MedoAdapter(env.adapter.settings.model_copy(update={"outbox_dir": tmp_path / "nope"}), adapter_context)
    with pytest.raises(FatalAdapterError, match=r"outbox_dir .*nope does not exist"):
        missing.health()
    (tmp_path / "file").write_text("x")
    not_dir = MedoAdapter(env.adapter.settings.model_copy(update={"inbox_dir": tmp_path / "file"}), adapter_context)
    with pytest.raises(FatalAdapterError, match="inbox_dir .* is not a directory"):
        not_dir.health()


def test_settings_reject_bad_values(env: Env, adapter_context: AdapterContext) -> None:
    with pytest.raises(ValueError, match="sender_uid"):
        create_adapter({**env.raw, "sender_uid": "not-a-guid"}, adapter_context)
    with pytest.raises(ValueError, match="encoding"):
        create_adapter({**env.raw, "encoding": "koi8-r"}, adapter_context)
    with pytest.raises(ValueError, match="signature_command needs signatory"):
        create_adapter({**env.raw, "signature_command": ["sign"]}, adapter_context)
    with pytest.raises(ValueError, match="header_type"):
        create_adapter({**env.raw, "header_type": "Квитанция"}, adapter_context)


def test_package_follows_real_2_7_writers(tmp_path: Path, adapter_context: AdapterContext,
                                          message: Callable[..., PosMessage], make_file: Any) -> None:
    signer = tmp_path / "sign.py"
    signer.write_text("import sys, pathlib\n"
                      "pathlib.Path(sys.argv[2]).write_bytes(b'0\\x82SIG' + pathlib.Path(sys.argv[1]).read_bytes()[:8])\n")
    env = Env(tmp_path / "medo", adapter_context, signatory="Смирнов И.И.", signatory_post="Глава",
              signature_command=[sys.executable, str(signer)])
    msg = message("1001", attachments=(make_file("фото.jpg", b"jpg"), make_file("план.pdf", b"%PDF plan")))
    uid = env.adapter.create_card(msg).external_id
    with zipfile.ZipFile(env.outbox / uid / f"{uid}.zip") as zf:
        passport = etree.fromstring(zf.read(wire.PASSPORT_XML))
        wire.schema(wire.CONTAINER_XSD).assertValid(passport)
        ns = wire.C_NSMAP
        person = passport.find("c:authors/c:author/c:sign/c:person", namespaces=ns)
        assert (wire.text(person, "c:name"), wire.text(person, "c:post")) == ("Смирнов И.И.", "Глава")
        sig = passport.find("c:authors/c:author/c:sign/c:documentSignature", namespaces=ns)
        assert sig is not None and wire.attr(sig, "type", wire.CONTAINER_NS) == wire.SIGNATURE_APPROVING
        p7s = wire.attr(sig, "localName", wire.CONTAINER_NS)
        assert p7s == "Обращение.pdf.p7s" and zf.read(p7s) == b"0\x82SIG" + zf.read("Обращение.pdf")[:8]
        orders = [(wire.attr(a, "localName", wire.CONTAINER_NS), a.findtext("c:order", namespaces=ns))
                  for a in passport.iterfind("c:attachments/c:attachment", namespaces=ns)]
        assert orders == [("фото.jpg", "0"), ("план.pdf", "1")]
    assert not [p for p in (env.outbox / uid).iterdir() if p.suffix in (".pdf", ".p7s")]  # only inside the ZIP
    env.sim.process()
    assert env.adapter.get_card(env.adapter.create_card(msg)).registration_number.startswith("ВХ-МЭДО-")


def test_a_failing_signature_command_writes_nothing_and_is_retried(tmp_path: Path, adapter_context: AdapterContext,
                                                                   message: Callable[..., PosMessage]) -> None:
    env = Env(tmp_path / "medo", adapter_context, signatory="Смирнов И.И.", signature_command=["false"])
    with pytest.raises(TransientError, match="not signed"):
        env.adapter.create_card(message("1001"))
    assert list(env.outbox.iterdir()) == []


def test_no_font_is_a_clear_fatal_error(tmp_path: Path, adapter_context: AdapterContext,
                                        message: Callable[..., PosMessage]) -> None:
    env = Env(tmp_path / "medo", adapter_context, pdf_font=str(tmp_path / "missing.ttf"))
    with pytest.raises(FatalAdapterError, match="pdf_font"):
        env.adapter.health()
    with pytest.raises(FatalAdapterError, match="pdf_font"):
        env.adapter.create_card(message("1001"))


def test_document_header_variant_carries_the_full_document(tmp_path: Path, adapter_context: AdapterContext,
                                                          message: Callable[..., PosMessage]) -> None:
    env = Env(tmp_path / "medo", adapter_context, header_type="Документ", signatory="Смирнов И.И.")
    uid = env.adapter.create_card(message("1001")).external_id
    root = wire.parse_safely((env.outbox / uid / wire.DOCUMENT_XML).read_bytes())
    wire.schema(wire.MEDO_XSD).assertValid(root)
    doc = incoming.parse_document(root)
    assert (doc.uid, doc.kind, doc.signer, doc.container) == (uid, "Обращение гражданина", "Смирнов И.И.",
                                                              f"{uid}.zip")
    assert wire.attr(root.find(wire.q("document")), "id") == "1001"
    env.sim.process()
    assert env.sim.state()["documents"][uid]["pos_id"] == "1001"
