"""The one typed settings tree: TOML file + ``CONNECTOR_<SECTION>__<KEY>`` overrides + secret files.

Validated at start-up; every problem is reported at once, one line each, naming the key.
Each ``[edms.<name>]`` table becomes an instance of the settings model of the adapter it names
(found through the entry point, so a third-party adapter's keys are checked exactly like ours),
and its secrets are redacted like every other SecretStr.

This module is the composition root of the settings: each package keeps its own section's model
(``ops/settings.py``, ``sstu_export/settings.py``, …) and code below takes the narrow section it
needs, never this module.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import unquote, urlsplit

from pydantic import (
    BaseModel,
    BeforeValidator,
    Field,
    PrivateAttr,
    SecretStr,
    SerializeAsAny,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from connector.discipline.settings import ReportSettings
from connector.domain import CardStage, PosStatus
from connector.edms_adapters.base import AdapterSettings
from connector.errors import ConfigError
from connector.http_settings import HttpSettings, RetryPolicy
from connector.i18n import N_, UiSettings, _, current_language, language_of, use_language
from connector.notices.settings import NoticeSettings
from connector.ops.settings import AlertSettings, MonitoringSettings
from connector.pipeline.settings import PullSettings
from connector.pos_client.settings import AccountSettings
from connector.settings_base import LOAD_WARNINGS, SECRET_FILE_SUFFIX, StrictModel
from connector.showcase.settings import ShowcaseSettings
from connector.sstu_export.settings import SstuSettings

ENV_PREFIX = "CONNECTOR_"


class DaemonSettings(StrictModel):
    data_dir: Path = Field(Path("var"), description="state, attachments and the SQLite database live here")
    database_url: str = Field("", description="SQLAlchemy URL; empty means SQLite at <data_dir>/connector.db")
    worker_id: str = Field("", description="name of this worker in leases; empty means host:pid")
    batch_size: int = Field(20, ge=1, le=1000)
    concurrency: int = Field(4, ge=1, le=64, description="remote calls a job makes at once within a claimed batch; "
                                                          "database writes stay on one thread")
    batches_per_run: int = Field(5, ge=1, description="batches one scheduled job run takes before the next job")
    lease_seconds: int = Field(300, ge=10, description="a claimed item is free again after this long")
    max_attempts: int = Field(5, ge=1, description="failed attempts before an item lands in failures")
    retry_delay_seconds: int = Field(60, ge=0, description="first delay before an item is tried again; doubles")
    job_history_days: int = Field(30, ge=1, description="runs of each job older than this are pruned from job_runs")

    @field_validator("database_url")
    @classmethod
    def _supported_url(cls, value: str) -> str:
        if value:
            from connector.errors import UsageError
            from connector.store.db import parse_database_url

            try:
                parse_database_url(value)
            except UsageError as exc:
                raise ValueError(exc.operator_message) from None
        return value

    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'connector.db').resolve()}"


class ScheduleSettings(StrictModel):
    pull_seconds: int = Field(300, ge=1)
    register_seconds: int = Field(60, ge=1)
    track_seconds: int = Field(300, ge=1)
    push_seconds: int = Field(60, ge=1)
    sstu_seconds: int = Field(0, ge=0, description="0: the sstu job runs daily at [sstu] send_time; "
                                                   "N: every N seconds instead")
    sweep_seconds: int = Field(24 * 3600, ge=0, description="how often the sweep re-lists [pull] sweep_days "
                                                            "for what the incremental pulls missed; 0: never")
    misfire_grace_seconds: int = Field(60, ge=1)


class LoggingSettings(StrictModel):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    format: Literal["json", "text"] = "json"


def _default_status_map() -> dict[CardStage, PosStatus | None]:
    return {
        CardStage.REGISTERED: None,
        CardStage.IN_WORK: PosStatus.EXECUTOR_ASSIGNED,
        CardStage.EXTENDED: PosStatus.DEADLINE_EXTENDED,
        CardStage.ANSWER_READY: PosStatus.ANSWERED,
        CardStage.REDIRECTED: PosStatus.REDIRECTED_SUBORDINATE,
        CardStage.REFUSED: None,
    }


class MappingSettings(StrictModel):
    require_full: bool = Field(False, description="an unmapped POS category is an error, not a warning")


def _type_error(message: str, value: object) -> ValidationError:
    """An error at ``edms.<name>.type`` (the key that names the adapter)."""
    detail = InitErrorDetails(type=PydanticCustomError("edms_type", message), loc=("type",), input=value)
    return ValidationError.from_exception_data("AdapterSettings", [detail])


def _adapter_settings(value: Any, info: ValidationInfo) -> Any:
    """One ``[edms.<name>]`` table validated by the model of the adapter its ``type`` names."""
    if isinstance(value, AdapterSettings):
        return value
    if not isinstance(value, dict):
        raise ValueError(_("must be a table of the adapter's keys, [edms.<name>] with a type"))
    kind = value.get("type")
    if not isinstance(kind, str):
        raise _type_error(_("required (the adapter name, e.g. 'onec_dm')"), kind)
    from connector.edms_adapters.registry import settings_model  # entry points: only when needed

    try:
        model = settings_model(kind)
    except LookupError as exc:
        raise _type_error(str(exc), kind) from None
    except ImportError as exc:
        raise _type_error(_("the adapter {kind!r} cannot be imported: {error}").format(kind=kind, error=exc),
                          kind) from None
    return model.model_validate(value, context=info.context)


#: An EDMS target: the adapter's own settings model (kept as that subclass, dumped with its fields).
TargetSettings = SerializeAsAny[Annotated[AdapterSettings, BeforeValidator(_adapter_settings)]]


class Settings(StrictModel):
    daemon: DaemonSettings = Field(default_factory=DaemonSettings)
    schedule: ScheduleSettings = Field(default_factory=ScheduleSettings)
    pull: PullSettings = Field(default_factory=PullSettings)
    http: HttpSettings = Field(default_factory=HttpSettings)
    retry: RetryPolicy = Field(default_factory=RetryPolicy)
    logging: LoggingSettings = Field(default_factory=LoggingSettings)
    mapping: MappingSettings = Field(default_factory=MappingSettings)
    monitoring: MonitoringSettings = Field(default_factory=MonitoringSettings)
    alerts: AlertSettings = Field(default_factory=AlertSettings)
    sstu: SstuSettings = Field(default_factory=SstuSettings)
    ui: UiSettings = Field(default_factory=UiSettings)
    showcase: ShowcaseSettings = Field(default_factory=ShowcaseSettings)
    reports: ReportSettings = Field(default_factory=ReportSettings)
    notices: NoticeSettings = Field(default_factory=NoticeSettings)
    status_map: dict[CardStage, PosStatus | None] = Field(default_factory=_default_status_map)
    accounts: list[AccountSettings] = Field(min_length=1)
    edms: dict[str, TargetSettings] = Field(min_length=1)
    _source: str = PrivateAttr("")
    _load_warnings: list[str] = PrivateAttr(default_factory=list)

    @field_validator("status_map", mode="before")
    @classmethod
    def _merge_status_defaults(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            return value
        merged: dict[Any, Any] = dict(_default_status_map())
        merged.update({k: (v or None) for k, v in value.items()})
        return merged

    @model_validator(mode="after")
    def _cross_checks(self) -> Settings:
        problems = []
        names = [a.name for a in self.accounts]
        for name in sorted({n for n in names if names.count(n) > 1}):
            problems.append(_("accounts: name {name!r} is used twice").format(name=name))
        for i, account in enumerate(self.accounts):
            if account.edms not in self.edms:
                problems.append(_("accounts.{i}.edms: no [edms.{name}] target (have: {have})").format(
                    i=i, name=account.edms, have=", ".join(sorted(self.edms))))
        if self.sstu.enabled:
            for i, account in enumerate(self.accounts):
                if not (account.sstu_department_id or self.sstu.department_id):
                    problems.append(_("accounts.{i}.sstu_department_id: required for the SSTU report "
                                      "(or set [sstu] department_id for every account)").format(i=i))
        urls: list[tuple[str, object]] = [(f"accounts.{i}.pos_base_url", a.pos_base_url)
                                          for i, a in enumerate(self.accounts)]
        urls += [("sstu.base_url", self.sstu.base_url), ("alerts.webhook_url", self.alerts.webhook_url)]
        urls += [(f"edms.{n}.{k}", getattr(t, k)) for n, t in self.edms.items() for k in type(t).model_fields
                 if k == "url" or k.endswith("_url")]
        for key, url in urls:
            problem = url_problem(url)
            if problem:
                problems.append(f"{key}: {problem}")
        if not self.http.allow_insecure:
            insecure: list[tuple[str, object]] = [
                (f"accounts.{i}.pos_base_url", a.pos_base_url) for i, a in enumerate(self.accounts)]
            insecure.append(("sstu.base_url", self.sstu.base_url))
            insecure += [(f"edms.{n}.url", getattr(t, "url", None)) for n, t in self.edms.items()]
            for key, url in insecure:
                if isinstance(url, str) and url.lower().startswith("http://"):
                    problems.append(_("{key}: plain http:// is refused (credentials would travel in clear); "
                                      "use https:// or set [http] allow_insecure = true").format(key=key))
        problems += self.notices.problems(email_enabled=self.alerts.email_enabled)
        if problems:
            raise ValueError("\n".join(problems))
        return self

    @property
    def source(self) -> str:
        """The configuration file this tree was read from (or what stood in for one)."""
        return self._source

    def log_load_warnings(self) -> None:
        """Warnings found while loading (a secret file others can read), logged once logging is set up."""
        import logging

        for text in self._load_warnings:
            logging.getLogger("connector.config").warning(text)

    def account(self, name: str) -> AccountSettings:
        for account in self.accounts:
            if account.name == name:
                return account
        raise KeyError(name)

    def sstu_department(self, account_name: str) -> str:
        """The ССТУ GUID an account's appeals are reported under."""
        return self.account(account_name).sstu_department_id or self.sstu.department_id

    def secret_values(self) -> Iterator[str]:
        """Every secret value in the tree, for the redaction of logs, output and metrics: each
        SecretStr (``*_file`` already read), the EDMS targets' adapter models included, and every
        password embedded in a URL."""
        yield from _secrets_in(self)


