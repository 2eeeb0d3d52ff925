"""Facebook end to end: the Graph emulator delivers Meta's signed webhooks to the bot's real HTTP
route (/webhooks/meta), the bot answers through the Graph API; cards, claims, answers, notices
and response targets as on X."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime, timedelta

import pytest
import requests

from bot.clock import ManualClock
from bot.networks.facebook.emulator import SANDBOX_PAGE, GraphEmulator
from bot.networks.x.emulator import XEmulator
from bot.sandbox.loopback import Fault
from bot.sandbox.slack_api import SlackEmulator
from bot.sandbox.world import CHANNEL, World, running_world
from bot.slack import blocks
from storage.models import Message
from tests.e2e.conftest import MONDAY_10, ROME_OFFICE, channel_posts

MONDAY_22 = MONDAY_10 + timedelta(hours=12)  # closed; open Tuesday at 9:00 in Rome

PAGE = SANDBOX_PAGE["page_id"]


@pytest.fixture
def meta(clock: ManualClock) -> Iterator[GraphEmulator]:
    with GraphEmulator(clock=clock.timestamp) as emulator:
        emulator.add_user("7001", "Giulia", "Rossi")
        emulator.add_user("7002", "Marco", "Bianchi")
        yield emulator


OpenPage = Callable[..., AbstractContextManager[World]]


@pytest.fixture
def open_page(
    database_url: str,
    clock: ManualClock,
    slack_emulator: SlackEmulator,
    x_emulator: XEmulator,
    meta: GraphEmulator,
    transport: str,
) -> OpenPage:
    """Start the bot with the Page: `with open_page(**settings) as world`, `at=` another moment
    (the emulators' clocks follow)."""

    @contextmanager
    def start(at: datetime | None = None, **env: str) -> Iterator[World]:
        world_clock = ManualClock(at) if at is not None else clock
        slack_emulator.clock = x_emulator.clock = meta.clock = world_clock.timestamp
        with running_world(
            database_url,
            world_clock,
            slack=slack_emulator,
            x=x_emulator,
            meta=meta,
            env={"SLACK_LEADS": "UCARLA", **env},
            transport=transport,
        ) as world:
            yield world

    return start


@pytest.fixture
def fb(open_page: OpenPage) -> Iterator[World]:
    with open_page() as world:
        yield world


def where(card: dict[str, object]) -> str:
    return str(card["blocks"][0]["elements"][0]["text"])  # type: ignore[index]


def fb_card(world: World, name: str) -> dict[str, object]:
    cards = [c for c in world.cards() if name in str(c["blocks"])]
    assert cards, f"no card for {name}"
    return cards[-1]


def thread_texts(world: World, card: dict[str, object]) -> list[str]:
    return [m["text"] for m in world.slack.thread(str(card["ts"]), CHANNEL)]


# --- comments -------------------------------------------------------------------------------
def test_a_comment_becomes_a_card_and_the_owners_answer_a_reply_under_it(
    fb: World, meta: GraphEmulator
) -> None:
    comment = meta.comment("7001", "Il mio ordine 4411 non è arrivato")
    fb.deliver()
    card = fb_card(fb, "Giulia Rossi")
    assert where(card).startswith("*Facebook* · Acme Italia · Public comment")
    assert "Il mio ordine 4411" in str(card["blocks"])

    fb.press("UANNA", blocks.CLAIM, card)
    fb.reply_in_thread("UANNA", "Ciao Giulia, controllo subito", str(card["ts"]))
    fb.settle()
    fb.deliver()  # the Page's reply comes back as a feed event: Carebridge's own
    [reply] = meta.sent_comments
    assert reply["in_reply_to"] == comment and reply["message"] == "Ciao Giulia, controllo subito"
    texts = thread_texts(fb, card)
    assert not any("directly" in t for t in texts)
    assert fb.x.sent_tweets == []


def test_the_same_comment_delivered_twice_or_batched_is_mirrored_once(
    fb: World, meta: GraphEmulator
) -> None:
    meta.comment("7001", "prima domanda")
    meta.comment("7002", "seconda domanda")
    meta.message("7001", "e anche in privato")
    pending = meta.pending()
    fb.deliver(batch=True)  # one POST, several entries
    for payload in pending:  # Meta delivers again after a timeout
        meta.deliver_raw(fb.webhook_url, _encode(payload))
    fb.settle()
    texts = " ".join(str(c["blocks"]) for c in fb.cards())
    assert texts.count("prima domanda") == 1 and texts.count("seconda domanda") == 1
    with fb.app.database.transaction() as session:
        assert session.query(Message).filter(Message.network == "facebook").count() == 3


def test_unsigned_or_wrongly_signed_deliveries_store_nothing(
    fb: World, meta: GraphEmulator
) -> None:
    meta.comment("7001", "ciao")
    [payload] = meta.pending()
    body = _encode(payload)
    assert meta.deliver_raw(fb.webhook_url, body, signature="").status_code == 401
    assert meta.deliver_raw(fb.webhook_url, body, signature="sha256=" + "0" * 64).status_code == 401
    other = requests.post(fb.webhook_url, data=b"not json", timeout=5)
    assert other.status_code == 401  # unsigned comes first: nothing is even parsed
    fb.settle()
    assert fb.cards() == []
    assert meta.handshake(fb.webhook_url)
    assert not meta.handshake(fb.webhook_url, verify_token="wrong")


# --- Messenger ----------------------------------------------------------------------------------
def test_a_messenger_message_is_answered_within_the_window_and_its_echo_ignored(
    fb: World, meta: GraphEmulator
) -> None:
    meta.message("7002", "Salve, ho un problema con la fattura")
    fb.deliver()
    card = fb_card(fb, "Marco Bianchi")  # the name from the profile lookup
    assert where(card).startswith("*Facebook* · Acme Italia · Messenger")
    assert "Messenger: can answer until" in str(card["blocks"])
    fb.reply_in_thread("UANNA", "Mi mandi il numero della fattura?", str(card["ts"]))
    fb.settle()
    fb.deliver()  # the echo of our own send
    [sent] = meta.sent_messages
    assert sent["messaging_type"] == "RESPONSE"
    assert sent["metadata"].startswith("carebridge:")
    assert not any("directly" in t for t in thread_texts(fb, card))


def test_messenger_receipts_show_on_the_agents_answer(fb: World, meta: GraphEmulator) -> None:
    meta.message("7002", "Salve")
    fb.deliver()
    card = fb_card(fb, "Marco Bianchi")
    answer = fb.reply_in_thread("UANNA", "Buongiorno Marco", str(card["ts"]))
    fb.settle()
    fb.deliver()  # the echo
    meta.receive_and_read("7002")
    fb.deliver()
    reactions = fb.slack.message(answer["ts"], CHANNEL)["reactions"]
    assert reactions == ["white_check_mark", "mailbox_with_mail", "eyes"]


def test_outside_the_24_hours_an_answer_is_kept_until_the_customer_writes_again(
    fb: World, meta: GraphEmulator
) -> None:
    meta.message("7002", "Salve")
    fb.deliver()
    card = fb_card(fb, "Marco Bianchi")
    fb.clock.advance(timedelta(hours=25))
    answer = fb.reply_in_thread("UANNA", "Eccoci, scusi il ritardo", str(card["ts"]))
    fb.settle()
    assert meta.sent_messages == []
    kept = [t for t in thread_texts(fb, card) if t.startswith(":hourglass_flowing_sand:")]
    assert len(kept) == 1 and "within 24 hours" in kept[0] and "when they write again" in kept[0]
    assert "hourglass_flowing_sand" in fb.slack.message(answer["ts"], CHANNEL)["reactions"]
    assert "window closed" in str(fb_card(fb, "Marco Bianchi")["blocks"])
    meta.message("7002", "Ci siete?")
    fb.deliver()
    assert [m["text"] for m in meta.sent_messages] == ["Eccoci, scusi il ritardo"]
    assert "white_check_mark" in fb.slack.message(answer["ts"], CHANNEL)["reactions"]


def test_with_human_agent_an_answer_within_7_days_goes_out_tagged(
    open_page: OpenPage, meta: GraphEmulator
) -> None:
    meta.approve_human_agent()
    with open_page(META_HUMAN_AGENT="true") as world:
        meta.message("7002", "Salve")
        world.deliver()
        card = fb_card(world, "Marco Bianchi")
        world.clock.advance(timedelta(days=3))
        world.reply_in_thread("UANNA", "Eccoci, scusi il ritardo", str(card["ts"]))
        world.settle()
        [sent] = meta.sent_messages
        assert (sent["messaging_type"], sent["tag"]) == ("MESSAGE_TAG", "HUMAN_AGENT")


def _encode(payload: dict[str, object]) -> bytes:
    from bot.networks.meta.webhook_sender import encode

    return encode(payload)


# --- Move to DM, hiding, answers given on Facebook itself --------------------------------------
def test_move_to_dm_replies_privately_and_the_customers_answer_joins_the_thread(
    fb: World, meta: GraphEmulator
) -> None:
    comment = meta.comment("7001", "Mi hanno addebitato due volte")
    fb.deliver()
    card = fb_card(fb, "Giulia Rossi")
    fb.press("UANNA", blocks.MOVE_TO_DM, card)
    fb.settle()
    [private] = meta.private_replies
    assert private["comment_id"] == comment and "privately" in private["text"]
    assert meta.sent_comments == []  # nothing public
    meta.message("7001", "Ecco, sono io: ordine 5512")
    fb.deliver()
    assert len(fb.cards()) == 1  # the same conversation
    assert any("5512" in str(m.get("blocks")) for m in fb.slack.thread(str(card["ts"]), CHANNEL))
    fb.reply_in_thread("UANNA", "Grazie, rimborso avviato", str(card["ts"]))
    fb.settle()
    assert meta.sent_messages[-1]["text"] == "Grazie, rimborso avviato"
    assert meta.sent_messages[-1]["recipient_id"] == "7001"


def test_hide_comment_from_the_card_and_unhide(fb: World, meta: GraphEmulator) -> None:
    comment = meta.comment("7001", "commento da nascondere")
    fb.deliver()
    card = fb_card(fb, "Giulia Rossi")
    fb.press("UBRUNO", blocks.HIDE, card)  # not the owner, not a lead: refused
    fb.settle()
    assert meta.hidden.get(comment) is not True
    fb.press("UCARLA", blocks.HIDE, card)  # a lead
    fb.settle()
    assert meta.hidden[comment] is True
    card = fb_card(fb, "Giulia Rossi")
    assert "hidden on the network" in str(card["blocks"])
    assert any("Comment hidden on Facebook by <@UCARLA>" in t for t in thread_texts(fb, card))
    fb.press("UCARLA", blocks.UNHIDE, card)
    fb.settle()
    assert meta.hidden[comment] is False


def test_a_second_abusive_comment_is_hidden_by_itself_with_hide_abusive(
    open_page: OpenPage, meta: GraphEmulator
) -> None:
    env = {"META_HIDE_ABUSIVE": "true", "NETIQUETTE_URL": "https://acme.example/rules"}
    with open_page(**env) as world:
        first = meta.comment("7002", "siete degli idioti")
        world.deliver()
        assert meta.hidden.get(first) is not True  # the first gets the rules
        assert "https://acme.example/rules" in meta.sent_comments[0]["message"]
        second = meta.comment("7002", "idioti e incapaci")
        world.deliver()
        assert meta.hidden[second] is True
        card = fb_card(world, "Marco Bianchi")
        assert any("hidden on Facebook automatically" in t for t in thread_texts(world, card))


def test_an_answer_given_on_facebook_itself_counts_and_shows(
    open_page: OpenPage, meta: GraphEmulator
) -> None:
    env = {"SLA_FIRST_RESPONSE": "30m", "SLA_WARN_BEFORE": "10m"}
    with open_page(**env) as world:
        comment = meta.comment("7001", "c'è qualcuno?")
        meta.message("7002", "aiuto per favore")
        world.deliver()
        meta.page_replies_directly(comment, "Sì, eccoci! Ti scriviamo in privato.")
        meta.page_messages_directly("7002", "Ciao Marco, dimmi pure")
        world.deliver()
        for name in ("Giulia Rossi", "Marco Bianchi"):
            card = fb_card(world, name)
            assert any(
                t.startswith(":speech_balloon: Answered on Facebook directly")
                for t in thread_texts(world, card)
            ), name
        world.advance(timedelta(minutes=40))  # answered: no warning, no breach
        texts = " ".join(m["text"] for m in world.slack.messages(CHANNEL))
        assert "Target missed" not in texts


def test_edits_deletions_and_reactions_update_the_mirror_and_hold_an_answer(
    fb: World, meta: GraphEmulator
) -> None:
    comment = meta.comment("7001", "prima versione")
    fb.deliver()
    reply = meta.comment("7001", "ho anche un'altra domanda", parent=comment)
    fb.deliver()
    card = fb_card(fb, "Giulia Rossi")
    meta.edit_comment(comment, "seconda versione")
    fb.deliver()
    card = fb_card(fb, "Giulia Rossi")
    assert "seconda versione" in str(card["blocks"]) and "edited by the customer" in str(
        card["blocks"]
    )
    meta.remove_comment(reply)
    fb.deliver()
    thread = fb.slack.thread(str(card["ts"]), CHANNEL)
    assert any("deleted by the customer" in str(m.get("blocks")) for m in thread)
    fb.reply_in_thread("UANNA", "Risposta alla seconda domanda", str(card["ts"]))
    fb.settle()
    assert meta.sent_comments == []  # held: the comment it answers is gone
    failed = [t for t in thread_texts(fb, card) if t.startswith(":warning: Not delivered")]
    assert len(failed) == 1 and "deleted" in failed[0]

    mid = meta.message("7001", "grazie!")
    fb.deliver()
    meta.react(mid, "😍")
    fb.deliver()
    thread = fb.slack.thread(str(card["ts"]), CHANNEL)
    assert any("reacted 😍" in str(m.get("blocks")) for m in thread)


def test_a_page_token_that_expires_mid_run_is_said_once_and_work_resumes(
    fb: World, meta: GraphEmulator
) -> None:
    meta.message("7002", "salve")
    fb.deliver()
    card = fb_card(fb, "Marco Bianchi")
    meta.revoke(SANDBOX_PAGE["page_access_token"])
    fb.reply_in_thread("UANNA", "eccoci", str(card["ts"]))
    fb.reply_in_thread("UANNA", "ci siamo", str(card["ts"]))
    fb.settle(limit=timedelta(minutes=5))  # the answers wait: retried every minute, quietly
    assert meta.sent_messages == []
    said = [m["text"] for m in fb.slack.messages(CHANNEL) if "refused the credentials" in m["text"]]
    assert len(said) == 1 and "Page access token" in said[0]  # once, with the fix
    assert SANDBOX_PAGE["page_access_token"] not in said[0]
    assert not any(t.startswith(":warning: Not delivered") for t in thread_texts(fb, card))

    meta.restore(SANDBOX_PAGE["page_access_token"])
    fb.settle(limit=timedelta(minutes=5))
    assert [m["text"] for m in meta.sent_messages] == ["eccoci", "ci siamo"]
    back = [m["text"] for m in fb.slack.messages(CHANNEL) if "accepts the credentials" in m["text"]]
    assert len(back) == 1


# --- notices, response targets, limits, attachments ---------------------------------------------
NIGHT = {
    "TIMEZONE": "Europe/Rome",
    "BUSINESS_HOURS": "mon-fri 09:00-18:00",
    "NETIQUETTE_URL": "https://acme.example/rules",
}


def test_out_of_hours_messenger_gets_the_notice_a_comment_only_with_the_public_switch(
    open_page: OpenPage, meta: GraphEmulator
) -> None:
    with open_page(at=MONDAY_22, **NIGHT) as world:
        meta.message("7002", "Ciao, il mio ordine non è ancora arrivato")
        meta.comment("7001", "Il pacco è fermo da giorni")
        world.deliver()
        [notice] = meta.sent_messages
        assert notice["recipient_id"] == "7002" and notice["messaging_type"] == "RESPONSE"
        assert notice["text"].startswith("Ciao Marco, grazie per averci scritto!")
        assert "domani alle 9:00" in notice["text"]
        assert meta.sent_comments == []  # public: not without OUT_OF_HOURS_PUBLIC
        marco, giulia = fb_card(world, "Marco Bianchi"), fb_card(world, "Giulia Rossi")
        assert any("Sent out-of-hours notice on Facebook" in t for t in thread_texts(world, marco))
        assert any("No out-of-hours notice sent" in t for t in thread_texts(world, giulia))


def test_with_the_public_switch_a_comment_gets_its_notice_as_a_reply_without_an_address(
    open_page: OpenPage, meta: GraphEmulator
) -> None:
    env = {"OUT_OF_HOURS_PUBLIC": "true"}
    with open_page(at=MONDAY_22, **NIGHT, **env) as world:
        comment = meta.comment("7001", "Il pacco è fermo da giorni")
        world.deliver()
        [reply] = meta.sent_comments
        assert reply["in_reply_to"] == comment
        assert reply["message"].startswith("Ciao Giulia")  # threaded under hers: no @address
        assert "domani alle 9:00" in reply["message"]


def test_response_targets_warn_in_the_thread_and_breach_in_the_channel(
    open_page: OpenPage, meta: GraphEmulator
) -> None:
    with open_page(at=MONDAY_10, **ROME_OFFICE) as world:
        world.events.slash_command(
            "UANNA", "/care", "oncall set <@UCARLA|carla> daily 09:00", CHANNEL
        )
        meta.comment("7001", "Nessuno risponde?")
        world.deliver()
        card = fb_card(world, "Giulia Rossi")
        assert "first answer due 11:00" in str(card["blocks"])
        world.advance(timedelta(minutes=51))
        [warning] = thread_texts(world, card)
        assert warning.startswith(":alarm_clock: <@UCARLA> first answer due at 11:00")
        world.advance(timedelta(minutes=10))
        [breach] = channel_posts(world)
        assert breach.startswith(":rotating_light: Target missed: first answer was due at 11:00")
        assert "Giulia Rossi's conversation" in breach and "<!subteam^S0LEADS>" in breach
        assert "*Breached*" in str(fb_card(world, "Giulia Rossi")["blocks"])


def test_answers_over_facebooks_limits_are_refused_privately_with_the_text(
    fb: World, meta: GraphEmulator
) -> None:
    meta.comment("7001", "domanda pubblica")
    meta.message("7002", "domanda privata")
    fb.deliver()
    comment_card, messenger_card = fb_card(fb, "Giulia Rossi"), fb_card(fb, "Marco Bianchi")
    fb.reply_in_thread("UANNA", "a" * 8_001, str(comment_card["ts"]))
    fb.reply_in_thread("UANNA", "b" * 2_001, str(messenger_card["ts"]))
    fb.reply_in_thread("UANNA", "c" * 2_000, str(comment_card["ts"]))  # fine for a comment
    fb.settle()
    assert [len(c["message"]) for c in meta.sent_comments] == [2_000]
    assert meta.sent_messages == []
    told = [e["text"] for e in fb.slack.ephemerals if e["user"] == "UANNA"]
    assert any("8001 characters" in t and "allows 8000" in t for t in told), told
    assert any("2001 characters" in t and "allows 2000" in t for t in told), told


def test_a_photo_and_a_file_show_in_the_thread(fb: World, meta: GraphEmulator) -> None:
    meta.message("7002", "ecco lo scontrino")
    fb.deliver()
    card = fb_card(fb, "Marco Bianchi")
    meta.message(
        "7002",
        attachments=[
            ("image", "https://scontent.example/receipt.jpg"),
            ("file", "https://cdn.example/invoice.pdf"),
        ],
    )
    fb.deliver()
    [mirror] = fb.slack.thread(str(card["ts"]), CHANNEL)
    shown = str(mirror["blocks"])
    assert "https://scontent.example/receipt.jpg" in shown and "image" in shown
    assert "https://cdn.example/invoice.pdf" in shown


def test_a_page_lookup_failing_when_a_delivery_is_processed_delays_it_never_loses_it(
    open_page: OpenPage, meta: GraphEmulator
) -> None:
    # Found by the fault-injection suite: a fresh process identifies its Page with the first
    # delivery; a Graph failure then dropped the delivery's events, already answered 200.
    with open_page() as world:
        meta.message("7001", "[m0022] hello?")
        meta.inject("GET /{page-id}", Fault.server_error(500))
        [delivery] = meta.deliver(world.webhook_url)
        assert delivery.delivered  # Meta heard 200: it will not send it again
        world.settle()
        assert [c for c in world.cards() if "[m0022]" in str(c["blocks"])]


def test_a_refused_page_token_keeps_deliveries_waiting_until_it_works(
    open_page: OpenPage, meta: GraphEmulator
) -> None:
    with open_page() as world:
        meta.revoke(SANDBOX_PAGE["page_access_token"])  # before the Page was ever looked up
        meta.message("7002", "salve, qualcuno?")
        world.deliver()
        world.settle(limit=timedelta(minutes=30))  # far past the outbox's eight attempts
        assert world.cards() == []
        meta.restore(SANDBOX_PAGE["page_access_token"])
        world.settle(limit=timedelta(minutes=5))
        assert len(world.cards()) == 1
