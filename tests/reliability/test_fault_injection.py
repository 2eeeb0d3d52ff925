"""Nothing lost, nothing doubled: the real bot, SIGKILLed at random while Slack, X and Meta's
APIs (Facebook, Instagram, WhatsApp) fail 20% of its requests and Meta's webhooks come batched,
late and twice, mirrors every customer message (mentions and DMs on X, comments and Messenger
messages on Facebook, comments and Direct messages on Instagram, WhatsApp messages) once in the
right thread, delivers every answer once to the right person and sends no alert or notice twice.
The one double allowed is WhatsApp's documented one (a send whose outcome the bot could not
know is made again: `received.py`), counted apart.

CHAOS_SEED=<n> plays another seed (the emulators' faults, the customers' choices); a run prints
its seed with its figures.

The normal run is small enough for every test run; `pytest --long tests/reliability` plays the
full one (500 customer messages, 100 answers, at least 24 kills; about 20 minutes). The figures
are printed at the end of the test session.
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import pytest

from tests.conftest import postgres_url
from tests.reliability.chaos import ChaosRun, Plan
from tests.reliability.verdict import Verdict

SHORT = Plan(inbound=40, answers=10, kills=4, customers=12, pace=0.4, response_target=30)
LONG = Plan(inbound=500, answers=100, kills=24, customers=120, pace=1.2, drain_timeout=1800)


def play(plan: Plan, database_url: str, logs: Path) -> Verdict:
    seed = os.environ.get("CHAOS_SEED")
    run = ChaosRun(replace(plan, seed=int(seed)) if seed else plan, database_url, logs)
    try:
        return run.play()
    finally:
        run.close()


def check(verdict: Verdict, plan: Plan, request: pytest.FixtureRequest) -> None:
    request.node.user_properties.append(("chaos", "\n".join(verdict.lines())))
    assert verdict.kills >= plan.kills
    counts = (verdict.lost, verdict.duplicated, verdict.misplaced, verdict.abandoned)
    assert counts == (0, 0, 0, 0), "\n".join(verdict.lines())
    assert verdict.unanswered == 0, "\n".join(verdict.lines())


def test_every_message_once_under_faults_and_kills(
    database_url: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    plan = LONG if request.config.getoption("--long") else SHORT
    check(play(plan, database_url, tmp_path), plan, request)


def test_every_message_once_over_socket_mode_under_faults_and_kills(
    database_url: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """The same, with Slack reaching the bot over Socket Mode, as most teams run it: a killed
    process's link drops, envelopes it did not acknowledge come again on the next one."""
    plan = LONG if request.config.getoption("--long") else SHORT
    check(play(replace(plan, transport="socket"), database_url, tmp_path), plan, request)


@pytest.mark.parametrize("transport", ["http", "socket"])
def test_three_replicas_share_the_work_and_replace_a_killed_leader(
    database_url: str, tmp_path: Path, request: pytest.FixtureRequest, transport: str
) -> None:
    """Each replica holds its own Socket Mode link in the socket run: Slack spreads the
    envelopes over them and sends an unacknowledged one again to any."""
    if not postgres_url():
        pytest.skip("replicas share a PostgreSQL database: set TEST_DATABASE_URL")
    long = request.config.getoption("--long")
    plan = Plan(
        inbound=500 if long else 40,
        answers=100 if long else 10,
        kills=24 if long else 6,
        leader_kills=8 if long else 3,
        customers=120 if long else 12,
        replicas=3,
        pace=1.2 if long else 0.4,
        response_target=60 if long else 30,
        drain_timeout=1800 if long else 600,
        transport=transport,
    )
    verdict = play(plan, database_url, tmp_path)
    check(verdict, plan, request)
    assert len(verdict.takeovers) >= plan.leader_kills
    assert max(verdict.takeovers) <= 10.0
    assert min(verdict.jobs_done.values()) > 0  # every replica worked the shared outbox
