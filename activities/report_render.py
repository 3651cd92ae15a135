"""The monthly report rendered: HTML (Jinja2, the same body the web page shows) and PDF
(fpdf2 with DejaVu Sans, the Unicode TrueType font matplotlib ships, so æ, ø, å and – show),
and the e-mail's text. Pure functions of the stored figures: the same figures give the same
HTML, and the PDF carries a fixed creation date (the month's end)."""

from __future__ import annotations

from datetime import UTC, datetime, time
from functools import lru_cache
from pathlib import Path

import matplotlib
from fpdf import FPDF
from fpdf.enums import XPos, YPos
from jinja2 import Environment, FileSystemLoader, select_autoescape

from activities.report_figures import month_bounds
from domain.texts import plural

TEMPLATES = Path(__file__).resolve().parent.parent / "web" / "templates"
FONTS = Path(matplotlib.__file__).resolve().parent / "mpl-data" / "fonts" / "ttf"
TITLE = "Månedsrapport om erhvervsservice"


def pct(value: float | None) -> str:
    """0.9234 -> '92,3 %'; None -> '–'."""
    if value is None:
        return "–"
    return f"{value * 100:.1f} %".replace(".", ",")


def pp(value: float | None) -> str:
    """A change in percentage points with its sign: '+4,0 point', '−2,5 point', '–'."""
    if value is None:
        return "–"
    sign = "+" if value > 0 else "−" if value < 0 else "±"
    return f"{sign}{abs(value):.1f} point".replace(".", ",")


def days(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f} dage".replace(".", ",")


def met_text(indicator: dict) -> str:
    if indicator.get("suppressed"):
        return "Under 5 svar: ikke vist"
    if indicator["met"] is None:
        return "Ingen sager"
    return "Opfyldt" if indicator["met"] else "Ikke opfyldt"


def value_text(indicator: dict) -> str:
    return "Under 5 svar" if indicator.get("suppressed") else pct(indicator["value"])


@lru_cache(maxsize=1)
def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        pct=pct, pp=pp, days=days, met_text=met_text, value_text=value_text, plural=plural
    )
    return env


def render_html(figures: dict, municipality: str) -> str:
    """The report as one standalone HTML document (stored, and shown on the web)."""
    return (
        environment()
        .get_template("report_document.html")
        .render(f=figures, municipality=municipality, title=TITLE)
    )


class _Pdf(FPDF):
    def footer(self) -> None:
        self.set_y(-12)
        self.set_font("DejaVu", size=8)
        self.cell(0, 6, f"Side {self.page_no()}", align="C")


