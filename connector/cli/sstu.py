"""``connector sstu …``: SSTU exports.  Registered by ``main.add_command(sstu)``.

Exit codes: 0 valid, 2 errors in the input (or bad usage); ``--json`` prints one document.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from connector.errors import DataError

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2
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
        click.echo(f"error: {exc.operator_message}", err=True)
        sys.exit(EXIT_BAD_INPUT)
    report = check_path(path, codes=codes)
    if as_json:
        click.echo(json.dumps(report.as_dict(), ensure_ascii=False, indent=2))
    else:
        for finding in report.findings[:MAX_PRINTED]:
            click.echo(f"error: {finding}", err=True)
        if len(report.findings) > MAX_PRINTED:
            click.echo(f"… and {len(report.findings) - MAX_PRINTED} more error(s)", err=True)
        click.echo(f"{report.appeals} appeal(s) in {report.files} file(s)"
                   + (f" from {report.archives} archive(s)" if report.archives else "")
                   + (f", {report.skipped} other file(s) skipped" if report.skipped else "")
                   + (": valid" if report.ok else f": {len(report.findings)} error(s)"))
    sys.exit(EXIT_OK if report.ok else EXIT_BAD_INPUT)
