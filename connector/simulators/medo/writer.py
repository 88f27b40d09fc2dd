"""Writing the simulated СЭД's packages into the adapter's inbox: notifications, answers, hostile packages.

Every package is a directory ``<header uid>`` with ``document.xml`` and ``envelope.ini`` (answers also
carry a container ZIP), written atomically (temporary "."-name, then rename).  A *delayed* package is
renamed into place without its envelope (as a gateway still copying it) and completed later.
"""

from __future__ import annotations

import io
import zipfile
from datetime import date, datetime
from pathlib import Path

from lxml import etree

from connector.edms_adapters.medo import mailbox, wire

SIM_SOURCE_UID = "5e0f1a2b-3c4d-4e5f-8a6b-7c8d9e0f1a2b"
SIM_ORGANIZATION = "Администрация муниципального образования (симулятор МЭДО)"
SIM_REGION = "Энская область"
HOSTILE_KINDS = ("malformed", "bomb", "entity", "doctype", "wrong_encoding", "unknown", "traversal", "zipbomb")

BOMB = b"""<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<xdms:communication xmlns:xdms="http://www.infpres.com/IEDMS" xdms:version="2.7">&lol3;</xdms:communication>
"""
EXTERNAL_ENTITY = b"""<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<xdms:communication xmlns:xdms="http://www.infpres.com/IEDMS" xdms:version="2.7">&xxe;</xdms:communication>
"""
DOCTYPE_ONLY = b"""<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE communication SYSTEM "http://127.0.0.1:9/medo.dtd">
<xdms:communication xmlns:xdms="http://www.infpres.com/IEDMS" xdms:version="2.7"/>
"""


#: xdms versions real senders write (edms-public-clients.md: 2.0 M4, 2.2 M2, 2.6/2.7 M1)
VERSIONS = ("2.0", "2.2", "2.6", "2.7")


