"""Satisfaction figures (bot/domain/csat_kpis.py) for people: compact lines for `/care stats` and
the weekly digest, the full breakdown of `/care stats csat`, and a table for `carebridge stats`.

Every figure shows the average and the share of 4 and 5 together, and the answers against the
surveys asked: an average of 5.0 from one answer in twenty reads differently. All functions are
pure.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from rich.table import Table

from bot.domain.csat_kpis import Breakdown, CsatFigures, CsatReport
from bot.i18n import _, ngettext
from bot.reports.render import NONE, one_decimal, percent, period_label
from bot.slack.blocks import Blocks, context, section
from bot.slack.mrkdwn import escape, mention, truncate

LEVELS = "▁▂▃▄▅▆▇█"  # a bar per score, 1 to 5; the lowest only for none
SUMMARY_TOP = 3  # names per line in the compact section
LISTED = 15  # lines per breakdown in `/care stats csat`: one section holds 3,000 characters
STAR = ":star:"
_Namer = Callable[[str], str]  # a group's key as the line shows it


def score_bar(distribution: tuple[int, ...]) -> str:
    """The answers per score as a tiny bar chart, 1 to 5, scaled to the most given: `▁▅▁▅█`.
    A score nobody gave is the lowest level, one at least somebody gave is above it."""
    top = max(distribution, default=0)
    last = len(LEVELS) - 1
    return "".join(
        LEVELS[0] if not n else LEVELS[max(1, min(last, round(n / top * last)))]
        for n in distribution
    )


def average(value: float | None) -> str:
    return NONE if value is None else one_decimal(value)


def answered_of_asked(figures: CsatFigures) -> str:
    """'4 of 5 answered (80%)'."""
    # The English reads the same for one answer; ngettext lets other languages differ.
    counts = ngettext(
        "{answered} of {asked} answered ({rate})",
        "{answered} of {asked} answered ({rate})",
        figures.answered,
    )
    return counts.format(
        answered=figures.answered, asked=figures.asked, rate=percent(figures.response_rate)
    )


def fallback(figures: CsatFigures, label: str = "CSAT") -> str:
    """For a notification: 'CSAT 4.0 (75% gave 4 or 5), 4 of 5 answered (80%)'."""
    if not figures.answered:
        return _("{label}: no answer yet, {counts}").format(
            label=label, counts=answered_of_asked(figures)
        )
    return _("{label} {average} ({satisfied} gave 4 or 5), {counts}").format(
        label=label,
        average=average(figures.average),
        satisfied=percent(figures.satisfied),
        counts=answered_of_asked(figures),
    )


def headline(figures: CsatFigures) -> str:
    """The team's line, in mrkdwn."""
    if not figures.answered:
        return _("no answer yet · {counts}").format(counts=answered_of_asked(figures))
    line = ngettext(
        "*{average}* average · *{satisfied}* gave 4 or 5 · {answered} of {asked} answered "
        "({rate} response rate)",
        "*{average}* average · *{satisfied}* gave 4 or 5 · {answered} of {asked} answered "
        "({rate} response rate)",
        figures.answered,
    )
    return f"{STAR} " + line.format(
        average=average(figures.average),
        satisfied=percent(figures.satisfied),
        answered=figures.answered,
        asked=figures.asked,
        rate=percent(figures.response_rate),
    )


def distribution_line(figures: CsatFigures) -> str:
    counts = " · ".join(str(n) for n in figures.distribution)
    return _("Scores 1 to 5: `{bar}` {counts}").format(
        bar=score_bar(figures.distribution), counts=counts
    )


