"""Reading what a МЭДО counterpart sends us: notifications and answer documents, leniently, by name.

Real senders write more than our ``medo.xsd`` knows (edms-public-clients.md M2–M4): every notification
body starts with a common block (``time``, ``foundation{organization,num}``, ``correspondent{region,
organization}``, sometimes ``clause``), ``header@created`` is missing in some, ``reportSent/report`` is a
document reference (organization, person, num, comment) without a uid, answer documents carry ``links``,
``enclosures``, ``executor``, ``clauses``.  So what we *read* is never validated against our schema: known
fields are taken by name, anything else is ignored, and only what we cannot work without is required
(:func:`check_message`).  What we *write* stays validated by ``medo.xsd`` (:func:`wire.validate`), and
hostile input is refused before this module sees it (:func:`wire.parse_safely`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from lxml import etree

from connector.edms_adapters.medo.wire import (
    C_NSMAP,
    COMMON_CORRESPONDENT,
    COMMON_FOUNDATION,
    COMMON_TIME,
    CONTAINER_NS,
    DOC_LINK,
    DOC_LINKS,
    N_ACCEPTED,
    NOTIFICATION_KINDS,
    NSMAP,
    TYPE_CONTAINER,
    VERSIONS_READ,
    XDMS_NS,
    PersonInfo,
    RejectedXml,
    attr,
    parse_date,
    q,
    text,
)

_GUID = re.compile(r"^\{?[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\}?$")


def _guid(value: str) -> str:
    """A uid as a plain lower-case GUID (some senders brace or upper-case them); "" when it is none."""
    return value.strip().strip("{}").lower() if _GUID.match(value.strip()) else ""


@dataclass(frozen=True)
class Header:
    type: str
    uid: str
    created: str
    source_uid: str
    source_org: str
    version: str = ""


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
    # the common block (M2, M4): when, about which document of ours (foundation), by whom (correspondent)
    time: str = ""
    foundation_org: str = ""
    foundation_number: str = ""
    foundation_date: str = ""
    correspondent_org: str = ""
    # reportSent/report as a document reference: the answer is found by its number when there is no uid
    report_number: str = ""
    report_date: str = ""
    report_org: str = ""

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
    links: tuple[str, ...] = field(default_factory=tuple)  # uids of the documents this one refers to


def check_message(root: etree._Element) -> Header:
    """What every message we read must have: an xdms ``communication`` of a version we read, with a header
    naming its type and uid.  Raises :class:`RejectedXml` (quarantine) otherwise."""
    if root.tag != q("communication"):
        raise RejectedXml(f"root element is {etree.QName(root).localname!r}, not xdms:communication")
    h = header_of(root)
    if h.version not in VERSIONS_READ:
        raise RejectedXml(f"unsupported xdms version {h.version!r} (read: {', '.join(VERSIONS_READ)})")
    if not h.type:
        raise RejectedXml("message without header@type")
    if not h.uid:
        raise RejectedXml("message without a GUID in header@uid")
    return h


def header_of(root: etree._Element) -> Header:
    h = root.find(q("header"))
    src = h.find(q("source")) if h is not None else None
    return Header(type=attr(h, "type"), uid=_guid(attr(h, "uid")), created=attr(h, "created"),
                  source_uid=attr(src, "uid"), source_org=text(src, "xdms:organization"),
                  version=attr(root, "version").strip())


def _person(el: etree._Element | None) -> PersonInfo | None:
    if el is None:
        return None
    return PersonInfo(person=text(el, "xdms:person"), organization=text(el, "xdms:organization"),
                      department=text(el, "xdms:department"), post=text(el, "xdms:post"))


def _body(n: etree._Element) -> etree._Element:
    """The one known body element of a notification; other elements (comment, extensions) are skipped."""
    for child in n:
        if isinstance(child.tag, str) and child.tag.startswith(f"{{{XDMS_NS}}}") \
                and etree.QName(child).localname in NOTIFICATION_KINDS:
            return child
    names = [etree.QName(c).localname for c in n if isinstance(c.tag, str)]
    raise RejectedXml(f"notification without a known body (found: {', '.join(names) or 'nothing'})")


def _reference(el: etree._Element | None) -> str:
    """courseChanged/reference: a document reference (the organization it went to, M4) or, in older
    writers and ours before, plain text."""
    if el is None:
        return ""
    if len(el):
        return text(el, "xdms:organization") or text(el, "xdms:num/xdms:number")
    return (el.text or "").strip()


def parse_notification(root: etree._Element, received: str = "") -> Notification:
    """A notification by its field names.  ``received`` orders it when the sender wrote neither
    ``header@created`` nor the body's ``time``."""
    h = header_of(root)
    n = root.find(q("notification"))
    if n is None:
        raise RejectedXml("notification message without a notification element")
    doc_uid = _guid(attr(n, "uid"))
    if not doc_uid:
        raise RejectedXml("notification without a GUID in notification@uid")
    body = _body(n)
    kind = etree.QName(body).localname
    number, on = text(body, "xdms:num/xdms:number"), text(body, "xdms:num/xdms:date")
    if kind == N_ACCEPTED and not number:
        raise RejectedXml("documentAccepted without num/number")
    report = body.find(q("report"))
    foundation = body.find(q(COMMON_FOUNDATION))
    when = text(body, f"xdms:{COMMON_TIME}")
    return Notification(
        kind=kind, doc_uid=doc_uid, message_uid=h.uid, created=h.created or when or received,
        number=number or text(report, "xdms:num/xdms:number"), date=on or text(report, "xdms:num/xdms:date"),
        reason=text(body, "xdms:reason"), executor=_person(body.find(q("executor"))),
        signatory=text(body, "xdms:signatory/xdms:person") or text(report, "xdms:person"),
        report_uid=_guid(attr(report, "uid")), course_text=text(body, "xdms:courseText"),
        reference=_reference(body.find(q("reference"))), comment=text(n, "xdms:comment"),
        time=when, foundation_org=text(foundation, "xdms:organization"),
        foundation_number=text(foundation, "xdms:num/xdms:number"),
        foundation_date=text(foundation, "xdms:num/xdms:date"),
        correspondent_org=text(body, f"xdms:{COMMON_CORRESPONDENT}/xdms:organization"),
        report_number=text(report, "xdms:num/xdms:number"), report_date=text(report, "xdms:num/xdms:date"),
        report_org=text(report, "xdms:organization"))


