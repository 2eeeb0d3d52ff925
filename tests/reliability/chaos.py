"""A fault-injection run: customers write, agents answer, the bot is SIGKILLed at random, and
the emulators fail a share of the bot's requests (429s, 5xx, resets, answers held past the
client's timeout after the request took effect). Then the record is read from what people see:
the Slack channel and its threads, the tweets and DMs the customers received.

The settings make every kind of automatic message happen: the team is closed (each conversation
gets one out-of-hours notice, publicly or by DM), the response targets are short on the wall
clock, so that warnings (in threads) and misses (in the channel) fire while the bot is being
killed, and some customers insult the brand (one netiquette notice each).
"""

from __future__ import annotations

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

from bot.networks.x.emulator import XEmulator
from bot.sandbox.slack_api import SlackEmulator
from bot.sandbox.slack_events import SlackEventSender
from bot.sandbox.world import CHANNEL, SIGNING_SECRET, sandbox_env
from bot.slack import blocks
from storage import outbox_rows
from storage.db import Database
from storage.models import OutboxJob
from tests.reliability.fleet import Fleet, Replica
from tests.reliability.verdict import RULES_URL, Record, Verdict, judge

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
    pace: float = 0.5  # seconds between two customer messages
    response_target: int = 60  # seconds, on the wall clock; the warning comes at half of it
    # Slack takes about one post per second in a channel: a big run needs time to catch up.
    drain_timeout: float = 600.0
    seed: int = 20261124


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
        env = sandbox_env(self.slack, self.x, database_url) | {
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
        self.fleet = Fleet.of(plan.replicas, env, logs, random.Random(plan.seed + 1))
        self.record = Record()
        self._senders: dict[int, SlackEventSender] = {}
        self._stop_killing = threading.Event()

    def close(self) -> None:
        self._stop_killing.set()
        self.fleet.stop()
        self.slack.stop()
        self.x.stop()

    # --- the run -------------------------------------------------------------------------------
    def play(self) -> Verdict:
        started = time.monotonic()
        handles = [f"cust{i:04d}" for i in range(self.plan.customers)]
        for handle in handles:
            self.x.add_user(handle, f"Customer {handle[4:]}")
        self.fleet.start()
        self.slack.chaos(self.plan.fault_rate, self.plan.seed, timeout_after=HTTP_TIMEOUT + 0.5)
        self.x.chaos(self.plan.fault_rate, self.plan.seed + 2, timeout_after=HTTP_TIMEOUT + 0.5)
        killer = threading.Thread(target=self._kill_at_random, name="killer", daemon=True)
        killer.start()
        every = max(1, self.plan.inbound // max(1, self.plan.answers))
        for i in range(self.plan.inbound):
            self._customer_writes(i, self.rng.choice(handles))
            if i % every == every - 1 and len(self.record.answers) < self.plan.answers:
                self._agent_answers()
            time.sleep(self.plan.pace)
        while len(self.record.answers) < self.plan.answers:
            if not self._agent_answers():
                time.sleep(0.5)
        while self.fleet.kills < self.plan.kills:
            time.sleep(0.5)
        self._stop_killing.set()
        killer.join()
        queued = self._drain(timeout=self.plan.drain_timeout)
        self.fleet.stop()  # SIGTERM: what people see is final from here
        self.slack.calm()
        self.x.calm()
        return judge(
            self.record,
            self.slack,
            self.x,
            kills=self.fleet.kills,
            crashes=self.fleet.crashes,
            takeovers=self.fleet.takeovers,
            seconds=time.monotonic() - started,
            faults=self.slack.faults_injected + self.x.faults_injected,
            failed_jobs=self._failed_jobs(),
            jobs_done=self.fleet.jobs_done(),
            still_queued=queued,
        )

    def _kill_at_random(self) -> None:
        # Spread the kills over the customers' writing, then keep going until there are enough.
        mean = max(1.0, self.plan.inbound * self.plan.pace / (self.plan.kills + 1))
        leader_kills = 0
        while not self._stop_killing.wait(self.rng.uniform(0.3 * mean, 1.7 * mean)):
            if leader_kills < self.plan.leader_kills and self.rng.random() < 0.5:
                self.fleet.kill_leader()
                leader_kills += 1
            else:
                self.fleet.kill()
            self.fleet.wait_healthy(timeout=60)

    # --- customers and agents --------------------------------------------------------------------
    def _customer_writes(self, i: int, handle: str) -> None:
        token = f"[m{i:04d}]"
        abusive = i % 20 == 7  # one message in twenty insults the brand
        text = f"{token} {ABUSE if abusive else self.rng.choice(MOODS)}"
        if self.rng.random() < 0.5:
            self.x.post_tweet(handle, f"@{self.x.brand['username']} {text}")
        else:
            self.x.send_dm(handle, text)
        self.record.wrote(token, handle, abusive=abusive)

    def _agent_answers(self) -> bool:
        """An agent answers a customer who waits and whose card is in Slack; False if none."""
        waiting = [h for h in self.record.waiting() if self._card(h) is not None]
        if not waiting:
            return False
        handle = self.rng.choice(waiting)
        card = self._card(handle)
        assert card is not None
        agent = AGENTS[int(handle[4:]) % len(AGENTS)]
        if handle not in self.record.claimed and self.rng.random() < 0.5:
            self._click(agent, card)
            self.record.claimed.add(handle)  # some claim with the button first, others just answer
        token = f"[a{len(self.record.answers):03d}]"
        text = f"{token} Thanks for your patience, we're on it."
        message = self.slack.post_as_user(agent, text, thread_ts=card["ts"], channel=CHANNEL)
        event = self._sender(self.fleet.replicas[0]).message_event(
            agent, text, CHANNEL, message["ts"], thread_ts=card["ts"]
        )
        outcomes = self._deliver(event, f"Ev{message['ts'].replace('.', '')}")
        self.record.answered(token, handle)
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
        if replica.port not in self._senders:
            self._senders[replica.port] = SlackEventSender(
                replica.events_url, SIGNING_SECRET, timeout=5.0
            )
        return self._senders[replica.port]

    def _card(self, handle: str) -> dict[str, Any] | None:
        return next(
            (
                m
                for m in self.slack.messages(CHANNEL)
                if m.get("bot_id") and m.get("blocks") and f"@{handle}>" in str(m["blocks"])
            ),
            None,
        )

    # --- the end ---------------------------------------------------------------------------------
    def _drain(self, *, timeout: float) -> int:
        """Wait until the outbox has nothing left to do; return how many jobs were still queued
        if `timeout` came first (then the run was too slow, and what they carry shows as lost).
        Deadlines still ahead are not waited for: the alerts that fired during the run, kills
        and faults included, are the ones checked."""
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
                quiet = quiet + 1 if busy == 0 else 0
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
