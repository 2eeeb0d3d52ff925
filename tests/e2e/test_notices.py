"""Automatic notices end to end: out of hours, netiquette and its hold, templates, hours."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from urllib.parse import urlencode

import pytest
from sqlalchemy import select

from bot.clock import ManualClock
from bot.networks.x.emulator import XEmulator
from bot.sandbox.slack_api import SlackEmulator
from bot.sandbox.world import CHANNEL, World, running_world
from bot.slack import blocks
from storage.models import Alert, AuditEntry, Conversation
from tests.e2e.conftest import MONDAY_10, ROME_OFFICE

RULES = "https://acme.example/rules"
NOTICES = {**ROME_OFFICE, "NETIQUETTE_URL": RULES, "SLACK_LEADS": "S0LEADS"}
MONDAY_22 = MONDAY_10 + timedelta(hours=12)  # closed; we open Tuesday at 9:00 in Rome


def world_at(
    start,
    slack: SlackEmulator,
    x: XEmulator,
    database_url: str,
    transport: str = "http",
    **env: str,
) -> Iterator[World]:
    clock = ManualClock(start)
    slack.clock = x.clock = clock.timestamp
    slack.add_usergroup("S0LEADS", ["UCARLA"])
    with running_world(
        database_url, clock, slack=slack, x=x, env={**NOTICES, **env}, transport=transport
    ) as world:
        yield world


@pytest.fixture
def night(slack_emulator, x_emulator, database_url, transport) -> Iterator[World]:
    yield from world_at(MONDAY_22, slack_emulator, x_emulator, database_url, transport)


@pytest.fixture
def day(slack_emulator, x_emulator, database_url, transport) -> Iterator[World]:
    yield from world_at(MONDAY_10, slack_emulator, x_emulator, database_url, transport)


def thread(world: World, handle: str) -> list[str]:
    return [m["text"] for m in world.slack.thread(world.card_of(handle)["ts"], CHANNEL)]


def audit_actions(world: World) -> list[str]:
    with world.app.database.transaction() as session:
        return [a.action for a in session.scalars(select(AuditEntry).order_by(AuditEntry.id))]


# --- out of hours --------------------------------------------------------------------------------
def test_a_dm_at_night_gets_one_notice_in_its_language(night: World) -> None:
    night.direct_message("marco_b", "Ciao, il mio ordine non è ancora arrivato", "Marco Bianchi")
    [notice] = night.x.sent_dms
    assert notice["text"].startswith("Ciao Marco, grazie per averci scritto!")
    assert "lun-ven 9:00-18:00" in notice["text"] and "domani alle 9:00" in notice["text"]
    assert any("Sent out-of-hours notice on X" in t for t in thread(night, "marco_b"))
    assert "out_of_hours_notice" in audit_actions(night)

    night.clock.advance(timedelta(minutes=30))
    night.direct_message("marco_b", "Ci siete?")
    assert len(night.x.sent_dms) == 1  # once per conversation per closed period

    with night.app.database.transaction() as session:
        conversation = session.scalar(select(Conversation))
        assert conversation.first_response_at is None  # a notice is not an answer


def test_english_customers_get_the_english_notice(night: World) -> None:
    night.direct_message("tom_h", "Hi, my parcel never arrived, can you check?", "Tom")
    [notice] = night.x.sent_dms
    assert notice["text"].startswith("Hi Tom, thanks for getting in touch!")
    assert "tomorrow at 9:00" in notice["text"]


def test_public_mentions_get_no_automated_reply_unless_switched_on(night: World) -> None:
    night.mention("giulia_r", "il pacco è fermo da giorni", "Giulia")
    assert night.x.sent_tweets == []
    assert any("No out-of-hours notice sent" in t for t in thread(night, "giulia_r"))


def test_with_the_public_switch_the_notice_is_a_reply(
    slack_emulator, x_emulator, database_url
) -> None:
    for world in world_at(
        MONDAY_22, slack_emulator, x_emulator, database_url, OUT_OF_HOURS_PUBLIC="true"
    ):
        tweet = world.mention("giulia_r", "il pacco è fermo da giorni", "Giulia")
        [reply] = world.x.sent_tweets
        assert reply["request_json"]["reply"]["in_reply_to_tweet_id"] == tweet["id"]
        assert "domani alle 9:00" in reply["text"]


def test_backfilled_messages_older_than_an_hour_get_no_notice(night: World) -> None:
    night.customer("marco_b", "Marco")
    night.x.send_dm(
        "marco_b", "scritto due ore fa", created_at=night.clock.now() - timedelta(hours=2)
    )
    night.poll()
    night.settle()
    assert night.x.sent_dms == []


def test_no_notice_while_open(day: World) -> None:
    day.direct_message("marco_b", "Ciao, una domanda sul mio ordine")
    assert day.x.sent_dms == []


# --- netiquette ----------------------------------------------------------------------------------
def test_abuse_gets_the_rules_once_then_a_hold_that_a_lead_lifts(day: World) -> None:
    tweet = day.mention("troll_99", "sei un idiota, rispondete!", "Troll")
    [rules] = day.x.sent_tweets
    assert RULES in rules["text"] and rules["text"].startswith("@troll_99 Ciao Troll")
    assert rules["request_json"]["reply"]["in_reply_to_tweet_id"] == tweet["id"]
    assert any("Abusive message" in t for t in thread(day, "troll_99"))

    day.clock.advance(timedelta(minutes=5))
    day.mention("troll_99", "siete dei cretini, tutti quanti")
    assert len(day.x.sent_tweets) == 1  # nothing more is sent
    card = day.card_of("troll_99")
    assert "Netiquette hold" in str(day.slack.message(card["ts"], CHANNEL)["blocks"])
    assert any("Netiquette hold" in t for t in thread(day, "troll_99"))
    day.advance(timedelta(hours=3))
    with day.app.database.transaction() as session:
        assert session.scalars(select(Alert)).all() == []  # the clock stopped

    day.press("UBRUNO", blocks.LIFT_HOLD, day.slack.message(card["ts"], CHANNEL))
    day.settle()
    assert "owner or a lead" in day.ephemerals_for("UBRUNO")[-1]["text"]
    day.press("UCARLA", blocks.LIFT_HOLD, day.slack.message(card["ts"], CHANNEL))  # a lead
    day.settle()
    card_now = str(day.slack.message(card["ts"], CHANNEL)["blocks"])
    assert "Netiquette hold" not in card_now and "first answer due" in card_now
    assert "lift_hold" in audit_actions(day)


def test_a_complaint_is_not_abuse(day: World) -> None:
    day.mention("angry_anna", "il vostro servizio fa schifo, terzo giorno senza linea")
    assert day.x.sent_tweets == []
    assert not any("Abusive" in t for t in thread(day, "angry_anna"))


# --- hours and templates from Slack ------------------------------------------------------------
def care(world: World, text: str, user: str = "UANNA") -> str:
    return world.events.slash_command(user, "/care", text, CHANNEL).text


def test_hours_are_shown_and_changed_from_slack(day: World) -> None:
    assert "open now, until 18:00" in care(day, "hours")
    refused = care(day, "hours set weekdays 9-5")
    assert refused.startswith(":warning: 'weekdays 9-5' is not day ranges with times")
    assert "Use: `/care hours set mon-fri 09:00-18:00" in refused
    assert "Saved" in care(day, "hours set mon-fri 11:00-18:00")
    assert "closed now, opening today at 11:00" in care(day, "hours")
    day.direct_message("marco_b", "Ciao, siete aperti?")
    assert "oggi alle 11:00" in day.x.sent_dms[0]["text"]


def submit_template(world: World, kind: str, language: str, text: str) -> dict:
    payload = {
        "type": "view_submission",
        "team": {"id": "TSANDBOX"},
        "user": {"id": "UANNA", "username": "anna", "team_id": "TSANDBOX"},
        "api_app_id": "ASANDBOX",
        "trigger_id": "1.2.3",
        "view": {
            "id": "V1",
            "type": "modal",
            "callback_id": "template_edit",
            "private_metadata": json.dumps({"kind": kind, "language": language}),
            "state": {
                "values": {"template": {"text": {"type": "plain_text_input", "value": text}}}
            },
        },
    }
    body = urlencode({"payload": json.dumps(payload)}).encode()
    headers = world.events.signature_headers(body)
    headers["Content-Type"] = "application/x-www-form-urlencoded"
    response = world.events.post_raw(body, headers)
    assert response.status_code == 200
    return response.json() if response.text else {}


def test_templates_are_edited_from_slack_with_a_preview_and_checks(night: World) -> None:
    assert care(night, "template out_of_hours it") == ""
    [modal] = night.slack.views_opened
    assert "Ciao Giulia" in str(modal["view"]["blocks"])  # the preview, with example values
    bad = submit_template(night, "out_of_hours", "it", "Ciao {nome}, torniamo {next_open}")
    assert "unknown placeholder {nome}" in bad["errors"]["template"]
    too_long = submit_template(night, "out_of_hours", "it", "x" * 300)
    assert "too long" in too_long["errors"]["template"]
    assert submit_template(night, "out_of_hours", "it", "Siamo chiusi, {name}: {next_open}!") == {}

    night.direct_message("marco_b", "Ciao, a che ora aprite?", "Marco")
    assert night.x.sent_dms[0]["text"] == "Siamo chiusi, Marco: domani alle 9:00!"
    assert "Use: `/care template" in care(night, "template welcome fr")


# --- the brand never publishes words a customer chose ---------------------------------------------
@pytest.mark.parametrize(
    "display_name",
    ["@victim_acct", "evil.example/login", "https://evil.example", "*Acme* Support", "<!channel>"],
)
def test_a_public_notice_greets_by_no_name_when_the_name_is_not_a_plain_name(
    slack_emulator: SlackEmulator, x_emulator: XEmulator, database_url: str, display_name: str
) -> None:
    for night in world_at(
        MONDAY_22, slack_emulator, x_emulator, database_url, OUT_OF_HOURS_PUBLIC="true"
    ):
        night.mention("tricky_1", "where is my order?", display_name)
        [notice] = night.x.sent_tweets
        assert notice["text"].startswith("@tricky_1 Hi, thanks for getting in touch!")
        for word in display_name.split():
            assert word not in notice["text"]
        assert "victim" not in notice["text"] and "evil" not in notice["text"]


def test_a_plain_first_name_is_used(night: World) -> None:
    night.direct_message("anne_m", "is anyone there?", "Anne-Marie O'Neill")
    [notice] = night.x.sent_dms
    assert notice["text"].startswith("Hi Anne-Marie, thanks for getting in touch!")


# --- settings changed from Slack apply on every replica ------------------------------------------
def test_hours_set_on_one_replica_apply_on_another_at_once(
    slack_emulator: SlackEmulator, x_emulator: XEmulator, database_url: str
) -> None:
    clock = ManualClock(MONDAY_10)
    slack_emulator.clock = x_emulator.clock = clock.timestamp
    env = {**NOTICES}
    with (
        running_world(database_url, clock, slack=slack_emulator, x=x_emulator, env=env) as one,
        running_world(database_url, clock, slack=slack_emulator, x=x_emulator, env=env) as two,
    ):
        assert "open now" in care(two, "hours")
        assert "Saved" in care(one, "hours set mon-fri 11:00-18:00")
        assert "closed now, opening today at 11:00" in care(two, "hours")
        two.direct_message("marco_b", "Ciao, siete aperti?")  # the other replica ingests it
        [notice] = x_emulator.sent_dms
        assert "oggi alle 11:00" in notice["text"]
