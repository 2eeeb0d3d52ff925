"""What a fault-injection run promised and what people saw: lost and duplicated, counted.

`Record` is kept by the run (every customer message and agent answer carries a token such as
`[m0042]` or `[a007]`); `judge()` reads the emulators' state afterwards, as the agents and the
customers would see it: the Slack channel and threads, the tweets and DMs the brand sent on X,
the comment replies and Messenger messages the Page sent on Facebook. Each customer is on one
network; every count is given per network.
"""

from __future__ import annotations

import itertools
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from bot.networks.facebook.emulator import GraphEmulator
from bot.networks.x.emulator import XEmulator
from bot.sandbox.slack_api import SlackEmulator
from bot.sandbox.world import CHANNEL

RULES_URL = "https://acme.example/rules"
CLOSED = "We're closed right now"
HOME = "slack.publish_home"
X, FACEBOOK = "X", "Facebook"
# Nobody answers on the networks themselves in a run: such a note in a thread is the bot
# mistaking its own answer, come back by webhook or poll, for somebody else's.
ANSWERED_DIRECTLY = "thread:direct:"
MESSAGE = re.compile(r"\[m[0-9]+\]")  # the token of a customer's message
ANSWER = re.compile(r"\[a[0-9]+\]")  # the token of an agent's answer


@dataclass
class Record:
    inbound: dict[str, str] = field(default_factory=dict)  # token -> customer (X handle or name)
    answers: dict[str, str] = field(default_factory=dict)
    abusive: set[str] = field(default_factory=set)
    polite: set[str] = field(default_factory=set)  # wrote at least once without insults
    claimed: set[str] = field(default_factory=set)
    psids: dict[str, str] = field(default_factory=dict)  # Facebook customer -> their user id
    comments: dict[str, str] = field(default_factory=dict)  # Facebook comment id -> customer
    messenger: int = 0  # Messenger messages written (the other Facebook messages are comments)
    undelivered_events: int = 0  # answers the bot never took, however often redelivered
    trail: dict[str, str] = field(default_factory=dict)  # token -> how its answer went in
    _last_wrote: dict[str, int] = field(default_factory=dict)
    _last_answered: dict[str, int] = field(default_factory=dict)
    _clock: itertools.count[int] = field(default_factory=itertools.count)

    def network(self, customer: str) -> str:
        return FACEBOOK if customer in self.psids else X

    def wrote(self, token: str, customer: str, *, abusive: bool) -> None:
        self.inbound[token] = customer
        self._last_wrote[customer] = next(self._clock)
        (self.abusive if abusive else self.polite).add(customer)

    def answered(self, token: str, customer: str) -> None:
        self.answers[token] = customer
        self._last_answered[customer] = next(self._clock)

    def waiting(self) -> list[str]:
        """Customers whose latest message came after their latest answer."""
        return [c for c, n in self._last_wrote.items() if n > self._last_answered.get(c, -1)]


@dataclass
class Tally:
    expected: int = 0
    lost: int = 0
    duplicated: int = 0
    misplaced: int = 0  # in another customer's thread, or sent to the wrong person
    examples: list[str] = field(default_factory=list)  # what went wrong, for the report

    def count(self, hits: int, right: int = -1, what: str = "") -> None:
        """One expected item seen `hits` times, `right` of them in the right place."""
        if hits != 1 or (right >= 0 and right != hits):
            self.examples.append(f"{what or 'item'} seen {hits}x, {max(right, 0)} in place")
        self.expected += 1
        self.lost += hits == 0
        self.duplicated += max(0, hits - 1)
        self.misplaced += 0 if right < 0 else min(hits, 1) - min(right, 1)


@dataclass
class MetaTraffic:
    """Meta's side of the run: the webhook POSTs it made to the bot, and how they went."""

    posts: int = 0
    batched: int = 0  # POSTs carrying several events
    retried: int = 0  # POSTs made again after getting no 200 (bot killed, refused, 5xx)
    repeated: int = 0  # deliveries made again after a 200, as Meta now and then does
    undelivered: int = 0  # deliveries still without a 200 when the run ended: their events lost


