"""The appeal rendered as the PDF main document of a МЭДО 2.7 container.

Real 2.7 writers refuse to send a container whose main document is not a PDF (edms-public-clients.md M1)
and state its page count in the passport (``pagesQuantity``); a receiver that shows or stamps the main
document expects one.  Cyrillic needs a TrueType font: the ``pdf_font`` setting, else the first of
:data:`FONT_CANDIDATES` that exists (Debian/Ubuntu: ``apt-get install fonts-dejavu-core``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from fpdf import FPDF

from connector.i18n import N_

FONT_CANDIDATES = (
    Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"),
    Path("/usr/share/fonts/dejavu/DejaVuSans.ttf"),
    Path("/usr/share/fonts/TTF/DejaVuSans.ttf"),
    Path("/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf"),
    Path("/usr/share/fonts/liberation-sans/LiberationSans-Regular.ttf"),
)
_FAMILY = "appeal"


class NoFont(LookupError):
    """No TrueType font with Cyrillic to render the appeal with; ``str()`` says what to set, and
    ``template`` / ``params`` are that text for a :class:`~connector.errors.ConnectorError`."""

    def __init__(self, template: str, **params: object) -> None:
        super().__init__(template.format(**params))
        self.template = template
        self.params = params


@dataclass(frozen=True)
class Rendered:
    content: bytes
    pages: int


def find_font(configured: Path | None) -> Path:
    if configured is not None:
        if not configured.is_file():
            raise NoFont(N_("pdf_font {path} is not a file"), path=configured)
        return configured
    for candidate in FONT_CANDIDATES:
        if candidate.is_file():
            return candidate
    raise NoFont(N_("no TrueType font with Cyrillic found for the МЭДО PDF main document: set pdf_font "
                    "(e.g. DejaVuSans.ttf; Debian/Ubuntu: apt-get install fonts-dejavu-core)"))


def render_appeal(font: Path, title: str, lines: list[tuple[str, str]], text: str, created: datetime) -> Rendered:
    """An A4 document: ``title``, then ``label: value`` lines, then the appeal text as written."""
    pdf = FPDF(format="A4")
    pdf.set_creation_date(created)  # deterministic bytes: a retried package holds the same file
    pdf.set_auto_page_break(auto=True, margin=20)
    pdf.set_margins(20, 20, 15)
    pdf.add_font(_FAMILY, fname=str(font))
    pdf.add_page()
    pdf.set_font(_FAMILY, size=14)
    pdf.multi_cell(0, 8, title, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    pdf.set_font(_FAMILY, size=10)
    for label, value in lines:
        if value:
            pdf.multi_cell(0, 6, f"{label}: {value}", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    pdf.set_font(_FAMILY, size=11)
    pdf.multi_cell(0, 6, _printable(text) or "(текст обращения пуст)", new_x="LMARGIN", new_y="NEXT")
    return Rendered(content=bytes(pdf.output()), pages=pdf.page_no())


def _printable(text: str) -> str:
    # control characters other than line breaks and tabs cannot be drawn
    return "".join(ch if ch in "\n\t" or ch >= " " else " " for ch in text.replace("\r\n", "\n"))
