"""Hostile .docx/.xlsx/.zip inputs: refused fast, in bounded memory, with one line naming the file.

Each bomb goes to the real command that reads that kind of file, as a subprocess whose address
space is capped (``RLIMIT_AS``): a reader that inflates the bomb dies of MemoryError or runs
past the timeout, and the test fails either way.
"""

from __future__ import annotations

import io
import resource
import subprocess
import sys
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from connector.safe_archive import (
    MAX_ENTRIES,
    MAX_ENTRY_BYTES,
    MAX_TOTAL_BYTES,
    ArchiveError,
    ZipLimits,
    check_office_file,
    open_zip,
)

MEMORY_LIMIT = 1024 * 1024 * 1024   # the CLI with every import needs < 400 MB; a bomb needs GBs
TIMEOUT = 10.0                      # seconds of the child's CPU: wall time on a shared 2-core box is noise
WALL_TIMEOUT = 90.0

W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
CONTENT_TYPES_DOCX = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/word/document.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/>'
    '</Types>')
RELS_DOCX = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
    'officeDocument" Target="word/document.xml"/></Relationships>')
BILLION_LAUGHS = (
    '<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE w:document [\n<!ENTITY l0 "lol">\n'
    + "".join(f'<!ENTITY l{i} "{("&l" + str(i - 1) + ";") * 10}">\n' for i in range(1, 10))
    + f']>\n<w:document xmlns:w="{W_NS}"><w:body><w:p><w:r><w:t>&l9;</w:t></w:r></w:p></w:body></w:document>')


def _stream_member(zf: zipfile.ZipFile, name: str, head: bytes, unit: bytes, count: int, tail: bytes) -> None:
    """Write a member of ``head + unit * count + tail`` without holding it in memory."""
    with zf.open(name, "w", force_zip64=True) as out:
        out.write(head)
        block = unit * 100_000
        for _ in range(count // 100_000):
            out.write(block)
        out.write(tail)


def _zip(path: Path, level: int = 9) -> zipfile.ZipFile:
    return zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=level)


def docx_paragraph_bomb(path: Path, paragraphs: int = 10_000_000) -> Path:
    """Millions of empty paragraphs: ~60 MB of XML in a file of a few hundred KB."""
    with _zip(path) as zf:
        zf.writestr("[Content_Types].xml", CONTENT_TYPES_DOCX)
        zf.writestr("_rels/.rels", RELS_DOCX)
        _stream_member(zf, "word/document.xml",
                       f'<?xml version="1.0" encoding="UTF-8"?><w:document xmlns:w="{W_NS}"><w:body>'.encode(),
                       b"<w:p/>", paragraphs, b"</w:body></w:document>")
    return path


def docx_billion_laughs(path: Path) -> Path:
    with _zip(path) as zf:
        zf.writestr("[Content_Types].xml", CONTENT_TYPES_DOCX)
        zf.writestr("_rels/.rels", RELS_DOCX)
        zf.writestr("word/document.xml", BILLION_LAUGHS)
    return path


def xlsx_row_bomb(path: Path, rows: int = 3_000_000) -> Path:
    """A real workbook whose only sheet is rewritten to millions of identical rows."""
    from openpyxl import Workbook

    buf = io.BytesIO()
    wb = Workbook()
    wb.active.title = "Sheet0"
    wb.active.append(["Номер", "Статус"])
    wb.save(buf)
    with zipfile.ZipFile(buf) as small, _zip(path) as zf:
        for info in small.infolist():
            if info.filename != "xl/worksheets/sheet1.xml":
                zf.writestr(info, small.read(info))
        _stream_member(zf, "xl/worksheets/sheet1.xml",
                       b'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/'
                       b'spreadsheetml/2006/main"><sheetData>',
                       b'<row><c t="inlineStr"><is><t>1</t></is></c></row>', rows, b"</sheetData></worksheet>")
    return path


def zip_json_bomb(path: Path) -> Path:
    """An SSTU-looking archive whose one appeal inflates to 100 MB of spaces, beyond the 64 MB an appeal may have."""
    with _zip(path) as zf:
        _stream_member(zf, "a.json", b"[", b" " * 1000, 100_000, b"]")
    return path


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