@dataclass
class Verdict:
    tallies: dict[str, Tally]
    slack_keys_repeated: int
    answered_directly: int  # own answers shown as given on the network itself
    failed_jobs: Counter[str]
    undelivered_events: int
    kills: int
    crashes: int
    takeovers: list[float]
    faults: Counter[str]
    graph_requests: int
    graph_faults: int
    meta: MetaTraffic
    facebook_written: str  # what Facebook customers wrote and were sent, for the report
    seconds: float
    jobs_done: dict[str, int]
    still_queued: int

    @property
    def lost(self) -> int:
        lost = sum(t.lost for t in self.tallies.values())
        return lost + self.undelivered_events + self.meta.undelivered

    @property
    def duplicated(self) -> int:
        doubled = sum(t.duplicated for t in self.tallies.values())
        return doubled + self.slack_keys_repeated + self.answered_directly

    @property
    def abandoned(self) -> int:
        """Jobs given up on, App Home refreshes aside (the next change publishes it again): an
        agent would be told a message failed, or a post would be missing."""
        return sum(n for job, n in self.failed_jobs.items() if not job.startswith(HOME))

    @property
    def misplaced(self) -> int:
        return sum(t.misplaced for t in self.tallies.values())

    def lines(self) -> list[str]:
        out = [
            f"lost {self.lost}, duplicated {self.duplicated}, misplaced {self.misplaced}, "
            f"abandoned {self.abandoned} "
            f"({self.kills} SIGKILLs, {self.crashes} crashed starts, "
            f"{sum(self.faults.values())} injected faults, {self.seconds:.0f} s)"
        ]
        for name, t in self.tallies.items():
            out.append(
                f"  {name}: {t.expected} expected, {t.lost} lost, {t.duplicated} duplicated, "
                f"{t.misplaced} misplaced"
            )
            out.extend(f"    {example}" for example in t.examples[:10])
        meta = self.meta
        out.append(f"  Facebook traffic: {self.facebook_written}")
        out.append(
            f"  Meta's webhooks: {meta.posts} POSTs, {meta.batched} batched, {meta.retried} made "
            f"again after no 200, {meta.repeated} repeated after a 200, {meta.undelivered} never "
            f"taken; {self.graph_faults} faults in {self.graph_requests} Graph API requests"
        )
        out.append(f"  Slack posts with a repeated job key: {self.slack_keys_repeated}")
        out.append(f"  own answers shown as given on a network directly: {self.answered_directly}")
        out.append(f"  answers the bot never accepted: {self.undelivered_events}")
        if self.still_queued:
            out.append(f"  still queued when the run gave up waiting: {self.still_queued} jobs")
        out.append("  faults: " + ", ".join(f"{k} {v}" for k, v in sorted(self.faults.items())))
        if len(self.jobs_done) > 1:
            out.append("  jobs done: " + ", ".join(f"{k} {v}" for k, v in self.jobs_done.items()))
        if self.takeovers:
            out.append("  leader replaced in: " + ", ".join(f"{s:.1f} s" for s in self.takeovers))
        for job, n in self.failed_jobs.items():
            out.append(f"  gave up ({n}): {job}")
        return out


def judge(
    record: Record,
    slack: SlackEmulator,
    x: XEmulator,
    meta: GraphEmulator,
    *,
    traffic: MetaTraffic,
    kills: int,
    crashes: int,
    takeovers: list[float],
    seconds: float,
    failed_jobs: Counter[str],
    jobs_done: dict[str, int],
    still_queued: int,
) -> Verdict:
    posts = _bot_posts(slack)
    sent = _x_sent(record, x) + _facebook_sent(record, meta)
    tallies: dict[str, Tally] = {}
    for network in (X, FACEBOOK):
        tallies[f"{network}: customer messages mirrored"] = _mirrored(record, posts, network)
        tallies[f"{network}: answers delivered"] = _answers(record, sent, network)
        # An insult gets the rules instead of the out-of-hours notice (one notice at a time).
        notices = _notices(record, sent, CLOSED, record.polite, network)
        tallies[f"{network}: out-of-hours notices"] = notices
        tallies[f"{network}: netiquette notices"] = _notices(
            record, sent, RULES_URL, record.abusive, network
        )
    tallies["response-time alerts"] = _alerts(posts)
    keys = Counter(_key(p) for p in posts if _key(p))
    answers = Counter(how for how, _, text in sent if ANSWER.search(text))
    faults = slack.faults_injected + x.faults_injected + meta.faults_injected
    return Verdict(
        tallies=tallies,
        slack_keys_repeated=sum(n - 1 for n in keys.values() if n > 1),
        answered_directly=sum(n for key, n in keys.items() if key.startswith(ANSWERED_DIRECTLY)),
        failed_jobs=failed_jobs,
        undelivered_events=record.undelivered_events,
        kills=kills,
        crashes=crashes,
        takeovers=takeovers,
        faults=faults,
        graph_requests=len(meta.requests),
        graph_faults=sum(meta.faults_injected.values()),
        meta=traffic,
        facebook_written=(
            f"{len(record.comments)} comments and {record.messenger} Messenger messages "
            f"written; answers sent as comment replies {answers['comment']}, on Messenger "
            f"{answers['Messenger']}"
        ),
        seconds=seconds,
        jobs_done=jobs_done,
        still_queued=still_queued,
    )


# --- Slack ---------------------------------------------------------------------------------------
def _bot_posts(slack: SlackEmulator) -> list[dict[str, Any]]:
    """Every message the bot posted in the channel, top level and in threads, once each."""
    seen: dict[str, dict[str, Any]] = {}
    for root in slack.messages(CHANNEL):
        for message in [root, *slack.thread(root["ts"], CHANNEL)]:
            if message.get("bot_id"):
                seen[message["ts"]] = message
    return list(seen.values())


def _text(message: dict[str, Any]) -> str:
    return f"{message.get('text') or ''} {message.get('blocks') or ''}"


def _key(message: dict[str, Any]) -> str | None:
    return ((message.get("metadata") or {}).get("event_payload") or {}).get("key")


