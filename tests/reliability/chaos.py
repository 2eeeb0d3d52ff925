"""A fault-injection run: customers write, agents answer, the bot is SIGKILLed at random, and
the emulators fail a share of the bot's requests (429s and Meta's rate-limit codes, 5xx,
resets, answers held past the client's timeout after the request took effect). Then the record
is read from what people see: the Slack channel and its threads, and what the customers
received on each network.

The customers are spread over four networks (`customers.py`): X (mentions and DMs, polled), a
Facebook Page (comments and Messenger messages), an Instagram account (comments and Direct
messages) and a WhatsApp number. Meta pushes the last three to /webhooks/meta as
`MetaWebhooks` does: batched, made again when the bot did not answer 200, now and then twice.
The bot serves the four accounts from one ACCOUNTS_FILE.

The settings make every kind of automatic message happen: the team is closed (each conversation
gets one out-of-hours notice, publicly or privately), the response targets are short on the
wall clock, so that warnings (in threads) and misses (in the channel) fire while the bot is
being killed, and some customers insult the brand (one netiquette notice each).
"""

from __future__ import annotations

import itertools
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
from bot.networks.facebook.emulator import GraphEmulator
from bot.networks.x.emulator import XEmulator
from bot.sandbox.slack_api import SlackEmulator
from bot.sandbox.slack_events import SlackEventSender, SocketModeSender
from bot.sandbox.world import CHANNEL, SIGNING_SECRET, sandbox_env
from bot.slack import blocks
from storage import outbox_rows
from storage.db import Database
from storage.models import Message, OutboxJob
from tests.reliability.customers import Customers, Networks
from tests.reliability.fleet import Fleet, Replica
from tests.reliability.meta_emulators import (
    InstagramUnderChaos,
    MetaProduct,
    WhatsAppUnderChaos,
)
from tests.reliability.meta_webhooks import MetaWebhooks
from tests.reliability.record import MESSAGE, NETWORKS, Record
from tests.reliability.verdict import RULES_URL, Run, Verdict, card_owner, is_card, judge

AGENTS = ("UANNA", "UBRUNO", "UCARLA")
ABUSE = "you are genuinely the biggest idiots I've ever dealt with"
MOODS = ("my parcel is late", "still waiting, this is terrible", "urgent: wrong address", "hello?")
HTTP_TIMEOUT = 1.0  # the bot's; a held answer waits a little longer than that


