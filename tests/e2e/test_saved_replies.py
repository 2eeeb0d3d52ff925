"""Saved replies end to end, through the real modals: `/care replies` adds and edits them, the
card's **Saved reply** (or the thread's message shortcut) finds one by type-ahead, fills it in
for the customer in their language, shows the room left on the network as the agent types, and
sends it as the agent's answer."""

from __future__ import annotations

import json
from typing import Any

from bot.networks.x.emulator import XEmulator
from bot.sandbox.world import CHANNEL, World
from bot.slack import blocks
from bot.slack import saved_reply_modals as modals
from storage.models import AuditEntry, Message

REFUND_IT = "Ciao {name}, sono {agent}: il rimborso arriva entro 5 giorni lavorativi."
REFUND_EN = "Hi {name}, {agent} here: refunds arrive within 5 working days."


def typed(text: str) -> dict[str, Any]:
    return {"type": "plain_text_input", "value": text}


def add_reply(world: World, user: str, **fields: str | bool) -> dict[str, Any]:
    """`/care replies`, Add, fill in the editor, Save: what the bot answered to the Save."""
    world.care(user, "replies")
    listing = world.slack.top_modal()
    assert listing is not None and listing["callback_id"] == modals.LIST
    world.events.view_action(user, listing, {"action_id": modals.ADD, "value": "new"}, "add")
    editor = world.slack.top_modal()
    assert editor is not None and editor["callback_id"] == modals.EDITOR
    for name in ("name", "topic", "text_it", "text_en"):
        if name in fields:
            world.slack.type_into(editor["id"], name, name, typed(str(fields[name])))
    ticked = [{"value": "public"}] if fields.get("public", True) else []
    chosen = {"type": "checkboxes", "selected_options": ticked}
    world.slack.type_into(editor["id"], "public", "public", chosen)
    response = world.events.view_submission(user, world.slack.modal(editor["id"]))
    answer = json.loads(response.text) if response.text else {}
    if not answer:
        world.slack.close_modal(editor["id"])
    return answer


def pick(world: World, user: str, query: str) -> dict[str, Any]:
    """In the open picker: type `query`, choose the first option; the picker as it is then."""
    picker = world.slack.top_modal()
    assert picker is not None and picker["callback_id"] == modals.PICKER
    response = world.events.block_suggestion(user, picker, modals.PICK, "pick", query)
    options = json.loads(response.text)["options"]
    world.events.view_action(
        user,
        picker,
        {"action_id": modals.PICK, "type": "external_select", "selected_option": options[0]},
        "pick",
    )
    filled = world.slack.top_modal()
    assert filled is not None
    return filled


def text_of(view: dict[str, Any]) -> str:
    block = next(b for b in view["blocks"] if b.get("block_id", "").startswith("text-"))
    return str(block["element"]["initial_value"])


def room_of(view: dict[str, Any]) -> str:
    block = next(b for b in view["blocks"] if b.get("block_id") == "room")
    return str(block["elements"][0]["text"])


def test_a_saved_reply_is_added_found_filled_in_and_sent_as_the_agents_answer(
    bot: World, x_emulator: XEmulator
) -> None:
    assert add_reply(bot, "UANNA", name="rimborso-tempi", topic="rimborsi",
                     text_it=REFUND_IT, text_en=REFUND_EN) == {}  # fmt: skip
    bot.customer("giulia_r", "Giulia Rossi")
    bot.direct_message("giulia_r", "Ciao, quando arriva il mio rimborso?")
    card = bot.card_of("giulia_r")

    bot.press("UANNA", blocks.SAVED_REPLY, card)
    filled = pick(bot, "UANNA", "rimb")
    text = text_of(filled)
    assert text.startswith("Ciao Giulia Rossi, sono ")  # Italian: she wrote in Italian
    assert "rimborso arriva entro 5 giorni" in text
    assert room_of(filled).endswith("characters on X") and "/ 10000" in room_of(filled)

    edited = text + " Scusa l'attesa!"
    block = next(
        b["block_id"] for b in filled["blocks"] if b.get("block_id", "").startswith("text-")
    )
    bot.slack.type_into(filled["id"], block, modals.TEXT, typed(edited))
    response = bot.events.view_submission("UANNA", bot.slack.modal(filled["id"]))
    assert response.status_code == 200 and not response.text
    bot.settle()

    [dm] = x_emulator.sent_dms
    assert dm["text"] == edited
    shown = [
        m for m in bot.slack.thread(str(card["ts"]), CHANNEL) if m["text"].startswith("<@UANNA>")
    ]
    assert len(shown) == 1 and "with saved reply *rimborso-tempi*" in shown[0]["text"]
    assert "white_check_mark" in shown[0]["reactions"]
    assert "claimed by <@UANNA>" in str(bot.card_of("giulia_r")["blocks"])  # claimed by sending
    with bot.app.database.transaction() as session:
        [sent] = session.query(Message).filter_by(direction="outbound").all()
        assert (sent.saved_reply_name, sent.text, sent.delivery) == (
            "rimborso-tempi",
            edited,
            "sent",
        )
        actions = [a.action for a in session.query(AuditEntry).order_by(AuditEntry.id)]
        assert "saved_reply_added" in actions and "saved_reply_sent" in actions