class PackageWriter:
    """``version`` goes into every message; ``header_created=False`` leaves ``header@created`` out, as the
    ЭОС notification transform does (M3)."""

    def __init__(self, inbox: Path, encoding: str, *, version: str = "2.2", header_created: bool = False) -> None:
        if version not in VERSIONS:
            raise ValueError(f"xdms version must be one of {', '.join(VERSIONS)}")
        self.inbox = inbox
        self.encoding = encoding
        self.version = version
        self.header_created = header_created

    def message(self, msg_type: str, uid: str, created: datetime) -> etree._Element:
        root = wire.communication(msg_type, uid, created, SIM_SOURCE_UID, SIM_ORGANIZATION)
        root.set(wire.q("version"), self.version)
        header = root.find(wire.q("header"))
        if not self.header_created and header is not None:
            del header.attrib[wire.q("created")]
        return root

    def common_block(self, body: etree._Element, created: datetime, foundation_org: str, number: str,
                     on: str) -> None:
        """What every real notification body starts with (M2, M4): when, about which document of the
        addressee (foundation: its organization and number), and who answers (correspondent)."""
        wire.sub(body, wire.COMMON_TIME, created.replace(tzinfo=None).isoformat(timespec="milliseconds"))
        foundation = wire.sub(body, wire.COMMON_FOUNDATION)
        wire.sub(foundation, "organization", foundation_org or "pos-connector")
        day = wire.parse_date(on)
        if number and day is not None:
            wire.add_num(foundation, number, day)
        correspondent = wire.sub(body, wire.COMMON_CORRESPONDENT)
        wire.sub(correspondent, "region", SIM_REGION)
        wire.sub(correspondent, "organization", SIM_ORGANIZATION)

    def write(self, name: str, files: dict[str, bytes], *, envelope: bool = True) -> Path:
        """Write a package directory atomically; without ``envelope`` it stays incomplete."""
        with mailbox.atomic_package(self.inbox, name) as tmp:
            for fname, content in files.items():
                (tmp / fname).write_bytes(content)
            if envelope:
                (tmp / wire.ENVELOPE_INI).write_bytes(self.envelope(list(files)))
        return self.inbox / name

    def envelope(self, files: list[str]) -> bytes:
        ordered = [f for f in files if f != wire.DOCUMENT_XML] + [wire.DOCUMENT_XML]
        ini = wire.build_ini("Уведомление МЭДО", ["pos-connector"], ordered)
        return ini.encode(self.encoding, errors="replace")

    def complete(self, package: Path) -> None:
        """Add the envelope to a delayed package (the gateway finished copying it)."""
        if package.is_dir() and not (package / wire.ENVELOPE_INI).exists():
            files = sorted(p.name for p in package.iterdir())
            (package / wire.ENVELOPE_INI).write_bytes(self.envelope(files))

    def encode(self, root: etree._Element) -> bytes:
        return wire.to_bytes(root, self.encoding)

    # --- answers ---------------------------------------------------------------------------------------
    def answer_files(self, *, uid: str, number: str, on: date, text: str, signer: str, decision: str,
                     doc_uid: str, addressee: str, file_name: str, content: bytes | None,
                     created: datetime, traversal: bool = False) -> dict[str, bytes]:
        """``content`` None: the document alone, without its container (an answer sent without its file)."""
        container = f"{uid}.zip"
        attachments = ("../../evil.txt",) if traversal else ()
        passport = wire.build_passport(wire.Passport(
            uid=uid, kind="Ответ на обращение", annotation=text[:500], author_org=SIM_ORGANIZATION, number=number,
            on=on, signer=signer, addressee_org=addressee or "pos-connector", document=file_name,
            attachments=attachments, signer_post="Глава администрации"))
        buf = io.BytesIO()
        if content is not None:
            with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
                zf.writestr(wire.PASSPORT_XML, wire.to_bytes(passport, self.encoding))
                zf.writestr(file_name, content)
                if traversal:
                    zf.writestr("../../evil.txt", b"outside the package")
        root = self.message(wire.TYPE_DOCUMENT, uid, created)
        doc = wire.sub(root, "document", uid=uid)
        wire.sub(doc, "kind", "Ответ на обращение")
        wire.add_num(doc, number, on)
        sigs = wire.sub(doc, "signatories")
        wire.add_person(sigs, "signatory", wire.PersonInfo(person=signer, organization=SIM_ORGANIZATION,
                                                             post="Глава администрации"), signed=on)
        wire.sub(wire.sub(wire.sub(doc, "addressees"), "addressee"), "organization", addressee or "pos-connector")
        wire.sub(doc, "pages", "1")
        wire.sub(doc, "annotation", text)
        enclosure = wire.sub(wire.sub(doc, "enclosures"), "enclosure")
        wire.sub(enclosure, "title", "Справка о результатах рассмотрения")
        wire.sub(enclosure, "pages", "1")
        corr = wire.sub(wire.sub(doc, "correspondents"), "correspondent")
        wire.sub(corr, "organization", addressee or "pos-connector")
        # real answers point at the document they answer (M4 links/link@uid, linkType, reference)
        link = wire.sub(wire.sub(doc, wire.DOC_LINKS), wire.DOC_LINK, uid=doc_uid)
        wire.sub(link, "linkType", "Ответ на")
        wire.sub(wire.sub(link, "reference"), "organization", addressee or "pos-connector")
        clause = wire.sub(wire.sub(doc, "clauses"), "clause")
        wire.sub(clause, "designation", "1")
        wire.sub(clause, "text", "Заявителю дан ответ по существу")
        wire.add_person(doc, "executor", wire.PersonInfo(person="Исполнитель ответа", post="Специалист"))
        if decision:
            wire.sub(doc, "comment", decision)
        if content is None:
            return {wire.DOCUMENT_XML: self.encode(root)}
        wire.sub(wire.sub(root, "container"), "body", container)
        return {wire.DOCUMENT_XML: self.encode(root), container: buf.getvalue()}

    # --- hostile packages --------------------------------------------------------------------------------
    def hostile(self, kind: str, uid: str, created: datetime, doc_uid: str) -> Path:
        """Write one package the adapter must quarantine; ``kind`` is one of HOSTILE_KINDS."""
        ok = self.message(wire.TYPE_NOTIFICATION, uid, created)
        body = wire.notification(ok, wire.N_PREPARED, doc_uid)
        wire.add_person(body, "signatory", wire.PersonInfo(person="Подписант"), signed=created.date())
        files: dict[str, bytes]
        if kind == "malformed":
            data = self.encode(ok)
            files = {wire.DOCUMENT_XML: data[: len(data) // 2]}
        elif kind == "bomb":
            files = {wire.DOCUMENT_XML: BOMB}
        elif kind == "entity":
            files = {wire.DOCUMENT_XML: EXTERNAL_ENTITY}
        elif kind == "doctype":
            files = {wire.DOCUMENT_XML: DOCTYPE_ONLY}
        elif kind == "wrong_encoding":
            data = wire.to_bytes(ok, "utf-8")
            files = {wire.DOCUMENT_XML: data.replace(b"encoding='utf-8'", b"encoding='windows-1251'", 1)}
        elif kind == "unknown":
            ok.find(wire.q("header")).set(wire.q("type"), "Квитанция")  # type: ignore[union-attr]
            files = {wire.DOCUMENT_XML: self.encode(ok)}
        elif kind in ("traversal", "zipbomb"):
            files = self.answer_files(uid=uid, number="ИСХ-ВРЕД", on=created.date(), text="x", signer="x",
                                      decision="", doc_uid=doc_uid, addressee="", file_name="Ответ.pdf",
                                      content=b"%PDF-1.4", created=created, traversal=kind == "traversal")
            if kind == "zipbomb":
                buf = io.BytesIO()
                with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
                    zf.writestr(wire.PASSPORT_XML, b"<x/>")
                    zf.writestr("Ответ.pdf", b"\0" * (24 * 1024 * 1024))
                files[f"{uid}.zip"] = buf.getvalue()
        else:
            raise ValueError(f"unknown hostile package kind {kind!r} (one of {', '.join(HOSTILE_KINDS)})")
        return self.write(uid, files)
