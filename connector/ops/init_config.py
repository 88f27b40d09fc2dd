"""``connector init``: a minimal working configuration, with every secret in its own 0600 file.

The text is built from typed answers (pure), then written beside its secret files only after the
settings loader has accepted it, so an operator never ends up with a configuration that does not
start.  Everything not asked for keeps its documented default (the packaged example lists them).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

from connector.config import load_settings
from connector.errors import DataError
from connector.i18n import N_

EdmsType = Literal["onec_dm", "directum_rx", "medo"]


class EdmsAnswers(BaseModel):
    type: EdmsType
    url: str = ""
    login: str = ""
    password: str = ""
    outbox_dir: str = ""
    inbox_dir: str = ""
    sender_uid: str = ""
    sender_organization: str = ""
    addressee_organization: str = ""
    addressee_address: str = ""


class InitAnswers(BaseModel):
    account: str = Field("main", pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    pos_url: str
    pos_login: str
    pos_password: str
    edms_name: str = Field("main", pattern=r"^[A-Za-z0-9_-]{1,64}$")
    edms: EdmsAnswers
    data_dir: Path
    database_url: str = ""
    allow_insecure: bool = False


class InitResult(BaseModel):
    config: Path
    secret_files: list[Path]


def _q(value: object) -> str:
    text = str(value)
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def render(answers: InitAnswers, secrets_dir: Path) -> tuple[str, dict[Path, str]]:
    """The TOML text and the secret files it names (path → content)."""
    lko_secret = secrets_dir / f"{answers.account}-lko.password"
    secrets = {lko_secret: answers.pos_password}
    lines = [
        "# Written by `connector init`. Every other key keeps its default; the example that documents",
        "# them all: connector/resources/connector.example.toml (installed: /etc/pos-connector/).",
        "",
        "[daemon]",
        f"data_dir = {_q(answers.data_dir)}",
        f"database_url = {_q(answers.database_url)}",
        "",
        "[http]",
        f"allow_insecure = {'true' if answers.allow_insecure else 'false'}",
        "",
        "[[accounts]]",
        f"name = {_q(answers.account)}",
        f"pos_base_url = {_q(answers.pos_url)}",
        f"login = {_q(answers.pos_login)}",
        f"password_file = {_q(lko_secret)}",
        f"edms = {_q(answers.edms_name)}",
        "",
        f"[edms.{answers.edms_name}]",
        f"type = {_q(answers.edms.type)}",
    ]
    edms = answers.edms
    if edms.type == "medo":
        lines += [f"outbox_dir = {_q(edms.outbox_dir)}", f"inbox_dir = {_q(edms.inbox_dir)}",
                  f"sender_uid = {_q(edms.sender_uid)}", f"sender_organization = {_q(edms.sender_organization)}",
                  f"addressee_organization = {_q(edms.addressee_organization)}",
                  f"addressee_address = {_q(edms.addressee_address)}"]
    else:
        edms_secret = secrets_dir / f"{answers.edms_name}-edms.password"
        secrets[edms_secret] = edms.password
        lines += [f"url = {_q(edms.url)}", f"login = {_q(edms.login)}", f"password_file = {_q(edms_secret)}"]
        if edms.type == "directum_rx":  # RX requires them on every letter; `connector edms check` asks for them
            lines += ["# required before the first run (ids from IDocumentKinds, IBusinessUnits, IDepartments):",
                      "# document_kind_id = <id>", "# business_unit_id = <id>", "# department_id = <id>"]
    return "\n".join(lines) + "\n", secrets


def write(answers: InitAnswers, out: Path, *, force: bool) -> InitResult:
    """Write ``out`` and its secret files, or nothing at all (an invalid result raises DataError)."""
    out = out.absolute()
    if out.exists() and not force:
        raise DataError(N_("{path} already exists: pass --force to replace it"), params={"path": out})
    out.parent.mkdir(parents=True, exist_ok=True, mode=0o750)
    text, secrets = render(answers, out.parent)
    staged: list[tuple[Path, Path]] = []
    try:
        for target, content in [*secrets.items(), (out, text)]:
            fd, name = tempfile.mkstemp(dir=out.parent, prefix=f".{target.name}.")
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(content if target == out else content + "\n")
            os.chmod(name, 0o640 if target == out else 0o600)
            staged.append((Path(name), target))
        _validate(text, {target: part for part, target in staged})
        for part, target in staged:
            os.replace(part, target)
    finally:
        for part, _ in staged:
            part.unlink(missing_ok=True)
    return InitResult(config=out, secret_files=sorted(secrets))


def _validate(text: str, staged: dict[Path, Path]) -> None:
    """Load the configuration as the daemon will, reading the secrets from their staged copies."""
    probe = text
    for target, tmp in staged.items():
        probe = probe.replace(_q(target), _q(tmp))
    with tempfile.TemporaryDirectory() as tmp_dir:
        path = Path(tmp_dir) / "connector.toml"
        path.write_text(probe, encoding="utf-8")
        load_settings(path, environ={})
