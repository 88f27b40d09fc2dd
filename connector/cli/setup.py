"""``connector init`` and ``connector doctor``: the first configuration of a new installation, and
whether an installation is ready to run."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import click

from connector.cli._common import (
    EXIT_BAD_INPUT,
    EXIT_FAILED,
    EXIT_OK,
    config_option,
    emit_json,
    fail,
    json_option,
)
from connector.errors import ConfigError, DataError
from connector.i18n import N_, _

_SYSTEM_CONFIG = Path("/etc/pos-connector/connector.toml")
_SYSTEM_DATA = Path("/var/lib/pos-connector")


def _default_out() -> Path:
    return _SYSTEM_CONFIG if os.geteuid() == 0 and _SYSTEM_CONFIG.parent.is_dir() else Path("connector.toml")


class _Asker:
    """Prompts on a terminal; with --non-interactive a missing value is a usage error naming its flag."""

    def __init__(self, interactive: bool) -> None:
        self.interactive = interactive

    def __call__(self, value: Any, flag: str, prompt: str, *, secret: bool = False, default: Any = None) -> Any:
        if value not in (None, ""):
            return value
        if not self.interactive:
            if default is not None:
                return default
            fail(_("missing {flag} (required with --non-interactive)").format(flag=flag), EXIT_BAD_INPUT)
        return click.prompt(_(prompt), hide_input=secret, default=default, err=True)


@click.command("init")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="where to write (default: /etc/pos-connector/connector.toml as root, else ./connector.toml)")
@click.option("--non-interactive", is_flag=True, help="never prompt: every required value comes from a flag")
@click.option("--force", is_flag=True, help="replace an existing configuration")
@click.option("--account", default="main", show_default=True, help="name of the POS account (ЛКО)")
@click.option("--pos-url", help="base URL of the POS integration API")
@click.option("--pos-login", help="ЛКО login")
@click.option("--pos-password", envvar="CONNECTOR_INIT_POS_PASSWORD",
              help="ЛКО password (or $CONNECTOR_INIT_POS_PASSWORD; written to a 0600 file)")
@click.option("--edms-type", type=click.Choice(["onec_dm", "directum_rx", "medo"]))
@click.option("--edms-name", default="main", show_default=True, help="name of the [edms.<name>] target")
@click.option("--edms-url", help="1С DMService endpoint or Directum RX Integration service base")
@click.option("--edms-login")
@click.option("--edms-password", envvar="CONNECTOR_INIT_EDMS_PASSWORD",
              help="EDMS password (or $CONNECTOR_INIT_EDMS_PASSWORD; written to a 0600 file)")
@click.option("--medo-outbox", help="МЭДО: directory the gateway takes our packages from")
@click.option("--medo-inbox", help="МЭДО: directory the gateway drops notifications into")
@click.option("--medo-sender-uid", help="МЭДО: our participant GUID")
@click.option("--medo-sender-organization")
@click.option("--medo-addressee-organization")
@click.option("--medo-addressee-address")
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="state directory (default: /var/lib/pos-connector for /etc, else var/ beside the config)")
@click.option("--database-url", default="", help="PostgreSQL URL; empty: SQLite in the data directory")
@click.option("--allow-insecure", is_flag=True, help="accept plain http:// endpoints (simulators only)")
@click.option("--json", "as_json", is_flag=True)
def init(out: Path | None, non_interactive: bool, force: bool, account: str, pos_url: str | None,
         pos_login: str | None, pos_password: str | None, edms_type: str | None, edms_name: str,
         edms_url: str | None, edms_login: str | None, edms_password: str | None, medo_outbox: str | None,
         medo_inbox: str | None, medo_sender_uid: str | None, medo_sender_organization: str | None,
         medo_addressee_organization: str | None, medo_addressee_address: str | None, data_dir: Path | None,
         database_url: str, allow_insecure: bool, as_json: bool) -> None:
    """Write a minimal working configuration; secrets go to separate 0600 files beside it."""
    from pydantic import ValidationError

    from connector.ops.init_config import EdmsAnswers, InitAnswers, write

    ask = _Asker(interactive=not non_interactive and sys.stdin.isatty())
    target = (out or _default_out()).absolute()
    kind = ask(edms_type, "--edms-type", N_("EDMS type (onec_dm, directum_rx, medo)"))
    if kind == "medo":
        edms = {"type": kind,
                "outbox_dir": ask(medo_outbox, "--medo-outbox", N_("МЭДО outbox directory")),
                "inbox_dir": ask(medo_inbox, "--medo-inbox", N_("МЭДО inbox directory")),
                "sender_uid": ask(medo_sender_uid, "--medo-sender-uid", N_("our МЭДО participant GUID")),
                "sender_organization": ask(medo_sender_organization, "--medo-sender-organization",
                                           N_("our organisation's name")),
                "addressee_organization": ask(medo_addressee_organization, "--medo-addressee-organization",
                                              N_("the EDMS organisation's name")),
                "addressee_address": ask(medo_addressee_address, "--medo-addressee-address",
                                         N_("the EDMS МЭДО address"))}
    else:
        edms = {"type": kind, "url": ask(edms_url, "--edms-url", N_("EDMS URL")),
                "login": ask(edms_login, "--edms-login", N_("EDMS login")),
                "password": ask(edms_password, "--edms-password", N_("EDMS password"), secret=True)}
    default_data = _SYSTEM_DATA if target.parent == _SYSTEM_CONFIG.parent else target.parent / "var"
    try:
        answers = InitAnswers(
            account=account, pos_url=ask(pos_url, "--pos-url", N_("POS integration API URL")),
            pos_login=ask(pos_login, "--pos-login", N_("ЛКО login")),
            pos_password=ask(pos_password, "--pos-password", N_("ЛКО password"), secret=True),
            edms_name=edms_name, edms=EdmsAnswers.model_validate(edms),
            data_dir=(data_dir or default_data).absolute(), database_url=database_url,
            allow_insecure=allow_insecure)
    except ValidationError as exc:
        first = exc.errors()[0]
        fail(f"--{'-'.join(str(p) for p in first['loc']).replace('_', '-')}: {first['msg']}", EXIT_BAD_INPUT)
    try:
        result = write(answers, target, force=force)
    except DataError as exc:
        fail(exc.operator_message, EXIT_BAD_INPUT)
    except ConfigError as exc:
        click.echo(_("error: the configuration would not load, nothing was written:"), err=True)
        for line in exc.problems:
            click.echo(f"  {line}", err=True)
        sys.exit(EXIT_BAD_INPUT)
    if as_json:
        emit_json(result.model_dump(mode="json"))
        return
    click.echo(_("configuration written to {path}").format(path=result.config))
    for path in result.secret_files:
        click.echo(_("  secret (0600): {path}").format(path=path))
    click.echo(_("next: connector db upgrade --config {path}").format(path=result.config))


@click.command("doctor")
@config_option
@json_option
def doctor(config: Path | None, as_json: bool) -> None:
    """Check the configuration, paths, database, endpoints, clock and disk: is this ready to run?"""
    from connector.cli._common import config_path, load
    from connector.ops.doctor import Result, run_doctor

    settings = load(config)
    report = run_doctor(settings, config_path(config))
    if as_json:
        emit_json({**report.model_dump(mode="json"), "worst": report.worst.value})
    else:
        width = max(len(c.name) for c in report.checks)
        words = {r: _(w) for r, w in ((Result.OK, N_("OK")), (Result.WARN, N_("WARN")), (Result.FAIL, N_("FAIL")))}
        word_width = max(4, *map(len, words.values()))
        click.echo(_("configuration {path}").format(path=report.config_file))
        for check in report.checks:
            click.echo(f"  {words[check.result]:{word_width}}  {check.name:<{width}}  {check.detail}")
        click.echo({Result.OK: _("ready"), Result.WARN: _("ready, with warnings"),
                    Result.FAIL: _("NOT READY: fix the failed checks")}[report.worst])
    # warnings are worth reading but do not stop a service: only a failed check is exit 1
    sys.exit(EXIT_FAILED if report.worst is Result.FAIL else EXIT_OK)
