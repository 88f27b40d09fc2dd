"""``connector showcase …``: the POS data showcase («Витрина данных»).  Registered by
``main.add_command(showcase)``.

Exit codes: 0 every item in scope is on the showcase (or, with ``--dry-run``, was counted); 1 some
were rejected, left to retry, or cannot be built (see ``connector failures list``); 2 bad usage.
"""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path

import click

from connector.cli._common import EXIT_FAILED, EXIT_OK, config_option, emit_json, json_option, load
from connector.i18n import _

MAX_PRINTED = 20


@click.group()
def showcase() -> None:
    """The POS data showcase: every appeal on the region's heat map."""


@showcase.command("upload")
@click.option("--since", "since", type=click.DateTime(formats=["%Y-%m-%d"]),
              help="appeals received on or after this date (YYYY-MM-DD), older than [showcase] since included")
@click.option("--dry-run", "dry_run", is_flag=True, help="count what would be uploaded; send and store nothing")
@config_option
@json_option
def upload_cmd(since: datetime | None, dry_run: bool, config: Path | None, as_json: bool) -> None:
    """List the EDMS's appeals of every channel, then upload every new or changed appeal (POS and other
    channels) now: a back-fill from --since; unchanged ones are not sent."""
    from connector.pipeline.runner import build_context
    from connector.showcase.service import run_pass

    ctx = build_context(load(config), create=False)
    try:
        report, _stats = run_pass(ctx, since=since.date() if since else None, dry_run=dry_run)
    finally:
        ctx.close()
    if as_json:
        emit_json(report.model_dump(mode="json"))
    else:
        scope = _("received since {since}").format(since=report.since) if report.since else _("every appeal")
        click.echo(_("{count} appeal(s) {scope}: {new} new, {changed} changed, {unchanged} unchanged, "
                     "{invalid} cannot be built").format(count=report.looked_at, scope=scope, new=report.new,
                                                         changed=report.changed, unchanged=report.unchanged,
                                                         invalid=report.invalid))
        if dry_run:
            click.echo(_("dry run: {count} item(s) would be uploaded; nothing was sent or stored").format(
                count=report.to_upload))
        else:
            click.echo(_("uploaded {uploaded}, rejected {rejected}, {retry} to retry").format(
                uploaded=report.uploaded, rejected=report.rejected, retry=report.left_to_retry))
        for note in report.notes[:MAX_PRINTED]:
            click.echo(_("error: {message}").format(message=note), err=True)
    done = report.ok and not report.invalid
    sys.exit(EXIT_OK if done else EXIT_FAILED)