@dataclass(frozen=True)
class Plan:
    inbound: int  # customer messages
    answers: int  # agent answers
    kills: int  # SIGKILLs at least
    customers: int  # as many on each of the four networks
    replicas: int = 1
    leader_kills: int = 0  # of the kills, how many aim at the leader (replicas on PostgreSQL)
    fault_rate: float = 0.2
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
        self.networks = Networks(
            XEmulator(), GraphEmulator(), InstagramUnderChaos(), WhatsAppUnderChaos()
        ).start()
        env = sandbox_env(self.slack, self.networks.x, database_url) | {
            "ACCOUNTS_FILE": str(self.networks.accounts_file(logs)),
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
        if plan.transport == "socket":
            env["SLACK_APP_TOKEN"] = self.slack.app_token
        self.fleet = Fleet.of(plan.replicas, env, logs, random.Random(plan.seed + 1))
        products: list[MetaProduct] = [
            self.networks.page,
            self.networks.instagram,
            self.networks.whatsapp,
        ]
        self.webhooks = MetaWebhooks(products, self.fleet, random.Random(plan.seed + 3))
        self.record = Record()
        self.customers = Customers(self.networks, self.record, self.rng)
        self._senders: dict[int, SlackEventSender] = {}
        self._stop_killing = threading.Event()
        self._killer_failed: RuntimeError | None = None

    def close(self) -> None:
        self._stop_killing.set()
        self.webhooks.stop()
        self.fleet.stop()
        self.slack.stop()
        self.networks.stop()

    # --- the run -------------------------------------------------------------------------------
    def play(self) -> Verdict:
        started = time.monotonic()
        enlisted = self.customers.enlist(self.plan.customers)
        everyone = [customer for network in NETWORKS for customer in enlisted[network]]
        self.fleet.start()
        self._chaos(on=True)
        self.webhooks.start()
        killer = threading.Thread(target=self._kill_at_random, name="killer", daemon=True)
        killer.start()
        self._customers_write(enlisted, everyone)
        self._answer_the_rest(everyone)
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
        self._chaos(on=False)
        run = Run(
            traffic=self.webhooks.traffic,
            kills=self.fleet.kills,
            killed_at=self.fleet.killed_at,
            crashes=self.fleet.crashes,
            takeovers=self.fleet.takeovers,
            seconds=time.monotonic() - started,
            failed_jobs=self._failed_jobs(),
            jobs_done=self.fleet.jobs_done(),
            still_queued=queued,
            unanswered=self.plan.answers - len(self.record.answers),
            seed=self.plan.seed,
        )
        return judge(self.record, self.slack, self.networks, run)

    def _customers_write(self, enlisted: dict[str, list[str]], everyone: list[str]) -> None:
        """The customers write at the plan's pace, the agents answering now and then."""
        every = max(1, self.plan.inbound // max(1, self.plan.answers))
        follow_up: str | None = None  # a customer who writes again at once
        for i in range(self.plan.inbound):
            token = f"[m{i:04d}]"
            if follow_up is not None:
                self._write(token, follow_up, again=True)
                follow_up = None
            elif i % 10 == 7:  # one message in ten insults the brand, on each network in turn
                customer = self.rng.choice(enlisted[NETWORKS[i // 10 % len(NETWORKS)]])
                self.customers.write(token, customer, f"{token} {ABUSE}", abusive=True)
            else:
                customer = self.rng.choice(everyone)
                self._write(token, customer)
                # People often write twice in a row: both messages then come in one poll of
                # X, or close together from Meta (in one POST when it batches).
                if (i + 1) % 10 != 7 and self.rng.random() < 0.2:
                    follow_up = customer
            if i % every == every - 1 and len(self.record.answers) < self.plan.answers:
                self._agent_answers()
            if follow_up is None:
                time.sleep(self.plan.pace)

    def _answer_the_rest(self, everyone: list[str]) -> None:
        """The agents give the answers left; should everyone have had theirs, somebody writes
        again. A card that never comes must not hold the run: past the deadline the verdict
        says what is missing."""
        more = itertools.count(self.plan.inbound)
        deadline = time.monotonic() + self.plan.drain_timeout
        while len(self.record.answers) < self.plan.answers and time.monotonic() < deadline:
            if not self.record.waiting():
                self._write(f"[m{next(more):04d}]", self.rng.choice(everyone))
            if not self._agent_answers():
                time.sleep(0.5)

    def _chaos(self, *, on: bool) -> None:
        """Make every emulator fail a share of the bot's requests, each with its own seed; or
        stop, to read what people see."""
        networks = self.networks
        emulators = (self.slack, networks.x, networks.page, networks.instagram, networks.whatsapp)
        for n, emulator in enumerate(emulators):
            if on:
                seed = self.plan.seed + 10 * (n + 1)  # + 1, 3 and 5 are taken (fleet...)
                emulator.chaos(self.plan.fault_rate, seed, timeout_after=HTTP_TIMEOUT + 0.5)
            else:
                emulator.calm()

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

    # --- customers and agents ----------------------------------------------------------------
    def _write(self, token: str, customer: str, *, again: bool = False) -> None:
        text = f"{token} {self.rng.choice(MOODS)}"
        self.customers.write(token, customer, text, abusive=False, again=again)

    def _agent_answers(self) -> bool:
        """An agent answers a customer who waits and whose card is in Slack; False if none.
        The networks take turns (a mention's card comes after the next poll, a webhook's at
        once: the turn waits for it) unless nobody waits on the network whose turn it is."""
        waiting = self.record.waiting()
        turn = NETWORKS[len(self.record.answers) % len(NETWORKS)]
        waiting = [c for c in waiting if self.record.network(c) == turn] or waiting
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
                    busy = (
                        session.scalar(
                            select(func.count())
                            .select_from(OutboxJob)
                            .where(OutboxJob.status.in_((outbox_rows.PENDING, outbox_rows.RUNNING)))
                        )
                        or 0
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
