"""``make messages``: extract every operator-facing string, update the Russian catalog, compile it.

Three sources make the template (Babel's extract API):

* ``_()`` / ``ngettext()`` / ``N_()`` calls under ``connector/``;
* the help texts of the command tree (docstrings and ``help=``, see ``connector/cli/_help.py``);
* click's own words ("Usage:", "Missing option …"), which the CLI routes through our catalog.

``connector/locale/ru/LC_MESSAGES/connector.po`` is updated in place (new strings get an empty
text, changed ones are marked fuzzy) and compiled to ``connector.mo`` beside it; both are
committed, so a wheel or an offline bundle is built without Babel.  ``tests/test_i18n.py``
fails while any string has no Russian text, is fuzzy, or the ``.mo`` is older than the ``.po``.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "connector"
PO_FILE = PACKAGE / "locale" / "ru" / "LC_MESSAGES" / "connector.po"
MO_FILE = PO_FILE.with_suffix(".mo")
_SKIP = ("simulators",)  # test doubles: what they say is never shown to an operator


def _source_messages() -> Iterator[tuple[str | tuple[str, ...], str, int]]:
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(ROOT)
        if any(part in _SKIP for part in rel.parts):
            continue
        with path.open("rb") as fh:
            for lineno, message, _comments, _context in extract("python", fh, DEFAULT_KEYWORDS):
                yield message, str(rel), lineno


def _click_messages() -> Iterator[tuple[str | tuple[str, ...], str, int]]:
    from connector.cli._help import CLICK_MODULES

    for name in CLICK_MODULES:
        path = Path(str(importlib.import_module(name).__file__))
        with path.open("rb") as fh:
            for lineno, message, _comments, _context in extract("python", fh, DEFAULT_KEYWORDS):
                yield message, f"click/{path.name}", lineno


def _help_messages() -> Iterator[tuple[str, str, int]]:
    from connector.cli import main
    from connector.cli._help import help_texts

    for text in help_texts(main):
        yield text, "connector/cli (help)", 0


def template() -> Catalog:
    catalog = Catalog(project="pos-connector", domain="connector")
    for source in (_source_messages(), _help_messages(), _click_messages()):
        for message, where, lineno in source:
            if isinstance(message, tuple):
                if not message[0]:
                    continue  # ngettext with a variable: nothing to translate at the call
                message = (message[0], message[1])
            elif not message:
                continue
            catalog.add(message, locations=[(where, lineno)])
    return catalog


def read_catalog(path: Path = PO_FILE) -> Catalog:
    with path.open("rb") as fh:
        return read_po(fh, locale="ru", domain="connector")


def update() -> Catalog:
    catalog = read_catalog() if PO_FILE.exists() else Catalog(locale="ru", domain="connector")
    created = catalog.creation_date
    catalog.update(template())
    if PO_FILE.exists():
        catalog.creation_date = created  # a run that changes no message changes no byte (fewer merge conflicts)
    catalog.project, catalog.fuzzy = "pos-connector", False
    catalog.language_team = catalog.last_translator = "pos-connector maintainers"
    PO_FILE.parent.mkdir(parents=True, exist_ok=True)
    with PO_FILE.open("wb") as fh:
        write_po(fh, catalog, width=110, ignore_obsolete=True, include_lineno=False)
    return catalog


def compile_mo(catalog: Catalog | None = None) -> None:
    catalog = catalog or read_catalog()
    with MO_FILE.open("wb") as fh:
        write_mo(fh, catalog, use_fuzzy=False)


def untranslated(catalog: Catalog, wanted: Catalog | None = None) -> list[str]:
    """Every message of ``wanted`` (default: the catalog's own) a Russian reader would see in English."""
    bad = []
    for message in wanted if wanted is not None else catalog:
        if not message.id:
            continue
        found = catalog.get(message.id)
        strings = () if found is None else found.string if isinstance(found.string, tuple) else (found.string,)
        if found is None or found.fuzzy or not strings or not all(strings):
            bad.append(message.id if isinstance(message.id, str) else message.id[0])
    return bad


def main() -> int:
    catalog = update()
    compile_mo(read_catalog())
    missing = untranslated(read_catalog())
    for msgid in missing:
        print(f"untranslated or fuzzy: {msgid!r}", file=sys.stderr)
    print(f"{PO_FILE.relative_to(ROOT)}: {len(catalog) - len(missing)} translated, {len(missing)} to do")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
