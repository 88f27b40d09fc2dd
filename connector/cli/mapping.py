"""``connector classifier …`` and ``connector mapping …``: thin verbs over rubric_mapping.service.

Exit codes: 0 success (validation warnings allowed); 1 the work was refused or failed
(``classifier use`` that would break mapping rows without --force); 2 bad input (unreadable
or invalid file, unknown edition/version).  ``--json`` prints one JSON document on stdout.
Tests may pass a ready ``Store`` as ``obj={"store": store}`` instead of ``--config``.
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
    config_option,
    emit_json,
    fail,
    json_option,
    load,
    open_store,
)
from connector.errors import ConnectorError, DataError
from connector.i18n import _, ngettext

existing_file = click.Path(exists=True, dir_okay=False, path_type=Path)
out_file = click.Path(dir_okay=False, writable=True, path_type=Path)


def _store(config: Path | None) -> Any:
    """The existing store (``connector db upgrade`` creates it): an import run from the wrong
    directory must not fill a new, empty database the daemon never reads."""
    ctx = click.get_current_context()
    if isinstance(ctx.obj, dict) and ctx.obj.get("store") is not None:
        return ctx.obj["store"]
    return open_store(load(config))


def _require_full(flag: bool, config: Path | None) -> bool:
    """--require-full, or ``[mapping] require_full = true`` in the configuration."""
    ctx = click.get_current_context()
    if flag or (isinstance(ctx.obj, dict) and ctx.obj.get("store") is not None):
        return flag
    return load(config).mapping.require_full


def _run(work: Callable[[], Any]) -> Any:
    try:
        return work()
    except DataError as exc:
        fail(exc.shown, EXIT_BAD_INPUT)
    except ConnectorError as exc:
        fail(exc.shown, EXIT_FAILED)


@click.group("classifier")
def classifier() -> None:
    """SSTU thematic classifier editions."""


@classifier.command("import")
@click.argument("file", type=existing_file)
@click.option("--edition", "label", help="edition label (default: the date in the file name)")
@click.option("--current/--no-current", default=True, show_default=True, help="make it the current edition")
@config_option
@json_option
def classifier_import(file: Path, label: str | None, current: bool, config: Path | None, as_json: bool) -> None:
    """Import an edition from the official .docx, the JSON tree form or an .xlsx."""
    from connector.rubric_mapping.service import import_classifier

    store = _store(config)
    report = _run(lambda: import_classifier(store, file, label, make_current=current))
    if as_json:
        emit_json(report)
        return
    click.echo(_("edition {edition}: {codes} codes ({questions} question-level), sections {sections}").format(
        edition=report["edition"], codes=report["node_count"], questions=report["question_count"],
        sections=report["sections"]) + (" — " + _("current") if report["current"] else ""))
    for item in report["cleaned"]:
        click.echo("  " + _("cleaned {code}: {reason} → «{after}»").format(
            code=item["code"], reason=item["reason"], after=item["after"]))
    for item in report["recovered"]:
        click.echo("  " + _("recovered {raw} → {code} (footnote {footnote}, {where})").format(
            raw=item["raw"], code=item["code"], footnote=item["footnote"], where=item["where"]))
    for item in report["rejected"]:
        click.echo("  " + _("rejected {raw} ({where}): {reason}").format(
            raw=repr(item["raw"]), where=item["where"], reason=item["reason"]))
    for item in report["duplicates"]:
        click.echo("  " + _("duplicate {code}: kept «{kept}», ignored «{ignored}»").format(
            code=item["code"], kept=item["kept"], ignored=item["ignored"]))
    for line in report["warnings"]:
        click.echo("  " + _("warning: {text}").format(text=line))


@classifier.command("list")
@config_option
@json_option
def classifier_list(config: Path | None, as_json: bool) -> None:
    """Editions in the database; * marks the current one."""
    from connector.rubric_mapping.service import list_editions

    rows = _run(lambda: list_editions(_store(config)))
    if as_json:
        emit_json(rows)
        return
    for row in rows:
        codes = ngettext("{count} code", "{count} codes", row["nodes"]).format(count=f"{row['nodes']:>6}")
        click.echo(f"{'*' if row['current'] else ' '} {row['edition']:<20} {codes}  {row['source']}  "
                   f"{row['imported_at']}")


@classifier.command("use")
@click.argument("label")
@click.option("--force", is_flag=True, help="switch even if mapped codes vanish or move")
@config_option
@json_option
def classifier_use(label: str, force: bool, config: Path | None, as_json: bool) -> None:
    """Make LABEL the current edition, after listing the mapping rows it would break."""
    from connector.rubric_mapping.service import use_edition

    outcome = _run(lambda: use_edition(_store(config), label, force=force))
    impact = outcome.impact
    if as_json:
        emit_json({"switched": outcome.switched, **impact.to_dict()})
    else:
        for row in impact.vanished:
            click.echo("  " + _("vanished {code} ({category})").format(
                code=row["code"], category=row["path"] or row["category"]))
        for row in impact.moved:
            click.echo("  " + _("moved {code} → {new_codes} ({category})").format(
                code=row["code"], new_codes=row["new_codes"], category=row["path"] or row["category"]))
        for row in impact.renamed:
            click.echo("  " + _("renamed {code}: «{name}» → «{new_name}»").format(
                code=row["code"], name=row["name"], new_name=row["new_name"]))
        click.echo(_("current edition: {label}").format(label=label) if outcome.switched else
                   _("not switched: {vanished} vanished and {moved} moved codes are mapped; fix the mapping first "
                     "or pass --force").format(vanished=len(impact.vanished), moved=len(impact.moved)))
    sys.exit(EXIT_OK if outcome.switched else EXIT_FAILED)


@click.group("mapping")
def mapping() -> None:
    """POS categories → SSTU codes: workbook, validation, versions."""


@mapping.command("categories")
@click.option("--from-pos", "account", metavar="ACCOUNT",
              help="fetch the category classifier from this account's POS API (/v1/categories)")
@click.option("--file", "file", type=existing_file, help="or read it from «Категории_ПОС» (.xls/.xlsx) or JSON")
@config_option
@json_option
def mapping_categories(account: str | None, file: Path | None, config: Path | None, as_json: bool) -> None:
    """Refresh the stored POS category list the workbook and the validator use."""
    if (account is None) == (file is None):
        fail(_("give --from-pos ACCOUNT or --file FILE (one of them)"), EXIT_BAD_INPUT)
    from connector.rubric_mapping import service

    if file is not None:
        store = _store(config)
        tree = _run(lambda: service.store_categories_file(store, file))
    else:
        from connector.pos_client import PosClient
        from connector.transport import session_for

        settings = load(config)
        if account not in {a.name for a in settings.accounts}:
            fail(_("no account named {name!r} in the configuration").format(name=account), EXIT_BAD_INPUT)
        store = _store(config)
        client = PosClient(settings.account(str(account)),
                           session_for(settings.http, settings.retry, system=f"POS {account}"))
        try:
            tree = _run(lambda: service.refresh_categories_from_api(store, client))
        finally:
            client.close()
    doc = {"categories": len(tree.by_id), "leaves": sum(1 for c in tree.by_id.values() if c.level == 3)}
    emit_json(doc) if as_json else click.echo(_("stored {categories} POS categories ({facts} facts)").format(
        categories=doc["categories"], facts=doc["leaves"]))


@mapping.command("template")
@click.argument("out", type=out_file)
@click.option("--categories", "categories", type=existing_file,
              help="POS categories (.xls/.xlsx «Категории_ПОС» or JSON list); default: the stored list")
@config_option
@json_option
def mapping_template(out: Path, categories: Path | None, config: Path | None, as_json: bool) -> None:
    """Write an empty mapping workbook for the current edition."""
    from connector.rubric_mapping.service import make_template

    doc = _run(lambda: make_template(_store(config), out, categories))
    emit_json(doc) if as_json else click.echo(_("{out}: {rows} POS categories, edition {edition}").format(
        out=out, rows=doc["rows"], edition=doc["edition"]))


@mapping.command("export")
@click.argument("out", type=out_file)
@config_option
@json_option
def mapping_export(out: Path, config: Path | None, as_json: bool) -> None:
    """Write the current mapping in the template's form."""
    from connector.rubric_mapping.service import export_mapping

    doc = _run(lambda: export_mapping(_store(config), out))
    emit_json(doc) if as_json else click.echo(_("{out}: {rows} rows, mapping version {version}, edition {edition}").format(
        out=out, rows=doc["rows"], version=doc["version"], edition=doc["edition"]))


