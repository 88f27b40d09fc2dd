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
from dataclasses import dataclass, field
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
NOTIFICATION_TITLES = {
    N_ACCEPTED: "Уведомление о регистрации", N_REFUSED: "Уведомление об отказе в регистрации",
    N_EXECUTOR: "Уведомление о назначении исполнителя", N_PREPARED: "Уведомление о подготовке доклада",
    N_SENT: "Уведомление об отправке доклада", N_COURSE: "Уведомление об изменении хода рассмотрения",
}

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


@dataclass(frozen=True)
class Header:
    type: str
    uid: str
    created: str
    source_uid: str
    source_org: str


@dataclass(frozen=True)
class Notification:
    kind: str
    doc_uid: str
    message_uid: str
    created: str
    number: str = ""
    date: str = ""
    reason: str = ""
    executor: PersonInfo | None = None
    signatory: str = ""
    report_uid: str = ""
    course_text: str = ""
    reference: str = ""
    comment: str = ""

    def as_dict(self) -> dict[str, object]:
        d = {k: v for k, v in self.__dict__.items() if k != "executor"}
        if self.executor is not None:
            d["executor"] = dict(self.executor.__dict__)
        return d


@dataclass(frozen=True)
class DocumentInfo:
    uid: str
    kind: str
    number: str
    date: str
    annotation: str
    signer: str
    signed: str
    comment: str
    container: str
    files: tuple[str, ...] = field(default_factory=tuple)


def header_of(root: etree._Element) -> Header:
    h = root.find(q("header"))
    src = h.find(q("source")) if h is not None else None
    return Header(type=attr(h, "type"), uid=attr(h, "uid"), created=attr(h, "created"),
                  source_uid=attr(src, "uid"), source_org=text(src, "xdms:organization"))


def _person(el: etree._Element | None) -> PersonInfo | None:
    if el is None:
        return None
    return PersonInfo(person=text(el, "xdms:person"), organization=text(el, "xdms:organization"),
                      department=text(el, "xdms:department"), post=text(el, "xdms:post"))


def parse_notification(root: etree._Element) -> Notification:
    h = header_of(root)
    n = root.find(q("notification"))
    if n is None or len(n) == 0:
        raise RejectedXml("notification message without a notification body")
    body = n[0]
    kind = etree.QName(body).localname
    if kind not in NOTIFICATION_KINDS:
        raise RejectedXml(f"unknown notification {kind!r}")
    report = body.find(q("report"))
    return Notification(
        kind=kind, doc_uid=attr(n, "uid"), message_uid=h.uid, created=h.created,
        number=text(body, "xdms:num/xdms:number") or text(report, "xdms:num/xdms:number"),
        date=text(body, "xdms:num/xdms:date") or text(report, "xdms:num/xdms:date"),
        reason=text(body, "xdms:reason"), executor=_person(body.find(q("executor"))),
        signatory=text(body, "xdms:signatory/xdms:person"), report_uid=attr(report, "uid"),
        course_text=text(body, "xdms:courseText"), reference=text(body, "xdms:reference"),
        comment=text(n, "xdms:comment"))


def parse_document(root: etree._Element) -> DocumentInfo:
    d = root.find(q("document"))
    if d is None:
        raise RejectedXml("document message without xdms:document")
    sig = d.find("xdms:signatories/xdms:signatory", namespaces=NSMAP)
    files = tuple(attr(f, "localName") for f in root.iterfind("xdms:files/xdms:file", namespaces=NSMAP))
    return DocumentInfo(uid=attr(d, "uid"), kind=text(d, "xdms:kind"), number=text(d, "xdms:num/xdms:number"),
                        date=text(d, "xdms:num/xdms:date"), annotation=text(d, "xdms:annotation"),
                        signer=text(sig, "xdms:person"), signed=text(sig, "xdms:signed"),
                        comment=text(d, "xdms:comment"), container=text(root, "xdms:container/xdms:body"),
                        files=files)


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
        person = sub(sub(author, "sign"), "person")
        if p.signer_post:
            sub(person, "post", p.signer_post)
        sub(person, "name", p.signer)
    sub(sub(sub(root, "addressees"), "addressee"), "organization").append(_title(p.addressee_org))
    sub(root, "document", localName=p.document)
    if p.attachments:
        atts = sub(root, "attachments")
        for order, name in enumerate(p.attachments, 1):
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
