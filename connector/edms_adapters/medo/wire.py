"""МЭДО wire format: every element, attribute and namespace name; building and safe parsing.

Messages are ``document.xml`` in xdms 2.x (namespace ``http://www.infpres.com/IEDMS``, namespaced
attributes), with the files of a 2.7 message zipped together with ``passport.xml`` (namespace
``http://minsvyaz.ru/container``) and an INI envelope for the gateway (edms.md §5).

Nothing here knows about settings or the pipeline; the simulator builds and reads with the same names.
ZIP handling (writing and safe reading of containers) and the inbox live in :mod:`.mailbox`.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from lxml import etree

from connector.edms_adapters.xml_text import xml_safe

XDMS_NS = "http://www.infpres.com/IEDMS"
CONTAINER_NS = "http://minsvyaz.ru/container"
NSMAP = {"xdms": XDMS_NS}
C_NSMAP = {"c": CONTAINER_NS}
VERSION = "2.7"
CONTAINER_VERSION = "1.0"
MEDO_XSD = Path(__file__).with_name("medo.xsd")
CONTAINER_XSD = Path(__file__).with_name("container.xsd")

# header@type
TYPE_DOCUMENT = "Документ"
TYPE_NOTIFICATION = "Уведомление"
TYPE_CONTAINER = "Транспортный контейнер"

# the six notification bodies (notification has exactly one)
N_ACCEPTED = "documentAccepted"
N_REFUSED = "documentRefused"
N_EXECUTOR = "executorAssigned"
N_PREPARED = "reportPrepared"
N_SENT = "reportSent"
N_COURSE = "courseChanged"
NOTIFICATION_KINDS = (N_ACCEPTED, N_REFUSED, N_EXECUTOR, N_PREPARED, N_SENT, N_COURSE)
#: notification@type labels.  «Зарегистрирован», «Отказано в регистрации», «Назначен исполнитель» and
#: «Доклад направлен» are what real senders write (edms-public-clients.md M2–M4); the labels of
#: reportPrepared and courseChanged are seen in no public source and stay our guess.  Readers go by the
#: body element, never by this label.
NOTIFICATION_TITLES = {
    N_ACCEPTED: "Зарегистрирован", N_REFUSED: "Отказано в регистрации",
    N_EXECUTOR: "Назначен исполнитель", N_PREPARED: "Доклад подготовлен",
    N_SENT: "Доклад направлен", N_COURSE: "Изменение хода рассмотрения",
}
#: xdms versions we read (2.0 from M4, 2.2 from M2, 2.6/2.7 from M1); we write VERSION only.
VERSIONS_READ = ("2.0", "2.1", "2.2", "2.3", "2.4", "2.5", "2.6", "2.7")
#: the block every real notification body starts with (M2, M4), before its specific fields
COMMON_TIME = "time"
COMMON_FOUNDATION = "foundation"
COMMON_CORRESPONDENT = "correspondent"
#: answer documents carry these outside the elements we write (M4); readers ignore what they don't use
DOC_LINKS = "links"
DOC_LINK = "link"

DOCUMENT_XML = "document.xml"
PASSPORT_XML = "passport.xml"
ENVELOPE_INI = "envelope.ini"
INI_LETTER = "ПИСЬМО КП ПС СЗИ"
INI_ADDRESSEES = "АДРЕСАТЫ"
INI_FILES = "ФАЙЛЫ"
GROUP_TEXT = "Текст документа"
SIGNATURE_APPROVING = "Утверждающая"

#: courseChanged convention for a term extension (edms.md leaves it open): courseText starting with this
#: prefix and carrying the new date (``YYYY-MM-DD`` or ``DD.MM.YYYY``) means EXTENDED, anything else REDIRECTED.
EXTENSION_PREFIX = "Продление срока"
ENCODINGS = {"utf-8": "utf-8", "utf8": "utf-8", "windows-1251": "windows-1251", "cp1251": "windows-1251"}
MAX_XML_BYTES = 16 * 1024 * 1024
COMMENT_MAX = 2047

_DECL = re.compile(rb"^\s*<\?xml[^>]*?encoding\s*=\s*[\"']([A-Za-z0-9_.:-]+)[\"']")
_ISO_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_RU_DATE = re.compile(r"(\d{2})\.(\d{2})\.(\d{4})")


def q(local: str) -> str:
    return f"{{{XDMS_NS}}}{local}"


def cq(local: str) -> str:
    return f"{{{CONTAINER_NS}}}{local}"


class RejectedXml(ValueError):
    """A message that must be quarantined; ``str()`` is the reason (structure only, never content)."""


# --- building ----------------------------------------------------------------------------------------
def sub(parent: etree._Element, local: str, text: str | None = None, **attrs: str) -> etree._Element:
    tag = cq(local) if parent.tag.startswith(f"{{{CONTAINER_NS}}}") else q(local)
    el = etree.SubElement(parent, tag)
    for name, value in attrs.items():
        el.set(tag[: tag.index("}") + 1] + name, xml_safe(value))
    if text is not None:
        el.text = xml_safe(text)
    return el


_UNSAFE_NAME = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|]')


def sanitize_name(name: str, fallback: str = "file") -> str:
    """A flat, portable archive member name: never a path, no control or reserved characters."""
    base = re.split(r"[/\\]", name)[-1]
    base = _UNSAFE_NAME.sub("_", base).strip().lstrip(".").strip()
    if not base or base in {".", ".."}:
        base = fallback
    if len(base) > 150:
        stem, dot, ext = base.rpartition(".")
        base = (stem[: 150 - len(ext) - 1] + "." + ext) if dot and len(ext) < 10 else base[:150]
    return base


def communication(msg_type: str, uid: str, created: datetime, source_uid: str, source_org: str) -> etree._Element:
    root = etree.Element(q("communication"), nsmap=NSMAP)
    root.set(q("version"), VERSION)
    header = sub(root, "header", type=msg_type, uid=uid, created=created.replace(microsecond=0).isoformat())
    sub(sub(header, "source", uid=source_uid), "organization", source_org)
    return root


def add_num(parent: etree._Element, number: str, on: date) -> None:
    num = sub(parent, "num")
    sub(num, "number", number)
    sub(num, "date", on.isoformat())


@dataclass(frozen=True)
class PersonInfo:
    person: str
    organization: str = ""
    department: str = ""
    post: str = ""


def add_person(parent: etree._Element, local: str, p: PersonInfo, signed: date | None = None) -> etree._Element:
    el = sub(parent, local)
    if p.organization:
        sub(el, "organization", p.organization)
    sub(el, "person", p.person)
    if p.department:
        sub(el, "department", p.department)
    if p.post:
        sub(el, "post", p.post)
    if signed is not None:
        sub(el, "signed", signed.isoformat())
    return el


def notification(root: etree._Element, kind: str, doc_uid: str) -> etree._Element:
    """Append ``xdms:notification`` about ``doc_uid`` with its one body element; returns the body."""
    n = sub(root, "notification", type=NOTIFICATION_TITLES[kind], uid=doc_uid)
    return sub(n, kind)


def to_bytes(root: etree._Element, encoding: str = "utf-8") -> bytes:
    return bytes(etree.tostring(root, xml_declaration=True, encoding=encoding, pretty_print=True))


def build_ini(subject: str, addresses: list[str], files: list[str]) -> str:
    lines = [f"[{INI_LETTER}]", f"ТЕМА={subject}", "ШИФРОВАНИЕ=0", "АВТООТПРАВКА=1", "ЭЦП=1", f"[{INI_ADDRESSEES}]"]
    lines += [f"{i}={a}" for i, a in enumerate(addresses)]
    lines.append(f"[{INI_FILES}]")
    lines += [f"{i}={f}" for i, f in enumerate(files)]
    return "\r\n".join(lines) + "\r\n"


#: our INI subject ends with this and the POS id: a 2.7 «Транспортный контейнер» has no document@id, and
#: the proof that a package in our outbox is a message's reads it back (:func:`pos_id_of_subject`)
SUBJECT_POS_ID = " ПОС №"


def ini_subject(document_kind: str, pos_id: str) -> str:
    return f"{document_kind}{SUBJECT_POS_ID}{pos_id}"


def pos_id_of_subject(subject: str) -> str | None:
    head, sep, pos_id = subject.rpartition(SUBJECT_POS_ID)
    return pos_id.strip() if sep else None


def parse_ini(text: str) -> dict[str, dict[str, str]]:
    sections: dict[str, dict[str, str]] = {}
    current: dict[str, str] | None = None
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], {})
        elif "=" in line and current is not None:
            key, _, value = line.partition("=")
            current[key.strip()] = value.strip()
    return sections


def decode_ini(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("windows-1251", errors="replace")


# --- safe parsing ------------------------------------------------------------------------------------
def declared_encoding(data: bytes) -> str:
    m = _DECL.match(data[:256])
    return m.group(1).decode("ascii").lower() if m else "utf-8"


def parse_safely(data: bytes) -> etree._Element:
    """Parse untrusted XML: no DTD, no entities, no network; the declared encoding must be one we
    support and must match the bytes.  Raises :class:`RejectedXml` with a structural reason."""
    if len(data) > MAX_XML_BYTES:
        raise RejectedXml(f"XML of {len(data)} bytes exceeds the {MAX_XML_BYTES} byte limit")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise RejectedXml("UTF-16 XML is not accepted (МЭДО uses windows-1251 or UTF-8)")
    if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
        raise RejectedXml("XML carries a DOCTYPE/ENTITY declaration (possible XML bomb or external entity)")
    declared = declared_encoding(data)
    codec = ENCODINGS.get(declared)
    if codec is None:
        raise RejectedXml(f"unsupported declared encoding {declared!r} (expected windows-1251 or UTF-8)")
    body = data[3:] if data.startswith(b"\xef\xbb\xbf") else data
    try:
        body.decode(codec)
    except UnicodeDecodeError as exc:
        raise RejectedXml(f"declared encoding {declared} does not match the content (byte {exc.start})") from None
    if codec == "windows-1251" and not body.isascii():
        try:
            body.decode("utf-8")
        except UnicodeDecodeError:
            pass
        else:
            raise RejectedXml(f"declared encoding {declared} does not match the content (it is UTF-8)")
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False,
                             huge_tree=False, remove_comments=True, remove_pis=True)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        raise RejectedXml(f"malformed XML: {exc.msg}"[:300]) from None
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None or docinfo.externalDTD is not None:
        raise RejectedXml("XML carries a DOCTYPE")
    return root


@functools.lru_cache(maxsize=4)
def schema(path: Path) -> etree.XMLSchema:
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    return etree.XMLSchema(etree.parse(str(path), parser))


def validate(root: etree._Element, xsd: Path = MEDO_XSD) -> None:
    s = schema(xsd)
    if not s.validate(root):
        err = s.error_log.last_error
        where = f"line {err.line}: " if err is not None else ""
        raise RejectedXml(f"{xsd.name} validation failed: {where}{err.message if err is not None else '?'}"[:500])


# --- reading -----------------------------------------------------------------------------------------
def text(el: etree._Element | None, path: str, default: str = "") -> str:
    if el is None:
        return default
    found = el.find(path, namespaces={"xdms": XDMS_NS, "c": CONTAINER_NS})
    return (found.text or "").strip() if found is not None and found.text is not None else default


def attr(el: etree._Element | None, local: str, ns: str = XDMS_NS) -> str:
    return "" if el is None else (el.get(f"{{{ns}}}{local}") or "")


def parse_date(value: str) -> date | None:
    m = _ISO_DATE.search(value)
    if m:
        return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    m = _RU_DATE.search(value)
    if m:
        return date(int(m.group(3)), int(m.group(2)), int(m.group(1)))
    return None


# --- passport.xml (2.7 transport container) ------------------------------------------------------------
@dataclass(frozen=True)
class Passport:
    uid: str
    kind: str
    annotation: str
    author_org: str
    number: str
    on: date
    signer: str
    addressee_org: str
    document: str
    attachments: tuple[str, ...] = ()
    signer_post: str = ""
    pages: int = 0          # pagesQuantity of the main document (M1)
    signature: str = ""     # member name of the main document's detached .p7s («Утверждающая», M1)


def build_passport(p: Passport) -> etree._Element:
    root = etree.Element(cq("container"), nsmap=C_NSMAP)
    root.set(cq("uid"), p.uid)
    root.set(cq("version"), CONTAINER_VERSION)
    req = sub(root, "requisites")
    sub(req, "documentKind", p.kind)
    if p.annotation:
        sub(req, "annotation", p.annotation)
    author = sub(sub(root, "authors"), "author")
    sub(sub(author, "organization"), "title", p.author_org)
    reg = sub(author, "registration")
    sub(reg, "number", p.number)
    sub(reg, "date", p.on.isoformat())
    if p.signer:
        sign = sub(author, "sign")
        person = sub(sign, "person")
        if p.signer_post:
            sub(person, "post", p.signer_post)
        sub(person, "name", p.signer)
        if p.signature:
            sub(sign, "documentSignature", localName=p.signature, type=SIGNATURE_APPROVING)
    sub(sub(sub(root, "addressees"), "addressee"), "organization").append(_title(p.addressee_org))
    document = sub(root, "document", localName=p.document)
    if p.pages:
        sub(document, "pagesQuantity", str(p.pages))
    if p.attachments:
        atts = sub(root, "attachments")
        for order, name in enumerate(p.attachments):  # real writers count from 0 (M1)
            sub(sub(atts, "attachment", localName=name), "order", str(order))
    return root


def _title(value: str) -> etree._Element:
    el = etree.Element(cq("title"))
    el.text = xml_safe(value)
    return el


def parse_passport(root: etree._Element) -> tuple[str, tuple[str, ...]]:
    """(main document member, attachment members) named by a validated passport."""
    doc = root.find(cq("document"))
    atts = tuple(attr(a, "localName", CONTAINER_NS)
                 for a in root.iterfind("c:attachments/c:attachment", namespaces=C_NSMAP))
    return attr(doc, "localName", CONTAINER_NS), atts
