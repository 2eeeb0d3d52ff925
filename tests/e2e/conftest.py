"""The real bot (Bolt in HTTP mode behind waitress, slack-sdk, tweepy) against the emulators:
the same `World` the demo plays in (bot/sandbox/world.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot.clock import ManualClock
from bot.sandbox.slack_api import SlackEmulator
from bot.sandbox.world import CHANNEL, SIGNING_SECRET, World, running_world, sandbox_env
from bot.sandbox.x_api import XEmulator

__all__ = ["CHANNEL", "SIGNING_SECRET", "Harness", "settings_env"]

Harness = World
settings_env = sandbox_env


@pytest.fixture
def bot(
    slack_emulator: SlackEmulator, x_emulator: XEmulator, database_url: str, clock: ManualClock
) -> Iterator[World]:
    with running_world(database_url, clock, slack=slack_emulator, x=x_emulator) as world:
        yield world
