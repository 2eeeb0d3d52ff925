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
    # the satisfaction survey: asked by DM after Resolve, answered in words, shown on the card
    assert "→ X DM to @tom_h: Hi Tom, how did we do, from 1 to 5?" in shown
    assert "⭐ 5/5: “quick and kind, thanks!”" in shown
    # the note never left Slack
    assert "X public reply to @giulia_r: note:" not in shown
    # the summary
    assert "This morning" in shown and "median first answer" in shown
    assert "5 public replies and 5 DMs sent on X" in shown
    # response times: a warning to the on-call agent, then an escalation in the channel
    assert "⏰ @Bruno first answer due at 09:27, in 5 min." in shown
    assert "#support: 🚨 Target missed: first answer was due at 09:27" in shown
    assert "@support-leads" in shown and "missed" in shown
    # automatic notices: out of hours by DM in Italian, the rules once, then a hold a lead lifts
    assert "→ X DM to @sofia_l: Ciao Sofia, grazie per averci scritto!" in shown
    assert "Ti risponderemo oggi alle 9:00." in shown
    assert "→ X public reply to @troll_99: @troll_99 Ciao Anon, vogliamo davvero aiutarti" in shown
    assert "Netiquette hold: @troll_99 wrote abusively again" in shown
    assert "@Carla lifted the netiquette hold" in shown
    # priority: a VIP journalist writing angrily is urgent, with reasons, and on call is pinged
    assert "🔴 Urgent: journalist, Corriere (VIP) · 31k followers · verified · angry" in shown
    assert "#support: 🔴 Urgent: @luca_press" in shown
    # Facebook next to X: a comment answered under it, Messenger with its window, and an
    # answer given on Facebook itself shown in the thread
    assert "Facebook · Acme Italia · Public comment" in shown
    assert "→ Facebook reply under Elena Conti's comment: Ciao Elena" in shown
    assert "Facebook · Acme Italia · Messenger" in shown
    assert "⏳ Messenger: can answer until" in shown
    assert "→ Facebook Messenger to Paolo Greco: Ciao Paolo" in shown
    assert "💬 Answered on Facebook directly: Figurati Elena" in shown
    flat = " ".join(shown.split())  # the summary's caption wraps
    assert "1 comment reply and 1 Messenger message sent on Facebook" in flat
    assert "Elena Conti · 0 followers" not in shown  # a Page sees no audience
    # Instagram and WhatsApp on the same webhook: a Direct message and a chat, answered; the
    # WhatsApp number shown masked, its receipts on Carla's answer
    assert "Instagram · @acme.italia · Direct message" in shown
    assert "→ Instagram Direct to @chiara.moda: Ciao Chiara!" in shown
    assert "Davide Russo · +39 333 ••• ••67" in shown and "393331234567" not in shown
    assert "→ WhatsApp to +39 333 ••• ••67: Buongiorno Davide" in shown
    assert "📬 on Carla's answer" in shown
    assert "1 Direct message on Instagram · 1 message on WhatsApp" in flat
    assert_names_not_markup(shown)  # the on-call rotation's private answer names Bruno and Carla
    assert "only Anna sees: 🔔 On call now: @Bruno" in shown


def test_interactive_mode_lets_you_answer_and_write_as_a_customer(console: Console) -> None:
    commands = [
        "tweet luca_v il codice sconto non funziona",
        "list",
        "as bruno",
        f"say 2 {MENTIONS}",
        "say 11 Ciao Luca, prova ora: BENVENUTO10",
        "resolve 11",
        "say 99 hello",
        "messenger Sara ciao, il codice non arriva",
        "list",
        "bogus",
        "quit",
    ]
    assert run_demo(pause=0, console=console, interactive=True, commands=commands) == 0
    everything = console.export_text()
    assert_names_not_markup(everything)
    shown = everything.split("This morning")[-1]
    assert "@luca_v" in shown
    assert "→ X public reply to @luca_v: Ciao Luca, prova ora: BENVENUTO10" in shown
    assert "Resolved" in shown
    assert "there is no conversation 99" in shown
    assert "Unknown command 'bogus'" in shown
    assert "Facebook · Acme Italia · Messenger" in shown and "il codice non arriva" in shown
    assert "│ 12 │ Sara" in shown
    assert "Bruno: note: @Bruno @support-leads guardate, in #support" in shown


def test_the_morning_in_italian_names_people_never_slack_markup(console: Console) -> None:
    """`carebridge demo --lang it`: the story in Italian, the bot speaking the team's language.
    Of the product's own words only the buttons are checked: the rest is being translated."""
    commands = ["as carla", f"say 2 {MENTIONS}", "list", "channel", "quit"]
    assert run_demo(pause=0, console=console, interactive=True, commands=commands, lang="it") == 0
    shown = console.export_text()
    assert_names_not_markup(shown)
    flat = " ".join(shown.split())
    assert "Una mattina di assistenza clienti sui social" in flat
    assert "Anna prende in carico la conversazione di Giulia." in flat
    assert "Il canale a fine mattinata" in flat and "Stamattina" in flat
    assert "prima risposta mediana" in flat and "5 risposte pubbliche e 5 DM inviati su X" in flat
    assert "[ Prendi in carico ]" in shown and "[ Risolvi ]" in shown
    assert "[ Claim ]" not in shown
    assert "solo Bruno vede:" in shown  # his late click, answered to him alone
    assert "→ X risposta pubblica a @giulia_r: Ciao Giulia" in shown
    # a slash command's private answer (the on-call rotation), an agent's note, the REPL's list
    rotation = next(line for line in shown.splitlines() if line.startswith("solo Anna vede: 🔔"))
    assert "@Bruno" in rotation and "@Carla" in rotation
    assert "Carla: note: @Bruno @support-leads guardate, in #support" in shown
    giulia = next(line for line in shown.splitlines() if line.startswith("│ 2  │ @giulia_r"))
    assert "│ Anna " in giulia


# Slack markup an agent may write, and the bot writes in notices and private answers.
MENTIONS = "note: <@UBRUNO> <!subteam^S0SUPPORTLEADS> guardate, in <#CSUPPORT>"
RAW_MARKUP = ("<@U", "<!subteam", "<#C", "<!here", "<!channel")


def assert_names_not_markup(shown: str) -> None:
    assert [markup for markup in RAW_MARKUP if markup in shown] == []
