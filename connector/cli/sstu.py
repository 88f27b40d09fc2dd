"""``connector sstu …``: SSTU exports.  Registered by ``main.add_command(sstu)``.

Exit codes: 0 success; 1 something was not done (an appeal could not be built or sent, the
portal differs from what we sent); 2 errors in the input or the configuration (or bad
usage).  ``--json`` prints one document.
"""

from __future__ import annotations

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
    load,
)
from connector.errors import DataError
from connector.i18n import N_, _

MAX_PRINTED = 200


@click.group()
def sstu() -> None:
    """ССТУ.РФ «Результаты рассмотрения обращений»: validate, export, upload."""


@sstu.command("validate")
@click.argument("path", type=click.Path(exists=True, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="print one JSON document only")
@click.option("--codes-from", "codes_from", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="classifier edition (tree JSON, JSON list or one code per line): codes must be in it")
def validate_cmd(path: Path, as_json: bool, codes_from: Path | None) -> None:
    """Check a JSON file, a directory or a zip archive (from any tool) against the SSTU format."""
    from connector.sstu_export.checkpath import check_path, load_codes

    try:
        codes = load_codes(codes_from) if codes_from is not None else None
    except DataError as exc:
        fail(exc.operator_message, EXIT_BAD_INPUT)
    report = check_path(path, codes=codes)
    if as_json:
        emit_json(report.as_dict())
    else:
        errors, warnings = report.errors, report.warnings
        for kind, more, findings in ((_("error"), _("… and {count} more error(s)"), errors),
                                     (_("warning"), _("… and {count} more warning(s)"), warnings)):
            for finding in findings[:MAX_PRINTED]:
                click.echo(f"{kind}: {finding}", err=True)
            if len(findings) > MAX_PRINTED:
                click.echo(more.format(count=len(findings) - MAX_PRINTED), err=True)
        click.echo(_("{appeals} appeal(s) in {files} file(s)").format(appeals=report.appeals, files=report.files)
                   + (_(" from {count} archive(s)").format(count=report.archives) if report.archives else "")
                   + (_(", {count} other file(s) skipped").format(count=report.skipped) if report.skipped else "")
                   + (_(": valid") if report.ok else _(": {count} error(s)").format(count=len(errors)))
                   + (_(", {count} warning(s) of our own stricter policy").format(count=len(warnings))
                      if warnings else ""))
    sys.exit(EXIT_OK if report.ok else EXIT_BAD_INPUT)




def _context(config: Path | None) -> Any:
    """The pipeline context over the existing store (only ``run`` and ``db upgrade`` create one)."""
    from connector.pipeline.runner import build_context
    from connector.resources import EXAMPLE_CONFIG, resource_path

    settings = load(config)
    if not settings.sstu.enabled and not settings.sstu.department_id:
        fail(_("no [sstu] section: set department_id and base_url and/or archive_dir ({example})")
             .format(example=resource_path(EXAMPLE_CONFIG)), EXIT_BAD_INPUT)
    return build_context(settings, create=False)


def _build_config(ctx: Any) -> Any:
    from connector.sstu_export.refresh import build_config

    try:
        return build_config(ctx.settings, ctx.store)
    except DataError as exc:
        fail(exc.operator_message, EXIT_BAD_INPUT)


@sstu.command("export")
@click.option("--period", required=True, help="the month, YYYY-MM: appeals received in it")
@click.option("--out", "out", type=click.Path(file_okay=False, path_type=Path),
              help="directory for the zip parts (default: <archive_dir>/<period>, else <data_dir>/sstu/<period>)")
@click.option("--through", is_flag=True, help="every appeal received up to the month's end, not only in it "
                                             "(what the monthly route writes)")
@click.option("--all", "everything", is_flag=True, help="every appeal, not only those changed since the last archive")
@click.option("--upload", is_flag=True, help="also send the changed appeals over HTTP now")
@config_option
@json_option
def export_cmd(period: str, out: Path | None, through: bool, everything: bool, upload: bool, config: Path | None,
               as_json: bool) -> None:
    """Write the month's appeals as zip parts (<prefix>001.zip…, each with manifest.csv)."""
    from connector.sstu_export.service import export_archive, month_bounds

    try:
        month_bounds(period)
    except DataError as exc:
        fail(exc.operator_message, EXIT_BAD_INPUT)
    ctx = _context(config)
    try:
        built = _build_config(ctx)
        sstu_settings = ctx.settings.sstu
        directory = out or (sstu_settings.archive_dir or ctx.data_dir / "sstu") / period
        result = export_archive(ctx.store, built, directory, period, changed_only=not everything,
                                through=through, clock=ctx.clock)
        doc: dict[str, Any] = {"export": result.as_dict()}
        if upload:
            doc["upload"] = _send(ctx, built)
    except DataError as exc:
        fail(exc.operator_message, EXIT_BAD_INPUT)
    except OSError as exc:
        fail(_("cannot write the archive: {error}").format(error=exc), EXIT_FAILED)
    finally:
        ctx.close()
    if as_json:
        emit_json(doc)
    else:
        r = doc["export"]
        if r["parts"]:
            click.echo(_("{appeals} appeal(s) in {parts} part(s) under {directory} ({skipped} unchanged since "
                         "the last archive skipped)").format(appeals=r["appeals"], parts=len(r["parts"]),
                                                             directory=r["directory"],
                                                             skipped=r["unchanged_skipped"]))
        else:
            click.echo(_("0 appeal(s) to write for {period}: nothing written ({skipped} unchanged since the last "
                         "archive skipped)").format(period=period, skipped=r["unchanged_skipped"]))
        for part in r["parts"]:
            click.echo(f"  {part}")
        if r["invalid"]:
            click.echo(_("{count} appeal(s) of the period cannot be built (see connector failures list):").format(
                count=r["invalid"]), err=True)
            for reason in r["invalid_reasons"][:20]:
                click.echo(f"  {reason}", err=True)
        if upload:
            u = doc["upload"]
            click.echo(_("upload: {sent} sent, {failed} failed, {deferred} to retry").format(
                sent=u["sent"], failed=u["failed"], deferred=u["deferred"]))
    invalid_or_failed = doc["export"]["invalid"] or (upload and doc["upload"]["failed"])
    sys.exit(EXIT_FAILED if invalid_or_failed else EXIT_OK)


def _send(ctx: Any, built: Any) -> dict[str, Any]:
    from connector.pipeline.sstu import send_pending

    if not ctx.settings.sstu.base_url:
        raise DataError(N_("[sstu] base_url is not set: nowhere to upload"))
    # what is pending was found by the export's refresh (or queued by resend); each appeal is
    # rebuilt from the store as it is sent
    stats = send_pending(ctx, built)
    if stats.notes:
        raise DataError("; ".join(stats.notes))
    return {"sent": stats.processed, "failed": stats.failed, "deferred": stats.skipped}


@sstu.command("send")
@config_option
@json_option
def send_cmd(config: Path | None, as_json: bool) -> None:
    """Run the daily job now: refresh every appeal, send the changed ones, write a due archive."""
    from connector.pipeline.runner import run_job

    ctx = _context(config)
    try:
        stats = run_job(ctx, "sstu")
    finally:
        ctx.close()
    doc = {"sent": stats.processed, "failed": stats.failed, "deferred": stats.skipped, "errors": stats.notes}
    if as_json:
        emit_json(doc)
    else:
        click.echo(_("{accepted} appeal(s) accepted by ССТУ, {failed} failed, {retry} to retry").format(
            accepted=stats.processed, failed=stats.failed, retry=stats.skipped))
        for note in stats.notes:
            click.echo(_("error: {message}").format(message=note), err=True)
    sys.exit(EXIT_FAILED if stats.notes or stats.failed else EXIT_OK)


@sstu.command("resend")
@click.option("--period", help="the month, YYYY-MM: appeals received in it")
@click.option("--number", "numbers", multiple=True, help="an appeal's registration number (repeatable)")
@click.option("--now", "now", is_flag=True, help="send at once instead of at the next daily run")
@config_option
@json_option
def resend_cmd(period: str | None, numbers: tuple[str, ...], now: bool, config: Path | None, as_json: bool) -> None:
    """Re-queue appeals (a month, or numbers from sstu reconcile) to be sent again."""
    from connector.sstu_export.service import requeue

    if not period and not numbers:
        fail(_("give --period YYYY-MM and/or --number N"), EXIT_BAD_INPUT)
    ctx = _context(config)
    try:
        queued = requeue(ctx.store, ctx.settings, period=period, numbers=list(numbers) or None)
        doc: dict[str, Any] = {"queued": queued}
        if now:
            doc["upload"] = _send(ctx, _build_config(ctx))
    except DataError as exc:
        fail(exc.operator_message, EXIT_BAD_INPUT)
    finally:
        ctx.close()
    if as_json:
        emit_json(doc)
    else:
        click.echo(_("{count} appeal(s) queued to be sent again").format(count=queued)
                   + ("; " + _("sent {sent}, failed {failed}").format(sent=doc["upload"]["sent"],
                                                                     failed=doc["upload"]["failed"]) if now else
                      " " + _("by the next sstu run (connector sstu send to send now)")))
    sys.exit(EXIT_FAILED if now and doc["upload"]["failed"] else EXIT_OK)


@sstu.command("reconcile")
@click.option("--resend", "resend", is_flag=True, help="re-queue the missing, stale and rejected appeals")
@config_option
@json_option
def reconcile_cmd(resend: bool, config: Path | None, as_json: bool) -> None:
    """Compare what ССТУ holds (read-back API) with what we sent: missing, stale, rejected."""
    from connector.errors import ConnectorError
    from connector.sstu_export.client import SstuClient
    from connector.sstu_export.service import reconcile_portal, requeue

    ctx = _context(config)
    try:
        if not ctx.settings.sstu.base_url:
            fail(_("[sstu] base_url is not set: there is no read-back API to compare with"), EXIT_BAD_INPUT)
        client = SstuClient(ctx.settings.sstu.base_url, ctx.new_session("ССТУ"))
        results = reconcile_portal(ctx.store, ctx.settings, client)
        to_resend = sorted({n for r in results for n in r.report.to_resend})
        queued = requeue(ctx.store, ctx.settings, numbers=to_resend) if resend and to_resend else 0
    except DataError as exc:
        fail(exc.operator_message, EXIT_BAD_INPUT)
    except ConnectorError as exc:
        fail(exc.operator_message, EXIT_FAILED)
    finally:
        ctx.close()
    doc = {"departments": [r.as_dict() for r in results], "to_resend": to_resend, "queued": queued}
    if as_json:
        emit_json(doc)
    else:
        for r in results:
            rep = r.report
            click.echo(_("{department}: {matched} match, {missing} missing, {stale} stale, {rejected} rejected, "
                         "{unknown} unknown to us; not errors: {undelivered} not yet delivered by the portal, "
                         "{presidential} registered by the Presidential Administration (А26…), {unnumbered} "
                         "without a number").format(
                department=r.department_id, matched=rep.matched, missing=len(rep.missing), stale=len(rep.stale),
                rejected=len(rep.rejected), unknown=len(rep.unknown), undelivered=len(rep.undelivered),
                presidential=len(rep.presidential), unnumbered=rep.unnumbered))
            for d in (*rep.missing, *rep.stale, *rep.rejected):
                click.echo(f"  {d.kind:8} {d.number}: {d.reason}")
        if resend:
            click.echo(_("{count} appeal(s) queued to be sent again").format(count=queued))
        elif to_resend:
            click.echo(_("run with --resend to queue them again"))
    sys.exit(EXIT_OK if not to_resend or resend else EXIT_FAILED)
