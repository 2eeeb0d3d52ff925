"""Rendering KPI figures: terminal table, CSV, Slack blocks, the --since syntax, the chart; and
the satisfaction figures."""

from __future__ import annotations

import csv
import io
import json
import struct
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from rich.console import Console

from bot.domain.csat_kpis import CsatFigures, CsatReport, SurveyCount, csat_figures
from bot.domain.kpis import DailyPoint, Figures, KpiReport
from bot.domain.periods import parse_since
from bot.reports.chart import weekly_chart
from bot.reports.csat import csat_blocks, csat_table, score_bar, summary_lines
from bot.reports.render import (
    MAX_AGENT_SECTIONS,
    human_duration,
    kpi_blocks,
    kpi_csv,
    kpi_table,
)

SINCE = datetime(2026, 11, 16, tzinfo=UTC)
UNTIL = SINCE + timedelta(days=7)
PARIS = ZoneInfo("Europe/Paris")
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

TEAM = Figures(
    opened=42,
    answered=40,
    first_within_target=0.8666,
    next_within_target=0.9,
    first_response_median=timedelta(minutes=12),
    first_response_p90=timedelta(hours=1, minutes=5),
    first_response_business_median=timedelta(minutes=9),
    first_response_business_p90=timedelta(minutes=48),
    resolution_median=timedelta(hours=26, minutes=30),
    never_answered=0.0476,
    exchanges_to_close=2.25,
)
ANNA = Figures(
    opened=30,
    answered=30,
    first_within_target=1.0,
    next_within_target=None,
    first_response_median=timedelta(seconds=45),
    first_response_p90=timedelta(minutes=7),
    first_response_business_median=None,
    first_response_business_p90=None,
    resolution_median=None,
    never_answered=0.0,
    exchanges_to_close=None,
)
REPORT = KpiReport(SINCE, UNTIL, TEAM, {"UANNA": ANNA})


def shown(table: object) -> str:
    out = Console(record=True, width=140, color_system=None, file=io.StringIO())
    out.print(table)
    return out.export_text()


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, "—"),
        (timedelta(seconds=45), "45 s"),
        (timedelta(seconds=59.6), "1 min"),
        (timedelta(minutes=12), "12 min"),
        (timedelta(minutes=59, seconds=40), "1 h 00 min"),
        (timedelta(hours=1, minutes=5), "1 h 05 min"),
        (timedelta(hours=26, minutes=30), "1 d 02 h"),
    ],
)
def test_human_duration(value: timedelta | None, text: str) -> None:
    assert human_duration(value) == text


def test_table_has_a_row_per_figure_and_a_column_per_scope() -> None:
    text = shown(kpi_table(REPORT, {"UANNA": "Anna"}))
    assert "Care figures 2026-11-16 to 2026-11-22" in text
    assert "Team" in text and "Anna" in text
    rows = {line.split("│")[1].strip(): line for line in text.splitlines() if "│" in line}
    assert "42" in rows["Opened"] and "30" in rows["Opened"]
    assert "87%" in rows["First response in target"]
    assert "100%" in rows["First response in target"]
    assert "1 h 05 min" in rows["First response, p90"]
    assert "—" in rows["Next response in target"]  # Anna has nothing to measure
    assert "2.2" in rows["Agent messages per resolved"]
    assert len(kpi_table(REPORT).rows) == 11


def test_table_shows_the_user_id_without_a_name() -> None:
    assert "UANNA" in shown(kpi_table(REPORT))


def test_csv_has_a_header_and_a_row_per_scope() -> None:
    rows = list(csv.DictReader(io.StringIO(kpi_csv(REPORT))))
    assert [r["scope"] for r in rows] == ["team", "UANNA"]
    team, anna = rows
    assert team["since"] == "2026-11-16T00:00:00+00:00"
    assert team["opened"] == "42"
    assert team["first_response_median_s"] == "720"
    assert team["first_response_p90_s"] == "3900"
    assert team["resolution_median_s"] == str(26 * 3600 + 30 * 60)
    assert float(team["first_within_target"]) == pytest.approx(0.8666)
    assert float(team["exchanges_to_close"]) == 2.25
    # None is an empty cell, not "0" and not "None".
    assert anna["next_within_target"] == "" and anna["resolution_median_s"] == ""
    assert anna["first_response_median_s"] == "45"


