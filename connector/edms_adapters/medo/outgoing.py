"""Building the package we send: the appeal as a МЭДО 2.7 transport container.

What real 2.7 writers send (edms-public-clients.md M1), and we follow: ``document.xml`` with the header
«Транспортный контейнер» and only ``container/body`` (``header_type = "Документ"`` adds the full
``xdms:document`` for a receiver that wants it); our POS id travels in our INI subject.  The main document
is a PDF (the appeal rendered, :mod:`.pdf`) with its ``pagesQuantity``; attachments are ordered from 0; the
author's ``sign`` names the signer and, when the site signs, the detached ``.p7s`` signature of the main
document («Утверждающая»).  ``signatories`` (M4 marks it required) come from the settings.

Signing is the site's: ``signature_command`` is run as ``<command…> <main.pdf> <main.pdf.p7s>`` and must
write the detached signature (e.g. a CryptoPro ``cryptcp`` wrapper).  Without it no ``.p7s`` is written, and
the gateway's own signing (INI ``ЭЦП=1``) is all a receiver gets.
"""

from __future__ import annotations

import subprocess
from datetime import date, datetime, tzinfo
from pathlib import Path

from lxml import etree

from connector.domain import PosMessage
from connector.edms_adapters.medo import mailbox, pdf, wire
from connector.edms_adapters.medo.settings import MedoSettings

MAIN_DOCUMENT_NAME = "Обращение.pdf"
SIGNATURE_TIMEOUT_SECONDS = 120


class SignatureFailed(RuntimeError):
    """The configured signature command did not produce a signature; ``str()`` says why (no content)."""


def write(tmp: Path, uid: str, msg: PosMessage, s: MedoSettings, zone: tzinfo, now: datetime) -> None:
    """Write ``document.xml``, the container ZIP and the INI envelope for ``msg`` into ``tmp``.
    Raises wire.RejectedXml when our own schema refuses what we built, pdf.NoFont, SignatureFailed."""
    number = msg.epgu_number or msg.pos_id
    on = msg.created_at.astimezone(zone).date()  # the day it reached the body
    subject = " / ".join(c.name for c in (msg.category, msg.subcategory, msg.fact) if c is not None)
    names = mailbox.unique_names([MAIN_DOCUMENT_NAME, *(a.name for a in msg.attachments)])
    rendered = pdf.render_appeal(pdf.find_font(s.pdf_font), f"{s.document_kind} № {number} от {on:%d.%m.%Y}",
                                 [("Тема", subject), ("Поступило", s.correspondent_organization)], msg.text,
                                 msg.created_at)
    main_path = tmp / names[0]
    main_path.write_bytes(rendered.content)
    signature = _sign(s.signature_command, main_path) if s.signature_command else None
    container = f"{uid}.zip"
    passport = wire.build_passport(wire.Passport(
        uid=uid, kind=s.document_kind, annotation=subject, author_org=s.correspondent_organization,
        number=number, on=on, signer=s.signatory, signer_post=s.signatory_post,
        addressee_org=s.addressee_organization, document=names[0], pages=rendered.pages,
        signature=signature.name if signature else "", attachments=tuple(names[1:])))
    members: list[tuple[str, bytes | Path]] = [
        (wire.PASSPORT_XML, wire.to_bytes(passport, s.encoding)), (names[0], main_path),
        *([(signature.name, signature)] if signature else []),
        *((n, a.path) for n, a in zip(names[1:], msg.attachments, strict=True)),
    ]
    mailbox.write_container(tmp / container, members)
    main_path.unlink()
    if signature:
        signature.unlink()

    if s.header_type == wire.TYPE_CONTAINER:  # as 2.7 writers send it (M1): the container says it all
        root = wire.communication(wire.TYPE_CONTAINER, uid, now, s.sender_uid, s.sender_organization)
    else:
        root = _document(uid, msg, s, now, number, on, subject, rendered.pages)
    wire.sub(wire.sub(root, "container"), "body", container)
    wire.validate(root)  # never send what our own schema refuses
    (tmp / wire.DOCUMENT_XML).write_bytes(wire.to_bytes(root, s.encoding))
    ini = wire.build_ini(wire.ini_subject(s.document_kind, msg.pos_id), [s.addressee_address],
                         [container, wire.DOCUMENT_XML])
    (tmp / wire.ENVELOPE_INI).write_bytes(ini.encode(s.encoding, errors="replace"))


def _document(uid: str, msg: PosMessage, s: MedoSettings, now: datetime, number: str, on: date, subject: str,
              pages: int) -> etree._Element:
    """header_type «Документ»: the full xdms:document beside the container, for receivers that want it."""
    root = wire.communication(wire.TYPE_DOCUMENT, uid, now, s.sender_uid, s.sender_organization)
    doc = wire.sub(root, "document", uid=uid, id=msg.pos_id)
    wire.sub(doc, "kind", s.document_kind)
    wire.add_num(doc, number, on)
    if s.signatory:
        wire.add_person(wire.sub(doc, "signatories"), "signatory", wire.PersonInfo(
            person=s.signatory, organization=s.sender_organization, post=s.signatory_post), signed=on)
    wire.sub(wire.sub(wire.sub(doc, "addressees"), "addressee"), "organization", s.addressee_organization)
    wire.sub(doc, "pages", str(pages))
    excerpt = msg.text[: s.annotation_limit]
    wire.sub(doc, "annotation", "\n\n".join(p for p in (subject, excerpt) if p))
    corr = wire.sub(wire.sub(doc, "correspondents"), "correspondent")
    wire.sub(corr, "organization", s.correspondent_organization)
    if msg.applicant.full_name:
        wire.sub(corr, "person", msg.applicant.full_name)
    wire.add_num(corr, number, on)
    wire.sub(doc, "comment", f"ПОС №{msg.pos_id}")
    return root


def _sign(command: list[str], main: Path) -> Path:
    target = main.with_name(main.name + ".p7s")
    try:
        done = subprocess.run([*command, str(main), str(target)], capture_output=True,
                              timeout=SIGNATURE_TIMEOUT_SECONDS, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise SignatureFailed(f"signature_command {command[0]!r} could not run: {type(exc).__name__}") from None
    if done.returncode != 0 or not target.is_file() or target.stat().st_size == 0:
        raise SignatureFailed(f"signature_command {command[0]!r} exited {done.returncode} "
                              f"without writing a signature")
    return target
