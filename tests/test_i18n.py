"""Russian for Russian users: the CLI speaks Russian by default and English when asked, and no English
sentence reaches a Russian reader (the catalog, extracted from the sources now, is complete)."""

from __future__ import annotations

import gettext
import re
import string
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from connector.cli import main
from connector.i18n import current_language, language_of, locale_language, use_language
from connector.simulators.server import SimServer

import simctl
from testconfig import onec_account_toml

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "packaging"))
import i18n_catalog  # noqa: E402

CONFIG = """
[daemon]
data_dir = "{data}"

[http]
allow_insecure = true
{ui}
""" + onec_account_toml("demo")


@pytest.fixture
def russian_locale(monkeypatch: pytest.MonkeyPatch) -> None:
    """A server whose locale names no language (C.UTF-8) and no override: the shipped default."""
    monkeypatch.delenv("CONNECTOR_UI__LANGUAGE", raising=False)
    for name in ("LC_ALL", "LC_MESSAGES"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LANG", "C.UTF-8")
    yield
    use_language(None)


def _config(tmp_path: Path, ui: str = "", extra: str = "") -> Path:
    path = tmp_path / "connector.toml"
    path.write_text(CONFIG.format(data=tmp_path / "data", pos="http://127.0.0.1:9", onec="http://127.0.0.1:9",
                                  ui=ui) + extra, encoding="utf-8")
    return path


# --- the catalog -------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def catalogs() -> tuple[object, object]:
    return i18n_catalog.template(), i18n_catalog.read_catalog()


def test_every_message_of_the_sources_has_a_russian_text(catalogs: tuple) -> None:
    template, ru = catalogs
    assert len(template) > 200  # the sources, the help texts and click's words were all found
    missing = i18n_catalog.untranslated(ru, template)
    assert not missing, "untranslated or fuzzy (run `make messages`, translate the .po): " + "; ".join(missing)


def _fields(text: str) -> set[str]:
    named = {f for _, f, _, _ in string.Formatter().parse(text) if f is not None}
    return named | set(re.findall(r"%\(\w+\)s", text))


def test_translations_keep_every_placeholder(catalogs: tuple) -> None:
    _template, ru = catalogs
    wrong = []
    for message in ru:
        if not message.id or not message.string:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        texts = message.string if isinstance(message.string, tuple) else (message.string,)
        # a plural's forms may leave out the count of the singular ("1 was given"), never add one
        allowed = set().union(*map(_fields, ids))
        for text in texts:
            if not _fields(text) <= allowed or (len(ids) == 1 and _fields(text) != allowed):
                wrong.append(f"{ids[0]!r} → {text!r}")
    assert not wrong, wrong


def test_the_shipped_mo_is_compiled_from_the_po(catalogs: tuple) -> None:
    _template, ru = catalogs
    with i18n_catalog.MO_FILE.open("rb") as fh:
        mo = gettext.GNUTranslations(fh)
    stale = []
    for message in ru:
        if not message.id:
            continue
        if isinstance(message.id, tuple):
            got = tuple(mo.ngettext(*message.id, n) for n in (1, 2, 5))
            if got != tuple(message.string):
                stale.append(message.id[0])
        elif mo.gettext(message.id) != message.string:
            stale.append(message.id)
    assert not stale, "connector.mo is older than connector.po: run `make messages`: " + "; ".join(stale[:5])


# --- which language ----------------------------------------------------------------------------

def test_precedence_override_then_configuration_then_locale_then_russian() -> None:
    try:
        use_language(None)
        assert current_language({}) == "ru"
        assert current_language({"LANG": "C.UTF-8"}) == "ru"
        assert current_language({"LANG": "en_US.UTF-8"}) == "en"
        assert current_language({"LANG": "en_US.UTF-8", "LC_MESSAGES": "ru_RU.UTF-8"}) == "ru"
        assert current_language({"LANG": "ru_RU.UTF-8", "LC_ALL": "en_GB.UTF-8"}) == "en"
        assert locale_language({"LC_ALL": "C", "LANG": "en_US.UTF-8"}) is None  # POSIX: LC_ALL decides
        use_language("en")
        assert current_language({"LANG": "ru_RU.UTF-8"}) == "en"
        assert current_language({"LANG": "en_US.UTF-8", "CONNECTOR_UI__LANGUAGE": "ru"}) == "ru"
        assert language_of({"ui": {"language": "en"}}) == "en"
        assert language_of({"ui": {"language": "de"}}) is None and language_of({}) is None
    finally:
        use_language(None)


# --- what the operator reads -------------------------------------------------------------------

def test_a_cli_error_is_russian_by_default(russian_locale: None, tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["status", "--config", str(tmp_path / "nope.toml")])
    assert result.exit_code == 2
    assert f"ошибка: в файле конфигурации {tmp_path / 'nope.toml'} есть ошибки:" in result.output
    assert f"не найден файл конфигурации: {tmp_path / 'nope.toml'}" in result.output
    assert "error:" not in result.output and "invalid configuration" not in result.output


def test_no_configuration_at_all_is_told_in_the_locale_language(russian_locale: None, tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CONNECTOR_CONFIG", raising=False)
    ru = CliRunner().invoke(main, ["failures", "list"])
    assert ru.exit_code == 2 and ru.output.startswith("ошибка: не найден файл конфигурации: укажите --config")
    monkeypatch.setenv("LANG", "en_US.UTF-8")
    en = CliRunner().invoke(main, ["failures", "list"])
    assert en.exit_code == 2 and en.output.startswith("error: no configuration: pass --config FILE")


def test_configuration_problems_in_russian_and_in_english_when_it_says_so(russian_locale: None,
                                                                         tmp_path: Path) -> None:
    (tmp_path / "ru").mkdir()
    (tmp_path / "en").mkdir()
    ru = CliRunner().invoke(main, ["status", "--config", str(_config(tmp_path / "ru", extra="\n[daemon2]\n"))])
    assert ru.exit_code == 2
    assert "daemon2: неизвестный параметр (опечатка? все параметры перечислены в примере конфигурации)" in ru.output
    # [ui] language = "en" wins over the locale, even for the configuration's own problems
    en_config = _config(tmp_path / "en", ui='\n[ui]\nlanguage = "en"\n', extra="\n[daemon2]\n")
    en = CliRunner().invoke(main, ["status", "--config", str(en_config)], env={"LANG": "ru_RU.UTF-8"})
    assert en.exit_code == 2
    assert f"error: invalid configuration in {en_config}:" in en.output
    assert "daemon2: Extra inputs are not permitted" in en.output


def test_results_and_help_follow_the_language(russian_locale: None, tmp_path: Path) -> None:
    config = _config(tmp_path)
    assert CliRunner().invoke(main, ["db", "upgrade", "--config", str(config)]).exit_code == 0
    ru = CliRunner().invoke(main, ["failures", "list", "--config", str(config)])
    assert ru.exit_code == 0 and ru.output.strip() == "открытых сбоев нет"
    retry = CliRunner().invoke(main, ["failures", "retry", "--config", str(config)])
    assert retry.exit_code == 2 and "укажите номера сбоев или --all" in retry.output
    status = CliRunner().invoke(main, ["status", "--config", str(config)])
    assert "сообщения по состояниям:" in status.output and "открытых сбоев: 0" in status.output

    assert CliRunner().invoke(main, ["--version"], prog_name="connector").output.startswith("connector, версия ")
    help_ru = CliRunner().invoke(main, ["failures", "--help"], prog_name="connector")
    assert help_ru.output.startswith("Использование: connector failures [OPTIONS] COMMAND [ARGS]...")
    assert "Очередь сбоев и повторная обработка." in help_ru.output and "Показать эту справку" in help_ru.output
    missing = CliRunner().invoke(main, ["failures", "retry", "--bogus"])
    assert missing.exit_code == 2 and "Ошибка: Нет параметра '--bogus'." in missing.output

    en_config = _config(tmp_path, ui='\n[ui]\nlanguage = "en"\n')
    en = CliRunner().invoke(main, ["failures", "list", "--config", str(en_config)])
    assert en.exit_code == 0 and en.output.strip() == "no open failures"
    help_en = CliRunner().invoke(main, ["failures", "--help"], env={"LANG": "en_US.UTF-8"}, prog_name="connector")
    assert help_en.output.startswith("Usage: connector failures")
    assert "The dead-letter queue and its re-run." in help_en.output
    assert CliRunner().invoke(main, ["--version"], env={"LANG": "en_US.UTF-8"}).output.startswith("connector, version ")


def test_a_held_lock_and_a_lost_database_are_russian_on_the_terminal_and_english_in_the_log(
        russian_locale: None, tmp_path: Path) -> None:
    from connector.daemon import AlreadyRunning, DaemonLock

    first, second = DaemonLock(tmp_path / "db.sqlite.lock"), DaemonLock(tmp_path / "db.sqlite.lock")
    first.acquire()
    try:
        with pytest.raises(AlreadyRunning) as held:
            second.acquire()
    finally:
        first.release()
    assert held.value.shown.startswith(f"база данных {tmp_path / 'db.sqlite'} уже используется другим экземпляром")
    assert str(held.value) == held.value.operator_message  # what the log records stays English
    assert held.value.operator_message.startswith(f"another daemon already uses the database {tmp_path / 'db.sqlite'}")

    config = _config(tmp_path, extra="")
    text = config.read_text(encoding="utf-8").replace(
        f'data_dir = "{tmp_path / "data"}"',
        f'data_dir = "{tmp_path / "data"}"\ndatabase_url = "postgresql://u:secret@127.0.0.1:9/db"')
    config.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(main, ["status", "--config", str(config)])
    assert result.exit_code != 0 and "ошибка: база данных недоступна: 127.0.0.1:9:" in result.output, result.output
    assert "database unavailable" not in result.output and "secret" not in result.output


def test_an_error_formats_its_numbers_in_english_and_in_russian(russian_locale: None,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """A number stays a number in ``params``: "{size:,}" renders with its separators in the log text
    and in the shown text alike (a string there would fail "Cannot specify ',' with 's'")."""
    from connector.errors import DataError
    from connector.i18n import N_

    exc = DataError(N_("{label}: would unpack to {size:,} bytes (limit {limit:,}): zip bomb suspected"),
                    params={"label": "in.zip", "size": 1234567, "limit": 1000})
    assert str(exc) == "in.zip: would unpack to 1,234,567 bytes (limit 1,000): zip bomb suspected"
    assert exc.shown == "in.zip: после распаковки 1,234,567 байт (предел 1,000): подозрение на zip-бомбу"
    monkeypatch.setenv("CONNECTOR_UI__LANGUAGE", "en")
    assert exc.shown == str(exc)
    monkeypatch.delenv("CONNECTOR_UI__LANGUAGE")

    # an error told inside another (its phrase()) keeps both: English in the log, translated when shown
    outer = DataError(N_("SSTU report: {error}"), params={"error": exc.phrase()})
    assert str(outer) == "SSTU report: in.zip: would unpack to 1,234,567 bytes (limit 1,000): zip bomb suspected"
    assert outer.shown == "отчёт ССТУ: in.zip: после распаковки 1,234,567 байт (предел 1,000): подозрение на zip-бомбу"


def test_a_failure_reason_is_stored_in_the_language_of_the_process(russian_locale: None, tmp_path: Path,
                                                                    pos_sim: SimServer, onec_sim: SimServer,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """A job's failure reason is what the operator reads later in `connector failures list` and
    `connector status`: Russian by default, English when the process runs in English."""
    simctl.seed(pos_sim, 1)
    simctl.faults(onec_sim, error_rate=1.0)  # 1С answers every request 503: registration cannot succeed
    listed = {}
    for language in ("ru", "en"):
        path = tmp_path / language / "connector.toml"
        path.parent.mkdir()
        config = CONFIG.format(data=path.parent / "data", pos=pos_sim.url, onec=onec_sim.url, ui="")
        path.write_text(config.replace("[daemon]\n", "[daemon]\nmax_attempts = 1\n", 1)
                        + "\n[retry]\nmax_attempts = 1\ninitial_wait = 0\nmax_wait = 0\n", encoding="utf-8")
        monkeypatch.setenv("LANG", "ru_RU.UTF-8" if language == "ru" else "en_US.UTF-8")
        CliRunner().invoke(main, ["run", "--once", "--config", str(path)])
        result = CliRunner().invoke(main, ["failures", "list", "--config", str(path)])
        assert result.exit_code == 0, result.output
        listed[language] = result.output
    url = f"{onec_sim.url}/base/ws/DMService"
    [ru], [en] = (re.findall(r"^#1 register +demo/\d+ [\d-]+ [\d:]+ UTC (.*)$", listed[k], re.M) for k in ("ru", "en"))
    assert re.fullmatch(rf"1С DMService по адресу {url}: на DM\w+Request получен ответ SOAP Fault \(HTTP 500\) "
                        r"\(после повторных попыток\)", ru), ru
    assert re.fullmatch(rf"1C DMService at {url}: DM\w+Request answered SOAP Fault \(HTTP 500\) after retries", en), en


def test_a_configuration_error_of_a_section_is_russian_by_default(russian_locale: None, tmp_path: Path) -> None:
    (tmp_path / "ru").mkdir()
    (tmp_path / "en").mkdir()
    bad = '\n[monitoring]\nlisten = "0.0.0.0:9464"\n'
    ru = CliRunner().invoke(main, ["status", "--config", str(_config(tmp_path / "ru", extra=bad))])
    assert ru.exit_code == 2
    assert "listen: '0.0.0.0' — не loopback-адрес" in ru.output and "allow_public = true" in ru.output
    assert "is not a loopback address" not in ru.output
    en_config = _config(tmp_path / "en", ui='\n[ui]\nlanguage = "en"\n', extra=bad)
    en = CliRunner().invoke(main, ["status", "--config", str(en_config)])
    assert en.exit_code == 2 and "listen: '0.0.0.0' is not a loopback address" in en.output


def test_report_weekly_send_without_recipients_is_bad_input_in_the_operator_language(russian_locale: None,
                                                                                     tmp_path: Path) -> None:
    """Exit 2 (bad input) comes from the configuration, not from the words of the message."""
    (tmp_path / "ru").mkdir()
    (tmp_path / "en").mkdir()
    ru = CliRunner().invoke(main, ["report", "weekly", "--send", "--config", str(_config(tmp_path / "ru"))])
    assert ru.exit_code == 2, ru.output
    assert "еженедельный отчёт: нужны [reports] recipients" in ru.output and "required" not in ru.output
    en = CliRunner().invoke(main, ["report", "weekly", "--send", "--config",
                                   str(_config(tmp_path / "en", ui='\n[ui]\nlanguage = "en"\n'))])
    assert en.exit_code == 2 and "are required" in en.output
