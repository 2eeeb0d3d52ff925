"""A fault-injection run: customers write, agents answer, the bot is SIGKILLed at random, and
the emulators fail a share of the bot's requests (429s, 5xx, resets, answers held past the
client's timeout after the request took effect). Then the record is read from what people see:
the Slack channel and its threads, the tweets and DMs, comment replies and Messenger messages
the customers received.

Half the customers are on X (mentions and DMs, polled), half on a Facebook Page (comments and
Messenger messages, which Meta pushes to /webhooks/meta as `MetaWebhooks` does: batched, made
again when the bot did not answer 200, now and then twice).

The settings make every kind of automatic message happen: the team is closed (each conversation
gets one out-of-hours notice, publicly or by DM), the response targets are short on the wall
clock, so that warnings (in threads) and misses (in the channel) fire while the bot is being
killed, and some customers insult the brand (one netiquette notice each).
"""

from __future__ import annotations

import json
import random
import re
import threading
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import requests
from sqlalchemy import func, select

from bot.domain.model import Direction
from bot.networks.facebook import FACEBOOK
from bot.networks.facebook.emulator import GraphEmulator
from bot.networks.x.emulator import XEmulator
from bot.sandbox.slack_api import SlackEmulator
from bot.sandbox.slack_events import SlackEventSender, SocketModeSender
from bot.sandbox.world import CHANNEL, SIGNING_SECRET, network_env, sandbox_env
from bot.slack import blocks
from storage import outbox_rows
from storage.db import Database
from storage.models import Message, OutboxJob
from tests.reliability.fleet import Fleet, Replica
from tests.reliability.verdict import (
    MESSAGE,
    RULES_URL,
    MetaTraffic,
    Record,
    Verdict,
    card_owner,
    is_card,
    judge,
)

AGENTS = ("UANNA", "UBRUNO", "UCARLA")
ABUSE = "you are genuinely the biggest idiots I've ever dealt with"
MOODS = ("my parcel is late", "still waiting, this is terrible", "urgent: wrong address", "hello?")
HTTP_TIMEOUT = 1.0  # the bot's; a held answer waits a little longer than that


@dataclass(frozen=True)
class Plan:
    inbound: int  # customer messages
    answers: int  # agent answers
    kills: int  # SIGKILLs at least
    customers: int
    replicas: int = 1
    leader_kills: int = 0  # of the kills, how many aim at the leader (replicas on PostgreSQL)
    fault_rate: float = 0.2
    facebook_share: float = 0.5  # of the customers; each writes comments or Messenger messages
    pace: float = 0.5  # seconds between two customer messages
    response_target: int = 60  # seconds, on the wall clock; the warning comes at half of it
    # Slack takes about one post per second in a channel: a big run needs time to catch up.
    drain_timeout: float = 600.0
    seed: int = 20261124
    # How Slack reaches the bots: signed HTTP requests, or Socket Mode envelopes over each
    # replica's own WebSocket (Slack picks the link; an unacknowledged envelope comes again).
    transport: str = "http"


def closed_all_day(today: datetime) -> str:
    """Business hours that keep the team closed for the whole run: only three days from now."""
    day = (today + timedelta(days=3)).strftime("%a").lower()
    return f"{day} 09:00-10:00"