_SECRET_KEYS = {"password", "token", "secret", "api_key"}


def _secrets_in(node: Any, key: str = "") -> Iterator[str]:
    """Secret values anywhere under ``node`` (a model, a raw table, a list, a value)."""
    if isinstance(node, SecretStr):
        if node.get_secret_value():
            yield node.get_secret_value()
    elif isinstance(node, BaseModel):
        for name in type(node).model_fields:
            yield from _secrets_in(getattr(node, name), name)
    elif isinstance(node, dict):
        for k, value in node.items():
            yield from _secrets_in(value, str(k))
    elif isinstance(node, list | tuple):
        for item in node:
            yield from _secrets_in(item, key)
    elif isinstance(node, str):
        if key in _SECRET_KEYS and node:
            yield node
        if "://" in node:
            yield from _url_password(node)


def _url_password(text: str) -> Iterator[str]:
    try:
        password = urlsplit(text.strip()).password
    except ValueError:
        return
    if password:
        yield password
        yield unquote(password)


def apply_env_overrides(data: dict[str, Any], environ: Mapping[str, str]) -> dict[str, Any]:
    """``CONNECTOR_DAEMON__DATA_DIR=/x`` sets ``daemon.data_dir``; list items by index."""
    for var, value in environ.items():
        if not var.startswith(ENV_PREFIX) or "__" not in var or var == "CONNECTOR_CONFIG":
            continue
        path = [p.lower() for p in var[len(ENV_PREFIX):].split("__")]
        node: Any = data
        for i, part in enumerate(path[:-1]):
            following_is_index = path[i + 1].isdigit()
            if isinstance(node, list):
                idx = int(part)
                while len(node) <= idx:
                    node.append({})
                node = node[idx]
                continue
            node = node.setdefault(part, [] if following_is_index else {})
        last = path[-1]
        if isinstance(node, list):
            idx = int(last)
            while len(node) <= idx:
                node.append({})
            node[idx] = value
        else:
            node[last] = value
    return data


