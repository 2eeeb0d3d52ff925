"""One customer across networks, end to end: links suggested from what customers wrote and
decided on the card, made from the card's picker or `/care link`, undone with `/care unlink`;
linked customers share history, the 3rd-contact rule and VIP status, and a new card links the
person's conversation still open elsewhere."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.clock import ManualClock
from bot.sandbox.world import World
from bot.slack import blocks
from bot.slack import person_modal as modal
from storage.models import AuditEntry, Customer, CustomerIdentifier, LinkSuggestion
from tests.e2e.conftest import MONDAY_10, every_network

NUMBER = "393471234521"


@pytest.fixture
def world(slack_emulator, x_emulator, database_url, transport) -> Iterator[World]:
    clock = ManualClock(MONDAY_10)
    slack_emulator.clock = x_emulator.clock = clock.timestamp
    with every_network(database_url, clock, slack_emulator, x_emulator, transport) as world:
        assert world.meta is not None
        meta = world.meta
        meta.add_user("7001", "Elena", "Conti")
        yield world


def whatsapp(world: World, text: str, number: str = NUMBER, name: str = "Giulia R.") -> dict:
    assert world.whatsapp is not None
    world.whatsapp.message(number, name, text)
    world.deliver()
    return world.card_named(name)


def messenger(world: World, text: str) -> dict:
    assert world.meta is not None
    world.meta.message("7001", text)
    world.deliver()
    return world.card_named("Elena Conti")


def suggestion_texts(card: dict) -> list[str]:
    return [
        b["text"]["text"]
        for b in card["blocks"]
        if b["type"] == "section" and "same person as" in b["text"]["text"]
    ]


def person_ids(world: World) -> dict[str, int | None]:
    with world.app.database.transaction() as session:
        return {c.handle or c.name: c.person_id for c in session.scalars(select(Customer))}


def audit(world: World) -> list[tuple[str, dict]]:
    with world.app.database.transaction() as session:
        return [(a.action, a.detail) for a in session.scalars(select(AuditEntry))]


def test_a_phone_number_written_on_x_suggests_the_whatsapp_customer_and_link_joins_them(
    world: World,
) -> None:
    world.direct_message("giulia", "Potete richiamarmi al 347 123 4521?", "Giulia Rossi")
    card = whatsapp(world, "Ciao, sono Giulia, vi ho scritto su X")
    assert suggestion_texts(card) == [
        ":busts_in_silhouette: This may be the same person as *Giulia Rossi* (@giulia) on X "
        "(the same phone number)."
    ]
    assert "123 4521" not in str(card["blocks"]) and NUMBER not in str(card["blocks"])
    with world.app.database.transaction() as session:
        stored = [i.digest for i in session.scalars(select(CustomerIdentifier))]
    assert stored and all(NUMBER not in d and "4521" not in d for d in stored)

    world.press("UANNA", blocks.LINK_SUGGESTED, card)
    world.settle()
    ids = person_ids(world)
    assert ids["giulia"] is not None and ids["giulia"] == ids["Giulia R."]
    card = world.card_named("Giulia R.")
    assert suggestion_texts(card) == []
    assert "2nd contact in 30 days · also on" in str(card["blocks"])
    assert ("link_customers", {"via": "suggestion"}) in [
        (action, {"via": detail.get("via")}) for action, detail in audit(world)
    ]
    x_card = world.card_of("giulia")
    assert ":link: Open on WhatsApp" in str(x_card["blocks"])  # the other one, still open


def test_an_order_number_within_a_week_suggests_and_not_the_same_is_never_asked_again(
    world: World,
) -> None:
    world.direct_message("tom_h", "Il mio ordine n. 4411 non è arrivato", "Tom Hill")
    world.advance(timedelta(days=2))
    card = messenger(world, "Buongiorno, ordine #4411 ancora fermo")
    assert suggestion_texts(card) == [
        ":busts_in_silhouette: This may be the same person as *Tom Hill* (@tom_h) on X "
        "(order 4411)."
    ]
    world.press("UANNA", blocks.NOT_SAME, card)
    world.settle()
    assert suggestion_texts(world.card_named("Elena Conti")) == []
    messenger(world, "Ancora nulla per l'ordine 4411")
    assert suggestion_texts(world.card_named("Elena Conti")) == []
    assert person_ids(world)["tom_h"] is None
    with world.app.database.transaction() as session:
        decided = [(s.status, s.decided_by) for s in session.scalars(select(LinkSuggestion))]
    assert decided == [("rejected", "UANNA")]


def test_an_order_number_older_than_a_week_suggests_nothing(world: World) -> None:
    world.direct_message("tom_h", "Ordine 4411: dove è?", "Tom Hill")
    world.advance(timedelta(days=8))
    card = messenger(world, "ordine #4411?")
    assert suggestion_texts(card) == []


def test_same_person_as_from_the_cards_menu(world: World) -> None:
    world.mention("giulia", "il pacco?", "Giulia Rossi")
    card = messenger(world, "Salve, il pacco?")
    world.choose("UANNA", blocks.MORE, card, "Same person as…")
    picker = world.slack.top_modal()
    assert picker is not None and picker["callback_id"] == modal.CALLBACK_ID
    response = world.events.block_suggestion("UANNA", picker, modal.PICK, modal.BLOCK_ID, "giu")
    options = json.loads(response.text)["options"]
    assert [o["text"]["text"] for o in options] == ["Giulia Rossi · @giulia · X"]
    world.slack.type_into(
        picker["id"],
        modal.BLOCK_ID,
        modal.PICK,
        {"type": "external_select", "selected_option": options[0]},
    )
    response = world.events.view_submission("UANNA", world.slack.modal(picker["id"]))
    assert response.status_code == 200 and "errors" not in response.text
    world.settle()
    ids = person_ids(world)
    assert ids["giulia"] is not None and ids["giulia"] == ids["Elena Conti"]


def test_care_link_across_networks_and_unlink(world: World) -> None:
    world.mention("giulia", "il pacco?", "Giulia Rossi")
    whatsapp(world, "Ciao, il pacco?")
    messenger(world, "Il pacco?")
    answer = world.care("UANNA", "link @giulia whatsapp:+39 347 123 4521")  # 5 words
    assert answer.startswith("Use: `/care link @handle @other_handle`")
    answer = world.care("UANNA", f"link @giulia +{NUMBER}")
    assert answer.startswith("Linked @giulia on X and Giulia R. +39")
    answer = world.care("UANNA", 'link "facebook:Elena Conti" @giulia')
    assert answer.startswith("Linked Elena Conti on Facebook and @giulia on X")
    ids = person_ids(world)
    assert ids["giulia"] == ids["Giulia R."] == ids["Elena Conti"] is not None
    world.settle()  # every card of the person is refreshed: three contacts on three networks
    assert "3rd contact in 30 days · also on" in str(world.card_named("Elena Conti")["blocks"])

    assert world.care("UANNA", 'unlink "facebook:Elena Conti"').startswith(
        "Unlinked Elena Conti on Facebook"
    )
    ids = person_ids(world)
    assert ids["Elena Conti"] is None and ids["giulia"] == ids["Giulia R."]
    assert world.care("UANNA", 'unlink "facebook:Elena Conti"').endswith("is linked to no one.")
    assert world.care("UANNA", "link @giulia facebook:Nessuno").startswith(
        "No customer @Nessuno has written to us yet."
    )
    actions = [action for action, _ in audit(world)]
    assert actions.count("link_customers") == 2 and actions.count("unlink_customer") == 1


def test_linked_customers_share_contacts_and_vip_status_across_networks(world: World) -> None:
    world.direct_message("giulia", "Primo messaggio", "Giulia Rossi")
    first = whatsapp(world, "Secondo messaggio")
    world.press("UANNA", blocks.RESOLVE, first)
    world.settle()
    assert world.care("UANNA", f"link @giulia +{NUMBER}").startswith("Linked")
    world.care("UANNA", "vip add @giulia giornalista, Corriere")
    world.advance(timedelta(days=2))  # past REOPEN_WINDOW: a new conversation
    card = whatsapp(world, "Terzo messaggio")
    assert card["ts"] != first["ts"]
    rendered = str(card["blocks"])
    assert "giornalista, Corriere (VIP)" in rendered  # VIP on X, so VIP on WhatsApp
    assert "3rd contact" in rendered  # X, WhatsApp, WhatsApp: counted across networks
    assert ":link: Open on X" in rendered  # the X DM is still open: the same owner can take it