def _print_problems(doc: dict[str, Any]) -> None:
    from connector.rubric_mapping.validate import Problem

    for p in doc["problems"]:
        click.echo(str(Problem(**p)))  # "Ошибка: Сопоставление!C7: …", the one rendering of a problem
    click.echo(_("{file}: {rows} rows, {mapped} mapped, {unmapped} unmapped, {errors} errors, {warnings} warnings")
               .format(file=doc["file"], rows=doc["data_rows"], mapped=doc["mapped"], unmapped=doc["unmapped"],
                       errors=doc["errors"], warnings=doc["warnings"])
               + " — " + (_("VALID") if doc["valid"] else _("INVALID")))


@mapping.command("validate")
@click.argument("file", type=existing_file)
@click.option("--require-full", is_flag=True, help="unmapped POS categories are errors, not warnings")
@click.option("--report", "report", type=out_file, help="write a workbook with the offending cells highlighted")
@config_option
@json_option
def mapping_validate(file: Path, require_full: bool, report: Path | None, config: Path | None,
                     as_json: bool) -> None:
    """Check a filled workbook against the current edition and POS categories."""
    from connector.rubric_mapping.service import validate_file

    full = _require_full(require_full, config)
    result = _run(lambda: validate_file(_store(config), file, require_full=full, report=report))
    doc = result.to_dict()
    emit_json(doc) if as_json else _print_problems(doc)
    sys.exit(EXIT_OK if result.ok else EXIT_BAD_INPUT)


