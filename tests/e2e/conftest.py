"""The real bot (Bolt in HTTP mode behind waitress, slack-sdk, tweepy) against the emulators:
the same `World` the demo plays in (bot/sandbox/world.py)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import pytest

from bot.clock import ManualClock
from bot.networks.facebook.emulator import GraphEmulator
from bot.networks.instagram.emulator import InstagramEmulator
from bot.networks.whatsapp.emulator import WhatsAppEmulator
from bot.networks.x.emulator import XEmulator
from bot.sandbox.slack_api import SlackEmulator
from bot.sandbox.world import (
    CHANNEL,
    SIGNING_SECRET,
    World,
    running_world,
    sandbox_env,
)

__all__ = ["CHANNEL", "SIGNING_SECRET", "Harness", "settings_env"]

Harness = World
settings_env = sandbox_env


@pytest.fixture
def bot(
    slack_emulator: SlackEmulator,
    x_emulator: XEmulator,
    database_url: str,
    clock: ManualClock,
    transport: str,
) -> Iterator[World]:
    env = {"SLACK_LEADS": "UCARLA"}  # Carla leads the team: she may take over and lift holds
    with running_world(
        database_url, clock, slack=slack_emulator, x=x_emulator, env=env, transport=transport
    ) as world:
        yield world


@contextmanager
def every_network(
    database_url: str,
    clock: ManualClock,
    slack: SlackEmulator,
    x: XEmulator,
    transport: str,
    env: dict[str, str] | None = None,
) -> Iterator[World]:
    """The bot with an account on each network: X, and Facebook, Instagram and WhatsApp on
    their emulators (one Meta webhook URL)."""
    with (
        GraphEmulator(clock=clock.timestamp) as meta,
        InstagramEmulator(clock=clock.timestamp) as instagram,
        WhatsAppEmulator(clock=clock.timestamp) as whatsapp,
        running_world(
            database_url,
            clock,
            slack=slack,
            x=x,
            meta=meta,
            instagram=instagram,
            whatsapp=whatsapp,
            env=env,
            transport=transport,
        ) as world,
    ):
        yield world


# Monday 23 November 2026, 10:00 in Rome (09:00 UTC)
MONDAY_10 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
ROME_OFFICE = {
    "TIMEZONE": "Europe/Rome",
    "BUSINESS_HOURS": "mon-fri 09:00-18:00",
    "SLA_FIRST_RESPONSE": "1h",
    "SLA_NEXT_RESPONSE": "30m",
    "SLA_WARN_BEFORE": "10m",
    "SLA_ESCALATE_TO": "S0LEADS",
    "SLA_ESCALATE_AFTER": "30m",
}


@pytest.fixture
def office(
    slack_emulator: SlackEmulator, x_emulator: XEmulator, database_url: str, transport: str
) -> Iterator[World]:
    clock = ManualClock(MONDAY_10)
    slack_emulator.clock = clock.timestamp
    x_emulator.clock = clock.timestamp
    with running_world(
        database_url,
        clock,
        slack=slack_emulator,
        x=x_emulator,
        env=ROME_OFFICE,
        transport=transport,
    ) as world:
        yield world


def channel_posts(world: World) -> list[str]:
    """Top-level messages that are not conversation cards: escalations, handoffs."""
    return [
        m["text"] for m in world.slack.messages(CHANNEL) if "blocks" not in m or not m["blocks"]
    ]
