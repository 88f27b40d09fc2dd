"""The one guard in front of every zip-based input: .docx, .xlsx and .zip files given to us.

Readers open an archive only after :func:`open_zip` (or :func:`check_office_file`, which also
refuses XML with a DTD) has looked at its central directory: too many entries, an entry or a
total that would unpack beyond a cap, or an entry that expands suspiciously well is refused
with one line naming the file, before a byte is inflated.  The declared sizes are a real
bound, not a hint: Python's ``zipfile`` stops inflating an entry at its declared size (and
then fails its CRC), and python-docx and openpyxl both read through ``zipfile``.

XML parts may carry no DTD at all: an internal subset is how billion-laughs and external
entities are smuggled in, and no Office part needs one.  The check parses only the prolog of
each XML-looking entry, with entities, DTD loading and network access off.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path

from connector.errors import DataError, Phrase
from connector.i18n import N_, _

# Documented defaults for an administration's office files (README, "Running as a service").
# A classifier .docx or a mapping workbook has tens of entries and a few MB of XML; the caps
# leave a wide margin above that and stay far below what exhausts a small server.
MAX_ENTRIES = 10_000                       # a real .docx/.xlsx has < 100 parts
MAX_ENTRY_BYTES = 200 * 1024 * 1024        # one sheet/document part, unpacked
MAX_TOTAL_BYTES = 500 * 1024 * 1024        # all parts together, unpacked
MAX_RATIO = 200.0                          # unpacked/packed; text XML stays far below, bombs reach 1000
RATIO_FLOOR_BYTES = 1024 * 1024            # tiny entries may compress arbitrarily well: no harm
PROLOG_SCAN_BYTES = 1024 * 1024            # the root element of an XML part must start within this
# python-docx builds the whole tree of a part (~150 bytes per element): within the size caps a
# low-ratio file of empty paragraphs could still cost GBs, so tree-building readers also cap the
# markup.  The official classifier .docx has well under a million tags.
MAX_XML_TAGS = 5_000_000
_CHUNK = 64 * 1024
_BOMS = (b"\xef\xbb\xbf", b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff", b"\xff\xfe", b"\xfe\xff")


@dataclass(frozen=True)
class ZipLimits:
    max_members: int = MAX_ENTRIES
    max_member_bytes: int = MAX_ENTRY_BYTES
    max_total_bytes: int = MAX_TOTAL_BYTES
    max_ratio: float = MAX_RATIO
    ratio_floor_bytes: int = RATIO_FLOOR_BYTES


OFFICE_LIMITS = ZipLimits()


class ArchiveError(DataError):
    """The archive itself is unacceptable (bomb, DTD, not a zip); nothing more is read."""


def check_entries(label: str, infos: list[zipfile.ZipInfo], limits: ZipLimits) -> None:
    """Refuse by the central directory alone: entry count, sizes and compression ratio."""
    if len(infos) > limits.max_members:
        raise ArchiveError(N_("{label}: {count:,} entries, more than the limit {limit:,}: zip bomb suspected"),
                           params={"label": label, "count": len(infos), "limit": limits.max_members})
    declared = sum(i.file_size for i in infos)
    if declared > limits.max_total_bytes:
        raise ArchiveError(N_("{label}: would unpack to {size:,} bytes (limit {limit:,}): zip bomb suspected"),
                           params={"label": label, "size": declared, "limit": limits.max_total_bytes})
    for info in infos:
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > limits.max_member_bytes or (
                info.file_size > limits.ratio_floor_bytes and ratio > limits.max_ratio):
            raise ArchiveError(N_("{label}: entry {name!r} unpacks to {size:,} bytes from {packed:,} "
                                  "(ratio {ratio:.0f}, limits {limit:,} bytes, ratio {max_ratio:.0f}): "
                                  "zip bomb suspected"),
                               params={"label": label, "name": info.filename, "size": info.file_size,
                                       "packed": info.compress_size, "ratio": ratio,
                                       "limit": limits.max_member_bytes, "max_ratio": limits.max_ratio})


def open_zip(path: Path, limits: ZipLimits = OFFICE_LIMITS, *, what: str | None = None) -> zipfile.ZipFile:
    """The zip at ``path``, open, once its directory passed :func:`check_entries`; the caller closes it.
    ``what`` is the caller's sentence, marked N_(), for a file that is no zip at all (``None``: "not a readable
    zip archive"): translated where the error is shown, English in the log."""
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError) as exc:
        raise ArchiveError(N_("{file}: {what} ({error})"), params={
            "file": path.name, "what": Phrase(what or N_("not a readable zip archive")), "error": exc}) from None
    try:
        check_entries(path.name, zf.infolist(), limits)
    except BaseException:
        zf.close()
        raise
    return zf


