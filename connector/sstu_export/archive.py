"""SSTU archives: a streaming zip writer in size-bounded parts, and a guarded reader.

Writer: appeals come from an *iterator*; each is compressed once, its exact size is known
before it is written, so a part never exceeds ``max_part_bytes`` (local header + data +
central directory + end record all counted; 50 000 000 bytes by default, the decimal «50 МБ»
a public packer cuts at).  Only the current part's directory is held in memory.  Parts are
named ``<prefix>001.zip``, ``<prefix>002.zip``, … and hold nothing but ``<uuid>.json`` members:
no public archive carries anything else, and a loader may read every member as an appeal.  The
manifest (file, number, masked name, statuses) is written *beside* each part as
``<prefix>001.manifest.csv``.  Both are written as ``.tmp`` and renamed when complete.

Reader: :func:`read_members` yields the members of any tool's archive, refusing unsafe
names, non-JSON members and encrypted members; bombs are refused by the shared guard
(:mod:`connector.safe_archive`) with the SSTU caps below.
"""

from __future__ import annotations

import csv
import os
import re
import struct
import zipfile
import zlib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from connector.errors import DataError
from connector.i18n import N_
from connector.safe_archive import ArchiveError, ZipLimits, open_zip
from connector.sstu_export import wire
from connector.sstu_export.canonical import appeal_uuid_of, canonical_bytes

DEFAULT_PART_BYTES = 50_000_000
MEGABYTE = 1_000_000  # `[sstu] part_mb` counts decimal megabytes, as the public packer does
MANIFEST = "manifest.csv"  # inside parts written before 2026-12; skipped when read
MANIFEST_SUFFIX = ".manifest.csv"
MANIFEST_HEADER = ("file", "number", "name", "statuses")
_MAX_ENTRIES = 65_000              # no zip64: a part stays a plain zip every tool reads
_DOS_DATE = (1 << 5) | 1           # 1980-01-01: fixed, so identical input gives identical parts
_LOCAL = struct.Struct("<IHHHHHIIIHH")
_CENTRAL = struct.Struct("<IHHHHHHIIIHHHHHII")
_END = struct.Struct("<IHHHHIIH")
_UTF8_FLAG = 0x0800


def mask_name(name: str) -> str:
    """«Иванов Иван Иванович» / «Иванов И. И.» → «И*** И. И.» (manifest and logs)."""
    words = name.split()
    if not words:
        return ""
    head = words[0][0] + "***"
    rest = [w[0] + "." for w in words[1:] if w[0].isalpha()]
    return " ".join([head, *rest])


def safe_member_name(name: str) -> str:
    """A member name that is one plain file name: no directories, no traversal, no controls."""
    cleaned = re.sub(r"[^0-9A-Za-z_.-]", "_", name.replace("\\", "/").rsplit("/", 1)[-1]).lstrip(".")
    if not cleaned or cleaned in {".", ".."}:
        raise DataError(N_("cannot make a safe archive member name of {name!r}"), params={"name": name})
    return cleaned[:200]


def _csv_cell(value: str) -> str:
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


@dataclass(frozen=True, slots=True)
class ArchiveItem:
    uuid: str
    number: str
    name: str                    # the author's name in clear; only its mask is written
    statuses: tuple[str, ...]
    content: bytes               # canonical JSON bytes

    @classmethod
    def from_document(cls, doc: Mapping[str, Any]) -> ArchiveItem:
        questions = doc.get(wire.F_QUESTIONS) or []
        return cls(uuid=str(appeal_uuid_of(doc)), number=str(doc.get(wire.F_NUMBER, "")),
                   name=str(doc.get(wire.F_NAME, "")),
                   statuses=tuple(str(q.get(wire.F_STATUS, "")) for q in questions if isinstance(q, Mapping)),
                   content=canonical_bytes(doc))


@dataclass(frozen=True, slots=True)
class PartInfo:
    path: Path
    size: int
    appeals: int
    manifest: Path | None = None


def manifest_path(part: Path) -> Path:
    return part.with_name(part.stem + MANIFEST_SUFFIX)


@dataclass
class ArchiveResult:
    parts: list[PartInfo] = field(default_factory=list)
    appeals: int = 0

    @property
    def bytes(self) -> int:
        return sum(p.size for p in self.parts)


