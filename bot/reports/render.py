"""KPI figures rendered for people: a rich table, CSV for spreadsheets, a Slack message.

All functions are pure.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta

from babel.numbers import get_decimal_symbol
from rich.table import Table

from bot.domain.csat_kpis import CsatReport
from bot.domain.kpis import Figures, KpiReport
from bot.i18n import _, current, ngettext
from bot.reports.csv_safe import safe_writer
from bot.slack.blocks import Blocks, context, mrkdwn, section
from bot.slack.mrkdwn import mention

NONE = "—"  # shown for a figure with nothing to measure
MAX_HEADER = 150  # Slack's limit for a header block's text
MAX_AGENT_SECTIONS = 40  # a message holds 50 blocks; keep room for the team part


@dataclass(frozen=True)
class _Row:
    label: str
    show: Callable[[Figures], str]


def human_duration(value: timedelta | None) -> str:
    """'45 s', '12 min', '1 h 05 min', '2 d 03 h' ('2 g 03 h'); '—' for None."""
    if value is None:
        return NONE
    seconds = max(round(value.total_seconds()), 0)
    if seconds < 60:
        return _("{seconds} s").format(seconds=seconds)
    minutes = round(seconds / 60)
    if minutes < 60:
        return _("{minutes} min").format(minutes=minutes)
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return _("{hours} h {minutes:02d} min").format(hours=hours, minutes=minutes)
    days, hours = divmod(hours, 24)
    return _("{days} d {hours:02d} h").format(days=days, hours=hours)


def percent(value: float | None) -> str:
    """'87%'; '—' for None."""
    return NONE if value is None else f"{round(value * 100)}%"


def _count(value: int) -> str:
    return str(value)


def one_decimal(value: float) -> str:
    """'4.2' / '4,2': rounded as Python rounds, with the decimal mark of the language in force."""
    return f"{value:.1f}".replace(".", get_decimal_symbol(current()))


def _mean(value: float | None) -> str:
    return NONE if value is None else one_decimal(value)


ROWS: tuple[_Row, ...] = (
    _Row("Opened", lambda f: _count(f.opened)),
    _Row("Answered", lambda f: _count(f.answered)),
    _Row("First response in target", lambda f: percent(f.first_within_target)),
    _Row("Next response in target", lambda f: percent(f.next_within_target)),
    _Row("First response, median", lambda f: human_duration(f.first_response_median)),
    _Row("First response, p90", lambda f: human_duration(f.first_response_p90)),
    _Row(
        "First response, median (business hours)",
        lambda f: human_duration(f.first_response_business_median),
    ),
    _Row(
        "First response, p90 (business hours)",
        lambda f: human_duration(f.first_response_business_p90),
    ),
    _Row("Resolution, median", lambda f: human_duration(f.resolution_median)),
    _Row("Never answered", lambda f: percent(f.never_answered)),
    _Row("Agent messages per resolved", lambda f: _mean(f.exchanges_to_close)),
)

CSV_COLUMNS = (
    "scope",
    "since",
    "until",
    "opened",
    "answered",
    "first_within_target",
    "next_within_target",
    "first_response_median_s",
    "first_response_p90_s",
    "first_response_business_median_s",
    "first_response_business_p90_s",
    "resolution_median_s",
    "never_answered",
    "exchanges_to_close",
)


def period_label(report: KpiReport | CsatReport) -> str:
    """'2026-11-16 to 2026-11-22' (the end is exclusive, so its last day is shown)."""
    first = report.since.date()
    last = (report.until - timedelta(microseconds=1)).date()
    if first == last:
        return first.isoformat()
    return _("{first} to {last}").format(first=first.isoformat(), last=last.isoformat())


def kpi_table(report: KpiReport, user_names: Mapping[str, str] | None = None) -> Table:
    """One row per figure; columns: the team, then each agent (by name when known).

    `carebridge stats` is run by operators: the table stays in English."""
    names = user_names or {}
    table = Table(title=f"Care figures {period_label(report)}", title_justify="left")
    table.add_column("Figure")
    table.add_column("Team", justify="right")
    for agent in report.per_agent:
        table.add_column(names.get(agent, agent), justify="right")
    scopes = [report.team, *report.per_agent.values()]
    for row in ROWS:
        table.add_row(row.label, *(row.show(figures) for figures in scopes))
    return table


def kpi_csv(report: KpiReport) -> str:
    """A header row, then one row per scope: `team`, then agents by Slack user id.

    Durations are whole seconds, shares decimals between 0 and 1, and an empty cell means there
    was nothing to measure. Written by the safe writer, as every CSV: a scope is a Slack user id
    today, but nothing that reaches a spreadsheet may start a formula.
    """
    out = io.StringIO()
    writer = safe_writer(out)
    writer.writerow(CSV_COLUMNS)
    scopes = [("team", report.team), *report.per_agent.items()]
    for scope, figures in scopes:
        writer.writerow(
            [
                scope,
                report.since.isoformat(),
                report.until.isoformat(),
                figures.opened,
                figures.answered,
                _decimal(figures.first_within_target),
                _decimal(figures.next_within_target),
                _seconds(figures.first_response_median),
                _seconds(figures.first_response_p90),
                _seconds(figures.first_response_business_median),
                _seconds(figures.first_response_business_p90),
                _seconds(figures.resolution_median),
                _decimal(figures.never_answered),
                _decimal(figures.exchanges_to_close),
            ]
        )
    return out.getvalue()


def kpi_blocks(report: KpiReport, title: str) -> tuple[str, Blocks]:
    """A Slack message: the team's figures as section fields, then one line per agent."""
    team = report.team
    fallback = _(
        "{title} ({period}): {opened} opened, {answered} answered, first response median "
        "{median}, {share} in target"
    ).format(
        title=title,
        period=period_label(report),
        opened=team.opened,
        answered=team.answered,
        median=human_duration(team.first_response_median),
        share=percent(team.first_within_target),
    )
    blocks: Blocks = [
        {"type": "header", "text": {"type": "plain_text", "text": _clip(title, MAX_HEADER)}},
        context(_("Conversations opened {period}").format(period=period_label(report))),
        {"type": "section", "fields": _fields(team)},
    ]
    if report.per_agent:
        blocks.append({"type": "divider"})
        agents = list(report.per_agent.items())
        for agent, figures in agents[:MAX_AGENT_SECTIONS]:
            blocks.append(section(f"{mention(agent)} · {_agent_line(figures)}"))
        if len(agents) > MAX_AGENT_SECTIONS:
            rest = len(agents) - MAX_AGENT_SECTIONS
            # The English reads the same for one agent; ngettext lets other languages differ.
            more = ngettext(
                "…and {n} more agents in the CSV", "…and {n} more agents in the CSV", rest
            )
            blocks.append(context(more.format(n=rest)))
    return fallback, blocks


