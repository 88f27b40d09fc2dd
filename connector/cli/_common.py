"""What every verb of the ``connector`` command shares: the exit codes, the one way to fail,
JSON output, loading the configuration and opening the store.

Exit codes: 0 done (or no differences), 1 the work failed or differences were found,
2 bad usage or bad input.  With ``--json`` an error is also printed on stdout as
``{"error": "…"}`` so that a script reading stdout always gets one document.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, NoReturn

import click

from connector.errors import ConfigError, ConnectorError, DataError, UsageError
from connector.i18n import _

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2

config_option = click.option("--config", "config", type=click.Path(dir_okay=False, path_type=Path),
                             help="TOML configuration (default: $CONNECTOR_CONFIG, ./connector.toml, "
                                  "/etc/pos-connector/connector.toml)")
json_option = click.option("--json", "as_json", is_flag=True, help="print one JSON document on stdout")


def _json_requested() -> bool:
    ctx = click.get_current_context(silent=True)
    if ctx is not None and ctx.find_root().meta.get("connector.json"):
        return True
    while ctx is not None:
        if ctx.params.get("as_json"):
            return True
        ctx = ctx.parent
    return False


def fail(message: str, code: int = EXIT_FAILED) -> NoReturn:
    """One line on stderr (and ``{"error": …}`` on stdout under ``--json``), then exit."""
    from connector.logs import redact_secrets

    message = redact_secrets(message)
    if _json_requested():
        click.echo(json.dumps({"error": message}, ensure_ascii=False))
    click.echo(_("error: {message}").format(message=message), err=True)
    sys.exit(code)


def exit_code_for(exc: ConnectorError) -> int:
    return EXIT_BAD_INPUT if isinstance(exc, ConfigError | DataError | UsageError) else EXIT_FAILED


def fail_with(exc: ConnectorError) -> NoReturn:
    if isinstance(exc, ConfigError):
        problems = exc.problems
        if _json_requested():
            click.echo(json.dumps({"error": exc.shown, "problems": problems}, ensure_ascii=False))
        click.echo(_("error: invalid configuration in {source}:").format(source=exc.source) if exc.source else
                   _("error: invalid configuration:"), err=True)
        for line in problems:
            click.echo(f"  {line}", err=True)
        sys.exit(EXIT_BAD_INPUT)
    fail(exc.shown, exit_code_for(exc))


def emit_json(doc: Any) -> None:
    from connector.logs import redact_secrets

    click.echo(redact_secrets(json.dumps(doc, ensure_ascii=False, indent=2, default=str)))


def config_path(config: Path | None) -> Path:
    from connector.config import default_config_path

    path = config or default_config_path()
    if path is None:
        from connector.resources import EXAMPLE_CONFIG, resource_path

        fail(_("no configuration: pass --config FILE or set CONNECTOR_CONFIG "
               "({example} documents every key)").format(example=resource_path(EXAMPLE_CONFIG)), EXIT_BAD_INPUT)
    return path


def load(config: Path | None, *, log_to_stdout: bool = False) -> Any:
    """The validated settings (or exit 2 naming every problem), with logging configured."""
    from connector.config import load_settings
    from connector.logs import configure_logging

    path = config_path(config)
    try:
        settings = load_settings(path)
    except ConfigError as exc:
        fail_with(exc)
    # The daemon logs to stdout (the journal collects it); other commands keep stdout for results.
    configure_logging(settings.logging.level, settings.logging.format, settings.secret_values(),
                      stream=sys.stdout if log_to_stdout else sys.stderr)
    settings.log_load_warnings()
    ctx = click.get_current_context(silent=True)
    if ctx is not None:
        ctx.find_root().meta["connector.database_url"] = settings.daemon.resolved_database_url()
    return settings


def open_store(settings: Any, *, create: bool = False) -> Any:
    """The store the configuration names.  Only ``run`` and ``db upgrade`` pass ``create=True``;
    every other verb refuses a missing store, naming where it looked."""
    from connector.store.db import Store

    return Store(settings.daemon.resolved_database_url(), create=create)


class ConnectorGroup(click.Group):
    """The root group: any error that escapes a verb becomes one line and its exit code,
    never a traceback (a database error is translated by ``store.db``, the one place).
    Help texts and click's own words are shown in the reader's language (``cli._help``)."""

    # Verb groups imported when named: `connector status`, run every minute from scripts, must
    # not pay for the mapping, SSTU or setup modules (README «Performance»).
    LAZY_GROUPS = {"classifier": "connector.cli.mapping", "mapping": "connector.cli.mapping",
                   "sstu": "connector.cli.sstu", "report": "connector.cli.report", "init": "connector.cli.setup",
                   "doctor": "connector.cli.setup", "showcase": "connector.cli.showcase",
                   "messages": "connector.cli.messages", "audit": "connector.cli.messages"}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.LAZY_GROUPS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in self.LAZY_GROUPS:
            self._load(cmd_name)
        return super().get_command(ctx, cmd_name)

    def load_all(self) -> None:
        """Every verb in the tree (help listing, the catalog's help texts)."""
        for name in self.LAZY_GROUPS:
            if name not in self.commands:
                self._load(name)

    def _load(self, name: str) -> None:
        import importlib

        from connector.cli._help import localize

        command = getattr(importlib.import_module(self.LAZY_GROUPS[name]), name)
        self.add_command(command, name)
        localize(command)

    def main(self, *args: Any, **kwargs: Any) -> Any:
        from connector.cli._help import localize, route_click_messages
        from connector.i18n import use_language

        use_language(None)  # until a configuration says otherwise, the environment decides
        route_click_messages()
        localize(self)
        return super().main(*args, **kwargs)

    def invoke(self, ctx: click.Context) -> Any:
        from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

        from connector.store.db import database_unavailable

        # the verb's own context is gone when its error reaches here: remember --json now
        # (click keeps the subcommand's tokens in _protected_args; the public name is deprecated)
        ctx.meta["connector.json"] = "--json" in (*getattr(ctx, "_protected_args", ()), *ctx.args)
        try:
            return super().invoke(ctx)
        except ConnectorError as exc:
            fail_with(exc)
        except (OperationalError, InterfaceError) as exc:
            fail(database_unavailable(exc, ctx.meta.get("connector.database_url", "")).shown)
        except DBAPIError as exc:
            # a constraint the code should have checked first: a bug, but still one line
            first = (str(exc.orig or exc).splitlines() or [""])[0]
            fail(_("the database refused the change ({error}: {first}); nothing was stored. Please report this")
                 .format(error=type(exc.orig or exc).__name__, first=first))
