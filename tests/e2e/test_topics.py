"""Topics end to end: each new card suggests one from the customer's words, an agent changes it
with one click, Resolve suggests one when there is none, and the team keeps its list with
`/care topics`."""

from __future__ import annotations

from bot.sandbox.world import World
from bot.slack import blocks
from storage.models import AuditEntry, Conversation


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
