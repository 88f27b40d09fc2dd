"""The code base stays lint- and type-clean (style.md §13): ruff on everything, mypy on connector/."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_ruff_finds_nothing() -> None:
    result = subprocess.run([sys.executable, "-m", "ruff", "check", "connector", "tests", "bench", "packaging"],
                            cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_is_clean_on_connector() -> None:
    result = subprocess.run([sys.executable, "-m", "mypy", "connector"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


# Composition: these build a process (a verb, the daemon, a job context) and may take the whole tree.
_COMPOSITION = ("connector/cli/", "connector/ops/", "connector/daemon.py", "connector/demo",
                "connector/pipeline/context.py", "connector/pipeline/runner.py")
# Still taking the whole tree or importing a section through it: being rewritten in parallel (wave 2);
# each should import its section from the section's package (pos_client.settings, pipeline.settings)
# or receive the narrow settings it reads.
_NOT_YET_NARROW = {"connector/pipeline/pull.py",
                   "connector/sstu_export/refresh.py", "connector/sstu_export/service.py"}


def test_settings_arrows_point_down() -> None:
    """``connector.config`` is the composition root: code below it imports its own section's model
    from that section's package (``pos_client/settings.py``, ``pipeline/settings.py``, …), never the tree."""
    upward = sorted(str(path.relative_to(ROOT)) for path in (ROOT / "connector").rglob("*.py")
                    if "from connector.config import" in path.read_text(encoding="utf-8")
                    and not str(path.relative_to(ROOT)).startswith(_COMPOSITION))
    assert set(upward) <= _NOT_YET_NARROW, f"import a section from its package instead: {upward}"


HEAVY = ("alembic", "zeep", "openpyxl", "lxml", "xlrd", "docx", "connector.edms_adapters.onec_dm.adapter",
         "connector.edms_adapters.directum_rx.adapter", "connector.sstu_export.builder")


def test_loading_settings_and_status_import_no_heavy_library(tmp_path: Path) -> None:
    """Every verb loads the settings and ``status`` runs every minute in scripts: neither imports
    an adapter, the migrations, SOAP/XML or spreadsheet libraries (README «Performance»)."""
    from connector.store.db import Store

    from clirun import write_config

    config = write_config(tmp_path / "connector.toml")
    Store(f"sqlite:///{tmp_path / 'data' / 'connector.db'}", create=True).dispose()
    probe = ("import sys; from pathlib import Path; from connector.cli._common import load, open_store; "
             "from connector.ops.status import status_report; "
             f"settings = load(Path({str(config)!r})); status_report(open_store(settings)); "
             f"print(' '.join(m for m in {HEAVY!r} if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == []


def test_the_status_command_imports_no_http_library(tmp_path: Path) -> None:
    """``connector status`` as a script runs it, through the CLI: no ``requests`` (nor tenacity) either —
    the ``[http]`` and ``[retry]`` settings live in ``connector.http_settings``, not in the transport —,
    no ORM and none of the other verbs' modules (README «Performance»: status ≤ 0.3 s)."""
    from connector.store.db import Store

    from clirun import write_config

    config = write_config(tmp_path / "connector.toml")
    Store(f"sqlite:///{tmp_path / 'data' / 'connector.db'}", create=True).dispose()
    heavy = (*HEAVY, "requests", "tenacity", "connector.transport",
             # the ORM and the models: status reads Core tables (store/read_tables.py)
             "sqlalchemy.orm", "connector.store.models",
             # verb groups load when named (ConnectorGroup.LAZY_GROUPS)
             "connector.cli.mapping", "connector.cli.sstu", "connector.cli.setup", "connector.cli.messages")
    probe = ("import sys; from connector.cli import main; "
             f"main(['status', '--config', {str(config)!r}], standalone_mode=False); "
             f"print('IMPORTED', *(m for m in {heavy!r} if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1].split() == ["IMPORTED"]
