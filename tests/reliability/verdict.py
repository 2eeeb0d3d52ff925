"""What a fault-injection run promised and what people saw: lost and duplicated, counted.

`judge()` reads the emulators' state after the run, as the agents and the customers would see
it: the Slack channel and threads, and what the brand sent on each network (`received.py`).
Each customer is on one network; every count is given per network.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from bot.sandbox.loopback import LoopbackServer
from bot.sandbox.slack_api import SlackEmulator
from bot.sandbox.world import CHANNEL
from tests.reliability.customers import Networks
from tests.reliability.received import Sent, received
from tests.reliability.record import (
    ANSWER,
    FACEBOOK,
    INSTAGRAM,
    MESSAGE,
    NETWORKS,
    WHATSAPP,
    Record,
    X,
)

RULES_URL = "https://acme.example/rules"
CLOSED = "We're closed right now"
HOME = "slack.publish_home"
# Nobody answers on the networks themselves in a run: such a note in a thread is the bot
# mistaking its own answer, come back by webhook or poll, for somebody else's.
ANSWERED_DIRECTLY = "thread:direct:"


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
    by_product: Counter[str] = field(default_factory=Counter)  # first POSTs, by `object`
    batched: int = 0  # POSTs carrying several events
    retried: int = 0  # POSTs made again after getting no 200 (bot killed, refused, 5xx)
    repeated: int = 0  # deliveries made again after a 200, as Meta now and then does
    undelivered: int = 0  # deliveries still without a 200 when the run ended: their events lost


@dataclass
class Verdict:
    tallies: dict[str, Tally]
    slack_keys_repeated: int
    answered_directly: int  # own answers shown as given on the network itself
    resent: list[Sent]  # WhatsApp messages sent again after an unknown outcome, as documented
    failed_jobs: Counter[str]
    undelivered_events: int
    kills: int
    crashes: int
    takeovers: list[float]
    faults: Counter[str]
    api_faults: dict[str, str]  # network -> "faults in requests" of its API
    meta: MetaTraffic
    written: str  # what the customers wrote and how the answers went, for the report
    seconds: float
    jobs_done: dict[str, int]
    still_queued: int
    unanswered: int  # answers the agents could not give: no card for a waiting customer
    seed: int

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
            f"{sum(self.faults.values())} injected faults, {self.seconds:.0f} s, "
            f"seed {self.seed})"
        ]
        for name, t in self.tallies.items():
            out.append(
                f"  {name}: {t.expected} expected, {t.lost} lost, {t.duplicated} duplicated, "
                f"{t.misplaced} misplaced"
            )
            out.extend(f"    {example}" for example in t.examples[:10])
        out.append(
            f"  WhatsApp messages sent again after an unknown outcome (documented, not counted "
            f"as duplicated): {len(self.resent)}"
        )
        out.extend(f"    {s.text[:40]!r} to {s.to or '?'}, {s.how}" for s in self.resent[:10])
        meta = self.meta
        out.append(f"  written: {self.written}")
        products = ", ".join(f"{k} {v}" for k, v in sorted(meta.by_product.items()))
        out.append(
            f"  Meta's webhooks: {meta.posts} POSTs ({products} at first), {meta.batched} "
            f"batched, {meta.retried} made again after no 200, {meta.repeated} repeated after a "
            f"200, {meta.undelivered} never taken"
        )
        apis = ", ".join(f"{k} {v}" for k, v in self.api_faults.items())
        out.append(f"  faults in API requests: {apis}")
        out.append(f"  Slack posts with a repeated job key: {self.slack_keys_repeated}")
        out.append(f"  own answers shown as given on a network directly: {self.answered_directly}")
        out.append(f"  answers the bot never accepted: {self.undelivered_events}")
        if self.still_queued:
            out.append(f"  still queued when the run gave up waiting: {self.still_queued} jobs")
        if self.unanswered:
            out.append(f"  answers not given, no card to answer in: {self.unanswered}")
        out.append("  faults: " + ", ".join(f"{k} {v}" for k, v in sorted(self.faults.items())))
        if len(self.jobs_done) > 1:
            out.append("  jobs done: " + ", ".join(f"{k} {v}" for k, v in self.jobs_done.items()))
        if self.takeovers:
            out.append("  leader replaced in: " + ", ".join(f"{s:.1f} s" for s in self.takeovers))
        for job, n in self.failed_jobs.items():
            out.append(f"  gave up ({n}): {job}")
        return out


@dataclass(frozen=True)
class Run:
    """What the run knows of itself besides the emulators."""

    traffic: MetaTraffic
    kills: int
    killed_at: list[float]  # time.time() of each SIGKILL
    crashes: int
    takeovers: list[float]
    seconds: float
    failed_jobs: Counter[str]
    jobs_done: dict[str, int]
    still_queued: int
    unanswered: int
    seed: int


def judge(record: Record, slack: SlackEmulator, networks: Networks, run: Run) -> Verdict:
    posts = _bot_posts(slack)
    sent, resent = received(record, networks, run.killed_at)
    tallies: dict[str, Tally] = {}
    for network in NETWORKS:
        tallies[f"{network}: customer messages mirrored"] = _mirrored(record, posts, network)
        tallies[f"{network}: answers delivered"] = _answers(record, sent, network)
        # An insult gets the rules instead of the out-of-hours notice (one notice at a time).
        notices = _notices(record, sent, CLOSED, record.polite, network)
        tallies[f"{network}: out-of-hours notices"] = notices
        tallies[f"{network}: netiquette notices"] = _notices(
            record, sent, RULES_URL, record.abusive, network
        )
    tallies["response-time alerts"] = _alerts(posts)
    keys = Counter(key for key in map(_key, posts) if key)
    apis: dict[str, LoopbackServer] = {
        "Slack": slack,
        X: networks.x,
        FACEBOOK: networks.page,
        INSTAGRAM: networks.instagram,
        WHATSAPP: networks.whatsapp,
    }
    answers = Counter(f"{s.network} {s.how}" for s in sent if ANSWER.search(s.text))
    sent_as = ", ".join(f"{k} {v}" for k, v in sorted(answers.items()))
    written = ", ".join(f"{k} {v}" for k, v in sorted(record.written.items()))
    return Verdict(
        tallies=tallies,
        slack_keys_repeated=sum(n - 1 for n in keys.values() if n > 1),
        answered_directly=sum(n for key, n in keys.items() if key.startswith(ANSWERED_DIRECTLY)),
        resent=resent,
        failed_jobs=run.failed_jobs,
        undelivered_events=record.undelivered_events,
        kills=run.kills,
        crashes=run.crashes,
        takeovers=run.takeovers,
        faults=sum((api.faults_injected for api in apis.values()), Counter()),
        api_faults={
            name: f"{sum(api.faults_injected.values())}/{len(api.requests)}"
            for name, api in apis.items()
        },
        meta=run.traffic,
        written=f"{written}; answers sent as {sent_as}",
        seconds=run.seconds,
        jobs_done=run.jobs_done,
        still_queued=run.still_queued,
        unanswered=run.unanswered,
        seed=run.seed,
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
def _answers(record: Record, sent: list[Sent], network: str) -> Tally:
    tally = Tally()
    for token, customer in record.answers.items():
        if record.network(customer) != network:
            continue
        hits = [(s.how, s.to) for s in sent if token in s.text]
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
        hits = sum(s.to == customer and marker in s.text for s in sent)
        if customer in due_to:
            tally.count(hits, what=customer)
        else:
            tally.duplicated += hits  # a notice nobody was due is one too many
    astray = sum(s.network == network and not s.to and marker in s.text for s in sent)
    tally.misplaced += astray
    tally.examples += [f"a notice reached none of the customers ({network})"] * astray
    return tally
