"""The weekly chart: daily volume as bars, median first response as a line, as PNG bytes; and,
when customers answered satisfaction surveys that week, their scores beside it.

The scores are a panel of their own, one horizontal bar per score from 5 down to 1, with the
average and the share of 4 and 5 above it, rather than a third series on the daily chart: a day
holds a handful of answers, so a daily average would swing on one customer, and a third y axis
would make the chart hard to read. The week's distribution is what a team acts on (how many 1s
and 2s), and it reads at a glance.

matplotlib is imported inside the function, through `Figure` and the Agg canvas only: no pyplot,
so no global figure state, no GUI backend, and safe from any thread. Importing this module stays
cheap for commands that never draw.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

from babel.dates import format_date

from bot.domain.csat_kpis import CsatFigures
from bot.domain.kpis import DailyPoint
from bot.i18n import _, current, ngettext
from bot.reports.render import one_decimal

if TYPE_CHECKING:
    from matplotlib.axes import Axes

WIDTH_IN, HEIGHT_IN, DPI = 9.0, 4.5, 100  # 900 x 450 px
BAR_COLOUR = "#4a90d9"
LINE_COLOUR = "#e8743b"
# Scores 1 to 5: the unhappy red, the middle grey, the satisfied (4 and 5) green.
SCORE_COLOURS = ("#d64545", "#e8743b", "#a0a0a0", "#7cbf6a", "#3a9d4b")


def weekly_chart(
    points: Sequence[DailyPoint], title: str, satisfaction: CsatFigures | None = None
) -> bytes:
    """A PNG of conversations opened per day, with the median first response in minutes; with
    `satisfaction` (figures with answers), the week's scores in a panel on the right.

    Days without an answered conversation leave a gap in the line; no points at all gives an
    empty chart that says so rather than an error.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import AutoLocator

    figure = Figure(figsize=(WIDTH_IN, HEIGHT_IN), dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    scored = satisfaction is not None and satisfaction.answered > 0
    grid = figure.add_gridspec(1, 2, width_ratios=(3, 1)) if scored else None
    volume = figure.add_subplot(grid[0, 0]) if grid is not None else figure.add_subplot()
    volume.set_title(title, fontsize=13)
    positions = list(range(len(points)))
    # Beside the scores the days have less room: the title says the month. "Mon 16 Nov" in
    # English, as strftime wrote it, "lun 16 nov" in Italian.
    pattern = "EEE dd" if scored else "EEE dd MMM"
    labels = [format_date(p.day, pattern, locale=current()) for p in points]
    volume.bar(positions, [p.opened for p in points], color=BAR_COLOUR, label=_("Opened"))
    volume.set_ylabel(_("Conversations opened"), color=BAR_COLOUR)
    volume.set_xticks(positions, labels, fontsize=9)
    # Whole conversations: integer ticks, and a visible axis even on a week with none.
    whole = AutoLocator()  # the default locator, placing whole numbers only
    whole.set_params(integer=True)
    volume.yaxis.set_major_locator(whole)
    volume.set_ylim(bottom=0, top=max([p.opened for p in points], default=0) * 1.15 or 1)
    volume.spines["top"].set_visible(False)

    minutes = [
        math.nan
        if p.first_response_median is None
        else p.first_response_median.total_seconds() / 60
        for p in points
    ]
    response = volume.twinx()
    response.plot(
        positions,
        minutes,
        color=LINE_COLOUR,
        marker="o",
        linewidth=2,
        label=_("Median first response (min)"),
    )
    response.set_ylabel(_("Median first response (min)"), color=LINE_COLOUR)
    measured = [m for m in minutes if not math.isnan(m)]
    response.set_ylim(bottom=0, top=max(measured, default=0) * 1.15 or 1)
    response.spines["top"].set_visible(False)

    if not points:
        volume.set_xticks([])
        volume.text(
            0.5,
            0.5,
            _("No conversations in this period"),
            ha="center",
            va="center",
            transform=volume.transAxes,
            fontsize=12,
            color="grey",
        )
    else:
        handles = volume.get_legend_handles_labels()
        line_handles = response.get_legend_handles_labels()
        volume.legend(
            handles[0] + line_handles[0],
            handles[1] + line_handles[1],
            loc="upper left",
            fontsize=9,
            frameon=False,
        )

    if grid is not None and satisfaction is not None:
        _scores(figure.add_subplot(grid[0, 1]), satisfaction)

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()


def _scores(axes: Axes, satisfaction: CsatFigures) -> None:
    """Answers per score, 5 at the top."""
    scores = list(range(1, len(satisfaction.distribution) + 1))  # drawn from the bottom up
    counts = [satisfaction.distribution[score - 1] for score in scores]
    bars = axes.barh(
        [str(score) for score in scores],
        counts,
        color=[SCORE_COLOURS[score - 1] for score in scores],
    )
    axes.bar_label(bars, padding=2, fontsize=9)
    axes.set_xlim(0, max(counts) * 1.3 or 1)
    axes.set_xticks([])
    axes.set_ylabel(_("Score"))
    for side in ("top", "right", "bottom"):
        axes.spines[side].set_visible(False)
    average = satisfaction.average or 0.0
    satisfied = round((satisfaction.satisfied or 0.0) * 100)
    # The English reads the same for one answer; ngettext lets other languages differ.
    title = ngettext(
        "Satisfaction: {average} average\n{satisfied}% gave 4 or 5\n{answered} of {asked} answered",
        "Satisfaction: {average} average\n{satisfied}% gave 4 or 5\n{answered} of {asked} answered",
        satisfaction.answered,
    )
    axes.set_title(
        title.format(
            average=one_decimal(average),
            satisfied=satisfied,
            answered=satisfaction.answered,
            asked=satisfaction.asked,
        ),
        fontsize=10,
    )