# the usual mistakes in Russian (an English reader gets pydantic's own words, as does any other mistake)
_VALIDATION_MESSAGES = {
    "missing": N_("required key is missing"),
    "extra_forbidden": N_("unknown key (a typo? the example configuration lists every key)"),
    "literal_error": N_("must be one of {expected}"),
    "enum": N_("must be one of {expected}"),
    "int_type": N_("must be a whole number"),
    "int_parsing": N_("must be a whole number"),
    "float_type": N_("must be a number"),
    "float_parsing": N_("must be a number"),
    "bool_type": N_("must be true or false"),
    "bool_parsing": N_("must be true or false"),
    "string_type": N_("must be a text in quotes"),
    "greater_than": N_("must be greater than {gt}"),
    "greater_than_equal": N_("must be at least {ge}"),
    "less_than": N_("must be less than {lt}"),
    "less_than_equal": N_("must be at most {le}"),
    "string_pattern_mismatch": N_("does not match the pattern {pattern}"),
    "string_too_short": N_("must have at least {min_length} character(s)"),
    "too_short": N_("must have at least {min_length} item(s)"),
    "dict_type": N_("must be a table"),
    "list_type": N_("must be a list"),
}


def _validation_message(err: Any) -> str:
    template = _VALIDATION_MESSAGES.get(err["type"])
    if template is None or current_language() == "en":
        return str(err["msg"])
    try:
        return _(template).format(**{k: str(v) for k, v in (err.get("ctx") or {}).items()})
    except (KeyError, IndexError, ValueError):
        return str(err["msg"])


def format_validation_error(exc: ValidationError, prefix: str = "") -> list[str]:
    lines = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in (*([prefix] if prefix else []), *err["loc"]))
        msg = _validation_message(err).removeprefix("Value error, ")
        for part in msg.split("\n"):
            lines.append(f"{loc}: {part}" if loc else part)
    return lines


