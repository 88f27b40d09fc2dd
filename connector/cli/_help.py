"""Help texts in the reader's language.

Click evaluates help texts (docstrings, ``help=``) when the command tree is built, at import,
before any language is known; so they stay English in the tree and :func:`localize` swaps in
their translation just before a command line is parsed.  The catalog gets them from
:func:`help_texts` (``packaging/i18n_catalog.py``), so a new command's help is in the catalog
without marking anything.  Click's own words ("Usage:", "Missing option", …) go through the same
catalog: its modules call a module-level ``_``/``ngettext``, which :func:`route_click_messages`
points at ours.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Iterator

import click

from connector.i18n import gettext, ngettext

# click's modules that translate what a user sees (the rest: Windows console, shell completion)
CLICK_MODULES = ("click.core", "click.decorators", "click.exceptions", "click.formatting", "click.parser",
                 "click.termui", "click.types", "click.utils")
_ORIGINAL = "_connector_msgid"


def route_click_messages() -> None:
    for name in CLICK_MODULES:
        module = importlib.import_module(name)
        if hasattr(module, "_"):
            module._ = gettext  # type: ignore[attr-defined]
        if hasattr(module, "ngettext"):
            module.ngettext = ngettext  # type: ignore[attr-defined]


class LateText(str):
    """A text click formats with ``%`` long after import (the ``--version`` line): translated then."""

    def __mod__(self, values: object) -> str:
        return gettext(str(self)) % values


def _walk(command: click.Command) -> Iterator[click.Command]:
    yield command
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            yield from _walk(sub)


def _texts(obj: object, attrs: tuple[str, ...]) -> dict[str, str]:
    """The English texts of ``obj`` (remembered the first time, before any translation)."""
    kept: dict[str, str] | None = getattr(obj, _ORIGINAL, None)
    if kept is None:
        kept = {a: inspect.cleandoc(v) for a in attrs if isinstance(v := getattr(obj, a, None), str) and v}
        setattr(obj, _ORIGINAL, kept)
    return kept


_COMMAND_ATTRS = ("help", "short_help", "epilog")
_PARAM_ATTRS = ("help",)


def help_texts(root: click.Command) -> Iterator[str]:
    load_all = getattr(root, "load_all", None)
    if load_all is not None:
        load_all()  # the verb groups the root imports only when named
    for command in _walk(root):
        yield from _texts(command, _COMMAND_ATTRS).values()
        for param in command.params:
            yield from _texts(param, _PARAM_ATTRS).values()


def localize(root: click.Command) -> None:
    for command in _walk(root):
        if hasattr(command, "_help_option"):
            command._help_option = None  # click builds --help once, in the language of that moment
        for attr, text in _texts(command, _COMMAND_ATTRS).items():
            setattr(command, attr, gettext(text))
        for param in command.params:
            for attr, text in _texts(param, _PARAM_ATTRS).items():
                setattr(param, attr, gettext(text))