def test_slack_blocks() -> None:
    fallback, blocks = kpi_blocks(REPORT, "Weekly care report")
    assert fallback.startswith("Weekly care report (2026-11-16 to 2026-11-22): 42 opened")
    assert "87% in target" in fallback
    assert blocks[0] == {
        "type": "header",
        "text": {"type": "plain_text", "text": "Weekly care report"},
    }
    team = next(b for b in blocks if "fields" in b)
    assert len(team["fields"]) <= 10  # Slack's limit per section
    fields = "\n".join(f["text"] for f in team["fields"])
    assert "median 12 min · p90 1 h 05 min" in fields
    assert "*Never answered*\n5%" in fields
    text = json.dumps(blocks, ensure_ascii=False)
    assert "<@UANNA>" in text
    assert "45 s" in text and "100% in target" in text and "—" in text


def test_slack_blocks_stay_within_the_message_limits() -> None:
    agents = {f"U{n:03d}": ANNA for n in range(60)}
    _, blocks = kpi_blocks(KpiReport(SINCE, UNTIL, TEAM, agents), "x" * 200)
    assert len(blocks) <= 50
    assert len(blocks[0]["text"]["text"]) == 150
    assert sum("<@U" in json.dumps(b) for b in blocks) == MAX_AGENT_SECTIONS
    assert "20 more agents" in json.dumps(blocks[-1])


def test_slack_blocks_without_agents_or_figures() -> None:
    empty = Figures(0, 0, None, None, None, None, None, None, None, None, None)
    fallback, blocks = kpi_blocks(KpiReport(SINCE, UNTIL, empty, {}), "Today")
    assert "0 opened" in fallback and "— in target" in fallback
    assert [b["type"] for b in blocks] == ["header", "context", "section"]


NOW = datetime(2026, 11, 23, 10, 30, tzinfo=UTC)  # 11:30 in Paris


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("today", datetime(2026, 11, 23, tzinfo=PARIS)),
        (" Today ", datetime(2026, 11, 23, tzinfo=PARIS)),
        ("24h", NOW - timedelta(hours=24)),
        ("7d", NOW - timedelta(days=7)),
        ("30d", NOW - timedelta(days=30)),
        ("2d", NOW - timedelta(days=2)),
        ("36H", NOW - timedelta(hours=36)),
    ],
)
def test_parse_since(text: str, expected: datetime) -> None:
    parsed = parse_since(text, NOW, PARIS)
    assert parsed == expected
    assert parsed.utcoffset() is not None


def test_today_is_local_midnight() -> None:
    # 23:30 UTC on the 22nd is already the 23rd in Paris.
    late = datetime(2026, 11, 22, 23, 30, tzinfo=UTC)
    assert parse_since("today", late, PARIS) == datetime(2026, 11, 22, 23, tzinfo=UTC)


@pytest.mark.parametrize("text", ["", "week", "7", "d", "-7d", "0d", "1.5d", "7 days", "7m"])
def test_parse_since_refuses_other_forms_and_names_the_good_ones(text: str) -> None:
    with pytest.raises(ValueError, match=r"today.*24h.*7d.*30d"):
        parse_since(text, NOW, PARIS)


def _png_size(png: bytes) -> tuple[int, int]:
    assert png[:8] == PNG_MAGIC
    assert png[12:16] == b"IHDR"
    return struct.unpack(">II", png[16:24])


def test_weekly_chart_is_a_png_of_about_900_by_450() -> None:
    points = [
        DailyPoint(date(2026, 11, 16) + timedelta(days=n), n * 2, timedelta(minutes=5 * n + 3))
        for n in range(7)
    ]
    assert _png_size(weekly_chart(points, "Week 47")) == (900, 450)


def test_weekly_chart_renders_empty_and_missing_values() -> None:
    assert _png_size(weekly_chart([], "Nothing yet")) == (900, 450)
    quiet = [DailyPoint(date(2026, 11, 16) + timedelta(days=n), 0, None) for n in range(7)]
    assert _png_size(weekly_chart(quiet, "Quiet week")) == (900, 450)
    gaps = [
        DailyPoint(date(2026, 11, 16), 3, timedelta(minutes=4)),
        DailyPoint(date(2026, 11, 17), 0, None),
        DailyPoint(date(2026, 11, 18), 1, timedelta(minutes=90)),
    ]
    assert _png_size(weekly_chart(gaps, "Gaps")) == (900, 450)


# --- satisfaction (bot/reports/csat.py) -------------------------------------------------------
def surveys(asked: int, *scores: int) -> CsatFigures:
    return csat_figures(SurveyCount(asked, tuple(scores.count(n) for n in range(1, 6))))