class _Part:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.tmp = path.with_name(path.name + ".tmp")
        self.fh = open(self.tmp, "wb")  # noqa: SIM115 -- closed in finish()/abort()
        self.manifest_path = manifest_path(path)
        self.manifest_tmp = self.manifest_path.with_name(self.manifest_path.name + ".tmp")
        # utf-8-sig: Excel opens a BOM-less UTF-8 CSV as windows-1251
        self.manifest_fh = open(self.manifest_tmp, "w", encoding="utf-8-sig", newline="")  # noqa: SIM115
        self.manifest = csv.writer(self.manifest_fh, lineterminator="\r\n")
        self.manifest.writerow(MANIFEST_HEADER)
        self.offset = 0
        self.central: list[bytes] = []
        self.central_size = 0
        self.names: set[str] = set()
        self.appeals = 0

    def _emit(self, raw_name: bytes, crc: int, method: int, payload: bytes, size: int) -> None:
        head = _LOCAL.pack(0x04034B50, 20, _UTF8_FLAG, method, 0, _DOS_DATE, crc, len(payload), size,
                           len(raw_name), 0)
        self.fh.write(head)
        self.fh.write(raw_name)
        self.fh.write(payload)
        entry = _CENTRAL.pack(0x02014B50, 20 | (3 << 8), 20, _UTF8_FLAG, method, 0, _DOS_DATE, crc,
                              len(payload), size, len(raw_name), 0, 0, 0, 0, 0o100644 << 16, self.offset) + raw_name
        self.central.append(entry)
        self.central_size += len(entry)
        self.offset += len(head) + len(raw_name) + len(payload)

    def finish(self) -> PartInfo:
        cd_offset = self.offset
        for entry in self.central:
            self.fh.write(entry)
        n = len(self.central)
        self.fh.write(_END.pack(0x06054B50, 0, 0, n, n, self.central_size, cd_offset, 0))
        self.fh.close()
        self.manifest_fh.close()
        os.replace(self.manifest_tmp, self.manifest_path)
        os.replace(self.tmp, self.path)
        return PartInfo(path=self.path, size=self.path.stat().st_size, appeals=self.appeals,
                        manifest=self.manifest_path)

    def abort(self) -> None:
        self.fh.close()
        self.manifest_fh.close()
        self.tmp.unlink(missing_ok=True)
        self.manifest_tmp.unlink(missing_ok=True)


class ArchiveWriter:
    """``with ArchiveWriter(out, "sstu-2025-10-") as w: w.add(item)…``; ``w.result`` after."""

    def __init__(self, out_dir: Path, prefix: str, *, max_part_bytes: int = DEFAULT_PART_BYTES,
                 compresslevel: int = 6) -> None:
        if not 64 * 1024 <= max_part_bytes < 2**31:
            raise ValueError("max_part_bytes must be between 64 KiB and 2 GiB")
        self.out_dir = Path(out_dir)
        self.prefix = re.sub(r"[^0-9A-Za-z_.-]", "_", prefix).lstrip(".")
        self.max_part_bytes = max_part_bytes
        self.level = compresslevel
        self.result = ArchiveResult()
        self._part: _Part | None = None
        self.out_dir.mkdir(parents=True, exist_ok=True)

    def _new_part(self) -> _Part:
        return _Part(self.out_dir / f"{self.prefix}{len(self.result.parts) + 1:03d}.zip")

    def add(self, item: ArchiveItem) -> None:
        member = safe_member_name(f"{item.uuid}.json")
        raw_name = member.encode("utf-8")
        crc = zlib.crc32(item.content)
        method, payload = 0, item.content
        if self.level:
            comp = zlib.compressobj(self.level, zlib.DEFLATED, -15)
            packed = comp.compress(item.content) + comp.flush()
            if len(packed) < len(item.content):
                method, payload = 8, packed
        need = _LOCAL.size + _CENTRAL.size + 2 * len(raw_name) + len(payload)
        for attempt in (1, 2):
            part = self._part or self._new_part()
            self._part = part
            total = part.offset + part.central_size + _END.size + need
            if total <= self.max_part_bytes and len(part.central) < _MAX_ENTRIES:
                break
            if part.appeals == 0 or attempt == 2:
                raise DataError(N_("appeal {number!r}: {size:,} bytes compressed do not fit in an archive part of "
                                   "{limit:,} bytes"),
                                params={"number": item.number, "size": len(payload),
                                        "limit": self.max_part_bytes})
            self._close_part()
        if member in part.names:
            raise DataError(N_("appeal {number!r}: {member} is already in this archive part (appeal twice)"),
                            params={"number": item.number, "member": member})
        part.names.add(member)
        part._emit(raw_name, crc, method, payload, len(item.content))
        part.manifest.writerow((member, _csv_cell(item.number), _csv_cell(mask_name(item.name)),
                                ";".join(item.statuses)))
        part.appeals += 1
        self.result.appeals += 1

    def _close_part(self) -> None:
        if self._part is not None:
            self.result.parts.append(self._part.finish())
            self._part = None

    def close(self) -> ArchiveResult:
        self._close_part()
        return self.result

    def __enter__(self) -> ArchiveWriter:
        return self

    def __exit__(self, exc_type: object, *rest: object) -> None:
        if exc_type is None:
            self.close()
        elif self._part is not None:
            self._part.abort()
            self._part = None


