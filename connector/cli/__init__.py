"""The ``connector`` command.  One small function per verb; the work lives in services.

Exit codes (``connector.cli._common``): 0 done or no differences, 1 the work failed or differences
were found, 2 bad usage or bad input.  ``--json`` prints one JSON document on stdout and nothing
else there, ``{"error": …}`` when the command failed.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from connector.cli._common import (
    EXIT_BAD_INPUT,
    EXIT_FAILED,
    EXIT_OK,
    ConnectorGroup,
    config_option,
    emit_json,
    fail,
    load,
    open_store,
)
from connector.cli._help import LateText
from connector.i18n import _, ngettext

__all__ = ["EXIT_BAD_INPUT", "EXIT_FAILED", "EXIT_OK", "main"]




@click.group(cls=ConnectorGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="pos-connector", message=LateText("%(prog)s, version %(version)s"))
def main() -> None:
    """pos-connector: POS («Госуслуги. Решаем вместе») ↔ EDMS ↔ SSTU.RF integration gateway."""


@main.command()
@click.option("--messages", default=50, show_default=True, type=click.IntRange(1, 100_000),
              help="how many messages the POS simulator seeds")
@click.option("--json", "as_json", is_flag=True, help="print a machine-readable summary only")
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), default=Path("var/demo"),
              show_default=True, help="the demo's own directory: what an earlier demo left there is replaced; "
                                      "a non-empty directory the demo did not create is refused")
@click.option("--edms", "edms", type=click.Choice(["onec", "medo", "directum"]), default="onec", show_default=True,
              help="which EDMS simulator the cycle registers cards in")
@click.option("--log-level", type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"]), default="WARNING",
              show_default=True, help="log records (JSON, masked) go to stderr")
def demo(messages: int, as_json: bool, data_dir: Path, edms: str, log_level: str) -> None:
    """One full cycle against the simulators on embedded defaults."""
    from connector.demo import DEMO_SECRETS, run_demo
    from connector.logs import configure_logging

    configure_logging(log_level, "json" if log_level != "WARNING" else "text", DEMO_SECRETS)
    with _progress(quiet=as_json) as step:
        report = run_demo(messages, data_dir, step, edms=edms)
    if as_json:
        emit_json(report.model_dump())
    else:
        _print_demo(report)
    sys.exit(EXIT_OK if report.ok else EXIT_FAILED)


def _print_demo(report: Any) -> None:
    rows = [
        (_("messages seeded in POS"), report.messages),
        (_("pulled into the store"), report.pulled),
        (_("cards in {edms}").format(edms=report.edms), report.cards),
        (_("duplicate cards"), report.duplicate_cards),
        (_("«Назначен исполнитель» in POS"), report.executor_assigned_in_pos),
        (_("answered in POS"), report.answered_in_pos),
        (_("duplicate answers"), report.duplicate_answers),
        (_("closed (POS confirmed)"), report.closed),
        (_("failures"), report.failures),
    ]
    if report.sstu is not None:
        rows += [
            (_("ССТУ: appeals sent"), report.sstu.sent),
            (_("ССТУ: appeals held by ССТУ"), report.sstu.accepted_by_sstu),
            (_("ССТУ: rejected"), report.sstu.rejected_by_sstu),
            (_("ССТУ: appeals in the archive"), report.sstu.archive_appeals),
            (_("ССТУ: archive valid"), _("yes") if report.sstu.archive_valid else _("NO")),
        ]
    if report.showcase is not None:
        rows.append((_("data showcase: items"), report.showcase.items))
    if report.discipline is not None:
        rows += _discipline_rows(report.discipline)
    click.echo("\n" + _("pos-connector demo summary"))
    width = max(len(label) for label, _value in rows)  # the Russian labels run longer than the English
    for label, value in rows:
        click.echo(f"  {label:<{width}} {value}")
    for reason in report.failure_reasons:
        click.echo(_("  failure: {reason}").format(reason=reason))
    if report.sstu is not None:
        for error in report.sstu.archive_errors:
            click.echo(_("  ССТУ archive: {error}").format(error=error))
        click.echo(_("  ССТУ archive: {error}").format(error=report.sstu.archive_dir))
    click.echo(_("  database: {location}").format(location=report.database))
    click.echo(_("RESULT: ") + (_("every message registered once, answered once, closed, reported to ССТУ once "
                                  "and on the data showcase")
                                if report.ok else _("NOT every message reached the end (see above)")))


def _discipline_rows(d: Any) -> list[tuple[str, Any]]:
    share = "—" if d.rated_high_share is None else f"{d.rated_high_share:.0%}"
    return [
        (_("early warnings sent"), d.warnings_sent),
        (_("new-message notices sent"), d.new_message_notices),
        (_("control tasks in the EDMS"), d.control_tasks),
        (_("received overdue"), d.overdue_received),
        (_("overdue by own fault"), d.overdue_own),
        (_("redirected to another organisation"), d.redirects),
        (_("ratings (share ≥ 4, target 80 %)"), f"{d.rated} ({share})"),
        (_("repeat appeals"), d.repeat_appeals),
        (_("weekly report e-mailed"), _("yes") if d.weekly_sent else _("NO")),
        (_("e-mails to the local SMTP sink"), d.mails),
        (_("discipline report"), d.report),
    ]


class _progress:
    """A progress display on a terminal, plain lines otherwise; silent for --json."""

    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet
        self._progress: Any = None

    def __enter__(self) -> Callable[[str], None]:
        if self.quiet:
            return lambda _s: None
        if sys.stderr.isatty():
            from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

            self._progress = Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
                                      transient=False)
            self._progress.start()
            task: list[Any] = []

            def step(label: str) -> None:
                if task:
                    self._progress.update(task[0], completed=1, total=1)
                task[:] = [self._progress.add_task(label, total=None)]

            return step
        return lambda label: click.echo(f"… {label}", err=True)

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            for task in self._progress.tasks:
                self._progress.update(task.id, completed=1, total=1)
            self._progress.stop()


@main.command()
@config_option
@click.option("--once", is_flag=True, help="run every job once and exit")
def run(config: Path | None, once: bool) -> None:
    """The daemon (or one pass of every job with --once)."""
    from connector.daemon import run_daemon

    settings = load(config, log_to_stdout=True)
    sys.exit(run_daemon(settings, once=once))


@main.command()
@click.argument("system", type=click.Choice(["pos", "edms", "sstu"]))
@click.option("--port", default=0, type=click.IntRange(0, 65535), help="0 picks a free port")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--faults", default="", help='e.g. "error_rate=0.1,rate_limit=0.05,latency_ms=20"')
@click.option("--kind", type=click.Choice(["onec", "medo", "directum"]), default="onec", show_default=True,
              help="which EDMS to simulate")
@click.option("--outbox", type=click.Path(file_okay=False, path_type=Path), default=Path("var/medo/outbox"),
              show_default=True, help="medo: the directory the connector writes packages to")
@click.option("--inbox", type=click.Path(file_okay=False, path_type=Path), default=Path("var/medo/inbox"),
              show_default=True, help="medo: the directory notifications and answers are written to")
@click.option("--interval", default=2.0, show_default=True, help="medo: seconds between outbox scans")
def sim(system: str, port: int, host: str, faults: str, kind: str, outbox: Path, inbox: Path,
        interval: float) -> None:
    """Run a simulator standalone (state in memory, /_sim/state to look inside)."""
    from connector.simulators.server import SimServer

    try:
        server = SimServer(_simulator(system, kind, faults, outbox, inbox, interval), host=host, port=port)
    except ValueError as exc:
        fail(str(exc), EXIT_BAD_INPUT)
    click.echo(_("{system} simulator listening on {url}").format(system=system,
                                                                url=server.url.replace("127.0.0.1", host)), err=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


def _simulator(system: str, kind: str, faults: str, outbox: Path, inbox: Path, interval: float) -> Any:
    from connector.simulators.faults import FaultSpec, parse_fault_spec

    if system == "pos":
        from connector.simulators.pos import PosSimulator
        from connector.simulators.pos.faults import PosFaultSpec

        return PosSimulator(faults=parse_fault_spec(faults, PosFaultSpec) if faults else None)
    if system == "sstu":
        from connector.simulators.sstu import SstuSimulator

        return SstuSimulator(faults=parse_fault_spec(faults, FaultSpec) if faults else None)
    if kind == "onec":
        from connector.simulators.onec import OnecFaultSpec, OnecSimulator

        return OnecSimulator(faults=parse_fault_spec(faults, OnecFaultSpec) if faults else None)
    if kind == "directum":
        from connector.simulators.directum import DirectumFaultSpec, DirectumSimulator

        return DirectumSimulator(faults=parse_fault_spec(faults, DirectumFaultSpec) if faults else None)
    from connector.simulators.medo import MedoFaultSpec, MedoSimulator, control_app

    medo = MedoSimulator(outbox, inbox, faults=parse_fault_spec(faults, MedoFaultSpec) if faults else None)
    medo.start_polling(interval)
    return control_app(medo)


@main.command()
@config_option
@click.option("--json", "as_json", is_flag=True)
def status(config: Path | None, as_json: bool) -> None:
    """Counts per lifecycle state, outbox depth, oldest pending item, messages waiting and why, last runs."""
    from connector.ops.status import status_report

    settings = load(config)
    store = open_store(settings)
    report = status_report(store, config_file=settings.source, zone=settings.sstu.zone)
    if as_json:
        emit_json(report.model_dump(mode="json"))
        return
    click.echo(_("configuration: {path}").format(path=report.config_file))
    click.echo(_("database: {location}").format(location=report.database))
    click.echo(_("messages by state:"))
    for state, count in sorted(report.messages_by_state.items()):
        click.echo(f"  {state:<14} {count}")
    click.echo(_("outbox pending: {count}").format(count=report.outbox_depth) + (
        _(" (oldest {seconds:.0f} s)").format(seconds=report.oldest_pending_seconds)
        if report.oldest_pending_seconds is not None else ""))
    if report.sstu_by_send_state:
        click.echo(_("ССТУ appeals: ") + ", ".join(f"{state} {count}"
                                                for state, count in sorted(report.sstu_by_send_state.items())))
    if report.showcase_by_send_state:
        click.echo(_("showcase items: ") + ", ".join(f"{state} {count}"
                                                     for state, count in sorted(report.showcase_by_send_state.items())))
    if report.waiting_by_reason:
        click.echo(_("waiting: ") + ", ".join(f"{reason} {count}"
                                           for reason, count in sorted(report.waiting_by_reason.items())))
        for held in report.waiting:
            until = _(" (to failures at {at:%Y-%m-%d %H:%M} UTC)").format(at=held.until) if held.until else ""
            click.echo(f"  {held.account}/{held.pos_id} {held.reason}{until}")
    click.echo(_("open failures: {count}").format(count=report.open_failures))
    for job, last in report.last_runs.items():
        click.echo(_("last {job:<9} {at:%Y-%m-%d %H:%M:%S %Z} processed={count} {verdict}").format(
            job=job, at=last.started_at, count=last.processed, verdict=last.verdict))


@main.group()
def failures() -> None:
    """The dead-letter queue and its re-run."""


@failures.command("list")
@config_option
@click.option("--json", "as_json", is_flag=True)
def failures_list(config: Path | None, as_json: bool) -> None:
    from connector.ops.failures import list_failures

    items = list_failures(open_store(load(config)))
    if as_json:
        emit_json([i.model_dump(mode="json") for i in items])
        return
    if not items:
        click.echo(_("no open failures"))
    for item in items:
        click.echo(f"#{item.id} {item.job:<8} {item.account}/{item.pos_id} {item.created_at:%Y-%m-%d %H:%M} UTC "
                   f"{item.reason}")


@failures.command("retry")
@config_option
@click.argument("ids", nargs=-1, type=int)
@click.option("--all", "retry_all", is_flag=True, help="re-queue every open failure")
def failures_retry(config: Path | None, ids: tuple[int, ...], retry_all: bool) -> None:
    from connector.ops.failures import retry_failures

    if bool(ids) == retry_all:
        fail(_("give failure IDs or --all (not both)"), EXIT_BAD_INPUT)
    result = retry_failures(open_store(load(config)), None if retry_all else ids)
    if result.unknown:
        fail(_("no open failure with id {ids} (see connector failures list); nothing was re-queued")
             .format(ids=", ".join(map(str, result.unknown))), EXIT_BAD_INPUT)
    click.echo(ngettext("re-queued {count} item", "re-queued {count} items", len(result.requeued))
               .format(count=len(result.requeued)))


@main.group()
def pos() -> None:
    """The POS side: reconciliation with the ЛКО's own export."""


