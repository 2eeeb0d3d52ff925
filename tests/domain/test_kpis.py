"""KPI figures from what storage counted: percentiles, medians, shares, the team as the sum of
its agents. The counting rules themselves are tested on the database, in
tests/storage/test_kpi_queries.py."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.domain.kpis import Figures, Sample, Tally, figures, kpi_report, median, percentile

SINCE = datetime(2026, 11, 16, tzinfo=UTC)
UNTIL = SINCE + timedelta(days=7)


def minutes(n: float) -> timedelta:
    return timedelta(minutes=n)


ANNA = Sample(
    opened=3,
    first=Tally(met=2, measured=3),
    next=Tally(met=1, measured=2),
    judged=3,
    never_answered=1,
    resolved=2,
    answers_when_resolved=5,
    first_waits=[600.0, 2400.0],
    business_waits=[600.0, 900.0],
    resolutions=[7200.0, 14400.0],
)
NOBODY = Sample(opened=2, first=Tally(0, 1), judged=1, never_answered=1)


def test_figures_of_one_scope() -> None:
    assert figures(ANNA) == Figures(
        opened=3,
        answered=2,
        first_within_target=2 / 3,
        next_within_target=1 / 2,
        first_response_median=minutes(25),  # (10 + 40) / 2
        first_response_p90=minutes(40),
        first_response_business_median=minutes(12.5),
        first_response_business_p90=minutes(15),
        resolution_median=timedelta(hours=3),
        never_answered=1 / 3,
        exchanges_to_close=5 / 2,
    )


def test_the_team_is_everyone_and_the_unassigned() -> None:
    report = kpi_report({"UANNA": ANNA, None: NOBODY}, SINCE, UNTIL)
    assert (report.since, report.until, list(report.per_agent)) == (SINCE, UNTIL, ["UANNA"])
    team = report.team
    assert (team.opened, team.answered, team.first_within_target) == (5, 2, 2 / 4)
    assert (team.never_answered, team.exchanges_to_close) == (2 / 4, 5 / 2)


def test_nothing_counted_means_nothing_to_measure() -> None:
    empty = kpi_report({}, SINCE, UNTIL)
    assert empty.per_agent == {}
    assert empty.team == Figures(0, 0, None, None, None, None, None, None, None, None, None)


def test_waits_read_to_the_millisecond() -> None:
    # SQLite's time arithmetic is exact to ~50 microseconds: 10 minutes must read as 10 minutes.
    assert figures(Sample(opened=1, first_waits=[599.99996])).first_response_median == minutes(10)


@pytest.mark.parametrize(
    ("values", "q", "expected"),
    [
        (list(range(1, 11)), 0.9, 9),  # ceil(9.000000000000002) must not become 10
        (list(range(1, 11)), 0.5, 5),
        (list(range(1, 11)), 1.0, 10),
        (list(range(1, 11)), 0.01, 1),
        ([3], 0.9, 3),
        ([70, 5, 40, 10, 20], 0.9, 70),
        ([], 0.9, None),
    ],
)
def test_percentile_is_nearest_rank(values: list[int], q: float, expected: int | None) -> None:
    assert percentile(values, q) == expected


def test_percentile_refuses_q_outside_0_to_1() -> None:
    for q in (0, -0.1, 1.5, 90):
        with pytest.raises(ValueError):
            percentile([1, 2], q)


def test_median_of_durations() -> None:
    assert median([]) is None
    assert median([minutes(3), minutes(1), minutes(2)]) == minutes(2)
    assert median([minutes(4), minutes(1)]) == minutes(2.5)