def write_archives(items: Iterable[ArchiveItem], out_dir: Path, prefix: str, **options: Any) -> ArchiveResult:
    """Stream ``items`` into parts; memory stays bounded by one part's directory/manifest."""
    with ArchiveWriter(out_dir, prefix, **options) as writer:
        for item in items:
            writer.add(item)
    return writer.result


# --- reading ------------------------------------------------------------------------------------


# SSTU archives are not office files: our own parts hold up to 65 000 appeals and a month of a
# large body spans many parts, so the counts are higher than the office defaults; one appeal is
# < 10 MB of base64 plus a little JSON, and JSON compresses less than office XML.
DEFAULT_LIMITS = ZipLimits(max_members=200_000, max_member_bytes=64 * 1024 * 1024,
                           max_total_bytes=8 * 1024 * 1024 * 1024, max_ratio=100.0)


@dataclass(frozen=True, slots=True)
class Member:
    name: str
    data: bytes | None            # None: the member was refused, see ``problem``
    problem: str | None = None


def unsafe_name_reason(name: str) -> str | None:
    if "\x00" in name or any(ord(ch) < 32 for ch in name):
        return "control characters in the member name"
    norm = name.replace("\\", "/")
    if norm.startswith("/") or re.match(r"^[A-Za-z]:", norm):
        return "an absolute member name"
    if any(part == ".." for part in norm.split("/")):
        return "a member name that climbs out of the archive (path traversal)"
    return None


def read_members(path: Path, limits: ZipLimits = DEFAULT_LIMITS) -> Iterator[Member]:
    """Members of the zip at ``path``: ``*.json`` with their bytes, ``manifest.csv`` skipped,
    anything else refused per member.  Raises :class:`ArchiveError` for the archive as a whole."""
    with open_zip(path, limits) as zf:
        for info in zf.infolist():
            name = info.filename
            reason = unsafe_name_reason(name)
            if reason:
                raise ArchiveError(f"{path.name}: member {name!r}: {reason}")
            if info.is_dir() or name.rsplit("/", 1)[-1].lower() == MANIFEST:
                continue
            if not name.lower().endswith(".json"):
                yield Member(name, None, "not a JSON file (an SSTU archive holds <uuid>.json and manifest.csv only)")
                continue
            if info.flag_bits & 0x1:
                yield Member(name, None, "encrypted member")
                continue
            yield _read_member(zf, info, limits)


def _read_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, limits: ZipLimits) -> Member:
    chunks, size = [], 0
    try:
        with zf.open(info) as fh:
            while chunk := fh.read(1 << 20):
                size += len(chunk)
                if size > limits.max_member_bytes:
                    raise ArchiveError(N_("member {name!r} unpacks beyond {limit:,} bytes: zip bomb suspected"),
                                       params={"name": info.filename, "limit": limits.max_member_bytes})
                chunks.append(chunk)
    except (zipfile.BadZipFile, zlib.error, OSError, EOFError, NotImplementedError, RuntimeError) as exc:
        return Member(info.filename, None, f"cannot be unpacked ({exc})")
    return Member(info.filename, b"".join(chunks))
