"""The dashboard picture of a :class:`~bot.reporting.Report`, in the staff language.

matplotlib takes about a second to import, so it is imported on the first picture, not at start.
Its own font (DejaVu Sans) has Vietnamese but no Chinese: a CJK font is added behind it, glyph by
glyph, from the system when it has one, else the one the ``paperang-p2-fonts-cjk`` package ships.
"""

from __future__ import annotations

import io
import logging
import textwrap
from functools import cache
from importlib import resources

from babel.dates import format_timedelta

from bot.i18n import gettext_for
from bot.reporting import DIMENSION_NAMES, FUNNEL, FUNNEL_NAMES, Report
from catalog.taxonomy import babel_locale

log = logging.getLogger("techconnect.charts")
WIDTH, HEIGHT, DPI = 1600, 1200, 100  # pixels of the picture
ROWS_SHOWN = 8  # of a breakdown, the largest
CJK_FONTS = (
    "Noto Sans CJK SC",
    "Noto Sans CJK TC",
    "Source Han Sans SC",
    "WenQuanYi Micro Hei",
    "WenQuanYi Zen Hei",
    "Droid Sans Fallback",
)
BAR_COLOUR, HEAT_COLOURS = "#2a6f97", "Blues"


@cache
def font_families() -> tuple[str, ...]:
    """DejaVu Sans first (Latin and Vietnamese), then every CJK font found (Chinese)."""
    from matplotlib import font_manager

    logging.getLogger("matplotlib.font_manager").setLevel(
        logging.ERROR
    )  # a CJK font without bold is drawn regular: fine
    try:
        packaged = resources.files("paperang_p2_fonts_cjk") / "fonts" / "wqy-microhei.ttc"
        font_manager.fontManager.addfont(str(packaged))
    except (ModuleNotFoundError, OSError, RuntimeError) as exc:
        log.info("packaged CJK font not available: %s", exc)
    present = {font.name for font in font_manager.fontManager.ttflist}
    cjk = tuple(name for name in CJK_FONTS if name in present)
    if not cjk:
        log.warning("no font with Chinese characters found: Chinese labels in charts show as boxes")
    return ("DejaVu Sans", *cjk)


def dashboard(report: Report, language: str) -> bytes:
    """A PNG of WIDTH x HEIGHT pixels: the funnel, the key figures, and the funnel by month,
    sector, country, user language and event."""
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    staff_ = gettext_for(language)
    with matplotlib.rc_context(
        {"font.family": list(font_families()), "font.size": 10, "axes.titlesize": 12, "axes.titleweight": "bold"}
    ):
        figure = Figure(figsize=(WIDTH / DPI, HEIGHT / DPI), dpi=DPI, layout="constrained")
        FigureCanvasAgg(figure)
        figure.suptitle(
            staff_("Statistics, {period}").format(period=report.period.name()), fontsize=16, fontweight="bold"
        )
        grid = figure.add_gridspec(3, 3, height_ratios=(1, 1.2, 1.2))
        _funnel(figure.add_subplot(grid[0, :2]), report, staff_)
        _figures(figure.add_subplot(grid[0, 2]), report, language)
        places = {
            "month": grid[1, 0],
            "sector": grid[1, 1],
            "country": grid[1, 2],
            "language": grid[2, 0],
            "event": grid[2, 1:],
        }
        for dimension, place in places.items():
            _breakdown(figure.add_subplot(place), report, dimension, language)
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()


def _funnel(axes, report: Report, staff_) -> None:
    counts = report.funnel()
    names = [staff_(FUNNEL_NAMES[stage]) for stage in FUNNEL]
    values = [counts[stage] for stage in FUNNEL]
    bars = axes.barh(names[::-1], values[::-1], color=BAR_COLOUR)
    labels = []
    for i, value in enumerate(values):  # the share of the step before, from the second step on
        share = f"  ({value / values[i - 1]:.0%})" if i and values[i - 1] else ""
        labels.append(f"{value}{share}")
    axes.bar_label(bars, labels=labels[::-1], padding=4)
    axes.set_xlim(0, max(values + [1]) * 1.25)
    axes.set_title(staff_("Funnel"), loc="left")
    axes.spines[["top", "right"]].set_visible(False)
    axes.xaxis.set_visible(False)


def _figures(axes, report: Report, language: str) -> None:
    """The key figures as large numbers."""
    staff_ = gettext_for(language)
    reply = report.median_reply()
    shown = [
        (
            staff_("Median time to first staff reply"),
            format_timedelta(reply, threshold=1.5, locale=babel_locale(language)) if reply is not None else "—",
        ),
        (staff_("Unclaimed tickets now"), str(report.unclaimed)),
        (staff_("Connection events"), str(len(report.events))),
        (staff_("Event registrations"), str(len(report.registrations))),
    ]
    axes.axis("off")
    for i, (name, value) in enumerate(shown):
        y = 0.95 - i * 0.25
        axes.text(0.02, y, value, fontsize=20, fontweight="bold", color=BAR_COLOUR, va="top", transform=axes.transAxes)
        axes.text(0.02, y - 0.12, name, fontsize=10, va="top", transform=axes.transAxes)


def _breakdown(axes, report: Report, dimension: str, language: str) -> None:
    """A table of counts, one row per value of the dimension, shaded by each stage's largest."""
    staff_ = gettext_for(language)
    rows = list(report.breakdown(dimension).items())
    if dimension != "month":
        rows = rows[:ROWS_SHOWN]
    axes.set_title(staff_(DIMENSION_NAMES[dimension]), loc="left")
    if not rows:
        axes.axis("off")
        axes.text(0.5, 0.5, staff_("No data"), ha="center", va="center", transform=axes.transAxes, color="grey")
        return
    counts = [[row[stage] for stage in FUNNEL] for _, row in rows]
    peaks = [max(column) or 1 for column in zip(*counts)]
    shades = [[value / peak for value, peak in zip(row, peaks)] for row in counts]
    axes.imshow(shades, cmap=HEAT_COLOURS, vmin=0, vmax=1.6, aspect="auto")
    for y, row in enumerate(counts):
        for x, value in enumerate(row):
            axes.text(x, y, str(value), ha="center", va="center", color="white" if shades[y][x] > 0.8 else "black")
    axes.set_xticks(
        range(len(FUNNEL)), ["\n".join(textwrap.wrap(staff_(FUNNEL_NAMES[s]), 14)) for s in FUNNEL], fontsize=8
    )
    axes.xaxis.tick_top()
    axes.set_yticks(range(len(rows)), [_cut(report.label(dimension, key, language), 28) for key, _ in rows])
    axes.tick_params(length=0)
    axes.spines[:].set_visible(False)


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