def check_office_file(path: Path, limits: ZipLimits = OFFICE_LIMITS, *, what: str | None = None,
                      max_tags: int | None = None) -> None:
    """Raise :class:`ArchiveError` unless the .docx/.xlsx at ``path`` is safe to hand to its library.
    ``max_tags``: for readers that build whole trees, the most ``<`` one XML part may hold."""
    with open_zip(path, limits, what=what or N_("not a readable Office file")) as zf:
        for info in zf.infolist():
            if info.is_dir() or info.flag_bits & 0x1:
                continue  # an encrypted part is the library's "cannot read" and cannot carry a DTD to it
            problem = _xml_prolog_problem(zf, info)
            if problem is None and max_tags is not None:
                problem = _too_many_tags(zf, info, max_tags)
            if problem:
                raise ArchiveError(N_("{file}: part {name!r} {problem}"),
                                   params={"file": path.name, "name": info.filename, "problem": problem})


def _too_many_tags(zf: zipfile.ZipFile, info: zipfile.ZipInfo, max_tags: int) -> str | None:
    tags = 0
    try:
        with zf.open(info) as fh:
            while chunk := fh.read(_CHUNK * 16):
                tags += chunk.count(b"<")
                if tags > max_tags:
                    return _("holds more than {count:,} XML tags: refused (XML bomb suspected)").format(count=max_tags)
    except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError, RuntimeError, ValueError) as exc:
        return _("cannot be unpacked ({error})").format(error=f"{type(exc).__name__}: {str(exc)[:120]}")
    return None


def _looks_like_xml(head: bytes) -> bool:
    for bom in _BOMS:
        if head.startswith(bom):
            head = head[len(bom):]
            break
    return head.replace(b"\x00", b"").lstrip(b" \t\r\n").startswith(b"<")


def _xml_prolog_problem(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> str | None:
    from lxml import etree

    refused = _("declares a DTD (DOCTYPE/ENTITY): XML entity bomb or external entity refused")
    parser = etree.XMLPullParser(events=("start",), resolve_entities=False, load_dtd=False, no_network=True,
                                 huge_tree=False, dtd_validation=False)
    seen = 0
    try:
        with zf.open(info) as fh:
            while seen < PROLOG_SCAN_BYTES:
                chunk = fh.read(_CHUNK)
                if not chunk:
                    return None  # no element at all: the library reports it as damaged
                if seen == 0 and not _looks_like_xml(chunk[:64]):
                    return None  # a picture, a font: no XML parser ever sees it
                seen += len(chunk)
                parser.feed(chunk)
                for _event, element in parser.read_events():
                    docinfo = element.getroottree().docinfo
                    if docinfo.doctype or docinfo.internalDTD is not None:
                        return refused
                    return None
    except etree.XMLSyntaxError as exc:
        if "entit" in str(exc).lower():  # libxml2's own amplification guard tripped on the DTD
            return refused
        return _("is not well-formed XML ({error})").format(error=str(exc)[:120])
    except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError, RuntimeError, ValueError) as exc:
        return _("cannot be unpacked ({error})").format(error=f"{type(exc).__name__}: {str(exc)[:120]}")
    return _("has no XML element within its first {size:,} bytes: refused").format(size=PROLOG_SCAN_BYTES)