def _run(tmp_path: Path, *args: str) -> tuple[int, str, float]:
    """Exit code, stdout+stderr and the CPU seconds the command used."""
    config = tmp_path / "connector.toml"
    if not config.exists():
        from testconfig import onec_account_toml

        config.write_text(f'[daemon]\ndata_dir = "{tmp_path / "data"}"\n\n[http]\nallow_insecure = true\n'
                          + onec_account_toml("demo").format(pos="http://127.0.0.1:9", onec="http://127.0.0.1:9"),
                          encoding="utf-8")
    argv = [sys.executable, "-m", "connector", *(a.replace("{config}", str(config)) for a in args)]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=WALL_TIMEOUT, preexec_fn=_limit_memory)
    except subprocess.TimeoutExpired:
        pytest.fail(f"{' '.join(args)}: still running after {WALL_TIMEOUT:.0f} s")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return proc.returncode, proc.stdout + proc.stderr, cpu


def _prepare_edition_and_categories(tmp_path: Path) -> None:
    samples = Path(__file__).parents[2] / "connector" / "rubric_mapping" / "samples"
    for args in (["classifier", "import", str(samples / "SAMPLE_sstu_classifier.json"), "--config", "{config}"],
                 ["mapping", "categories", "--file", str(samples / "SAMPLE_pos_categories.json"),
                  "--config", "{config}"]):
        code, out, _ = _run(tmp_path, *args)
        assert code == 0, out


BOMBS: dict[str, Callable[[Path], Path]] = {
    "paragraphs.docx": docx_paragraph_bomb,
    "laughs.docx": docx_billion_laughs,
    "rows.xlsx": xlsx_row_bomb,
    "bomb.zip": zip_json_bomb,
}


@pytest.mark.parametrize(("bomb", "command"), [
    ("paragraphs.docx", ["classifier", "import", "{file}", "--config", "{config}"]),
    ("laughs.docx", ["classifier", "import", "{file}", "--config", "{config}"]),
    ("rows.xlsx", ["classifier", "import", "{file}", "--config", "{config}"]),
    ("rows.xlsx", ["mapping", "validate", "{file}", "--config", "{config}"]),
    ("rows.xlsx", ["mapping", "import", "{file}", "--config", "{config}"]),
    ("rows.xlsx", ["mapping", "categories", "--file", "{file}", "--config", "{config}"]),
    ("rows.xlsx", ["pos", "reconcile", "{file}", "--config", "{config}"]),
    ("bomb.zip", ["sstu", "validate", "{file}"]),
])
def test_a_bomb_is_refused_in_seconds_with_one_line_naming_the_file(tmp_path: Path, bomb: str,
                                                                     command: list[str]) -> None:
    path = BOMBS[bomb](tmp_path / bomb)
    if command[0] != "sstu":  # only run and db upgrade create a store: the operator has one
        code, out, _ = _run(tmp_path, "db", "upgrade", "--config", "{config}")
        assert code == 0, out
    if command[0] == "mapping" and command[1] != "categories":
        _prepare_edition_and_categories(tmp_path)     # else validate stops before reading the workbook
    assert path.stat().st_size < 8 * 1024 * 1024, "the bomb itself must be small"
    code, out, cpu = _run(tmp_path, *(a.replace("{file}", str(path)) for a in command))
    assert "Traceback" not in out and "MemoryError" not in out, out[-2000:]
    assert code == 2, out[-2000:]
    assert cpu < TIMEOUT, f"refused only after {cpu:.1f} s of CPU"
    errors = [line for line in out.splitlines() if line.startswith("error:")]
    assert errors and bomb in errors[0], out
    assert any(word in errors[0] for word in ("zip bomb", "DTD")), errors[0]


def test_bodies_file_bomb_is_refused_naming_the_file(tmp_path: Path) -> None:
    from connector.sstu_export.bodies import load_bodies_file

    path = xlsx_row_bomb(tmp_path / "bodies.xlsx")
    started = time.process_time()
    with pytest.raises(ArchiveError, match=r"bodies\.xlsx: .*zip bomb suspected"):
        load_bodies_file(path)
    assert time.process_time() - started < TIMEOUT


# --- the guard's caps, one by one -----------------------------------------------------------------


