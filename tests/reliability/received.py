"""What the customers received: every message the brand sent on each network, with the
customer it reached, read from the emulators as the customers would see them.

WhatsApp cannot be asked what a number sent, so its adapter's `find_sent` finds nothing and a
send whose outcome the bot could not know is made again: the customer sees that message twice
(bot/networks/whatsapp/adapter.py says so). The run injects the same faults on WhatsApp as
everywhere, its send endpoint included, and the verdict counts such doubles apart, as
`resent`, only where a send of that very text to that very customer had an unknown outcome:
a fault after Meta took it (a 500 or a reset after handling, an answer held past the bot's
timeout), or the bot SIGKILLed after it, before the next send of the same message and within
`KILL_WINDOW`. Any other copy is a duplicate.
"""

from __future__ import annotations

import itertools
from collections import Counter
from typing import NamedTuple

from bot.sandbox.loopback import Request
from tests.reliability.customers import Networks
from tests.reliability.meta_emulators import WHATSAPP_SEND, sent_to
from tests.reliability.record import FACEBOOK, INSTAGRAM, WHATSAPP, Record, X

# From a send to the moment its job is recorded done: the outbox records its results by ten,
# or when its batch ends, and a job after the send may be held to the bot's timeout.
KILL_WINDOW = 5.0


class Sent(NamedTuple):
    network: str
    how: str
    to: str  # the customer it reached, "" if none of the run's
    text: str


def received(
    record: Record, networks: Networks, killed_at: list[float]
) -> tuple[list[Sent], list[Sent]]:
    """What the brand sent on the four networks, and apart the WhatsApp messages sent again
    after an unknown outcome."""
    whatsapp, resent = _whatsapp(record, networks, killed_at)
    sent = _x(record, networks) + _facebook(record, networks) + _instagram(record, networks)
    return sent + whatsapp, resent


def _x(record: Record, networks: Networks) -> list[Sent]:
    """Every tweet reply and DM the brand sent."""
    x = networks.x
    brand = x.brand["id"]
    handles = {x.user(who)["id"]: who for who in record.of(X).values()}
    sent: list[Sent] = []
    for tweet in x.sent_tweets:
        target = (tweet["request_json"].get("reply") or {}).get("in_reply_to_tweet_id")
        original = x.tweet(target) if target else None
        to = handles.get(original["author_id"], "") if original else ""
        sent.append(Sent(X, "tweet", to, tweet["text"]))
    for event in x.sent_dms:
        others = [p for p in event["dm_conversation_id"].split("-") if p != brand]
        to = handles.get(others[0], "") if others else ""
        sent.append(Sent(X, "DM", to, event.get("text", "")))
    return sent


def _facebook(record: Record, networks: Networks) -> list[Sent]:
    """Every comment reply and Messenger message the Page sent. A reply reaches the customer
    whose comment it answers; nothing in a run asks for a private reply to a comment, so one
    reaches nobody it should."""
    page, people = networks.page, record.of(FACEBOOK)
    sent = [
        Sent(FACEBOOK, "comment", record.comments.get(c["in_reply_to"], ""), c["message"])
        for c in page.sent_comments
    ]
    sent += [
        Sent(FACEBOOK, "Messenger", people.get(m["recipient_id"], ""), m["text"])
        for m in page.sent_messages
    ]
    return sent + [Sent(FACEBOOK, "private reply", "", m["text"]) for m in page.private_replies]


def _instagram(record: Record, networks: Networks) -> list[Sent]:
    """Every comment reply and Direct message the account sent; a private reply to a comment
    reaches nobody it should, as on Facebook."""
    instagram, people = networks.instagram, record.of(INSTAGRAM)
    sent = [
        Sent(INSTAGRAM, "comment", record.comments.get(r["in_reply_to"], ""), r["text"])
        for r in instagram.sent_replies
    ]
    for message in instagram.sent_messages:
        if "comment_id" in message:
            sent.append(Sent(INSTAGRAM, "private reply", "", message["text"]))
        else:
            sent.append(Sent(INSTAGRAM, "Direct", people.get(message["to"], ""), message["text"]))
    return sent


def _whatsapp(
    record: Record, networks: Networks, killed_at: list[float]
) -> tuple[list[Sent], list[Sent]]:
    whatsapp, people = networks.whatsapp, record.of(WHATSAPP)
    unknown = _unknown_outcomes(whatsapp.calls(WHATSAPP_SEND), whatsapp.unknown_outcomes, killed_at)
    seen: Counter[tuple[str, str]] = Counter()
    sent: list[Sent] = []
    resent: list[Sent] = []
    for message in whatsapp.sent:
        text = message["text"] or (message["template"] or {}).get("name", "")
        key = (message["to"], text)
        seen[key] += 1
        to = people.get(message["wa_id"], "")
        if seen[key] > 1 and unknown.get(key):
            resent.append(Sent(WHATSAPP, f"again after {unknown[key].pop(0)}", to, text))
        else:
            sent.append(Sent(WHATSAPP, "message", to, text))
    return sent, resent


def _unknown_outcomes(
    sends: list[Request], faulted: list[tuple[Request, str]], killed_at: list[float]
) -> dict[tuple[str, str], list[str]]:
    """(recipient, text) -> why a send of it had an outcome the bot could not know, once per
    such send: the fault that hid it, or a SIGKILL after it and before the next send of the
    same message, soon enough to have come before the bot recorded it."""
    hidden = {id(request): kind for request, kind in faulted}
    by_message: dict[tuple[str, str], list[Request]] = {}
    for request in sends:
        by_message.setdefault(sent_to(request), []).append(request)
    unknown: dict[tuple[str, str], list[str]] = {}
    for key, requests in by_message.items():
        for request, following in itertools.pairwise(requests):
            end = min(following.received_at, request.received_at + KILL_WINDOW)
            killed = any(request.received_at <= moment <= end for moment in killed_at)
            why = hidden.get(id(request)) or ("SIGKILL" if killed else "")
            if why:
                unknown.setdefault(key, []).append(why)
    return unknown
