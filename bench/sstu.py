"""Benchmark: export N synthetic appeals (≈100 KB answer file each) to SSTU archive parts.

Prints appeals/second, peak RSS, and the ratio of the export's wall time to a bare loop that
only ``json.dumps`` the same appeal dicts and writes them into the same zip layout (parts of
the same size, ``<uuid>.json`` members, a ``manifest.csv`` per part).  Each run is its own
subprocess so that peak RSS is measured per size; outputs go to a temporary directory and are
deleted after each run.

    python bench/sstu.py [--appeals 100000] [--small 10000] [--compresslevel 6] [--part-mb 50]

Every 4th appeal holds three questions (answered, redirected by competence, in work), in both loops.

Goals: ratio ≤ 1.35 (issue #16, with multi-question appeals); peak RSS independent of the count.
The CPU-time ratio is printed too: on a loaded machine it is the steadier figure of the two.
"""

from __future__ import annotations

import argparse
import base64
import csv
import io
import json
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
import zipfile
from datetime import date
from pathlib import Path
from typing import Any

DEP = "0f8fad5b-d9cb-469f-a165-70867728950e"
CODE = "0005.0005.0056.1149"
ANSWER_BYTES = 100_000
TODAY = date(2025, 12, 1)
MULTI_EVERY = 4  # every 4th appeal holds three questions: answered, redirected by competence, in work
BODY, BODY_GUID = "Министерство транспорта края", "7c9e6679-7425-40de-944b-e07fc1f90ae7"


def _multi(i: int) -> bool:
    return i % MULTI_EVERY == 0


def _answer() -> bytes:
    return random.Random(1).randbytes(ANSWER_BYTES)  # one string for every appeal: generation stays cheap


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_export(n: int, out: Path, part_bytes: int, level: int) -> dict[str, Any]:
    from connector.sstu_export.archive import ArchiveWriter
    from connector.sstu_export.builder import AnswerFileInput, AppealFacts, QuestionFacts, SstuBuilder

    answer = AnswerFileInput(name="ответ.pdf", content=_answer())
    builder = SstuBuilder(lambda path: CODE, today=TODAY, bodies={BODY: BODY_GUID})
    answered = QuestionFacts(category_path=("ЖКХ", "Отопление"), outcome="answered", result="Разъяснено",
                             incoming_date=date(2025, 3, 3), registration_date=date(2025, 3, 4),
                             response_date=date(2025, 3, 20), answer=answer)
    others = (QuestionFacts(code="0003.0009.0099.0742", outcome="redirected", incoming_date=date(2025, 3, 3),
                            registration_date=date(2025, 3, 4), response_date=date(2025, 3, 6), redirect_body=BODY,
                            transfer_date=date(2025, 3, 6), transfer_number="02-07/88"),
              QuestionFacts(code="0002.0013.0139.0329", outcome="in work", incoming_date=date(2025, 3, 3),
                            registration_date=date(2025, 3, 4)))
    start, cpu = time.perf_counter(), time.process_time()
    with ArchiveWriter(out, "bench-", max_part_bytes=part_bytes, compresslevel=level) as writer:
        for i in range(n):
            facts = AppealFacts(
                department_id=DEP, number=f"B-{i:06d}", author_name="Иванов Иван Иванович",
                author_address="г. Тверь, ул. Советская, д. 1", author_email="ivanov@example.ru",
                questions=(answered, *others) if _multi(i) else (answered,))
            writer.add(builder.build(facts).archive_item())
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    return {"wall": wall, "cpu": cpu, "rss_mb": _rss_mb(), "parts": len(writer.result.parts),
            "bytes": writer.result.bytes}


