"""Topics end to end: each new card suggests one from the customer's words, an agent changes it
with one click, Resolve suggests one when there is none, and the team keeps its list with
`/care topics`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from bot.clock import ManualClock
from bot.networks.x.emulator import XEmulator
from bot.sandbox.slack_api import SlackEmulator
from bot.sandbox.world import World, running_world
from bot.slack import blocks
from storage.models import AuditEntry, Conversation
from tests.e2e.test_saved_replies import add_reply, pick


def topic_line(card: dict[str, object]) -> str:
    return next((line for line in str(card["blocks"]).split("\\n") if ":label:" in line), "")


def test_a_card_suggests_a_topic_and_one_click_changes_it(bot: World) -> None:
    bot.mention("giulia_r", "il mio pacco non è ancora arrivato, il corriere dice in giacenza")
    card = bot.card_of("giulia_r")
    assert ":label: delivery (suggested)" in str(card["blocks"])
    bot.choose("UANNA", blocks.SET_TOPIC, card, "refund")
    bot.settle()
    card = bot.card_of("giulia_r")
    assert ":label: refund" in str(card["blocks"]) and "(suggested)" not in str(card["blocks"])
    with bot.app.database.transaction() as session:
        conversation = session.query(Conversation).one()
        assert (conversation.topic, conversation.topic_by) == ("refund", "UANNA")
        audit = session.query(AuditEntry).filter_by(action="topic").one()
        assert audit.detail == {"topic": "refund", "was": "delivery"}


def test_resolve_suggests_a_topic_from_everything_the_customer_wrote(bot: World) -> None:
    bot.mention("marco_b", "ciao, una domanda")
    card = bot.card_of("marco_b")
    assert ":label:" not in str(card["blocks"])  # nothing to go by yet
    bot.mention("marco_b", "quando mi rimborsate i 39,90 €? voglio il rimborso")
    bot.press("UANNA", blocks.RESOLVE, card)
    bot.settle()
    assert ":label: refund (suggested)" in str(bot.card_of("marco_b")["blocks"])


def test_the_team_adds_and_removes_its_own_topics(bot: World) -> None:
    listed = bot.care("UANNA", "topics")
    assert "*delivery*: consegna, spedizione" in listed and "*fibra*" not in listed
    added = bot.care("UANNA", "topics add Fibra: ftth, fibra ottica, modem fibra")
    assert "fibra added" in added and "*fibra*: ftth, fibra ottica, modem fibra" in added
    bot.mention("tom_h", "avete la FTTH a Bari?")
    card = bot.card_of("tom_h")
    assert ":label: fibra (suggested)" in str(card["blocks"])
    menu = [e for b in card["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert "fibra" in str([e for e in menu if e["action_id"] == blocks.SET_TOPIC])

    removed = bot.care("UANNA", "topics remove fibra")
    assert "fibra removed" in removed and "*fibra*" not in removed
    assert "there is no topic nope" in bot.care("UANNA", "topics remove nope")
    assert "say which topic" in bot.care("UANNA", "topics rename x")


def test_care_stats_topics_shows_each_topics_figures_and_the_fastest_growing(bot: World) -> None:
    for handle in ("a_1", "a_2", "a_3"):
        bot.mention(handle, "il pacco non è arrivato, dov'è il corriere?")
    bot.mention("b_1", "voglio il rimborso dei 39,90 €")
    bot.reply_in_thread("UANNA", "Il rimborso parte oggi", str(bot.card_of("b_1")["ts"]))
    bot.settle()
    bot.press("UANNA", blocks.RESOLVE, bot.card_of("b_1"))
    bot.settle()

    shown = bot.care("UCARLA", "stats topics 7d")
    assert "*Topics · 7d*" in shown
    assert "• *delivery*: 3" in shown
    assert "• *refund*: 1 · 100% answered within target · 2.0 messages to resolve" in shown
    assert "Growing fastest: *delivery*" in shown


def test_faq_export_writes_the_most_asked_topics_with_questions_and_the_fastest_replies(
    bot: World, tmp_path: Path
) -> None:
    add_reply(bot, "UANNA", name="dove-pacco", text_it="Ciao {name}, il pacco arriva in 48 ore.")
    questions = {
        "giulia_r": "Ciao, sono Giulia Rossi: il pacco dell'ordine 4411 dov'è? "
        "Scrivetemi a giulia@example.com?",
        "marco_b": "il mio pacco è in giacenza dal corriere, cosa devo fare?",
        "tom_h": "quando arriva la consegna del mio pacco?",
    }
    for handle, text in questions.items():
        bot.mention(handle, text)
        card = bot.card_of(handle)
        bot.press("UANNA", blocks.SAVED_REPLY, card)
        filled = pick(bot, "UANNA", "pacco")
        bot.events.view_submission("UANNA", bot.slack.modal(filled["id"]))
        bot.settle()
        bot.press("UANNA", blocks.RESOLVE, card)
        bot.settle()
    bot.mention("ann_b", "voglio il rimborso, quando arriva?")

    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "X_"))},
        "DATABASE_URL": bot.app.settings.database_url,
        "TIMEZONE": "Europe/Rome",
    }
    page = tmp_path / "faq.md"
    command = [sys.executable, "-m", "bot", "faq", "export", "--since", "3650d", "--format", "md"]
    done = subprocess.run(
        [*command, "--lang", "it", "--company", "Acme", "-o", str(page)],
        env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    text = page.read_text()
    assert text.index("delivery") < text.index("refund")  # the most asked first
    assert "Chiesto 3 volte" in text and "Chiesto 1 volta" in text
    assert "il pacco arriva in 48 ore" in text and "Ciao, il pacco" in text  # no {name}
    for secret in ("Giulia", "4411", "giulia@example.com", "@giulia_r", "@acmecare"):
        assert secret not in text
    html = subprocess.run(
        [*command, "--format", "html", "--lang", "en"], env=env, capture_output=True, text=True,
        timeout=60,
    )  # fmt: skip
    assert html.returncode == 0 and html.stdout.startswith("<!DOCTYPE html>")
    assert "Frequently asked questions" in html.stdout


def test_with_topic_on_resolve_require_a_conversation_without_one_is_not_resolved(
    slack_emulator: SlackEmulator,
    x_emulator: XEmulator,
    database_url: str,
    clock: ManualClock,
    transport: str,
) -> None:
    env = {"TOPIC_ON_RESOLVE": "require"}
    with running_world(
        database_url, clock, slack=slack_emulator, x=x_emulator, env=env, transport=transport
    ) as world:
        world.mention("marco_b", "ciao, una domanda")
        card = world.card_of("marco_b")
        world.press("UANNA", blocks.RESOLVE, card)
        world.settle()
        assert "*Resolved*" not in str(world.card_of("marco_b")["blocks"])
        [told] = [e for e in world.ephemerals_for("UANNA") if "topic" in e["text"]]
        assert "Pick a topic in the card's Topic menu first" in told["text"]
        world.choose("UANNA", blocks.SET_TOPIC, card, "product")
        world.press("UANNA", blocks.RESOLVE, card)
        world.settle()
        assert "*Resolved*" in str(world.card_of("marco_b")["blocks"])
