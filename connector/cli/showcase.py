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
        scope = f"received since {report.since}" if report.since else "every appeal"
        click.echo(f"{report.looked_at} appeal(s) {scope}: {report.new} new, {report.changed} changed, "
                   f"{report.unchanged} unchanged, {report.invalid} cannot be built")
        if dry_run:
            click.echo(f"dry run: {report.to_upload} item(s) would be uploaded; nothing was sent or stored")
        else:
            click.echo(f"uploaded {report.uploaded}, rejected {report.rejected}, {report.left_to_retry} to retry")
        for note in report.notes[:MAX_PRINTED]:
            click.echo(f"error: {note}", err=True)
    done = report.ok and not report.invalid
    sys.exit(EXIT_OK if done else EXIT_FAILED)