@mapping.command("import")
@click.argument("file", type=existing_file)
@click.option("--require-full", is_flag=True, help="unmapped POS categories are errors, not warnings")
@config_option
@json_option
def mapping_import(file: Path, require_full: bool, config: Path | None, as_json: bool) -> None:
    """Store a new mapping version if FILE is valid and differs from the latest one."""
    from connector.rubric_mapping.service import import_mapping

    full = _require_full(require_full, config)
    doc = _run(lambda: import_mapping(_store(config), file, require_full=full))
    if as_json:
        emit_json(doc)
    else:
        if not doc["validation"]["valid"]:
            _print_problems(doc["validation"])
            click.echo(_("nothing stored"))
        elif doc["stored"]:
            click.echo(_("stored mapping version {version}").format(version=doc["version"]))
        else:
            click.echo(_("unchanged: same content as version {version}, nothing stored").format(
                version=doc["version"]))
    sys.exit(EXIT_OK if doc["validation"]["valid"] else EXIT_BAD_INPUT)


@mapping.command("diff")
@click.argument("a")
@click.argument("b")
@config_option
@json_option
def mapping_diff(a: str, b: str, config: Path | None, as_json: bool) -> None:
    """What changed between two versions (numbers) or workbooks (paths)."""
    from connector.rubric_mapping.service import diff

    doc = _run(lambda: diff(_store(config), a, b))
    if as_json:
        emit_json(doc)
        return
    for row in doc["added"]:
        click.echo(f"+ {row['category']} {row['path']}: {row['code']}")
    for row in doc["removed"]:
        click.echo(f"- {row['category']} {row['path']}: {row['code']}")
    for row in doc["changed"]:
        click.echo(f"~ {row['category']} {row['path']}: {row['old_code']} → {row['new_code']}")
    if not (doc["added"] or doc["removed"] or doc["changed"]):
        click.echo(_("no differences"))
