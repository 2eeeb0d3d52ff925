"""Whom a satisfaction survey may go to: each rule that holds one back, on its own."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from bot.domain.surveys import Skip, SurveyCase, SurveyMode, choices, decide, score_of_choice

NOW = datetime(2026, 12, 8, 10, 0, tzinfo=UTC)
ASK = SurveyCase(
    mode=SurveyMode.PRIVATE,
    had_private_part=True,
    answered=True,
    on_hold=False,
    last_asked_at=None,
    cooldown=timedelta(days=7),
    reachable=True,
    window_closes_at=NOW + timedelta(hours=3),
    now=NOW,
)


def test_a_private_answered_conversation_is_asked() -> None:
    assert decide(ASK) is None


@pytest.mark.parametrize(
    ("change", "skip"),
    [
        ({"mode": SurveyMode.OFF}, Skip.OFF),
        ({"answered": False}, Skip.NEVER_ANSWERED),
        ({"on_hold": True}, Skip.ON_HOLD),
        ({"had_private_part": False}, Skip.PUBLIC_ONLY),
        ({"last_asked_at": NOW - timedelta(days=6, hours=23)}, Skip.COOLDOWN),
        ({"reachable": False}, Skip.UNREACHABLE),
        ({"window_closes_at": NOW}, Skip.WINDOW_CLOSED),
    ],
)
def test_each_rule_holds_the_survey_back(change: dict, skip: Skip) -> None:
    assert decide(replace(ASK, **change)) == skip


def test_csat_all_asks_public_conversations_and_the_cooldown_ends() -> None:
    public = replace(ASK, mode=SurveyMode.ALL, had_private_part=False, window_closes_at=None)
    assert decide(public) is None
    assert decide(replace(ASK, last_asked_at=NOW - timedelta(days=7))) is None
    assert decide(replace(ASK, cooldown=timedelta(0), last_asked_at=NOW)) is None


def test_the_buttons_and_their_payloads() -> None:
    assert choices()[0] == ("csat:1", "⭐") and choices()[-1] == ("csat:5", "⭐⭐⭐⭐⭐")
    assert [score_of_choice(p) for p, _ in choices()] == [1, 2, 3, 4, 5]
    for foreign in ("csat:0", "csat:6", "csat:x", "REFUND", ""):
        assert score_of_choice(foreign) is None
