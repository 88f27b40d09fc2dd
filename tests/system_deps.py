"""Debian packages the test suite needs, installed by `make test` when missing.

PostgreSQL: the store and pipeline tests run on a real server (tests/pg_server.py).
LibreOffice Calc (no GUI): the mapping workbook must open in LibreOffice headless.
faketime: tests/faketime_run.py runs the date-sensitive tests with the clock shifted to a new year in Moscow.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))

from pg_server import server_bin_dir  # noqa: E402

PACKAGES: list[tuple[str, object]] = [
    ("postgresql", lambda: server_bin_dir() is not None),
    ("libreoffice-calc-nogui", lambda: shutil.which("soffice") is not None),
    # pdfinfo/pdftotext/pdftoppm: the workbook tests read the pages LibreOffice printed.
    ("poppler-utils", lambda: shutil.which("pdfinfo") is not None),
    # a TrueType font with Cyrillic: the МЭДО adapter renders the appeal to its PDF main document.
    ("fonts-dejavu-core", lambda: os.path.exists("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")),
    # rpmbuild for `make dist` (tests/packaging builds the .rpm and reads it back with rpm -qip).
    ("rpm", lambda: shutil.which("rpmbuild") is not None),
    ("faketime", lambda: shutil.which("faketime") is not None),
]


def ensure_installed(only: list[str] | None = None) -> None:
    wanted = [(package, present) for package, present in PACKAGES if not only or package in only]
    missing = [package for package, present in wanted if not present()]  # type: ignore[operator]
    if not missing:
        return
    sudo = [] if os.geteuid() == 0 else ["sudo", "-n"]
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    print(f"installing Debian packages for the test suite: {' '.join(missing)}", flush=True)
    subprocess.run([*sudo, "apt-get", "update", "-q"], check=True, env=env)
    subprocess.run([*sudo, "apt-get", "install", "-y", "-q", "--no-install-recommends", *missing],
                   check=True, env=env)
    still = [package for package, present in wanted if not present()]  # type: ignore[operator]
    if still:
        raise SystemExit(f"installed but still not usable: {', '.join(still)}")


if __name__ == "__main__":
    # `--only rpm`: what `make dist` needs, without the test servers.
    ensure_installed(sys.argv[2:] if sys.argv[1:2] == ["--only"] else None)
