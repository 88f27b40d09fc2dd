"""Benchmark: N messages through pull → register → track → push against the simulators.

Prints messages/second, peak RSS of the pipeline process, and the ratio of the pipeline's
wall time to a bare client loop that makes only the HTTP/SOAP round trips the same work
needs (same clients, no store, no leases) against fresh simulators seeded identically.
The simulators run in their own processes, so their memory and CPU are not counted.

    python bench/pipeline.py [--messages 10000] [--baseline 1000]

Goals (issue "core pipeline"): ratio ≤ 2.0; peak RSS at 10 000 within 50 MB of that at 1 000.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import requests

SEED = {"seed": 11, "min_attachment_kb": 2, "max_attachment_kb": 16}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def simulators() -> Any:
    procs, urls = [], {}
    for system in ("pos", "edms"):
        port = _free_port()
        procs.append(subprocess.Popen([sys.executable, "-m", "connector", "sim", system, "--port", str(port)],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        urls[system] = f"http://127.0.0.1:{port}"
    try:
        for url in urls.values():
            for _ in range(200):
                try:
                    requests.get(f"{url}/_sim/faults", timeout=1)
                    break
                except requests.ConnectionError:
                    time.sleep(0.05)
        yield urls
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(10)


def run_child(mode: str, messages: int) -> dict[str, Any]:
    with simulators() as urls:
        requests.post(f"{urls['pos']}/_sim/seed", json={"count": messages, **SEED}, timeout=600).raise_for_status()
        out = subprocess.run([sys.executable, __file__, "--child", mode, "--pos", urls["pos"], "--onec", urls["edms"]],
                             capture_output=True, text=True)
        if out.returncode != 0:
            raise SystemExit(f"{mode} run failed:\n{out.stderr[-4000:]}")
        result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
        summary = requests.get(f"{urls['pos']}/_sim/state", params={"summary": 1}, timeout=60).json()["summary"]
        result["answers_in_pos"] = summary.get("answers")
        print(f"{mode} at {messages}: {json.dumps(result)}", file=sys.stderr, flush=True)
        return result


def _act(onec: str) -> float:
    started = time.perf_counter()
    requests.post(f"{onec}/_sim/act", json={"action": "auto", "assign": True, "answer": True},
                  timeout=600).raise_for_status()
    return time.perf_counter() - started


def child_pipeline(pos: str, onec: str) -> dict[str, Any]:
    from connector.demo import demo_settings
    from connector.pipeline.runner import build_context, run_job

    data = Path(tempfile.mkdtemp(prefix="bench-pipeline-"))
    ctx = build_context(demo_settings(data, pos, onec))
    timings: dict[str, float] = {}
    for job in ("pull", "register"):
        started = time.perf_counter()
        run_job(ctx, job)
        timings[job] = time.perf_counter() - started
    _act(onec)
    for job in ("track", "push"):
        started = time.perf_counter()
        run_job(ctx, job)
        timings[job] = time.perf_counter() - started
    ctx.close()
    shutil.rmtree(data, ignore_errors=True)
    return {"timings": timings}


def child_raw(pos: str, onec: str) -> dict[str, Any]:
    """Only the round trips: list, fetch, download, create card, read card, answer back."""
    from connector.demo import demo_settings
    from connector.domain import CardStage, PosAttachmentRef, PosStatus
    from connector.edms_adapters.base import AdapterContext
    from connector.edms_adapters.registry import create_adapter
    from connector.pos_client import PosClient
    from connector.pos_client.wire import to_pos_message
    from connector.transport import RetryingSession

    data = Path(tempfile.mkdtemp(prefix="bench-raw-"))
    settings = demo_settings(data, pos, onec)
    client = PosClient(settings.accounts[0], RetryingSession(settings.retry))
    target = settings.accounts[0].edms
    adapter = create_adapter(settings.edms[target], AdapterContext(target, lambda: RetryingSession(settings.retry),
                                                                   data / "edms"))
    timings: dict[str, float] = {}
    started = time.perf_counter()
    messages = []
    for item in client.list_changes(None):
        appeal = client.get_appeal(item.id)
        files = tuple(client.download_attachment(appeal.id, PosAttachmentRef(
            id=a.id, name=a.name, size=a.size, mime_type=a.mime_type), data / "files" / appeal.id)
            for a in appeal.attachments)
        messages.append(to_pos_message("demo", appeal, files))
    timings["pull"] = time.perf_counter() - started
    started = time.perf_counter()
    refs = [(m.pos_id, adapter.create_card(m)) for m in messages]
    timings["register"] = time.perf_counter() - started
    _act(onec)
    started = time.perf_counter()
    answers = []
    for pos_id, ref in refs:
        state = adapter.get_card(ref)
        answer = adapter.fetch_answer(ref) if state.stage == CardStage.ANSWER_READY else None
        paths = []
        if answer is not None:
            for i, f in enumerate(answer.files):
                path = data / "answers" / f"{pos_id}-{i}"
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(f.content)
                paths.append((f.name, path, f.mime_type))
        answers.append((pos_id, state, answer, paths))
    timings["track"] = time.perf_counter() - started
    started = time.perf_counter()
    for pos_id, state, answer, paths in answers:
        client.set_status(pos_id, PosStatus.EXECUTOR_ASSIGNED, idempotency_key=f"raw:{pos_id}:status",
                          executor=", ".join(e.name for e in state.executors), planned_date=state.deadline)
        if answer is not None:
            client.send_answer(pos_id, text=answer.text, decision=answer.decision, signer=answer.signer,
                               answer_date=answer.date, files=paths, idempotency_key=f"raw:{pos_id}:answer")
    timings["push"] = time.perf_counter() - started
    shutil.rmtree(data, ignore_errors=True)
    return {"timings": timings}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--baseline", type=int, default=1_000, help="N for the peak-RSS comparison")
    parser.add_argument("--child", choices=["pipeline", "raw"], help=argparse.SUPPRESS)
    parser.add_argument("--pos", help=argparse.SUPPRESS)
    parser.add_argument("--onec", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        result = (child_pipeline if args.child == "pipeline" else child_raw)(args.pos, args.onec)
        result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(json.dumps(result))
        return
    os.environ.setdefault("PYTHONHASHSEED", "0")
    runs = {"pipeline": run_child("pipeline", args.messages), "raw": run_child("raw", args.messages)}
    baseline = run_child("pipeline", args.baseline) if args.baseline != args.messages else runs["pipeline"]
    wall = {mode: sum(r["timings"].values()) for mode, r in runs.items()}
    ratio = wall["pipeline"] / wall["raw"]
    rss_delta = runs["pipeline"]["peak_rss_mb"] - baseline["peak_rss_mb"]
    print(f"messages:                  {args.messages}")
    print(f"answers in POS (pipeline): {runs['pipeline']['answers_in_pos']}")
    for mode in ("pipeline", "raw"):
        stages = "  ".join(f"{k} {v:.1f}s" for k, v in runs[mode]["timings"].items())
        print(f"{mode:<9} wall {wall[mode]:7.1f}s  {args.messages / wall[mode]:7.1f} msg/s   {stages}")
    print(f"ratio pipeline/raw:        {ratio:.2f}  (goal ≤ 2.0)")
    print(f"peak RSS pipeline:         {runs['pipeline']['peak_rss_mb']:.1f} MB at {args.messages}, "
          f"{baseline['peak_rss_mb']:.1f} MB at {args.baseline}  (Δ {rss_delta:+.1f} MB, goal ≤ 50)")


if __name__ == "__main__":
    main()