@pos.command("reconcile")
@click.argument("export", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@config_option
@click.option("--account", help="the account the export belongs to (needed when there are several)")
@click.option("--fix", is_flag=True, help="queue the messages we never pulled for the next pull")
@click.option("--report", type=click.Path(dir_okay=False, path_type=Path), help="write the differences as XLSX")
@click.option("--json", "as_json", is_flag=True)
def pos_reconcile(export: Path, config: Path | None, account: str | None, fix: bool, report: Path | None,
                  as_json: bool) -> None:
    """Compare the ЛКО export (XLSX, sheet Sheet0) with what the connector holds."""
    from datetime import datetime

    from connector.errors import DataError
    from connector.ops.lko_reconcile import reconcile, write_report

    settings = load(config)
    names = [a.name for a in settings.accounts]
    if account is None and len(names) > 1:
        fail(_("several accounts ({names}): say which with --account").format(names=", ".join(names)),
             EXIT_BAD_INPUT)
    account = account or names[0]
    if account not in names:
        fail(_("no account named {name!r} in the configuration").format(name=account), EXIT_BAD_INPUT)
    try:
        result = reconcile(open_store(settings), account, export,
                           datetime.now(settings.sstu.zone).date(), fix=fix)
    except DataError as exc:
        fail(exc.operator_message, EXIT_BAD_INPUT)
    if report is not None:
        write_report(result, report)
    if as_json:
        emit_json(result.model_dump())
    else:
        click.echo(_("{account}: {rows} rows in the export, {count} difference(s)").format(
            account=account, rows=result.rows, count=len(result.differences)))
        for d in result.differences:
            click.echo(_("  {kind:<20} №{number} (row {row}) POS: {pos}  here: {ours}").format(
                kind=d.kind, number=d.number, row=d.row, pos=d.pos or "—", ours=d.ours or "—"))
        if result.queued:
            click.echo(_("queued for the next pull: {count}").format(count=len(result.queued)))
    # like sstu reconcile: differences are a finding to act on (exit 1), none is a clean bill (0)
    sys.exit(EXIT_FAILED if result.differences else EXIT_OK)


@main.group()
def edms() -> None:
    """The EDMS targets of the configuration."""


@edms.command("check")
@config_option
@click.option("--account", help="check only this account's target")
@click.option("--json", "as_json", is_flag=True)
def edms_check(config: Path | None, account: str | None, as_json: bool) -> None:
    """Validate each EDMS target's configuration and call its health check."""
    from connector.ops.edms_check import check_edms

    settings = load(config)
    if account is not None and account not in {a.name for a in settings.accounts}:
        fail(_("no account named {name!r} in the configuration").format(name=account), EXIT_BAD_INPUT)
    results = check_edms(settings, account)
    if as_json:
        emit_json([r.model_dump() for r in results])
    else:
        for r in results:
            verdict = _("ok") if r.ok else _("FAILED: {problem}").format(problem=r.problem)
            facts = "".join(f", {k}={v}" for k, v in r.details.items())
            click.echo(f"{r.account} → edms.{r.target} ({r.adapter}): {verdict}{facts}")
            for name, offered in r.capabilities.items():
                click.echo(f"  {name}: {offered}")
    sys.exit(EXIT_OK if all(r.ok for r in results) else EXIT_FAILED)


@main.group()
def db() -> None:
    """The state store: schema migrations, backup, restore, integrity check."""


@db.command("upgrade")
@config_option
def db_upgrade(config: Path | None) -> None:
    """Apply schema migrations (the daemon also does this on start)."""
    from connector.store.db import current_revision

    store = open_store(load(config), create=True)
    click.echo(_("database {location} at revision {revision}").format(location=store.location,
                                                                      revision=current_revision(store.engine)))


@db.command("backup")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@config_option
@click.option("--json", "as_json", is_flag=True)
def db_backup(file: Path, config: Path | None, as_json: bool) -> None:
    """Write the store and the files of data_dir to FILE (tar.gz) while the daemon runs."""
    from connector.store.backup import backup
    from connector.store.db import Store

    settings = load(config)
    store = Store(settings.daemon.resolved_database_url(), migrate=False, create=False)
    report = backup(store, settings.daemon.data_dir, file)  # an error is one line (ConnectorGroup)
    if as_json:
        emit_json(report.model_dump(mode="json"))
    else:
        click.echo(_("backup written to {path}: {backend} at revision {revision}, {messages} message(s), "
                     "{files} file(s), {bytes} bytes").format(
            path=report.path, backend=report.backend, revision=report.schema_revision, messages=report.messages,
            files=report.files, bytes=report.bytes))


@db.command("restore")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@config_option
@click.option("--force", is_flag=True, help="replace a store that already holds messages")
@click.option("--json", "as_json", is_flag=True)
def db_restore(file: Path, config: Path | None, force: bool, as_json: bool) -> None:
    """Replace the store and data_dir's files with a backup (stop the daemon first)."""
    from connector.daemon import AlreadyRunning, DaemonLock, lock_path
    from connector.store.backup import restore

    settings = load(config)
    # SQLite: the daemon's own lock proves it is stopped.  PostgreSQL has no such lock (several
    # workers share the database): stop every worker first, as the README says.
    path = lock_path(settings)
    lock = DaemonLock(path) if path is not None else None
    try:
        if lock is not None:
            lock.acquire()
    except AlreadyRunning as exc:
        fail(_("{problem}: stop it before a restore").format(problem=exc.shown), EXIT_FAILED)
    try:
        report = restore(settings.daemon.resolved_database_url(), settings.daemon.data_dir, file, force=force)
    finally:
        if lock is not None:
            lock.release()
    if as_json:
        emit_json(report.model_dump(mode="json"))
    else:
        click.echo(_("restored {path}: {messages} message(s), {files} file(s); database at revision {revision}")
                   .format(path=report.path, messages=report.messages, files=report.files,
                           revision=report.schema_revision))


@db.command("check")
@config_option
@click.option("--json", "as_json", is_flag=True)
def db_check(config: Path | None, as_json: bool) -> None:
    """Database integrity, every stored file present and intact, files that belong to nothing."""
    from connector.store.backup import check
    from connector.store.db import Store

    settings = load(config)
    report = check(Store(settings.daemon.resolved_database_url(), migrate=False, create=False),
                   settings.daemon.data_dir)
    if as_json:
        emit_json({**report.model_dump(mode="json"), "ok": report.ok})
    else:
        click.echo(_("database {location} at revision {revision}: {messages} message(s), {attachments} "
                     "attachment(s)").format(location=report.database, revision=report.schema_revision,
                                             messages=report.messages, attachments=report.attachments))
        for problem in report.problems:
            click.echo(f"  {problem.kind}: {problem.detail}")
        click.echo(_("ok") if report.ok else _("PROBLEMS FOUND"))
    sys.exit(EXIT_OK if report.ok else EXIT_FAILED)