def _fields(team: Figures) -> list[dict[str, str]]:
    """At most 10 fields, as Slack allows in one section."""
    median_p90 = _("median {median} · p90 {p90}")
    pairs = [
        (
            _("Conversations"),
            _("{opened} opened · {answered} answered").format(
                opened=team.opened, answered=team.answered
            ),
        ),
        (_("Never answered"), percent(team.never_answered)),
        (_("First response in target"), percent(team.first_within_target)),
        (_("Next response in target"), percent(team.next_within_target)),
        (
            _("First response"),
            median_p90.format(
                median=human_duration(team.first_response_median),
                p90=human_duration(team.first_response_p90),
            ),
        ),
        (
            _("First response, business hours"),
            median_p90.format(
                median=human_duration(team.first_response_business_median),
                p90=human_duration(team.first_response_business_p90),
            ),
        ),
        (
            _("Resolution"),
            _("median {median}").format(median=human_duration(team.resolution_median)),
        ),
        (_("Agent messages per resolved"), _mean(team.exchanges_to_close)),
    ]
    return [mrkdwn(f"*{label}*\n{value}") for label, value in pairs]


def _agent_line(figures: Figures) -> str:
    return _(
        "{opened} opened · first response median {median} ({share} in target) · resolution "
        "{resolution} · {messages} messages per resolved"
    ).format(
        opened=figures.opened,
        median=human_duration(figures.first_response_median),
        share=percent(figures.first_within_target),
        resolution=human_duration(figures.resolution_median),
        messages=_mean(figures.exchanges_to_close),
    )


def _seconds(value: timedelta | None) -> str | int:
    return "" if value is None else round(value.total_seconds())


def _decimal(value: float | None) -> str | float:
    return "" if value is None else round(value, 4)


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
