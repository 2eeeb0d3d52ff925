"""Satisfaction figures (CSAT): how many customers were asked, how many answered, and how
satisfied they were, for the team and per agent, topic and network.

Storage counts the surveys of a period (storage/csat_queries.py, one aggregate query); the
functions here turn the counts into figures. Definitions:

- A survey belongs to a period when it was *asked* in it: its question went out (`sent_at`) in
  `[since, until)`. Its answer counts with it, even when it came after `until`.
- *Asked*: the surveys whose question went out, answered or not (status sent or answered). The
  skipped ones (no question: netiquette hold, cooldown, closed window...), the failed ones (the
  network refused the question) and the cancelled ones (the customer wrote again first) were
  never asked, and count nowhere.
- *Answered*: the asked ones with a score. *Response rate* = answered / asked.
- *Average*: the mean score (1 to 5) of the answered ones.
- *Distribution*: how many answers gave each score, 1 to 5.
- *Satisfied* (the industry's "CSAT score", as a percentage): the share of answers at 4 or 5.
  It is shown with the average because they tell different things: 4.0 may be everyone at 4,
  or half at 5 and a quarter at 1.
- Per agent: the survey's agent (who owned or resolved the conversation); per topic: the
  conversation's topic ("" for none); per network: the brand account's network, by its label.

Every share is None when its denominator is zero: nothing to measure is not 0%.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from bot.domain.surveys import SCORES

SATISFIED_FROM = 4  # 4 and 5 are satisfied customers
NO_SCORES = (0,) * len(SCORES)


@dataclass(frozen=True)
class SurveyCount:
    """Surveys asked in a period, and their answers per score (index 0 is score 1)."""

    asked: int = 0
    scores: tuple[int, ...] = NO_SCORES

    def __post_init__(self) -> None:
        if len(self.scores) != len(SCORES):
            raise ValueError(f"one count per score from 1 to 5, not {self.scores}")

    @property
    def answered(self) -> int:
        return sum(self.scores)

    def __add__(self, other: SurveyCount) -> SurveyCount:
        return SurveyCount(
            self.asked + other.asked,
            tuple(a + b for a, b in zip(self.scores, other.scores, strict=True)),
        )


@dataclass(frozen=True)
class CsatCell:
    """What storage counted for one agent, topic and network together."""

    agent: str | None  # a Slack user id; None for a survey without one
    topic: str  # "" for the conversations without a topic
    network: str  # the network's label ("X", "Facebook")
    count: SurveyCount


@dataclass(frozen=True)
class CsatFigures:
    asked: int
    answered: int
    response_rate: float | None  # answered / asked, 0..1
    average: float | None  # mean score of the answers, 1..5
    satisfied: float | None  # share (0..1) of the answers at 4 or 5: the "CSAT score"
    distribution: tuple[int, ...]  # answers per score, 1 to 5


Breakdown = tuple[tuple[str, CsatFigures], ...]


@dataclass(frozen=True)
class CsatReport:
    since: datetime
    until: datetime
    team: CsatFigures
    # Each sorted with the most answers first, then the most asked, then by name.
    per_agent: Breakdown  # by Slack user id
    per_topic: Breakdown  # by topic, "" for none
    per_network: Breakdown  # by network label


def csat_figures(count: SurveyCount) -> CsatFigures:
    """The figures of one group of surveys, by the definitions of the module docstring."""
    answered = count.answered
    total = sum(score * n for score, n in zip(SCORES, count.scores, strict=True))
    satisfied = sum(
        n for score, n in zip(SCORES, count.scores, strict=True) if score >= SATISFIED_FROM
    )
    return CsatFigures(
        asked=count.asked,
        answered=answered,
        response_rate=answered / count.asked if count.asked else None,
        average=total / answered if answered else None,
        satisfied=satisfied / answered if answered else None,
        distribution=count.scores,
    )


def csat_report(cells: Iterable[CsatCell], since: datetime, until: datetime) -> CsatReport:
    """The team's figures and the breakdowns, from the counts by agent, topic and network."""
    cells = list(cells)
    return CsatReport(
        since=since,
        until=until,
        team=csat_figures(sum((c.count for c in cells), SurveyCount())),
        per_agent=_breakdown(cells, lambda c: c.agent),
        per_topic=_breakdown(cells, lambda c: c.topic),
        per_network=_breakdown(cells, lambda c: c.network),
    )


def _breakdown(cells: list[CsatCell], key: Callable[[CsatCell], str | None]) -> Breakdown:
    """Counts summed by `key`; a None key (a survey without an agent) counts for the team only."""
    groups: dict[str, SurveyCount] = {}
    for cell in cells:
        name = key(cell)
        if name is not None:
            groups[name] = groups.get(name, SurveyCount()) + cell.count
    figures = [(name, csat_figures(count)) for name, count in groups.items()]
    return tuple(sorted(figures, key=lambda item: (-item[1].answered, -item[1].asked, item[0])))
