"""Satisfaction figures on a known set of scores: response rate, average, share of 4 and 5,
distribution, and the breakdowns per agent, topic and network."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.domain.csat_kpis import CsatCell, SurveyCount, csat_figures, csat_report

SINCE = datetime(2026, 11, 23, tzinfo=UTC)
UNTIL = SINCE + timedelta(days=7)


def count(asked: int, *scores: int) -> SurveyCount:
    """`asked` surveys, answered with `scores` (one per answer)."""
    return SurveyCount(asked, tuple(scores.count(n) for n in range(1, 6)))


def test_figures_of_a_known_set_of_scores() -> None:
    # Ten asked, eight answered: 5, 5, 5, 4, 4, 3, 2, 1.
    figures = csat_figures(count(10, 5, 5, 5, 4, 4, 3, 2, 1))
    assert (figures.asked, figures.answered) == (10, 8)
    assert figures.response_rate == 0.8
    assert figures.average == pytest.approx(29 / 8)  # 3.625
    assert figures.satisfied == 5 / 8  # three 5s and two 4s
    assert figures.distribution == (1, 1, 1, 2, 3)


def test_the_same_average_can_hide_different_satisfaction() -> None:
    everyone_at_four = csat_figures(count(4, 4, 4, 4, 4))
    split = csat_figures(count(4, 5, 5, 5, 1))
    assert everyone_at_four.average == split.average == 4.0
    assert (everyone_at_four.satisfied, split.satisfied) == (1.0, 0.75)


def test_nothing_to_measure_is_none_not_zero() -> None:
    nobody = csat_figures(SurveyCount())
    assert (nobody.asked, nobody.answered) == (0, 0)
    assert (nobody.response_rate, nobody.average, nobody.satisfied) == (None, None, None)
    unanswered = csat_figures(count(3))
    assert unanswered.response_rate == 0.0
    assert (unanswered.average, unanswered.satisfied) == (None, None)


def test_counts_add_up_and_must_have_five_scores() -> None:
    assert count(2, 5) + count(3, 1, 4) == count(5, 5, 1, 4)
    with pytest.raises(ValueError, match="one count per score"):
        SurveyCount(1, (1, 0, 0))


def test_breakdowns_per_agent_topic_and_network() -> None:
    cells = [
        CsatCell("UANNA", "refund", "X", count(1, 4)),
        CsatCell("UANNA", "delivery", "X", count(1, 5)),
        CsatCell("UBRUNO", "refund", "X", count(1, 2)),
        CsatCell("UBRUNO", "", "X", count(1)),
        CsatCell("UBRUNO", "delivery", "Facebook", count(1, 5)),
        CsatCell(None, "delivery", "Facebook", count(1, 3)),  # no agent: the team's only
    ]
    report = csat_report(cells, SINCE, UNTIL)
    assert (report.since, report.until) == (SINCE, UNTIL)
    team = report.team
    assert (team.asked, team.answered, team.distribution) == (6, 5, (0, 1, 1, 1, 2))
    assert team.average == pytest.approx(19 / 5)
    assert team.satisfied == 3 / 5

    agents = dict(report.per_agent)
    assert list(agents) == ["UBRUNO", "UANNA"]  # two answers each: Bruno was asked more
    assert (agents["UANNA"].average, agents["UANNA"].response_rate) == (4.5, 1.0)
    assert (agents["UBRUNO"].average, agents["UBRUNO"].response_rate) == (3.5, 2 / 3)
    assert agents["UBRUNO"].satisfied == 0.5

    topics = dict(report.per_topic)
    assert list(topics) == ["delivery", "refund", ""]  # most answers first; "" is no topic
    assert topics["delivery"].average == pytest.approx(13 / 3)
    assert topics["refund"].satisfied == 0.5
    assert (topics[""].asked, topics[""].answered, topics[""].average) == (1, 0, None)

    networks = dict(report.per_network)
    assert list(networks) == ["X", "Facebook"]
    assert (networks["X"].asked, networks["X"].answered) == (4, 3)
    assert networks["X"].average == pytest.approx(11 / 3)
    assert networks["Facebook"].distribution == (0, 0, 1, 0, 1)


def test_ties_go_to_the_most_asked_then_the_name() -> None:
    cells = [
        CsatCell("UCARLA", "a", "X", count(1, 5)),
        CsatCell("UBRUNO", "a", "X", count(3, 4)),
        CsatCell("UANNA", "a", "X", count(1, 3)),
    ]
    assert [agent for agent, _ in csat_report(cells, SINCE, UNTIL).per_agent] == [
        "UBRUNO",
        "UANNA",
        "UCARLA",
    ]


def test_an_empty_period() -> None:
    report = csat_report([], SINCE, UNTIL)
    assert report.team.asked == 0
    assert report.per_agent == report.per_topic == report.per_network == ()