def test_wrong_placeholders_and_taken_names_are_refused_under_the_field(bot: World) -> None:
    answer = add_reply(bot, "UANNA", name="saluti", text_it="Ciao {nome}!")
    assert answer["response_action"] == "errors"
    assert "unknown placeholder {nome}" in answer["errors"]["text_it"]
    assert add_reply(bot, "UANNA", name="saluti", text_it="Ciao {name}!") == {}
    again = add_reply(bot, "UBRUNO", name="Saluti", text_en="Hi {name}!")
    assert again["errors"] == {"name": "there is already a saved reply called saluti"}
    bad_name = add_reply(bot, "UANNA", name="rimborso tempi!", text_en="Hi")
    assert "name" in bad_name["errors"]


def test_the_room_left_follows_the_typing_and_a_reply_too_long_is_not_sent(
    bot: World, x_emulator: XEmulator
) -> None:
    add_reply(bot, "UANNA", name="grazie", text_en="Thanks {handle}, we're on it!")
    bot.mention("marco_b", "@AcmeCare my router is broken")
    card = bot.card_of("marco_b")
    bot.press("UANNA", blocks.SAVED_REPLY, card)
    filled = pick(bot, "UANNA", "")
    assert text_of(filled) == "Thanks @marco_b, we're on it!"
    assert "/ 280 characters on X" in room_of(filled)  # a public reply: X's limit

    block = next(
        b["block_id"] for b in filled["blocks"] if b.get("block_id", "").startswith("text-")
    )
    long_text = "x" * 300
    bot.slack.type_into(filled["id"], block, modals.TEXT, typed(long_text))
    action = {"action_id": modals.TEXT, "type": "plain_text_input", "value": long_text}
    bot.events.view_action("UANNA", bot.slack.modal(filled["id"]), action, block)
    assert room_of(bot.slack.modal(filled["id"])).startswith(":warning: 300 / 280 characters")

    response = bot.events.view_submission("UANNA", bot.slack.modal(filled["id"]))
    assert json.loads(response.text)["errors"] == {block: modals_not_sent("too_long")}
    bot.settle()
    assert x_emulator.sent_tweets == []


def test_private_only_replies_are_not_offered_in_public_and_owners_are_respected(
    bot: World,
) -> None:
    add_reply(bot, "UANNA", name="dati-conto", text_it="Mandaci l'IBAN in privato", public=False)
    add_reply(bot, "UANNA", name="orari", text_it="Siamo aperti 9-18")
    bot.mention("marco_b", "@AcmeCare a che ora aprite?")
    card = bot.card_of("marco_b")
    bot.press("UBRUNO", blocks.CLAIM, card)
    bot.press("UANNA", blocks.SAVED_REPLY, card)
    picker = bot.slack.top_modal()
    assert picker is not None
    response = bot.events.block_suggestion("UANNA", picker, modals.PICK, "pick", "")
    assert [o["text"]["text"] for o in json.loads(response.text)["options"]] == ["orari"]
    filled = pick(bot, "UANNA", "orari")
    response = bot.events.view_submission("UANNA", filled)
    errors = json.loads(response.text)["errors"]
    assert list(errors.values()) == [modals_not_sent("not_owner")]


def test_the_message_shortcut_opens_the_picker_for_the_threads_conversation(bot: World) -> None:
    add_reply(bot, "UANNA", name="orari", text_en="We're open 9 to 6, {name}.")
    bot.customer("tom_h", "Tom Hill")
    bot.direct_message("tom_h", "when do you open?")
    card = bot.card_of("tom_h")
    bot.events.message_shortcut("UANNA", modals.SHORTCUT, CHANNEL, card)
    filled = pick(bot, "UANNA", "ora")
    assert text_of(filled) == "We're open 9 to 6, Tom Hill."


def modals_not_sent(kind: str) -> str:
    from bot.domain.conversation import AgentMessageKind
    from handlers.saved_replies import NOT_SENT

    return NOT_SENT[AgentMessageKind(kind)]


def test_care_stats_replies_says_which_replies_are_used_by_whom_and_if_customers_wrote_again(
    bot: World,
) -> None:
    add_reply(bot, "UANNA", name="orari", text_en="We're open 9 to 6, {name}.")
    add_reply(bot, "UANNA", name="grazie", text_en="Thanks {name}!")
    for handle, user in (("tom_h", "UANNA"), ("ann_b", "UBRUNO"), ("joe_k", "UANNA")):
        bot.customer(handle, handle.title())
        bot.direct_message(handle, "when do you open?")
        bot.press(user, blocks.SAVED_REPLY, bot.card_of(handle))
        filled = pick(bot, user, "orari")
        bot.events.view_submission(user, bot.slack.modal(filled["id"]))
        bot.settle()
    bot.direct_message("tom_h", "and on Sundays?")  # Tom was not settled by it
    bot.reply_in_thread("UANNA", "Closed on Sundays", str(bot.card_of("tom_h")["ts"]))
    bot.settle()

    shown = bot.care("UCARLA", "stats replies 7d")
    assert "Saved replies · 7d* · 3 sent (75% of 4 answers)" in shown
    assert "*orari*: 3 · 33% wrote again within 24 h · by <@UANNA> 2, <@UBRUNO> 1" in shown
    assert "grazie" not in shown  # never used
