"""The base of every settings model (ours and adapters'): strict keys, secrets from files."""

from __future__ import annotations

import logging
import stat
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, SecretStr, ValidationInfo, model_validator

SECRET_FILE_SUFFIX = "_file"
LOAD_WARNINGS = "load_warnings"  # validation context key: a list collecting warnings to log once logging is set up

log = logging.getLogger("connector.config")


class StrictModel(BaseModel):
    """Base of every settings model: unknown keys are errors; ``x_file`` fills secret ``x``."""

    model_config = ConfigDict(extra="forbid", validate_default=True)

    @model_validator(mode="before")
    @classmethod
    def _read_secret_files(cls, data: Any, info: ValidationInfo) -> Any:
        if not isinstance(data, dict):
            return data
        data = dict(data)
        for key in list(data):
            if not key.endswith(SECRET_FILE_SUFFIX):
                continue
            target = key[: -len(SECRET_FILE_SUFFIX)]
            field = cls.model_fields.get(target)
            if field is None or SecretStr not in _annotation_types(field.annotation):
                continue
            path = Path(str(data.pop(key))).expanduser()
            try:
                content = path.read_text(encoding="utf-8")
            except OSError as exc:
                from connector.i18n import _  # connector.i18n imports this module

                raise ValueError(_("{key}: cannot read secret file {path}: {error}").format(
                    key=key, path=path, error=exc.strerror)) from None
            _warn_if_world_readable(path, key, info)
            data[target] = content.rstrip("\r\n")
        return data


def _annotation_types(annotation: Any) -> tuple[Any, ...]:
    args = getattr(annotation, "__args__", None)
    return tuple(args) if args else (annotation,)


def _warn_if_world_readable(path: Path, key: str, info: ValidationInfo) -> None:
    mode = path.stat().st_mode
    if mode & (stat.S_IRGRP | stat.S_IROTH):
        collected = info.context.get(LOAD_WARNINGS) if isinstance(info.context, dict) else None
        if isinstance(collected, list):
            from connector.i18n import _  # connector.i18n imports this module

            # collected warnings are shown to the operator; the log line below stays English
            text = _("{key}: secret file {path} is readable by other users (chmod 600 it)").format(key=key, path=path)
            if text not in collected:
                collected.append(text)
        else:
            log.warning(f"{key}: secret file {path} is readable by other users (chmod 600 it)")
