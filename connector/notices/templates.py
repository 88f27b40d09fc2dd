"""The Russian texts of notices: ``string.Template`` files an administrator can override.

The built-in files live in ``connector/resources/notices/``; a file of the same name in
``[notices] templates_dir`` replaces one.  A template's first line is ``Subject: …``, then a
blank line, then the body.  ``$name`` placeholders are checked when the templates are loaded:
an unknown name is a configuration error naming the file, never a notice with "$numbr" in it.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from string import Template

from connector.errors import ConfigError

MESSAGE_FIELDS = frozenset({"number", "category", "problem_address", "due", "link", "unit", "executor",
                            "registration_number", "applicant_block"})
FIELDS: dict[str, frozenset[str]] = {
    "warning": MESSAGE_FIELDS | {"when", "when_sentence"},
    "new_message": MESSAGE_FIELDS,
    "control": MESSAGE_FIELDS | {"reason", "reason_sentence", "task"},
    "digest": frozenset({"unit", "day", "count", "overdue", "horizon", "items"}),
    "digest_item": frozenset({"number", "due", "days_left", "category", "problem_address", "executor", "link"}),
}


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str


@dataclass(frozen=True)
class NoticeTemplate:
    name: str
    source: str
    template: Template

    def render(self, values: dict[str, str]) -> Rendered:
        text = self.template.substitute(values)
        if self.name == "digest_item":
            return Rendered(subject="", text=text.strip())
        head, _, body = text.partition("\n")
        subject = " ".join(head.removeprefix("Subject:").split())
        return Rendered(subject=subject, text=body.lstrip("\n"))


class Templates:
    def __init__(self, override_dir: Path | None = None) -> None:
        self._by_name = {name: _load(name, override_dir) for name in FIELDS}

    def render(self, name: str, values: dict[str, str]) -> Rendered:
        return self._by_name[name].render(values)


def _load(name: str, override_dir: Path | None) -> NoticeTemplate:
    path = override_dir / f"{name}.txt" if override_dir is not None else None
    if path is not None and path.is_file():
        source = str(path)
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError([f"notices.templates_dir: cannot read {path}: {exc}"], source=source) from None
    else:
        source = f"connector/resources/notices/{name}.txt"
        text = files("connector.resources").joinpath("notices", f"{name}.txt").read_text(encoding="utf-8")
    template = Template(text.removeprefix("\ufeff"))
    if not template.is_valid():
        raise ConfigError([f"{source}: a '$' that is no placeholder (write $$ for a dollar sign)"], source=source)
    unknown = sorted(set(template.get_identifiers()) - FIELDS[name])
    if unknown:
        raise ConfigError([f"{source}: unknown placeholder ${unknown[0]} (known: "
                           f"{', '.join('$' + f for f in sorted(FIELDS[name]))})"], source=source)
    if name != "digest_item" and not text.removeprefix("\ufeff").startswith("Subject:"):
        raise ConfigError([f"{source}: the first line must be 'Subject: …'"], source=source)
    return NoticeTemplate(name=name, source=source, template=template)