def is_card(message: dict[str, Any]) -> bool:
    """A conversation's root message (its job key is card:<conversation id>)."""
    return bool(message.get("bot_id") and message.get("blocks")) and (
        _key(message) or ""
    ).startswith("card:")


def card_owner(record: Record, card: dict[str, Any]) -> str | None:
    """Whose conversation a card is: the writer of the customer message it shows (a Facebook
    card names a person whose name Meta may not have given; the message is always there)."""
    tokens = MESSAGE.findall(_text(card))
    return next((record.inbound[t] for t in tokens if t in record.inbound), None)


def _mirrored(record: Record, posts: list[dict[str, Any]], network: str) -> Tally:
    cards: dict[str, list[str]] = {}
    showing: dict[str, list[dict[str, Any]]] = {}  # token -> the posts that show it
    for post in posts:
        if is_card(post) and post.get("thread_ts") in (None, post["ts"]):
            owner = card_owner(record, post)
            if owner is not None:
                cards.setdefault(owner, []).append(post["ts"])
        for token in set(MESSAGE.findall(_text(post))):
            showing.setdefault(token, []).append(post)
    tally = Tally()
    for token, customer in record.inbound.items():
        if record.network(customer) != network:
            continue
        hits = showing.get(token, [])
        threads = cards.get(customer, [])
        right = [p for p in hits if (p.get("thread_ts") or p["ts"]) in threads[:1]]
        tally.count(len(hits), len(right), f"{token} of {customer}")
    # A second card for one customer would be a second conversation: doubled, not lost.
    tally.duplicated += sum(
        len(ts) - 1 for who, ts in cards.items() if record.network(who) == network
    )
    return tally


def _alerts(posts: list[dict[str, Any]]) -> Tally:
    """Each warning (in a thread) and each miss (in the channel) once per deadline. An alert's
    key names its conversation, kind and exact deadline (the text shows only the minute: two
    deadlines in one minute are two alerts)."""
    seen: Counter[str] = Counter()
    for post in posts:
        key = _key(post) or ""
        if key.startswith(("thread:sla:", "channel:sla:")):
            seen[key] += 1
    tally = Tally()
    for key, n in seen.items():
        tally.count(n, what=key)
    return tally


# --- what the customers received ------------------------------------------------------------------
# (how it was sent, the customer it reached or "" if none of the run's, its text)
Sent = tuple[str, str, str]
SENT_ON = {
    "tweet": X, "DM": X, "comment": FACEBOOK, "Messenger": FACEBOOK, "private reply": FACEBOOK,
}  # fmt: skip


def _x_sent(record: Record, x: XEmulator) -> list[Sent]:
    """Every tweet reply and DM the brand sent."""
    brand = x.brand["id"]
    handles = {
        x.user(who)["id"]: who for who in set(record.inbound.values()) if record.network(who) == X
    }
    sent: list[Sent] = []
    for tweet in x.sent_tweets:
        target = (tweet["request_json"].get("reply") or {}).get("in_reply_to_tweet_id")
        original = x.tweet(target) if target else None
        to = handles.get(original["author_id"], "") if original else ""
        sent.append(("tweet", to, tweet["text"]))
    for event in x.sent_dms:
        others = [p for p in event["dm_conversation_id"].split("-") if p != brand]
        sent.append(("DM", handles.get(others[0], "") if others else "", event.get("text", "")))
    return sent


def _facebook_sent(record: Record, meta: GraphEmulator) -> list[Sent]:
    """Every comment reply and Messenger message the Page sent. A reply reaches the customer
    whose comment it answers; nothing in a run asks for a private reply to a comment, so one
    reaches nobody it should."""
    people = {psid: who for who, psid in record.psids.items()}
    sent: list[Sent] = [
        ("comment", record.comments.get(c["in_reply_to"], ""), c["message"])
        for c in meta.sent_comments
    ]
    for message in meta.sent_messages:
        sent.append(("Messenger", people.get(message["recipient_id"], ""), message["text"]))
    sent += [("private reply", "", m["text"]) for m in meta.private_replies]
    return sent


def _answers(record: Record, sent: list[Sent], network: str) -> Tally:
    tally = Tally()
    for token, customer in record.answers.items():
        if record.network(customer) != network:
            continue
        hits = [(how, to) for how, to, text in sent if token in text]
        where = ", ".join(f"{how} to {to or '?'}" for how, to in hits)
        what = f"{token} to {customer} [{where}] ({record.trail.get(token, '')})"
        tally.count(len(hits), sum(to == customer for _, to in hits), what)
    return tally


def _notices(
    record: Record, sent: list[Sent], marker: str, due_to: set[str], network: str
) -> Tally:
    tally = Tally()
    for customer in sorted(set(record.inbound.values())):
        if record.network(customer) != network:
            continue
        hits = sum(to == customer and marker in text for _, to, text in sent)
        if customer in due_to:
            tally.count(hits, what=customer)
        else:
            tally.duplicated += hits  # a notice nobody was due is one too many
    astray = sum(SENT_ON[how] == network and not to and marker in text for how, to, text in sent)
    tally.misplaced += astray
    tally.examples += [f"a notice reached none of the customers ({network})"] * astray
    return tally
