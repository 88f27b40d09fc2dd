"""Archive parts: size limit, names, masked manifests, stable uuids, streaming; the guarded reader."""

from __future__ import annotations

import csv
import io
import json
import os
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from sstu_samples import DEP, TODAY, appeal, question

from connector.errors import DataError
from connector.sstu_export.archive import (
    ArchiveItem,
    ArchiveWriter,
    mask_name,
    read_members,
    safe_member_name,
    write_archives,
)
from connector.sstu_export.canonical import appeal_uuid
from connector.sstu_export.validate import validate_appeal


def _items(n: int, *, blob: int = 3000, start: int = 0) -> Iterator[ArchiveItem]:
    content = "QUJD" * (blob // 4)
    for i in range(start, start + n):
        doc = appeal(question("Answered", attachment={"name": "a.pdf", "content": content + f"{i:04d}"[:4]}),
                     number=f"N-{i}", name="Иванов Иван Иванович")
        yield ArchiveItem.from_document(doc)


@pytest.mark.parametrize("name", ["Иванов И. И.", "Иванов Иван Иванович"])
def test_mask_name(name: str) -> None:
    assert mask_name(name) == "И*** И. И."
    assert mask_name("") == "" and mask_name("ООО «Ромашка»") == "О***"


def test_parts_respect_the_limit_and_are_numbered(tmp_path: Path) -> None:
    limit = 64 * 1024
    result = write_archives(_items(120), tmp_path, "sstu-2025-10-", max_part_bytes=limit, compresslevel=0)
    names = sorted(p.name for p in tmp_path.iterdir() if p.suffix == ".zip")
    assert names == [f"sstu-2025-10-{i:03d}.zip" for i in range(1, len(names) + 1)] and len(names) > 3
    assert [p.path.name for p in result.parts] == names and result.appeals == 120
    # the manifest lies beside each part: a loader reading every member as an appeal finds only appeals
    assert sorted(p.name for p in tmp_path.iterdir() if p.suffix != ".zip") == \
        [n.replace(".zip", ".manifest.csv") for n in names]
    seen = []
    for part in result.parts:
        assert part.size == os.path.getsize(part.path) <= limit
        assert part.manifest == part.path.with_name(part.path.stem + ".manifest.csv")
        manifest = part.manifest.read_bytes()
        rows = list(csv.reader(io.StringIO(manifest.decode("utf-8-sig"))))
        with zipfile.ZipFile(part.path) as zf:
            assert zf.testzip() is None
            members = zf.namelist()
            assert len(members) == part.appeals and all(m.endswith(".json") for m in members)
            assert rows[0] == ["file", "number", "name", "statuses"]
            for row, member in zip(rows[1:], members, strict=True):
                doc = json.loads(zf.read(member))
                assert validate_appeal(doc, today=TODAY) == []
                assert row == [member, doc["number"], "И*** И. И.", "Answered"]
                assert member == f"{appeal_uuid(DEP, doc['number'])}.json"
                seen.append(doc["number"])
        assert b"\xd0\x98\xd0\xb2\xd0\xb0\xd0\xbd\xd0\xbe\xd0\xb2" not in manifest  # «Иванов»
    assert seen == [f"N-{i}" for i in range(120)]


def test_default_part_size_is_50_mb_and_compression_is_used(tmp_path: Path) -> None:
    writer = ArchiveWriter(tmp_path, "p")
    assert writer.max_part_bytes == 50_000_000  # decimal, as the public packer cuts
    result = write_archives(_items(50, blob=20_000), tmp_path, "p")
    assert len(result.parts) == 1 and result.parts[0].size < 50 * 20_000


def test_the_same_appeal_gets_the_same_file_across_exports(tmp_path: Path) -> None:
    first = write_archives(_items(10), tmp_path / "a", "x")
    again = write_archives(_items(10), tmp_path / "b", "x")
    assert first.parts[0].path.read_bytes() == again.parts[0].path.read_bytes()
    with zipfile.ZipFile(first.parts[0].path) as zf:
        assert f"{appeal_uuid(DEP, 'N-3')}.json" in zf.namelist()


def test_streaming_consumes_an_iterator_lazily(tmp_path: Path) -> None:
    pulled = []

    def gen() -> Iterator[ArchiveItem]:
        for item in _items(30):
            pulled.append(item.number)
            yield item

    with ArchiveWriter(tmp_path, "s", max_part_bytes=64 * 1024, compresslevel=0) as writer:
        for count, item in enumerate(gen(), 1):
            writer.add(item)
            assert len(pulled) == count
    assert writer.result.appeals == 30


def test_an_appeal_larger_than_a_part_is_an_error_and_no_partial_file_stays(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="do not fit in an archive part"):
        write_archives(_items(1, blob=200_000), tmp_path, "big", max_part_bytes=64 * 1024, compresslevel=0)
    assert list(tmp_path.iterdir()) == []


def test_member_and_prefix_names_are_sanitised(tmp_path: Path) -> None:
    assert safe_member_name("../../etc/passwd") == "passwd"
    assert safe_member_name("..\\..\\x y.json") == "x_y.json"
    with pytest.raises(DataError):
        safe_member_name("..")
    result = write_archives(_items(1), tmp_path, "../evil/")
    assert result.parts[0].path.parent == tmp_path and result.parts[0].path.name == "_evil_001.zip"


def _zip(path: Path, members: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> Path:
    with zipfile.ZipFile(path, "w", method) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def test_reader_refuses_bombs_traversal_and_non_json(tmp_path: Path) -> None:
    from connector.sstu_export.archive import ArchiveError

    bomb = _zip(tmp_path / "bomb.zip", {"a.json": b"\0" * (80 * 1024 * 1024)})
    with pytest.raises(ArchiveError, match="zip bomb suspected"):
        list(read_members(bomb))
    trav = _zip(tmp_path / "trav.zip", {"../../x.json": b"{}"})
    with pytest.raises(ArchiveError, match="path traversal"):
        list(read_members(trav))
    absolute = _zip(tmp_path / "abs.zip", {"/etc/x.json": b"{}"})
    with pytest.raises(ArchiveError, match="absolute"):
        list(read_members(absolute))
    mixed = _zip(tmp_path / "mixed.zip", {"a.json": b"{}", "run.exe": b"MZ", "manifest.csv": b"x"})
    members = list(read_members(mixed))
    assert [(m.name, m.data, m.problem is not None) for m in members] == [("a.json", b"{}", False),
                                                                          ("run.exe", None, True)]
    (tmp_path / "not.zip").write_bytes(b"PK\x03\x04garbage")
    with pytest.raises(ArchiveError, match="not a readable zip"):
        list(read_members(tmp_path / "not.zip"))