class ChaosRun:
    def __init__(self, plan: Plan, database_url: str, logs: Path) -> None:
        self.plan = plan
        self.rng = random.Random(plan.seed)
        self.database_url = database_url
        self.slack = SlackEmulator(members=list(AGENTS)).start()
        self.x = XEmulator().start()
        self.meta = GraphEmulator().start()
        page = network_env(FACEBOOK, FACEBOOK.sandbox_values(self.meta.graph_url))
        env = (
            sandbox_env(self.slack, self.x, database_url)
            | page
            | {
                "X_POLL_SECONDS": "5",
                "HTTP_TIMEOUT": f"{HTTP_TIMEOUT:g}s",
                "BUSINESS_HOURS": closed_all_day(datetime.now(UTC)),
                "OUT_OF_HOURS_PUBLIC": "true",
                "SLA_CLOCK": "always",
                "SLA_FIRST_RESPONSE": f"{plan.response_target}s",
                "SLA_NEXT_RESPONSE": f"{plan.response_target}s",
                "SLA_WARN_BEFORE": f"{plan.response_target // 2}s",
                "NETIQUETTE_URL": RULES_URL,
                "DIGEST_SCHEDULE": "off",
            }
        )
        if plan.transport == "socket":
            env["SLACK_APP_TOKEN"] = self.slack.app_token
        self.fleet = Fleet.of(plan.replicas, env, logs, random.Random(plan.seed + 1))
        self.webhooks = MetaWebhooks(self.meta, self.fleet, random.Random(plan.seed + 3))
        self.record = Record()
        self._senders: dict[int, SlackEventSender] = {}
        self._first_comment: dict[str, str] = {}  # Facebook customer -> their first comment
        self._stop_killing = threading.Event()
        self._killer_failed: RuntimeError | None = None

    def close(self) -> None:
        self._stop_killing.set()
        self.webhooks.stop()
        self.fleet.stop()
        self.slack.stop()
        self.x.stop()
        self.meta.stop()

    # --- the run -------------------------------------------------------------------------------
    def play(self) -> Verdict:
        started = time.monotonic()
        on_x, on_facebook = self._customers()
        self.fleet.start()
        held = HTTP_TIMEOUT + 0.5
        self.slack.chaos(self.plan.fault_rate, self.plan.seed, timeout_after=held)
        self.x.chaos(self.plan.fault_rate, self.plan.seed + 2, timeout_after=held)
        self.meta.chaos(self.plan.fault_rate, self.plan.seed + 6, timeout_after=held)
        self.webhooks.start()
        killer = threading.Thread(target=self._kill_at_random, name="killer", daemon=True)
        killer.start()
        every = max(1, self.plan.inbound // max(1, self.plan.answers))
        for i in range(self.plan.inbound):
            if i % 20 == 7:  # one message in twenty insults the brand, on each network in turn
                self._customer_writes(i, self.rng.choice((on_x, on_facebook)[i // 20 % 2]), True)
            else:
                self._customer_writes(i, self.rng.choice(on_x + on_facebook), False)
            if i % every == every - 1 and len(self.record.answers) < self.plan.answers:
                self._agent_answers()
            time.sleep(self.plan.pace)
        while len(self.record.answers) < self.plan.answers:
            if not self._agent_answers():
                time.sleep(0.5)
        while (
            self.fleet.kills < self.plan.kills or len(self.fleet.takeovers) < self.plan.leader_kills
        ):
            if self._killer_failed is not None:
                raise self._killer_failed
            time.sleep(0.5)
        self._stop_killing.set()
        killer.join()
        queued = self._drain(timeout=self.plan.drain_timeout)
        self.webhooks.stop()
        self.fleet.stop()  # SIGTERM: what people see is final from here
        self.slack.calm()
        self.x.calm()
        self.meta.calm()
        return judge(
            self.record,
            self.slack,
            self.x,
            self.meta,
            traffic=self.webhooks.traffic,
            kills=self.fleet.kills,
            crashes=self.fleet.crashes,
            takeovers=self.fleet.takeovers,
            seconds=time.monotonic() - started,
            failed_jobs=self._failed_jobs(),
            jobs_done=self.fleet.jobs_done(),
            still_queued=queued,
        )

    def _kill_at_random(self) -> None:
        """Spread the kills over the customers' writing, then keep going until there are
        enough. A failure (no new leader in time, a bot that does not start) is kept for the
        run to raise."""
        rng = random.Random(self.plan.seed + 5)  # its own: the customers' choices stay put
        mean = max(1.0, self.plan.inbound * self.plan.pace / (self.plan.kills + 1))
        leader_kills = 0
        try:
            while not self._stop_killing.wait(rng.uniform(0.3 * mean, 1.7 * mean)):
                owed = self.plan.leader_kills - leader_kills
                # The leader half the time, and always once the kills left are owed to it.
                due = self.fleet.kills + owed >= self.plan.kills
                aim = owed > 0 and (rng.random() < 0.5 or due)
                if aim and any(r.leads() for r in self.fleet.replicas):
                    self.fleet.kill_leader()
                    leader_kills += 1
                else:  # or nobody leads this moment (a new leader is being chosen)
                    self.fleet.kill()
                self.fleet.wait_healthy(timeout=60)
        except RuntimeError as error:
            self._killer_failed = error

    # --- customers and agents --------------------------------------------------------------------
    def _customers(self) -> tuple[list[str], list[str]]:
        """The customers on X (their handles) and on Facebook (users of the Page's emulator)."""
        on_facebook = max(1, round(self.plan.customers * self.plan.facebook_share))
        on_x = max(1, self.plan.customers - on_facebook)
        handles = [f"cust{i:04d}" for i in range(on_x)]
        for handle in handles:
            self.x.add_user(handle, f"Customer {handle[4:]}")
        people = [f"fb{i:04d}" for i in range(on_x, on_x + on_facebook)]
        for n, person in enumerate(people):
            psid = str(7_100_000_000_000_001 + n)  # a Page-scoped id: digits, as Meta's
            self.meta.add_user(psid, "Cliente", person[2:])
            self.record.psids[person] = psid
        return handles, people

    def _customer_writes(self, i: int, customer: str, abusive: bool) -> None:
        token = f"[m{i:04d}]"
        text = f"{token} {ABUSE if abusive else self.rng.choice(MOODS)}"
        psid = self.record.psids.get(customer)
        if psid is None:
            if self.rng.random() < 0.5:
                self.x.post_tweet(customer, f"@{self.x.brand['username']} {text}")
            else:
                self.x.send_dm(customer, text)
        elif self.rng.random() < 0.5:
            # A follow-up comment goes under the Page's post, or into the customer's own thread.
            first = self._first_comment.get(customer)
            parent = first if first is not None and self.rng.random() < 0.5 else None
            comment = self.meta.comment(psid, text, parent=parent)
            self._first_comment.setdefault(customer, comment)
            self.record.comments[comment] = customer
        else:
            self.meta.message(psid, text)
            self.record.messenger += 1
        self.record.wrote(token, customer, abusive=abusive)

    def _agent_answers(self) -> bool:
        """An agent answers a customer who waits and whose card is in Slack; False if none.
        The answers alternate between the networks (a mention's card comes after the next poll,
        a comment's at once: the turn waits for it) unless nobody waits on the other one."""
        waiting = self.record.waiting()
        facebook = len(self.record.answers) % 2 == 1
        waiting = [c for c in waiting if (c in self.record.psids) == facebook] or waiting
        cards = self._cards()
        waiting = [c for c in waiting if c in cards]
        if not waiting:
            return False
        customer = self.rng.choice(waiting)
        card = cards[customer]
        agent = AGENTS[int(customer[-4:]) % len(AGENTS)]
        if customer not in self.record.claimed and self.rng.random() < 0.5:
            self._click(agent, card)
            self.record.claimed.add(customer)  # some claim with the button first, others answer
        token = f"[a{len(self.record.answers):03d}]"
        text = f"{token} Thanks for your patience, we're on it."
        message = self.slack.post_as_user(agent, text, thread_ts=card["ts"], channel=CHANNEL)
        event = self._sender(self.fleet.replicas[0]).message_event(
            agent, text, CHANNEL, message["ts"], thread_ts=card["ts"]
        )
        outcomes = self._deliver(event, f"Ev{message['ts'].replace('.', '')}")
        self.record.answered(token, customer)
        self.record.trail[token] = f"{agent} in {card['ts']} at {message['ts']}: {outcomes}"
        return True

    def _click(self, agent: str, card: dict[str, Any]) -> None:
        """Press Claim; Slack does not redeliver a click, so the agent presses again if the bot
        was down (a second press by the owner is harmless)."""
        buttons = [e for b in card["blocks"] if b["type"] == "actions" for e in b["elements"]]
        value = next((e["value"] for e in buttons if e.get("action_id") == blocks.CLAIM), None)
        if value is None:
            return  # claimed already (an earlier answer made the writer its owner)
        for _ in range(20):
            replica = self._live()
            try:
                response = self._sender(replica).block_action(
                    agent, blocks.CLAIM, value, channel=CHANNEL, message_ts=card["ts"]
                )
                if response.status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.5)

    def _deliver(self, event: dict[str, Any], event_id: str, timeout: float = 120.0) -> str:
        """Deliver an event as Slack does: again, with X-Slack-Retry-Num, until it is taken
        (Slack waits 1 and 5 minutes between its retries; this run cannot afford that)."""
        deadline = time.monotonic() + timeout
        outcomes: list[str] = []
        while time.monotonic() < deadline:
            replica = self._live()
            try:
                response = self._sender(replica).event(
                    event, event_id=event_id, retry_num=len(outcomes) or None
                )
                outcomes.append(f"{replica.name}#{replica.incarnation}:{response.status_code}")
                if response.status_code == 200:
                    return " ".join(outcomes)
            except requests.RequestException as error:
                outcomes.append(f"{replica.name}#{replica.incarnation}:{type(error).__name__}")
            time.sleep(0.5)
        self.record.undelivered_events += 1
        return " ".join(outcomes)

    def _live(self) -> Replica:
        live = self.fleet.live()
        return self.rng.choice(live) if live else self.fleet.replicas[0]

    def _sender(self, replica: Replica) -> SlackEventSender:
        if self.plan.transport == "socket":  # Slack chooses among the links, not us
            if 0 not in self._senders:
                self._senders[0] = SocketModeSender(
                    self.slack.socket_mode, replica.events_url, SIGNING_SECRET, wait=15.0
                )
            return self._senders[0]
        if replica.port not in self._senders:
            self._senders[replica.port] = SlackEventSender(
                replica.events_url, SIGNING_SECRET, timeout=5.0
            )
        return self._senders[replica.port]

    def _cards(self) -> dict[str, dict[str, Any]]:
        """Each customer's card (the first, should there be two)."""
        cards: dict[str, dict[str, Any]] = {}
        for message in self.slack.messages(CHANNEL):
            owner = card_owner(self.record, message) if is_card(message) else None
            if owner is not None:
                cards.setdefault(owner, message)
        return cards

    # --- the end ---------------------------------------------------------------------------------
    def _drain(self, *, timeout: float) -> int:
        """Wait until the outbox has nothing left to do; return how many jobs were still queued
        if `timeout` came first (then the run was too slow, and what they carry shows as lost).
        Deadlines still ahead are not waited for: the alerts that fired during the run, kills
        and faults included, are the ones checked. Meta must have nothing left to deliver
        either (the echoes of the last answers included), and every message the customers
        wrote must be stored: X's are polled, and a poll may not have come since the last kill
        (what is still unread then shows as lost if `timeout` comes first)."""
        deadline = time.monotonic() + timeout
        database = Database(self.database_url)
        busy = 0
        try:
            quiet = 0
            while quiet < 3:
                if time.monotonic() > deadline:
                    return busy
                time.sleep(1.0)
                with database.transaction() as session:
                    busy = session.scalar(
                        select(func.count())
                        .select_from(OutboxJob)
                        .where(OutboxJob.status.in_((outbox_rows.PENDING, outbox_rows.RUNNING)))
                    )
                    stored = session.scalars(
                        select(Message.text).where(Message.direction == Direction.INBOUND)
                    ).all()
                unread = set(self.record.inbound) - set(MESSAGE.findall(" ".join(stored)))
                settled = busy == 0 and not unread and self.webhooks.idle()
                quiet = quiet + 1 if settled else 0
            return 0
        finally:
            database.dispose()

    def _failed_jobs(self) -> Counter[str]:
        database = Database(self.database_url)
        try:
            with database.transaction() as session:
                rows = session.execute(
                    select(OutboxJob.kind, OutboxJob.last_error).where(
                        OutboxJob.status == outbox_rows.FAILED
                    )
                ).all()
        finally:
            database.dispose()
        return Counter(
            f"{kind}: {re.sub(r'[0-9]+', 'N', error or '')[:80]}" for kind, error in rows
        )


# --- Meta --------------------------------------------------------------------------------------
@dataclass
class _Again:
    due: float  # time.monotonic()
    body: bytes
    failures: int  # POSTs of it that got no 200
    repeat: bool  # made again after a 200


class MetaWebhooks:
    """Meta delivering the Page's webhooks to the bot as Meta does, through a load balancer
    that picks a live replica: now and then several events in one POST; a POST that gets no
    200 (the bot killed, the connection refused, a 5xx, no answer within Meta's timeout) made
    again later, after newer ones (Meta retries with growing pauses for hours; seconds here);
    and now and then a delivery that got its 200 made once more (Meta says to expect
    duplicates)."""

    def __init__(
        self,
        meta: GraphEmulator,
        fleet: Fleet,
        rng: random.Random,
        *,
        batch_rate: float = 0.5,
        repeat_rate: float = 0.1,
        timeout: float = 5.0,
    ) -> None:
        self.meta = meta
        self.fleet = fleet
        self.rng = rng
        self.batch_rate = batch_rate
        self.repeat_rate = repeat_rate
        self.timeout = timeout
        self.traffic = MetaTraffic()
        self._again: list[_Again] = []
        self._busy = False
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="meta-webhooks", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop delivering; what never got a 200 by now counts as lost."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        with self._lock:
            self.traffic.undelivered = sum(not again.repeat for again in self._again)

    def idle(self) -> bool:
        """Nothing to deliver, nothing waiting to be made again, nothing on its way."""
        with self._lock:
            return not self._busy and not self._again and not self.meta.pending()

    def _run(self) -> None:
        # Meta delivers within a second or two, events that come close together in one POST.
        while not self._stop.wait(self.rng.uniform(0.1, 1.5)):
            with self._lock:
                self._busy = True
            try:
                self._round()
            finally:
                with self._lock:
                    self._busy = False

    def _round(self) -> None:
        url = self.rng.choice(self.fleet.live() or self.fleet.replicas).webhook_url
        batch = self.rng.random() < self.batch_rate
        for delivery in self.meta.deliver(url, batch=batch, attempts=1, timeout=self.timeout):
            self.traffic.posts += 1
            self.traffic.batched += _events(delivery.body) > 1
            self._then(delivery.body, delivery.delivered, failures=0, repeat=False)
        now = time.monotonic()
        with self._lock:
            due = [again for again in self._again if again.due <= now]
            self._again = [again for again in self._again if again.due > now]
        for again in due:
            try:
                response = self.meta.deliver_raw(url, again.body, timeout=self.timeout)
                delivered = response.status_code == 200
            except requests.RequestException:
                delivered = False
            self.traffic.posts += 1
            if again.repeat:
                self.traffic.repeated += 1
            else:
                self.traffic.retried += 1
            self._then(again.body, delivered, failures=again.failures, repeat=again.repeat)

    def _then(self, body: bytes, delivered: bool, *, failures: int, repeat: bool) -> None:
        now = time.monotonic()
        if delivered and not repeat and self.rng.random() < self.repeat_rate:
            again = _Again(now + self.rng.uniform(1.0, 5.0), body, 0, repeat=True)
        elif not delivered:
            pause = min(8.0, 0.5 * 2**failures) * self.rng.uniform(0.5, 1.5)
            again = _Again(now + pause, body, failures + 1, repeat)
        else:
            return
        with self._lock:
            self._again.append(again)


def _events(body: bytes) -> int:
    """How many events a webhook body carries."""
    entries = json.loads(body)["entry"]
    return sum(len(e.get("changes", [])) + len(e.get("messaging", [])) for e in entries)