def satisfaction(**agents: CsatFigures) -> CsatReport:
    team = surveys(10, 5, 5, 5, 4, 4, 3, 2, 1)
    return CsatReport(SINCE, UNTIL, team, tuple(agents.items()), (("", surveys(2)),), ())


def test_weekly_chart_with_the_satisfaction_scores_keeps_its_size() -> None:
    points = [DailyPoint(date(2026, 11, 16) + timedelta(days=n), n, None) for n in range(7)]
    scores = surveys(10, 5, 5, 4, 1)
    assert _png_size(weekly_chart(points, "Week 47", scores)) == (900, 450)
    assert _png_size(weekly_chart([], "Nothing yet", scores)) == (900, 450)
    # Asked but unanswered: no panel to draw, the chart as without.
    assert _png_size(weekly_chart(points, "Week 47", surveys(3))) == (900, 450)


@pytest.mark.parametrize(
    ("distribution", "bar"),
    [
        ((0, 1, 0, 1, 2), "▁▅▁▅█"),
        ((1, 1, 1, 2, 3), "▃▃▃▆█"),
        ((0, 0, 0, 0, 0), "▁▁▁▁▁"),
        ((1, 0, 0, 0, 100), "▂▁▁▁█"),  # one answer still shows above none
    ],
)
def test_score_bar(distribution: tuple[int, ...], bar: str) -> None:
    assert score_bar(distribution) == bar


def test_satisfaction_summary_names_only_what_had_answers_the_top_three() -> None:
    agents = {f"U{n}": surveys(2, 5) for n in range(5)} | {"UQUIET": surveys(4)}
    lines = summary_lines(satisfaction(**agents))
    assert lines[0] == (
        "*Satisfaction (CSAT)* · :star: *3.6* average · *62%* gave 4 or 5 · 8 of 10 answered "
        "(80% response rate)"
    )
    assert lines[1] == "Scores 1 to 5: `▃▃▃▆█` 1 · 1 · 1 · 2 · 3"
    assert lines[
        2
    ] == "Agents (average, answers): <@U0> 5.0 (1) · <@U1> 5.0 (1) · <@U2> 5.0 (1)" + (" · +2 more")
    assert len(lines) == 3  # no topic line: the one topic had no answer; no network at all
    unanswered = CsatReport(SINCE, UNTIL, surveys(3), (), (), ())
    assert summary_lines(unanswered, "Satisfaction") == [
        "*Satisfaction* · no answer yet · 0 of 3 answered (0%)"
    ]


def test_satisfaction_blocks_in_full_and_within_slack_limits() -> None:
    agents = {f"U{n:02d}": surveys(2, 4) for n in range(30)}
    fallback, blocks = csat_blocks(satisfaction(**agents), "Satisfaction (CSAT) · 30d")
    assert fallback == (
        "Satisfaction (CSAT) · 30d: average 3.6 (62% gave 4 or 5), 8 of 10 answered (80%)"
    )
    assert blocks is not None and len(blocks) == 4  # team, its context, agents, topics
    agents_text = blocks[2]["text"]["text"]
    assert agents_text.startswith(
        "*By agent*\n• <@U00>: :star: 4.0 · 100% gave 4 or 5 · 1 of 2 answered (50%) · `▁▁▁█▁`"
    )
    assert agents_text.endswith("…and 15 more") and len(agents_text) < 3000
    assert blocks[3]["text"]["text"] == "*By topic*\n• _no topic_: no answer · 0 of 2 answered (0%)"
    nobody = CsatReport(SINCE, UNTIL, surveys(0), (), (), ())
    assert csat_blocks(nobody, "Satisfaction (CSAT) · 7d") == (
        "Satisfaction (CSAT) · 7d: no satisfaction survey was asked in this period.",
        None,
    )


def test_satisfaction_table_for_the_command_line() -> None:
    text = shown(csat_table(satisfaction(UANNA=surveys(2, 5)), {"UANNA": "Anna"}))
    assert "Satisfaction (CSAT) 2026-11-16 to 2026-11-22" in text
    rows = {line.split("│")[1].strip(): line for line in text.splitlines() if "│" in line}
    assert "8 of 10 (80%)" in rows["Team"] and "3.6" in rows["Team"] and "62%" in rows["Team"]
    assert "▃▃▃▆█ 1 1 1 2 3" in rows["Team"]
    assert "1 of 2 (50%)" in rows["agent Anna"] and "100%" in rows["agent Anna"]
    assert "0 of 2 (0%)" in rows["topic (no topic)"] and "—" in rows["topic (no topic)"]