def run_baseline(n: int, out: Path, part_bytes: int, level: int) -> dict[str, Any]:
    content = base64.b64encode(_answer()).decode("ascii")
    namespace = uuid.UUID("6d1f7a52-7f0e-4c55-9a8e-2f1c3b9d4e01")
    start, cpu = time.perf_counter(), time.process_time()
    parts, total, part_no = 0, 0, 0
    zf: zipfile.ZipFile | None = None
    rows = io.StringIO()

    def close() -> None:
        nonlocal zf, parts, total
        if zf is not None:
            zf.writestr("manifest.csv", rows.getvalue())
            zf.close()
            parts += 1
            total += (out / f"bench-{part_no:03d}.zip").stat().st_size

    out.mkdir(parents=True, exist_ok=True)
    method = zipfile.ZIP_DEFLATED if level else zipfile.ZIP_STORED
    for i in range(n):
        doc = {"departmentId": DEP, "isDirect": True, "format": "Other", "number": f"B-{i:06d}",
               "name": "Иванов Иван Иванович", "address": "г. Тверь, ул. Советская, д. 1",
               "email": "ivanov@example.ru",
               "questions": [{"code": CODE, "status": "Explained", "incomingDate": "2025-03-03",
                              "registrationDate": "2025-03-04", "responseDate": "2025-03-20",
                              "attachment": {"name": "ответ.pdf", "content": content}}]}
        if _multi(i):
            doc["questions"] += [  # type: ignore[operator]
                {"code": "0003.0009.0099.0742", "status": "Transferred", "incomingDate": "2025-03-03",
                 "registrationDate": "2025-03-04", "transfer": {"departmentId": BODY_GUID,
                                                                "transferDate": "2025-03-06",
                                                                "transferNumber": "02-07/88"}},
                {"code": "0002.0013.0139.0329", "status": "InWork", "incomingDate": "2025-03-03",
                 "registrationDate": "2025-03-04"}]
        data = json.dumps(doc, ensure_ascii=False).encode("utf-8")
        if zf is None or zf.fp is None or zf.fp.tell() + len(data) > part_bytes - 200_000:
            close()
            part_no += 1
            zf = zipfile.ZipFile(out / f"bench-{part_no:03d}.zip", "w", method,
                                 compresslevel=level or None)
            rows = io.StringIO()
            csv.writer(rows).writerow(("file", "number", "name", "statuses"))
        name = f"{uuid.uuid5(namespace, DEP + '/' + doc['number'])}.json"  # type: ignore[operator]
        zf.writestr(name, data)
        statuses = "Explained,Transferred,InWork" if _multi(i) else "Explained"
        csv.writer(rows).writerow((name, doc["number"], "И*** И. И.", statuses))
    close()
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    return {"wall": wall, "cpu": cpu, "rss_mb": _rss_mb(), "parts": parts, "bytes": total}


def _child(kind: str, n: int, args: argparse.Namespace) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix=f"sstu-bench-{kind}-"))
    try:
        cmd = [sys.executable, __file__, "--worker", kind, "--appeals", str(n), "--out", str(tmp),
               "--part-mb", str(args.part_mb), "--compresslevel", str(args.compresslevel)]
        done = subprocess.run(cmd, check=True, capture_output=True, text=True)
        return dict(json.loads(done.stdout.strip().splitlines()[-1]))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--appeals", type=int, default=100_000)
    parser.add_argument("--small", type=int, default=10_000, help="the smaller count for the RSS comparison")
    parser.add_argument("--part-mb", type=float, default=50)
    parser.add_argument("--compresslevel", type=int, default=6, choices=range(10))
    parser.add_argument("--worker", choices=["export", "baseline"], help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    part_bytes = int(args.part_mb * 1024 * 1024)
    if args.worker:
        run = run_export if args.worker == "export" else run_baseline
        print(json.dumps(run(args.appeals, args.out, part_bytes, args.compresslevel)))
        return
    print(f"answer file {ANSWER_BYTES:,} bytes, parts ≤ {args.part_mb} MB, compresslevel {args.compresslevel}")
    small = _child("export", args.small, args) if args.small else None
    big = _child("export", args.appeals, args)
    base = _child("baseline", args.appeals, args)
    if small:
        print(f"export {args.small:>7,} appeals: {small['wall']:7.1f} s  peak RSS {small['rss_mb']:6.1f} MB")
    print(f"export {args.appeals:>7,} appeals: {big['wall']:7.1f} s  peak RSS {big['rss_mb']:6.1f} MB  "
          f"{args.appeals / big['wall']:,.0f} appeals/s  {big['parts']} parts, {big['bytes'] / 1e9:.2f} GB")
    print(f"bare loop {args.appeals:>7,} appeals: {base['wall']:7.1f} s  peak RSS {base['rss_mb']:6.1f} MB  "
          f"{base['parts']} parts, {base['bytes'] / 1e9:.2f} GB")
    ratio = big["wall"] / base["wall"]
    print(f"ratio export / bare loop: {ratio:.2f}  (goal ≤ 1.35)")
    # on a shared machine wall time follows the neighbours' load; CPU time of each process much less
    print(f"CPU time: export {big['cpu']:.1f} s, bare loop {base['cpu']:.1f} s, ratio {big['cpu'] / base['cpu']:.2f}")
    if small:
        print(f"peak RSS growth {args.small:,} → {args.appeals:,}: {big['rss_mb'] - small['rss_mb']:+.1f} MB")


if __name__ == "__main__":
    main()
