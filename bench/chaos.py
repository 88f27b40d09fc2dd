"""Long crash run: the real daemon SIGKILLed again and again over many messages, faults on.

    python bench/chaos.py [--messages 10000] [--kills 500] [--seed 1]

Prints kills survived, items lost and items duplicated (both must be 0; an item is a card, an
answer in POS, an appeal held by ССТУ or an item on the POS data showcase), leases left held and failures, and what the sweep found
that the incremental pull had missed (should be 0). POS shows its changes out of order, dates one
appeal a year ahead and steps its clock back two minutes (tests/reliability/chaos_harness.py).
The same harness runs in CI at 200 messages / 30 kills (tests/reliability/test_crash_harness.py).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "reliability"))

from chaos_harness import run_chaos  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--kills", type=int, default=500)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--max-alive", type=float, default=3.0, help="longest a daemon lives before its kill (s)")
    args = parser.parse_args()
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="pos-connector-chaos-") as tmp:
        report = run_chaos(Path(tmp), messages=args.messages, kills=args.kills, seed=args.seed,
                           min_alive=0.2, max_alive=args.max_alive, batch=20)
    print(f"messages:        {report.messages}")
    print(f"kills survived:  {report.kills}  (while killing: {report.cards_during_kills} cards, "
          f"{report.answers_during_kills} answers, {report.sstu_during_kills} SSTU imports)")
    print(f"items lost:      {report.lost}")
    print(f"duplicated:      {report.duplicated}")
    print(f"SSTU not final:  {report.sstu_not_final}  (rejected by ССТУ: {report.sstu_rejected})")
    print(f"showcase:        {report.showcase_not_final} not final, {report.showcase_strangers} for no seeded "
          f"message  ({report.showcase_during_kills} uploads while killing)")
    print(f"sweep:           {report.missed_by_incremental} missed by the incremental pull, found by "
          f"{report.sweeps} sweep(s); {report.clock_warnings} clock warning(s)")
    print(f"leases held:     {report.leases_held}")
    print(f"failures:        {len(report.failures)}")
    print(f"final states:    {report.states}  after {report.clean_runs} clean run(s)")
    print(f"wall time:       {time.monotonic() - started:.0f} s")
    ok = (report.lost == 0 and report.duplicated == 0 and not report.failures and report.sstu_not_final == 0
          and report.sstu_rejected == 0 and report.showcase_not_final == 0)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