def render_pdf(figures: dict, municipality: str) -> bytes:
    """The report as a PDF: the same sections as the HTML, in text and tables."""
    pdf = _Pdf(format="A4")
    pdf.add_font("DejaVu", "", str(FONTS / "DejaVuSans.ttf"))
    pdf.add_font("DejaVu", "B", str(FONTS / "DejaVuSans-Bold.ttf"))
    _, following = month_bounds(figures["month"])
    pdf.set_creation_date(datetime.combine(following, time(0), tzinfo=UTC))
    pdf.set_title(f"{TITLE} – {figures['label']}")
    pdf.set_author(municipality)
    pdf.set_lang("da")
    pdf.set_margins(18, 18, 18)
    pdf.add_page()
    full = pdf.epw

    def heading(text: str, size: int = 13) -> None:
        pdf.set_font("DejaVu", "B", size)
        pdf.multi_cell(full, 7, text, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.ln(1)

    def para(text: str) -> None:
        pdf.set_font("DejaVu", size=10)
        pdf.multi_cell(full, 5.5, text, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.ln(2)

    def table(head: tuple[str, ...], rows: list[tuple[str, ...]], widths: tuple[float, ...]):
        pdf.set_font("DejaVu", size=9)
        with pdf.table(col_widths=widths, text_align="LEFT", line_height=5) as t:
            header = t.row()
            for cell in head:
                header.cell(cell)
            for row in rows:
                line = t.row()
                for cell in row:
                    line.cell(cell)
        pdf.ln(3)

    heading(f"{TITLE} – {figures['label']}", 16)
    para(_intro(figures, municipality))
    heading("Målingen mod aftalens mål")
    table(
        ("Indikator", "Mål", "Resultat", "Antal", "Sidste måned", "Ændring", "Status"),
        [
            (
                i["name"],
                i["target_text"],
                value_text(i),
                str(i["n"]),
                pct(i.get("previous")),
                pp(i.get("change_pp")),
                met_text(i),
            )
            for i in figures["indicators"]
        ],
        (50, 17, 20, 14, 20, 20, 33),
    )
    heading("Sagsbehandlingstid (KL's servicemål)")
    table(
        ("Ur", "Inden for servicemålet", "Ændring", "Median", "80 %-fraktil", "Sager"),
        [
            (
                name,
                pct(figures[clock]["within_share"]),
                pp(figures[clock].get("change_pp")),
                days(figures[clock]["median"]),
                days(figures[clock]["p80"]),
                str(figures[clock]["n"]),
            )
            for clock, name in (
                ("net", "Netto (fra fuldt oplyst)"),
                ("gross", "Brutto (fra modtagelse)"),
            )
        ],
        (48, 30, 22, 22, 25, 17),
    )
    heading("Brudte løfter og deres årsager")
    if figures["broken"]:
        table(
            ("Løfte", "Sagstype", "Fagområder", "Årsag"),
            [
                (b["promise_text"], b["case_type"], b["departments"], b["cause"])
                for b in figures["broken"]
            ],
            (48, 40, 36, 50),
        )
    else:
        para("Ingen sager lukket i måneden brød et løfte.")
    heading("Temaer i de skriftlige kommentarer")
    para(_themes_text(figures["themes"]))
    if figures["themes"]["rows"]:
        table(
            ("Tema", "Kommentarer"),
            [(t["name"], str(t["count"])) for t in figures["themes"]["rows"]],
            (120, 54),
        )
    return bytes(pdf.output())


def _intro(figures: dict, municipality: str) -> str:
    cases = figures["cases"]
    answered = figures["answered"]
    return (
        f"{municipality} gør status over erhvervsservicen i {figures['label']} "
        f"(rammeaftalen »Én indgang – bæredygtig erhvervsservice«, tilsagn 10). "
        f"{cases} {'sag' if cases == 1 else 'sager'} blev lukket i måneden; "
        f"{answered} af dem havde besvaret tilfredshedsmålingen ved månedens udgang. "
        "Andele bygget på under 5 svar vises ikke."
    )


def _themes_text(themes: dict) -> str:
    n = themes["comments"]
    if not n:
        return "Ingen skriftlige kommentarer i måneden."
    return (
        f"{n} {'skriftlig kommentar' if n == 1 else 'skriftlige kommentarer'} i måneden, "
        f"optalt efter medarbejdernes temaer ({themes['untagged']} uden tema endnu). "
        "Kommentarerne selv gengives ikke."
    )


def mail_text(figures: dict, municipality: str, page_url: str) -> tuple[str, str]:
    """(subject, body) of the e-mail to the business organisations."""
    subject = f"{TITLE} – {figures['label']}"
    lines = [
        "Kære erhvervsorganisationer",
        "",
        (
            f"Her er {municipality}s månedsrapport om erhvervsservicen for {figures['label']}, "
            "som grundlag for den løbende dialog (rammeaftalens tilsagn 10). "
            "Rapporten er vedhæftet som PDF."
        ),
        "",
    ]
    for i in figures["indicators"]:
        lines.append(
            f"- {i['name']}: {value_text(i)} (mål {i['target_text']}; {pp(i.get('change_pp'))})"
        )
    lines += [
        "",
        f"Rapporten på nettet: {page_url}",
        "",
        "Med venlig hilsen",
        f"Erhvervsservice, {municipality}",
    ]
    return subject, "\n".join(lines) + "\n"
