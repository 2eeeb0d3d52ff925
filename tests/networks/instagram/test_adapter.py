"""The Instagram adapter through real HTTP against the emulator: who the account is, who wrote,
answers under comments and in Direct, Meta's windows and limits, and finding an earlier attempt."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from bot.clock import ManualClock
from bot.domain.delivery import CredentialsRefused, OutsideWindow, PermanentError
from bot.domain.model import InboundMessage
from bot.networks.base import AccountConfig
from bot.networks.instagram import INSTAGRAM
from bot.networks.instagram.adapter import InstagramChannel
from bot.networks.instagram.emulator import SANDBOX_ACCOUNT, InstagramEmulator
from bot.networks.instagram.webhook import InstagramReceiver
from bot.networks.meta.graph import AlreadyReplied
from bot.networks.meta.webhook_sender import encode


@pytest.fixture
def instagram(clock: ManualClock) -> Iterator[InstagramEmulator]:
    with InstagramEmulator(clock=clock.timestamp) as emulator:
        yield emulator


def channel_for(
    instagram: InstagramEmulator, clock: ManualClock, token: str | None = None
) -> InstagramChannel:
    values = {**INSTAGRAM.sandbox_values(instagram.graph_url)}
    if token is not None:
        values["page_access_token"] = token
    config = AccountConfig("acme-ig", "instagram", "C1", values)
    channel = INSTAGRAM.build(config, clock, timedelta(seconds=5))
    assert isinstance(channel, InstagramChannel)
    return channel


@pytest.fixture
def channel(instagram: InstagramEmulator, clock: ManualClock) -> InstagramChannel:
    return channel_for(instagram, clock)


def received(instagram: InstagramEmulator) -> list[InboundMessage]:
    """What the pending webhooks become, as the receiver parses them."""
    receiver = InstagramReceiver(
        [SANDBOX_ACCOUNT["account_id"]], [SANDBOX_ACCOUNT["app_secret"]], ["t"]
    )
    found = []
    for payload in instagram.pending():
        found += [p.event for p in receiver.parse(encode(payload))]
    return [e for e in found if isinstance(e, InboundMessage)]


def test_identify_and_who_wrote_a_direct_message(
    instagram: InstagramEmulator, channel: InstagramChannel
) -> None:
    account = channel.identify()
    assert (account.external_id, account.handle, account.name) == (
        SANDBOX_ACCOUNT["account_id"],
        "acme.italia",
        "Acme Italia",
    )
    instagram.customer("giulia.r", name="Giulia Rossi", followers=12_000)
    instagram.message("giulia.r", "Ciao, il pacco?")
    [message] = received(instagram)
    author = channel.complete(message).author
    assert (author.handle, author.name, author.followers) == ("giulia.r", "Giulia Rossi", 12_000)
    assert author.profile_url == "https://www.instagram.com/giulia.r/"


def test_a_mention_is_completed_from_its_comment(
    instagram: InstagramEmulator, channel: InstagramChannel
) -> None:
    instagram.mention("marco.b", "@acme.italia il mio ordine non arriva")
    [mention] = received(instagram)
    completed = channel.complete(mention)
    assert (completed.author.handle, completed.text) == (
        "marco.b",
        "@acme.italia il mio ordine non arriva",
    )


def test_answers_under_a_comment_and_privately_once(
    instagram: InstagramEmulator, channel: InstagramChannel, clock: ManualClock
) -> None:
    comment = instagram.comment("giulia.r", "Quando riaprite?")
    sent = channel.reply_publicly("Domani alle 9!", comment)
    assert instagram.sent_replies == [{"id": sent.external_id, "in_reply_to": comment,
                                       "text": "Domani alle 9!"}]  # fmt: skip
    private = channel.reply_privately("Ti scrivo in privato", comment)
    assert private.recipient_id == instagram.customer("giulia.r").id
    with pytest.raises(AlreadyReplied):
        channel.reply_privately("Ancora", comment)
    later = instagram.comment("giulia.r", "Grazie")
    clock.advance(timedelta(days=8))
    with pytest.raises(PermanentError, match="7 days"):
        channel.reply_privately("Troppo tardi", later)


def test_direct_answers_keep_to_the_24_hour_window(
    instagram: InstagramEmulator, channel: InstagramChannel, clock: ManualClock
) -> None:
    instagram.message("luca.v", "Info?")
    customer = instagram.customer("luca.v").id
    sent = channel.send_private(customer, "Certo!", marker="carebridge:1")
    assert instagram.sent_messages[-1]["text"] == "Certo!"
    echo = instagram.pending()[-1]["entry"][0]["messaging"][0]["message"]
    assert (echo["is_echo"], echo["metadata"], echo["mid"]) == (
        True,
        "carebridge:1",
        sent.external_id,
    )
    clock.advance(timedelta(hours=25))
    with pytest.raises(OutsideWindow):
        channel.send_private(customer, "Ci sei?")
    with pytest.raises(PermanentError, match="Human Agent"):
        channel.send_private(customer, "Ci sei?", extended=True)
    instagram.approve_human_agent()
    assert channel.send_private(customer, "Ci sei?", extended=True).external_id


def test_limits_hiding_and_finding_an_earlier_attempt(
    instagram: InstagramEmulator, channel: InstagramChannel, clock: ManualClock
) -> None:
    comment = instagram.comment("sara.p", "Pessimo servizio")
    with pytest.raises(PermanentError, match="2200"):
        channel.reply_publicly("x" * 2_201, comment)
    channel.hide(comment, True)
    assert instagram.hidden() == {comment: True}
    since = clock.now()
    sent = channel.reply_publicly("Ci dispiace, Sara", comment)
    found = channel.find_sent("Ci dispiace, Sara", in_reply_to=comment, recipient_id=None,
                              since=since)  # fmt: skip
    assert found is not None and found.external_id == sent.external_id
    instagram.message("sara.p", "Scrivo qui")
    customer = instagram.customer("sara.p").id
    dm = channel.send_private(customer, "Eccoci")
    assert channel.find_sent("Eccoci", in_reply_to=None, recipient_id=customer, since=since) == dm
    assert channel.find_sent("Mai scritto", in_reply_to=None, recipient_id=customer,
                             since=since) is None  # fmt: skip


def test_a_refused_token_and_a_tampered_id(
    instagram: InstagramEmulator, clock: ManualClock
) -> None:
    refused = channel_for(instagram, clock, token="wrong")
    with pytest.raises(CredentialsRefused) as error:
        refused.identify()
    assert "wrong" not in str(error.value)
    with pytest.raises(PermanentError, match="not an Instagram id"):
        refused.reply_publicly("hi", "../me")