def _plain_zip(path: Path, members: dict[str, bytes], level: int = 9) -> Path:
    with _zip(path, level) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def test_defaults_are_the_documented_ones() -> None:
    assert (MAX_ENTRIES, MAX_ENTRY_BYTES, MAX_TOTAL_BYTES) == (10_000, 200 * 1024 * 1024, 500 * 1024 * 1024)
    assert ZipLimits().max_ratio == 200


def test_each_cap_refuses_and_an_ordinary_archive_passes(tmp_path: Path) -> None:
    import random

    rnd = random.Random(1)
    ordinary = _plain_zip(tmp_path / "ok.zip", {f"{i}.xml": b"<a>%d</a>" % rnd.getrandbits(64) for i in range(50)})
    open_zip(ordinary).close()
    check_office_file(ordinary)

    many = _plain_zip(tmp_path / "many.zip", {f"{i}": b"" for i in range(101)})
    with pytest.raises(ArchiveError, match=r"many\.zip: 101 entries, more than the limit 100"):
        open_zip(many, ZipLimits(max_members=100))

    noise = rnd.randbytes(300_000)           # incompressible: ratio 1, only the sizes can refuse it
    big = _plain_zip(tmp_path / "big.zip", {"a": noise, "b": noise})
    with pytest.raises(ArchiveError, match=r"big\.zip: entry 'a' unpacks to 300,000 bytes"):
        open_zip(big, ZipLimits(max_member_bytes=200_000))
    with pytest.raises(ArchiveError, match=r"big\.zip: would unpack to 600,000 bytes \(limit 500,000\)"):
        open_zip(big, ZipLimits(max_total_bytes=500_000))

    dense = _plain_zip(tmp_path / "dense.zip", {"z": b"\0" * (3 * 1024 * 1024)})
    with pytest.raises(ArchiveError, match=r"dense\.zip: entry 'z' .*ratio \d+.*zip bomb suspected"):
        open_zip(dense)
    small_dense = _plain_zip(tmp_path / "small.zip", {"z": b"\0" * (512 * 1024)})
    open_zip(small_dense).close()     # below the ratio floor: harmless however well it packs


def test_declared_sizes_bound_what_is_inflated(tmp_path: Path) -> None:
    """A central directory that lies small cannot make zipfile inflate more than it declares."""
    path = _plain_zip(tmp_path / "liar.zip", {"a.xml": b"<a>" + b" " * (50 * 1024 * 1024) + b"</a>"})
    data = bytearray(path.read_bytes())
    real = (50 * 1024 * 1024 + 7).to_bytes(4, "little")
    data[:] = data.replace(real, (1000).to_bytes(4, "little"))
    path.write_bytes(bytes(data))
    with open_zip(path) as zf:
        with zf.open("a.xml") as fh:
            with pytest.raises(zipfile.BadZipFile):
                while fh.read(1 << 16):
                    pass
            assert fh.tell() <= 1000


def test_tree_building_readers_also_cap_the_markup(tmp_path: Path) -> None:
    path = docx_paragraph_bomb(tmp_path / "wide.docx", paragraphs=150_000)
    check_office_file(path)                  # under the ratio floor: within every size cap
    with pytest.raises(ArchiveError, match=r"wide\.docx: part 'word/document.xml' holds more than 100,000 XML tags"):
        check_office_file(path, max_tags=100_000)


def test_xml_with_a_dtd_is_refused_whatever_its_encoding(tmp_path: Path) -> None:
    laughs = BILLION_LAUGHS.replace('encoding="UTF-8"', 'encoding="UTF-16"').encode("utf-16")
    external = b'<?xml version="1.0"?><!DOCTYPE a SYSTEM "http://127.0.0.1:9/x.dtd"><a/>'
    for name, xml in (("laughs16.xlsx", laughs), ("external.xlsx", external)):
        path = _plain_zip(tmp_path / name, {"[Content_Types].xml": CONTENT_TYPES_DOCX.encode(), "x.xml": xml})
        with pytest.raises(ArchiveError, match=rf"{name}: part 'x.xml' declares a DTD"):
            check_office_file(path)
    picture = _plain_zip(tmp_path / "pic.docx", {"word/media/a.png": b"\x89PNG\r\n\x1a\n" + b"\0" * 100})
    check_office_file(picture)
