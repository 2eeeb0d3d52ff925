"""What a fault-injection run promised and what people saw: lost and duplicated, counted.

`Record` is kept by the run (every customer message and agent answer carries a token such as
`[m0042]` or `[a007]`); `judge()` reads the emulators' state afterwards, as the agents and the
customers would see it: the Slack channel and threads, the tweets and DMs the brand sent.
"""

from __future__ import annotations

import itertools
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from bot.networks.x.emulator import XEmulator
from bot.sandbox.slack_api import SlackEmulator
from bot.sandbox.world import CHANNEL

RULES_URL = "https://acme.example/rules"
CLOSED = "We're closed right now"
HOME = "slack.publish_home"


@dataclass
class Record:
    inbound: dict[str, str] = field(default_factory=dict)  # token -> customer handle
    answers: dict[str, str] = field(default_factory=dict)
    abusive: set[str] = field(default_factory=set)
    polite: set[str] = field(default_factory=set)  # wrote at least once without insults
    claimed: set[str] = field(default_factory=set)
    undelivered_events: int = 0  # answers the bot never took, however often redelivered
    trail: dict[str, str] = field(default_factory=dict)  # token -> how its answer went in
    _last_wrote: dict[str, int] = field(default_factory=dict)
    _last_answered: dict[str, int] = field(default_factory=dict)
    _clock: itertools.count[int] = field(default_factory=itertools.count)

    def wrote(self, token: str, handle: str, *, abusive: bool) -> None:
        self.inbound[token] = handle
        self._last_wrote[handle] = next(self._clock)
        (self.abusive if abusive else self.polite).add(handle)

    def answered(self, token: str, handle: str) -> None:
        self.answers[token] = handle
        self._last_answered[handle] = next(self._clock)

    def waiting(self) -> list[str]:
        """Customers whose latest message came after their latest answer."""
        return [h for h, n in self._last_wrote.items() if n > self._last_answered.get(h, -1)]


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
class Verdict:
    tallies: dict[str, Tally]
    slack_keys_repeated: int
    failed_jobs: Counter[str]
    undelivered_events: int
    kills: int
    crashes: int
    takeovers: list[float]
    faults: Counter[str]
    seconds: float
    jobs_done: dict[str, int]
    still_queued: int

    @property
    def lost(self) -> int:
        return sum(t.lost for t in self.tallies.values()) + self.undelivered_events

    @property
    def duplicated(self) -> int:
        return sum(t.duplicated for t in self.tallies.values()) + self.slack_keys_repeated

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
        out.append(f"  Slack posts with a repeated job key: {self.slack_keys_repeated}")
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
    *,
    kills: int,
    crashes: int,
    takeovers: list[float],
    seconds: float,
    faults: Counter[str],
    failed_jobs: Counter[str],
    jobs_done: dict[str, int],
    still_queued: int,
) -> Verdict:
    posts = _bot_posts(slack)
    tallies = {
        "customer messages mirrored": _mirrored(record, posts),
        "answers delivered": _answers(record, x),
        # An insult gets the rules instead of the out-of-hours notice (one notice at a time).
        "out-of-hours notices": _notices(record, x, CLOSED, record.polite),
        "netiquette notices": _notices(record, x, RULES_URL, record.abusive),
        "response-time alerts": _alerts(posts),
    }
    keys = Counter(_key(p) for p in posts if _key(p))
    return Verdict(
        tallies=tallies,
        slack_keys_repeated=sum(n - 1 for n in keys.values() if n > 1),
        failed_jobs=failed_jobs,
        undelivered_events=record.undelivered_events,
        kills=kills,
        crashes=crashes,
        takeovers=takeovers,
        faults=faults,
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


def _mirrored(record: Record, posts: list[dict[str, Any]]) -> Tally:
    cards: dict[str, list[str]] = {}
    for post in posts:
        if post.get("blocks") and post.get("thread_ts") in (None, post["ts"]):
            for handle in re.findall(r"@(cust\d+)>", str(post["blocks"]))[:1]:
                cards.setdefault(handle, []).append(post["ts"])
    tally = Tally()
    for token, handle in record.inbound.items():
        hits = [p for p in posts if token in _text(p)]
        threads = cards.get(handle, [])
        right = [p for p in hits if (p.get("thread_ts") or p["ts"]) in threads[:1]]
        tally.count(len(hits), len(right), f"{token} of @{handle}")
    # A second card for one customer would be a second conversation: doubled, not lost.
    tally.duplicated += sum(len(ts) - 1 for ts in cards.values())
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


# --- X -------------------------------------------------------------------------------------------
def _brand_messages(x: XEmulator) -> list[tuple[str, str]]:
    """(customer user id, text) of every tweet reply and DM the brand sent."""
    brand = x.brand["id"]
    sent: list[tuple[str, str]] = []
    for tweet in x.sent_tweets:
        target = (tweet["request_json"].get("reply") or {}).get("in_reply_to_tweet_id")
        original = x.tweet(target) if target else None
        sent.append((original["author_id"] if original else "", tweet["text"]))
    for event in x.sent_dms:
        others = [p for p in event["dm_conversation_id"].split("-") if p != brand]
        sent.append((others[0] if others else "", event.get("text", "")))
    return sent


def _answers(record: Record, x: XEmulator) -> Tally:
    sent = _brand_messages(x)
    tally = Tally()
    for token, handle in record.answers.items():
        uid = x.user(handle)["id"]
        hits = [to for to, text in sent if token in text]
        what = f"{token} to @{handle} ({record.trail.get(token, '')})"
        tally.count(len(hits), sum(to == uid for to in hits), what)
    return tally


def _notices(record: Record, x: XEmulator, marker: str, due_to: set[str]) -> Tally:
    sent = _brand_messages(x)
    tally = Tally()
    for handle in sorted(set(record.inbound.values())):
        uid = x.user(handle)["id"]
        hits = sum(to == uid and marker in text for to, text in sent)
        if handle in due_to:
            tally.count(hits, what=f"@{handle}")
        else:
            tally.duplicated += hits  # a notice nobody was due is one too many
    return tally
