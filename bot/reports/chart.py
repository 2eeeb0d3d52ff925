"""The weekly chart: daily volume as bars, median first response as a line, as PNG bytes.

matplotlib is imported inside the function, through `Figure` and the Agg canvas only: no pyplot,
so no global figure state, no GUI backend, and safe from any thread. Importing this module stays
cheap for commands that never draw.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence

from bot.domain.kpis import DailyPoint

WIDTH_IN, HEIGHT_IN, DPI = 9.0, 4.5, 100  # 900 x 450 px
BAR_COLOUR = "#4a90d9"
LINE_COLOUR = "#e8743b"


def weekly_chart(points: Sequence[DailyPoint], title: str) -> bytes:
    """A PNG of conversations opened per day, with the median first response in minutes.

    Days without an answered conversation leave a gap in the line; no points at all gives an
    empty chart that says so rather than an error.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import AutoLocator

    figure = Figure(figsize=(WIDTH_IN, HEIGHT_IN), dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    volume = figure.add_subplot()
    volume.set_title(title, fontsize=13)
    positions = list(range(len(points)))
    labels = [p.day.strftime("%a %d %b") for p in points]
    volume.bar(positions, [p.opened for p in points], color=BAR_COLOUR, label="Opened")
    volume.set_ylabel("Conversations opened", color=BAR_COLOUR)
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
        label="Median first response (min)",
    )
    response.set_ylabel("Median first response (min)", color=LINE_COLOUR)
    measured = [m for m in minutes if not math.isnan(m)]
    response.set_ylim(bottom=0, top=max(measured, default=0) * 1.15 or 1)
    response.spines["top"].set_visible(False)

    if not points:
        volume.set_xticks([])
        volume.text(
            0.5,
            0.5,
            "No conversations in this period",
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

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()
