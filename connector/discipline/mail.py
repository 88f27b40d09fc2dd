"""The weekly report e-mail: an HTML summary, the main chart inline as a PNG, the workbook attached.

Carries only units, executors' names and counts: never an applicant's data.
"""

from __future__ import annotations

import html
import io
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

from connector.discipline.figures import RATING_TARGET, Figures, Report
from connector.ops.mail import build_message
from connector.ops.settings import AlertSettings

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _pct(value: float | None) -> str:
    return f"{value:.0%}" if value is not None else "—"


def _num(value: float | None) -> str:
    return f"{value:.1f}" if value is not None else "—"


def on_time_chart_png(report: Report) -> bytes:
    """The main chart (on-time share per unit) as a PNG, drawn with matplotlib's Agg backend."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    from matplotlib.figure import Figure

    units = [r.unit for r in report.units]
    shares = [(r.figures.on_time_share or 0.0) * 100 for r in report.units]
    fig = Figure(figsize=(8, 0.5 + 0.45 * max(1, len(units))), dpi=100)
    ax = fig.add_subplot()
    ax.barh(units[::-1], shares[::-1], color="#4472C4")
    ax.set_xlim(0, 100)
    ax.set_xlabel("Доля ответов в срок, %")
    ax.set_title("Доля ответов в срок по подразделениям")
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def _row(label: str, f: Figures, *, bold: bool = False) -> str:
    cells = [label, str(f.received), str(f.answered), _pct(f.on_time_share), str(f.overdue_own),
             str(f.received_overdue), _num(f.median_days), _pct(f.high_share)]
    tag = "th" if bold else "td"
    return "<tr>" + "".join(f"<{tag}>{html.escape(c)}</{tag}>" for c in cells) + "</tr>"


def summary_html(report: Report, chart_cid: str) -> str:
    head = ("Подразделение", "Поступило", "Отвечено", "Доля в срок", "Просрочено по своей вине",
            "Получено просроченным", "Медиана, дн.", "Доля оценок ≥4")
    rows = "".join(_row(r.unit, r.figures) for r in report.units) + _row("Итого", report.total, bold=True)
    return (
        "<html><body>"
        f"<h2>Исполнительская дисциплина за {report.first:%d.%m.%Y} – {report.last:%d.%m.%Y}</h2>"
        f"<p>Цель по оценкам заявителей: {RATING_TARGET:.0%} оценок 4 и 5. Подробности, исполнители и "
        "правила подсчёта — в приложенной книге Excel (лист «Как считается»).</p>"
        '<table border="1" cellspacing="0" cellpadding="4">'
        "<tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in head) + "</tr>"
        f"{rows}</table>"
        f'<p><img src="cid:{chart_cid[1:-1]}" alt="Доля ответов в срок по подразделениям"></p>'
        "</body></html>")


def summary_text(report: Report) -> str:
    lines = [f"Исполнительская дисциплина за {report.first:%d.%m.%Y} – {report.last:%d.%m.%Y}", ""]
    for r in [*report.units]:
        f = r.figures
        lines.append(f"{r.unit}: поступило {f.received}, в срок {_pct(f.on_time_share)}, "
                     f"просрочено по своей вине {f.overdue_own}, получено просроченным {f.received_overdue}")
    t = report.total
    lines.append(f"Итого: поступило {t.received}, в срок {_pct(t.on_time_share)}, "
                 f"просрочено по своей вине {t.overdue_own}, получено просроченным {t.received_overdue}")
    return "\n".join(lines)


def weekly_message(report: Report, workbook: Path, *, subject: str, mail: AlertSettings,
                   recipients: list[str]) -> EmailMessage:
    msg = build_message(mail, to=recipients, text=summary_text(report),
                        subject=subject.format(first=f"{report.first:%d.%m.%Y}", last=f"{report.last:%d.%m.%Y}"),
                        headers={"X-Pos-Connector-Report": f"weekly:{report.first.isoformat()}"})
    cid = make_msgid(domain="pos-connector.local")
    msg.add_alternative(summary_html(report, cid), subtype="html")
    html_part = msg.get_body(("html",))
    assert isinstance(html_part, EmailMessage)
    html_part.add_related(on_time_chart_png(report), maintype="image", subtype="png", cid=cid,
                          filename="on-time.png")
    maintype, subtype = XLSX.split("/")
    msg.add_attachment(workbook.read_bytes(), maintype=maintype, subtype=subtype, filename=workbook.name)
    return msg
