"""Run the date-sensitive tests under libfaketime at the instants where "today" differs by zone.

At 2026-12-31 22:30 UTC it is already 1 January 2027 in Moscow (new month, new year, new
registration-number series); at 2027-02-28 21:30 UTC it is 1 March there. A test that takes
"today" from the machine's UTC date instead of the injected clock or the body's zone fails here.

The clock is shifted by a relative offset (`faketime -f "+<seconds>s"`), so every process of the
run — pytest workers, daemon subprocesses, simulators, PostgreSQL — sees the same shifted clock;
an absolute start time would restart the clock in each new process. FAKETIME_DONT_FAKE_MONOTONIC
stays unset: with it Python's time.sleep fails with EINVAL.

    python tests/faketime_run.py                       # the CI step (`make test` runs it)
    python tests/faketime_run.py --at 2026-12-15T09:00:00Z -- tests/   # any selection, any instant
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from datetime import datetime

INSTANTS = ("2026-12-31T22:30:00Z", "2027-02-28T21:30:00Z")
SELECTION = ["-m", "date_sensitive and not faketime_unsafe"]


def offset_seconds(instant: str, now: float) -> int:
    return round(datetime.fromisoformat(instant).timestamp() - now)


def run_at(instant: str, pytest_args: list[str]) -> int:
    command = ["faketime", "-f", f"+{offset_seconds(instant, time.time())}s",
               sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *pytest_args]
    env = {k: v for k, v in os.environ.items() if not k.startswith("FAKETIME")}
    print(f"--- tests at {instant} (faked clock) ---", flush=True)
    return subprocess.run(command, env=env, check=False).returncode


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--at", action="append", help="instant (ISO 8601 with zone); repeatable")
    parser.add_argument("pytest_args", nargs="*", help="after --: pytest arguments instead of the default")
    args = parser.parse_args(argv)
    if shutil.which("faketime") is None:
        print("faketime is not installed (Debian package faketime; tests/system_deps.py installs it)",
              file=sys.stderr)
        return 2
    pytest_args = args.pytest_args or ["-n", "2", "-q", *SELECTION]
    failed = [instant for instant in (args.at or INSTANTS) if run_at(instant, pytest_args) != 0]
    if failed:
        print(f"date-sensitive tests failed at: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
