"""``connector status`` on a big store: 100 000 messages and a year of job history.

Seeds a SQLite store directly (no pipeline run: the shape is what matters — messages in every
state, an outbox, failures, and ~3 500 job runs a day for 365 days, the rate a daemon records
before pruning), then times the real command in a subprocess.  Goal: ≤ 0.3 s.

    python bench/status.py [--messages 100000] [--days 365] [--runs-per-day 3500] [--repeat 5]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert

from connector.store.db import Store
from connector.store.models import JobRun, Message, MessageState, OutboxItem, OutboxKind, OutboxState

JOBS = ("pull", "register", "track", "push", "sstu", "sweep")
STATES = [s.value for s in MessageState]


def seed(store: Store, messages: int, days: int, runs_per_day: int) -> None:
    now = datetime.now(UTC)
    with store.engine.begin() as conn:
        for start in range(0, messages, 20_000):
            conn.execute(insert(Message), [
                {"account": "bench", "pos_id": f"P{i}", "state": STATES[i % len(STATES)], "attempts": 0,
                 "created_at": now, "updated_at": now} for i in range(start, min(start + 20_000, messages))])
    with store.engine.begin() as conn:
        conn.execute(insert(OutboxItem), [
            {"message_id": i + 1, "kind": OutboxKind.STATUS, "target": "IN_WORK", "payload": {},
             "state": OutboxState.SENT if i % 10 else OutboxState.PENDING, "attempts": 0, "created_at": now}
            for i in range(0, messages, 2)])
    total = days * runs_per_day
    step = timedelta(days=days) / total
    first = now - timedelta(days=days)
    for start in range(0, total, 50_000):
        with store.engine.begin() as conn:
            conn.execute(insert(JobRun), [
                {"job": JOBS[i % len(JOBS)], "worker": "bench:1", "started_at": first + step * i,
                 "finished_at": first + step * i + timedelta(seconds=1), "ok": i % 97 != 0, "processed": 1,
                 "failed": 0} for i in range(start, min(start + 50_000, total))])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--runs-per-day", type=int, default=3500)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        data = root / "data"
        config = root / "connector.toml"
        config.write_text(f'[daemon]\ndata_dir = "{data}"\n\n[http]\nallow_insecure = true\n\n[[accounts]]\n'
                          'name = "bench"\npos_base_url = "http://127.0.0.1:9"\nlogin = "x"\npassword = "bench-pass"\n'
                          'edms = "onec"\n\n[edms.onec]\ntype = "onec_dm"\nurl = "http://127.0.0.1:9/ws"\n'
                          'login = "x"\npassword = "bench-pass"\n', encoding="utf-8")
        store = Store(f"sqlite:///{data / 'connector.db'}")
        began = time.perf_counter()
        seed(store, args.messages, args.days, args.runs_per_day)
        store.dispose()
        print(f"seeded {args.messages:,} messages and {args.days * args.runs_per_day:,} job runs "
              f"in {time.perf_counter() - began:.1f} s")
        times = []
        for _ in range(args.repeat):
            began = time.perf_counter()
            proc = subprocess.run([sys.executable, "-m", "connector", "status", "--config", str(config)],
                                  capture_output=True, text=True, check=False)
            times.append(time.perf_counter() - began)
            if proc.returncode != 0:
                print(proc.stderr, file=sys.stderr)
                return 1
        print(f"connector status: best {min(times):.3f} s, median {statistics.median(times):.3f} s "
              f"over {args.repeat} runs (goal <= 0.3 s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
