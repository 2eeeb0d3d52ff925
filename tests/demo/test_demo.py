"""`carebridge demo` end to end: what a person watching the terminal would see."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest
import structlog
from rich.console import Console

from bot.demo.runner import run_demo


@pytest.fixture
def console() -> Iterator[Console]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield Console(file=io.StringIO(), width=120, color_system=None, record=True)
    structlog.reset_defaults()  # the demo configures logging for its process
    root.handlers[:], root.level = handlers, level


def test_the_scripted_morning_shows_slack_and_x(console: Console) -> None:
    assert run_demo(pause=0, console=console) == 0
    shown = console.export_text()
    # the channel evolving
    assert "Giulia Rossi" in shown and "il mio pacco è fermo a Bologna" in shown
    assert "[ Claim ]" in shown and "claimed by @Anna" in shown
    assert "only Bruno sees" in shown and "@Anna already owns this conversation" in shown
    assert "✅" in shown
    # what reached the customers on X
    assert "→ X public reply to @giulia_r: Ciao Giulia" in shown
    assert "→ X public reply to @tom_h: We'd like to help you with this privately" in shown
    assert "→ X DM to @tom_h: Thanks Tom" in shown
    assert "→ X DM to @marco_b: Ciao Marco" in shown
    # the note never left Slack
    assert "X public reply to @giulia_r: note:" not in shown
    # the summary
    assert "This morning" in shown and "median first answer" in shown
    assert "2 public replies" not in shown  # Giulia, Tom, and the DM invitation: three
    assert "3 public replies and 2 DMs sent on X" in shown
    # response times: a warning to the on-call agent, then an escalation in the channel
    assert "⏰ @Bruno first answer due at 09:22, in 5 min." in shown
    assert "#support: 🚨 Target missed: first answer was due at 09:22" in shown
    assert "@support-leads" in shown and "missed" in shown


def test_interactive_mode_lets_you_answer_and_write_as_a_customer(console: Console) -> None:
    commands = [
        "tweet luca_v il codice sconto non funziona",
        "list",
        "as bruno",
        "say 4 Ciao Luca, prova ora: BENVENUTO10",
        "resolve 4",
        "say 99 hello",
        "bogus",
        "quit",
    ]
    assert run_demo(pause=0, console=console, interactive=True, commands=commands) == 0
    shown = console.export_text().split("This morning")[-1]
    assert "@luca_v" in shown
    assert "→ X public reply to @luca_v: Ciao Luca, prova ora: BENVENUTO10" in shown
    assert "Resolved" in shown
    assert "there is no conversation 99" in shown
    assert "Unknown command 'bogus'" in shown
