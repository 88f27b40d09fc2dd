"""Settings of the МЭДО adapter: the ``[edms.<name>]`` table with ``type = "medo"``.

Directories are the site's exchange with its МЭДО gateway/АРМ (edms.md §5.3: delivery mechanics are
the site's choice); names of organisations, addresses and the document kind differ per installation.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from connector.edms_adapters.base import AdapterSettings
from connector.i18n import _

GUID_PATTERN = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"


class MedoSettings(AdapterSettings):
    type: Literal["medo"]
    outbox_dir: Path = Field(description="where we drop packages for the МЭДО gateway")
    inbox_dir: Path = Field(description="where the gateway drops notifications and answers for us")
    archive_dir: Path | None = Field(None, description="processed inbox packages (default <inbox>/../archive)")
    quarantine_dir: Path | None = Field(None, description="rejected inbox packages (default <inbox>/../quarantine)")
    sender_uid: str = Field(pattern=GUID_PATTERN, description="our МЭДО participant GUID (header/source@uid)")
    sender_organization: str = Field(min_length=1)
    addressee_organization: str = Field(min_length=1)
    addressee_address: str = Field(min_length=1, description="МЭДО address for the INI [АДРЕСАТЫ] section")
    document_kind: str = "Обращение гражданина"
    correspondent_organization: str = "Платформа обратной связи (ПОС)"
    encoding: Literal["utf-8", "windows-1251"] = Field("utf-8", description="encoding of the XML/INI we write")
    answer_days: int | None = Field(None, ge=1, le=365,
                                    description="deadline = registration date + this (None: the target's answer_days)")
    max_package_mb: int = Field(100, ge=1, description="refuse to send bigger packages; also the inflate limit")
    scan_interval_seconds: float = Field(1.0, ge=0, description="inbox rescans at most this often unless it changed")
    incomplete_grace_seconds: float = Field(600.0, ge=0,
                                            description="a package without its envelope waits this long, "
                                                        "then is quarantined as incomplete")
    annotation_limit: int = Field(2000, ge=100, description="characters of the appeal text put into annotation")
    header_type: Literal["Транспортный контейнер", "Документ"] = Field(
        "Транспортный контейнер", description="header of what we send: 2.7 writers send the container only "
                                              "(M1); «Документ» adds the full xdms:document beside it")
    signatory: str = Field("", description="who signs what we send: document signatories and the passport's "
                                           "sign (M4 marks signatories required); empty: none is written")
    signatory_post: str = ""
    signature_command: list[str] | None = Field(
        None, min_length=1, description="run as <command…> <main.pdf> <main.pdf.p7s> to write the detached "
                                        "signature named in the passport; None: no .p7s (the gateway signs)")
    pdf_font: Path | None = Field(None, description="TrueType font with Cyrillic for the PDF main document "
                                                    "(default: DejaVu Sans or Liberation Sans if installed)")

    @model_validator(mode="after")
    def _signature_needs_a_signer(self) -> MedoSettings:
        if self.signature_command and not self.signatory:
            raise ValueError(_("signature_command needs signatory (the passport names the signature under its signer)"))
        return self

    @property
    def archive_path(self) -> Path:
        return self.archive_dir or self.inbox_dir.parent / "archive"

    @property
    def quarantine_path(self) -> Path:
        return self.quarantine_dir or self.inbox_dir.parent / "quarantine"