def summary_lines(report: CsatReport, title: str | None = None) -> list[str]:
    """The compact section of `/care stats` and of the digest: the team, its scores, and the
    agents, topics and networks with the most answers (only those with one at least)."""
    team = report.team
    heading = title or _("Satisfaction (CSAT)")
    lines = [f"*{heading}* · {headline(team)}"]
    if team.answered:
        lines.append(distribution_line(team))
    for label, breakdown, name in (
        (_("Agents"), report.per_agent, _agent),
        (_("Topics"), report.per_topic, _topic),
        (_("Networks"), report.per_network, _network),
    ):
        answered = [(key, figures) for key, figures in breakdown if figures.answered]
        if not answered:
            continue
        shown = " · ".join(
            f"{name(key)} {average(figures.average)} ({figures.answered})"
            for key, figures in answered[:SUMMARY_TOP]
        )
        if len(answered) > SUMMARY_TOP:
            shown += " · " + _("+{n} more").format(n=len(answered) - SUMMARY_TOP)
        lines.append(_("{label} (average, answers): {shown}").format(label=label, shown=shown))
    return lines


def csat_blocks(report: CsatReport, title: str) -> tuple[str, Blocks | None]:
    """`/care stats csat`: the team, then one section per breakdown, each line a group's
    average, share of 4 and 5, response rate and scores."""
    team = report.team
    if not team.asked:
        none = _("{title}: no satisfaction survey was asked in this period.")
        return none.format(title=title), None
    explained = _(
        "Surveys asked {period}; average of the scores 1 to 5, share of 4 and 5 among the "
        "answers, answers of the surveys asked"
    )
    blocks: Blocks = [
        section(f"*{escape(title)}*\n{headline(team)}\n{distribution_line(team)}"),
        context(explained.format(period=period_label(report))),
    ]
    for label, breakdown, name in (
        (_("By agent"), report.per_agent, _agent),
        (_("By topic"), report.per_topic, _topic),
        (_("By network"), report.per_network, _network),
    ):
        if breakdown:
            blocks.append(section(truncate("\n".join(_breakdown(label, breakdown, name)), 2900)))
    average = _("average")
    return f"{title}: {fallback(team, average)}", blocks


def _breakdown(label: str, breakdown: Breakdown, name: _Namer) -> list[str]:
    lines = [f"*{label}*"]
    for key, figures in breakdown[:LISTED]:
        if figures.answered:
            satisfied = _("{satisfied} gave 4 or 5").format(satisfied=percent(figures.satisfied))
            lines.append(
                f"• {name(key)}: {STAR} {average(figures.average)} · {satisfied}"
                f" · {answered_of_asked(figures)} · `{score_bar(figures.distribution)}`"
            )
        else:
            no_answer = _("no answer")
            lines.append(f"• {name(key)}: {no_answer} · {answered_of_asked(figures)}")
    if len(breakdown) > LISTED:
        lines.append(_("…and {n} more").format(n=len(breakdown) - LISTED))
    return lines


def _agent(user: str) -> str:
    return mention(user)


def _topic(topic: str) -> str:
    return f"*{escape(topic)}*" if topic else _("_no topic_")


def _network(label: str) -> str:
    return escape(label)


def csat_table(report: CsatReport, user_names: Mapping[str, str] | None = None) -> Table:
    """`carebridge stats`: one row for the team, then per agent, topic and network. Run by
    operators: the table stays in English."""
    names = user_names or {}
    table = Table(title=f"Satisfaction (CSAT) {period_label(report)}", title_justify="left")
    table.add_column("Surveys of")
    table.add_column("Answered", justify="right")
    table.add_column("Average", justify="right")
    table.add_column("Gave 4 or 5", justify="right")
    table.add_column("Scores 1 to 5")

    def add(label: str, figures: CsatFigures) -> None:
        table.add_row(
            label,
            f"{figures.answered} of {figures.asked} ({percent(figures.response_rate)})",
            average(figures.average),
            percent(figures.satisfied),
            f"{score_bar(figures.distribution)} {' '.join(map(str, figures.distribution))}",
        )

    add("Team", report.team)
    for prefix, breakdown in (
        ("agent", report.per_agent),
        ("topic", report.per_topic),
        ("network", report.per_network),
    ):
        table.add_section()
        for key, figures in breakdown:
            shown = names.get(key, key) if prefix == "agent" else key or "(no topic)"
            add(f"{prefix} {shown}", figures)
    return table
