"""Benchmark: N messages through pull → register → track → push against the simulators.

Runs, each against fresh simulators seeded identically: the pipeline at ``[daemon] concurrency``
1, the pipeline at the default concurrency, and a sequential bare client loop that makes only
the HTTP/SOAP round trips the same work needs (same clients, no store, no leases).  Prints, each
on its own line:

    ratio: X                    pipeline at concurrency 1 ÷ bare loop, wall time   (goal ≤ 1.25)
    speedup: Y                  pipeline msg/s at the default concurrency ÷ bare loop msg/s  (goal ≥ 2.0)
    statements per message: Z   SQL statements the pipeline sent, pull → push, ÷ messages  (goal ≤ 15)
    peak RSS: ...               of the pipeline process at --messages and at --baseline  (goal: within 10 MB)
    cpu ratio: C                pipeline at concurrency 1 ÷ bare loop, process CPU time of the same stages

On a machine that others load, the CPU times compare better than the wall times: the remote calls
are the same in both loops, so what the pipeline adds is its own CPU.

The simulators run in their own processes, so their memory and CPU are not counted.
``--latency-ms N`` makes both simulators answer every request N ms late (their ``latency_ms`` fault),
for every run alike: on loopback with no latency, the bare loop is bound by the client's and the
simulators' CPU, which on a 2-core machine leaves concurrency little to overlap; a real POS or EDMS
is a network round trip away.

    python bench/pipeline.py [--messages 2000] [--baseline 2000] [--concurrency 4] [--latency-ms 0]
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
from collections.abc import Iterator
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
def simulators(latency_ms: int = 0) -> Any:
    procs, urls = [], {}
    faults = ["--faults", f"latency_ms={latency_ms}"] if latency_ms else []
    for system in ("pos", "edms"):
        port = _free_port()
        procs.append(subprocess.Popen([sys.executable, "-m", "connector", "sim", system, "--port", str(port), *faults],
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


@contextmanager
def stage(result: dict[str, Any], name: str) -> Iterator[None]:
    """Wall time (``timings``) and process CPU time (``cpu``) of one stage into ``result``."""
    wall, cpu = time.perf_counter(), time.process_time()
    yield
    result.setdefault("timings", {})[name] = time.perf_counter() - wall
    result.setdefault("cpu", {})[name] = time.process_time() - cpu


def run_child(mode: str, messages: int, concurrency: int = 1, latency_ms: int = 0) -> dict[str, Any]:
    with simulators(latency_ms) as urls:
        requests.post(f"{urls['pos']}/_sim/seed", json={"count": messages, **SEED}, timeout=600).raise_for_status()
        out = subprocess.run([sys.executable, __file__, "--child", mode, "--pos", urls["pos"], "--onec", urls["edms"],
                              "--concurrency", str(concurrency)], capture_output=True, text=True)
        if out.returncode != 0:
            raise SystemExit(f"{mode} run failed:\n{out.stderr[-4000:]}")
        result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
        summary = requests.get(f"{urls['pos']}/_sim/state", params={"summary": 1}, timeout=60).json()["summary"]
        result["answers_in_pos"] = summary.get("answers")
        print(f"{mode} (concurrency {concurrency}) at {messages}: {json.dumps(result)}", file=sys.stderr, flush=True)
        return result


def _act(onec: str) -> float:
    started = time.perf_counter()
    requests.post(f"{onec}/_sim/act", json={"action": "auto", "assign": True, "answer": True},
                  timeout=600).raise_for_status()
    return time.perf_counter() - started


def child_pipeline(pos: str, onec: str, concurrency: int) -> dict[str, Any]:
    from sqlalchemy import event

    from connector.demo import demo_settings
    from connector.pipeline.runner import build_context, run_job

    data = Path(tempfile.mkdtemp(prefix="bench-pipeline-"))
    settings = demo_settings(data, pos, onec)
    settings = settings.model_copy(update={"daemon": settings.daemon.model_copy(update={"concurrency": concurrency})})
    ctx = build_context(settings)
    statements = [0]

    def count(*_args: Any) -> None:
        statements[0] += 1

    event.listen(ctx.store.engine, "before_cursor_execute", count)
    result: dict[str, Any] = {}
    for job in ("pull", "register"):
        with stage(result, job):
            run_job(ctx, job)
    _act(onec)
    for job in ("track", "push"):
        with stage(result, job):
            run_job(ctx, job)
    ctx.close()
    shutil.rmtree(data, ignore_errors=True)
    return {**result, "statements": statements[0]}


def child_raw(pos: str, onec: str, _concurrency: int) -> dict[str, Any]:
    """Only the round trips: list, fetch, download, create card, read card, answer back."""
    from connector.demo import demo_settings
    from connector.domain import PosAttachmentRef, PosStatus
    from connector.edms_adapters.base import AdapterContext, read_card
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
    result: dict[str, Any] = {}
    messages = []
    with stage(result, "pull"):
        for item in client.list_changes(None):
            appeal = client.get_appeal(item.id)
            files = tuple(client.download_attachment(appeal.id, PosAttachmentRef(
                id=a.id, name=a.name, size=a.size, mime_type=a.mime_type), data / "files" / appeal.id)
                for a in appeal.attachments)
            messages.append(to_pos_message("demo", appeal, files))
    with stage(result, "register"):
        refs = [(m.pos_id, adapter.create_card(m)) for m in messages]
    _act(onec)
    answers = []
    with stage(result, "track"):
        for pos_id, ref in refs:
            state, answer = read_card(adapter, ref)
            paths = []
            if answer is not None:
                for i, f in enumerate(answer.files):
                    path = data / "answers" / f"{pos_id}-{i}"
                    path.parent.mkdir(parents=True, exist_ok=True)
                    path.write_bytes(f.content)
                    paths.append((f.name, path, f.mime_type))
            answers.append((pos_id, state, answer, paths))
    with stage(result, "push"):
        for pos_id, state, answer, paths in answers:
            client.set_status(pos_id, PosStatus.EXECUTOR_ASSIGNED, idempotency_key=f"raw:{pos_id}:status",
                              executor=", ".join(e.name for e in state.executors), planned_date=state.deadline)
            if answer is not None:
                client.send_answer(pos_id, text=answer.text, decision=answer.decision, signer=answer.signer,
                                   answer_date=answer.date, files=paths, idempotency_key=f"raw:{pos_id}:answer")
    shutil.rmtree(data, ignore_errors=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=2_000)
    parser.add_argument("--baseline", type=int, default=2_000, help="N for the peak-RSS comparison")
    from connector.config import DaemonSettings

    parser.add_argument("--concurrency", type=int, default=DaemonSettings.model_fields["concurrency"].default,
                        help="the pipeline's [daemon] concurrency for the speedup (default: the setting's default)")
    parser.add_argument("--latency-ms", type=int, default=0,
                        help="every simulator request answers this late (the simulators' latency_ms fault)")
    parser.add_argument("--child", choices=["pipeline", "raw"], help=argparse.SUPPRESS)
    parser.add_argument("--pos", help=argparse.SUPPRESS)
    parser.add_argument("--onec", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        result = (child_pipeline if args.child == "pipeline" else child_raw)(args.pos, args.onec, args.concurrency)
        usage = resource.getrusage(resource.RUSAGE_SELF)
        result["peak_rss_mb"] = usage.ru_maxrss / 1024
        result["process_cpu_s"] = usage.ru_utime + usage.ru_stime  # start-up and imports included
        print(json.dumps(result))
        return
    os.environ.setdefault("PYTHONHASHSEED", "0")
    n = args.messages
    lag = args.latency_ms
    runs = {"pipeline c1": run_child("pipeline", n, 1, lag), f"pipeline c{args.concurrency}":
            run_child("pipeline", n, args.concurrency, lag), "raw": run_child("raw", n, 1, lag)}
    concurrent = runs[f"pipeline c{args.concurrency}"]
    baseline = run_child("pipeline", args.baseline, args.concurrency, lag) if args.baseline != n else concurrent
    wall = {mode: sum(r["timings"].values()) for mode, r in runs.items()}
    rss_delta = concurrent["peak_rss_mb"] - baseline["peak_rss_mb"]
    print(f"messages: {n}" + (f", simulators {lag} ms late on every request" if lag else ""))
    for mode, result in runs.items():
        stages = "  ".join(f"{k} {v:.1f}s" for k, v in result["timings"].items())
        answers = f"  answers in POS {result['answers_in_pos']}" if "statements" in result else ""
        cpu_stages = "  ".join(f"{k} {v:.1f}s" for k, v in result["cpu"].items())
        print(f"{mode:<13} wall {wall[mode]:7.1f}s  {n / wall[mode]:7.1f} msg/s   {stages}{answers}")
        print(f"{'':<13} cpu  {sum(result['cpu'].values()):7.1f}s  (process {result['process_cpu_s']:.1f}s)   "
              f"{cpu_stages}")
    cpu = {mode: sum(r["cpu"].values()) for mode, r in runs.items()}
    print(f"ratio: {wall['pipeline c1'] / wall['raw']:.2f}")
    print(f"speedup: {wall['raw'] / wall[f'pipeline c{args.concurrency}']:.2f}")
    print(f"statements per message: {runs['pipeline c1']['statements'] / n:.1f}")
    print(f"peak RSS: {concurrent['peak_rss_mb']:.1f} MB at {n}, {baseline['peak_rss_mb']:.1f} MB at "
          f"{args.baseline} (delta {rss_delta:+.1f} MB)")
    print(f"cpu ratio: {cpu['pipeline c1'] / cpu['raw']:.2f}")


if __name__ == "__main__":
    main()
