"""The language of what a person reads: CLI results and errors, help texts, alert e-mails.

Source strings are English and marked with :func:`_` / :func:`ngettext` (or :func:`N_` where a
string is defined before a language is known); the Russian catalog is
``connector/locale/ru/LC_MESSAGES/connector.mo`` (``make messages`` extracts, updates and
compiles it; ``tests/test_i18n.py`` fails on any message without a Russian text).  Technical log
lines stay English: they are for IT and the journal, not for the operator at the terminal.

Which language, first match wins:

1. ``CONNECTOR_UI__LANGUAGE`` (``ru`` or ``en``): like every ``CONNECTOR_`` variable it
   overrides the file, and it also applies before any configuration is read;
2. ``[ui] language`` of the loaded configuration (``"ru"`` or ``"en"``);
3. the locale, as POSIX orders it: ``LC_ALL``, then ``LC_MESSAGES``, then ``LANG``
   (``en_US.UTF-8`` → English, ``ru_RU.UTF-8`` → Russian; ``C`` names no language);
4. Russian.

Until a configuration is loaded (``connector --help``, "no configuration" errors) only 1, 3 and 4
can decide.
"""

from __future__ import annotations

import gettext as _gettext
import os
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any, Literal

from pydantic import Field

from connector.settings_base import StrictModel

Language = Literal["ru", "en"]
LANGUAGES: tuple[Language, ...] = ("ru", "en")
DEFAULT_LANGUAGE: Language = "ru"
DOMAIN = "connector"
LOCALE_DIR = Path(__file__).parent / "locale"
ENV_VARIABLE = "CONNECTOR_UI__LANGUAGE"

_configured: Language | None = None


class UiSettings(StrictModel):
    language: Language | None = Field(None, description='"ru" or "en"; unset: LC_ALL / LC_MESSAGES / LANG, '
                                                        "else Russian")


def use_language(language: Language | None) -> None:
    """Set by loading a configuration (``None``: the environment decides again)."""
    global _configured
    _configured = language


def language_of(data: Mapping[str, Any]) -> Language | None:
    """``[ui] language`` of a configuration not yet validated (a wrong value is reported by validation)."""
    ui = data.get("ui")
    value = ui.get("language") if isinstance(ui, Mapping) else None
    return value if value in LANGUAGES else None


def _code(value: str) -> Language | None:
    code = value.split(".")[0].split("@")[0].split("_")[0].lower()
    return code if code in LANGUAGES else None  # type: ignore[return-value]


def locale_language(environ: Mapping[str, str] | None = None) -> Language | None:
    """The language the POSIX locale variables name (the first one set decides), if ours."""
    env = os.environ if environ is None else environ
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        if env.get(name):
            return _code(env[name])
    return None


def current_language(environ: Mapping[str, str] | None = None) -> Language:
    env = os.environ if environ is None else environ
    return _code(env.get(ENV_VARIABLE, "")) or _configured or locale_language(env) or DEFAULT_LANGUAGE


@cache
def _translations(language: Language) -> _gettext.NullTranslations:
    if language == "en":
        return _gettext.NullTranslations()
    # a missing catalog is a packaging defect that tests/packaging catches; here it must not crash
    return _gettext.translation(DOMAIN, LOCALE_DIR, languages=[language], fallback=True)


def gettext(message: str) -> str:
    return _translations(current_language()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return _translations(current_language()).ngettext(singular, plural, n)


def N_(message: str) -> str:  # noqa: N802 - the gettext convention
    """Marks a string for the catalog without translating it now (translated where it is shown)."""
    return message


_ = gettext