def parse_document(root: etree._Element) -> DocumentInfo:
    """A «Документ» by its field names; a 2.7 «Транспортный контейнер» carries only ``container/body``
    (M1), so its uid is the header's and its requisites are in the passport (:func:`read_passport`)."""
    d = root.find(q("document"))
    if d is None:
        h = header_of(root)
        body = text(root, "xdms:container/xdms:body")
        if h.type == TYPE_CONTAINER and body and h.uid:
            return DocumentInfo(uid=h.uid, kind="", number="", date="", annotation="", signer="", signed="",
                                comment="", container=body)
        raise RejectedXml("document message without xdms:document")
    uid = _guid(attr(d, "uid"))
    if not uid:
        raise RejectedXml("document without a GUID in document@uid")
    sig = d.find("xdms:signatories/xdms:signatory", namespaces=NSMAP)
    files = tuple(attr(f, "localName") for f in root.iterfind("xdms:files/xdms:file", namespaces=NSMAP))
    links = tuple(u for u in (_guid(attr(link, "uid")) for link in
                              d.iterfind(f"xdms:{DOC_LINKS}/xdms:{DOC_LINK}", namespaces=NSMAP)) if u)
    return DocumentInfo(uid=uid, kind=text(d, "xdms:kind"), number=text(d, "xdms:num/xdms:number"),
                        date=text(d, "xdms:num/xdms:date"), annotation=text(d, "xdms:annotation"),
                        signer=text(sig, "xdms:person"), signed=text(sig, "xdms:signed"),
                        comment=text(d, "xdms:comment"), container=text(root, "xdms:container/xdms:body"),
                        files=files, links=links)


def number_key(number: str, on: str = "") -> str:
    """How an answer is looked up by the registration number a ``reportSent/report`` names: the number as
    written, and its date as ISO when there is one (senders write ``YYYY-MM-DD`` or ``DD.MM.YYYY``)."""
    day = parse_date(on)
    return f"num:{number.strip()}|{day.isoformat() if day else ''}"


@dataclass(frozen=True)
class PassportInfo:
    main: str
    attachments: tuple[str, ...]
    kind: str = ""
    annotation: str = ""
    number: str = ""
    date: str = ""
    signer: str = ""


def read_passport(root: etree._Element) -> PassportInfo:
    """A 2.7 ``passport.xml`` by name: real writers add stamps, descriptions and signatures our
    ``container.xsd`` does not know (M1), so only the main document's name is required."""
    if root.tag != f"{{{CONTAINER_NS}}}container":
        raise RejectedXml(f"passport root is {etree.QName(root).localname!r}, not c:container")
    doc = root.find(f"{{{CONTAINER_NS}}}document")
    main = attr(doc, "localName", CONTAINER_NS)
    if not main:
        raise RejectedXml("passport names no main document (c:document@localName)")
    atts = tuple(attr(a, "localName", CONTAINER_NS)
                 for a in root.iterfind("c:attachments/c:attachment", namespaces=C_NSMAP))
    author = root.find("c:authors/c:author", namespaces=C_NSMAP)
    return PassportInfo(main=main, attachments=tuple(a for a in atts if a),
                        kind=text(root, "c:requisites/c:documentKind"),
                        annotation=text(root, "c:requisites/c:annotation"),
                        number=text(author, "c:registration/c:number"), date=text(author, "c:registration/c:date"),
                        signer=text(author, "c:sign/c:person/c:name"))