def url_problem(url: object) -> str | None:
    """Why a configured endpoint URL cannot work (scheme, host), or None; empty means "not set"."""
    if not isinstance(url, str) or not url:
        return None
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a port that is not a number
    except ValueError as exc:
        return _("not a valid URL {url!r}: {error}").format(url=url, error=exc)
    if parts.scheme.lower() not in ("http", "https"):
        return _("must start with https:// (or http://), got {url!r}").format(url=url)
    if not parts.hostname:
        return _("has no host, got {url!r}").format(url=url)
    return None


def _path_like(annotation: Any) -> bool:
    return annotation is Path or Path in getattr(annotation, "__args__", ())


def resolve_relative_paths(data: dict[str, Any], model: type[BaseModel], base: Path) -> None:
    """Make every relative path of a raw tree absolute against ``base`` (the configuration file's
    directory), driven by the model's types: its ``Path`` fields -- given or defaulted -- and the
    ``<secret>_file`` keys.  A daemon started by systemd and an operator's shell elsewhere then read
    the same files and the same database."""
    for name, field in model.model_fields.items():
        annotation = field.annotation
        if _path_like(annotation):
            value = data.get(name, field.default)
            if isinstance(value, str | Path) and str(value) and not Path(value).expanduser().is_absolute():
                data[name] = str(base / Path(value))
        elif isinstance(annotation, type) and issubclass(annotation, BaseModel):
            sub = data.setdefault(name, {})
            if isinstance(sub, dict):
                resolve_relative_paths(sub, annotation, base)
        elif getattr(annotation, "__origin__", None) is list:
            (item_type,) = getattr(annotation, "__args__", (None,))
            if isinstance(item_type, type) and issubclass(item_type, BaseModel):
                for item in data.get(name) or []:
                    if isinstance(item, dict):
                        resolve_relative_paths(item, item_type, base)
    for key, value in list(data.items()):
        if key.endswith(SECRET_FILE_SUFFIX) and key[: -len(SECRET_FILE_SUFFIX)] in model.model_fields \
                and isinstance(value, str) and not Path(value).expanduser().is_absolute():
            data[key] = str(base / value)


def settings_from_mapping(data: dict[str, Any], *, source: str = "<settings>", base_dir: Path | None = None) -> Settings:
    """Validate a raw tree, each EDMS target against its adapter's model; every problem at once.
    With ``base_dir`` relative paths are made absolute against it first."""
    if base_dir is not None:
        resolve_relative_paths(data, Settings, base_dir)
        for target in (data.get("edms") or {}).values():
            _resolve_target_paths(target, base_dir)
    warnings: list[str] = []
    try:
        settings = Settings.model_validate(data, context={LOAD_WARNINGS: warnings})
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc), source=source) from None
    settings._source = source
    settings._load_warnings = warnings
    return settings


def _resolve_target_paths(target: object, base_dir: Path) -> None:
    from connector.edms_adapters.registry import settings_model

    if isinstance(target, dict) and isinstance(target.get("type"), str):
        try:
            resolve_relative_paths(target, settings_model(target["type"]), base_dir)
        except (LookupError, ImportError):
            pass  # reported by the validation, naming the key


def load_settings(path: Path | None, environ: Mapping[str, str] | None = None) -> Settings:
    environ = os.environ if environ is None else environ
    data: dict[str, Any] = {}
    source = "environment"
    if path is not None:
        source = str(path)
        path = path.expanduser().absolute()
        source = str(path)
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            raise ConfigError([_("configuration file not found: {path}").format(path=path)], source=source) from None
        except IsADirectoryError:
            raise ConfigError([_("{path} is a directory, not a configuration file").format(path=path)],
                              source=source) from None
        except OSError as exc:
            raise ConfigError([_("cannot read {path}: {error}").format(path=path, error=exc.strerror)],
                              source=source) from None
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ConfigError([_("not UTF-8 text (byte 0x{byte:02x} at offset {offset}): save the file as UTF-8")
                               .format(byte=raw[exc.start], offset=exc.start)], source=source) from None
        try:
            data = tomllib.loads(text.removeprefix("\ufeff"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError([_("not valid TOML: {error}").format(error=exc)], source=source) from None
    data = apply_env_overrides(data, environ)
    use_language(language_of(data))  # its own problems are already told in the language it asks for
    # Relative paths resolve against the file's directory (without a file: the current one).
    base = path.parent if path is not None else Path.cwd()
    return settings_from_mapping(data, source=source, base_dir=base)


def default_config_path(environ: Mapping[str, str] | None = None) -> Path | None:
    environ = os.environ if environ is None else environ
    if environ.get("CONNECTOR_CONFIG"):
        return Path(environ["CONNECTOR_CONFIG"])
    for candidate in (Path("connector.toml"), Path("/etc/pos-connector/connector.toml")):
        if candidate.exists():
            return candidate
    return None
