"""What a big database costs the bot: `/care stats`, App Home, ingesting mentions, starting up.

Run:  .venv/bin/python bench/big_database.py [--conversations 100000]
      [--messages-per-conversation 10] [--outbox-jobs 1000000]
      [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/test]

The database (SQLite in a temporary folder, or a new schema of the PostgreSQL database given,
dropped afterwards) is made by the Alembic migrations, then filled with SQLAlchemy Core as a bot
that has run for a month keeps it (issue #14): one X account; a customer and an open
conversation each, opened over the last 30 days, with varied priorities and deadlines, a fifth
of them assigned to one of three agents; `--messages-per-conversation` messages each (the
customer's and, for two conversations in three, the agents' answers); `--outbox-jobs` done
outbox jobs of the last day (within OUTBOX_RETENTION, so kept). PostgreSQL is then vacuumed and
analysed, as autovacuum would soon do.

Then, with the Slack and X emulators on loopback in this process:
- the bot as `carebridge run` starts it (`python -m bot run`, HTTP mode, a process of its own):
  the time to its first /healthz answer and to `carebridge.started` in its log, and its memory
  (VmRSS, VmHWM) after start-up and after it answered `/care stats 30d` (a signed slash
  command), published an App Home and mirrored 100 new mentions polled from X;
- in this process, on a Carebridge built as `carebridge run` builds it: `/care stats 30d` as the
  slash command computes it (`Stats.command`, then its rendering); App Home's queries and view
  without Slack, and its whole job with views.publish; whether Home lists the right
  conversations, checked by a direct SQL query over all open ones; and 100 new mentions ingested
  as the poller ingests them (`Ingest.ingest`, 20 per transaction), on the big database and on
  an empty one, in alternating rounds.

The targets of issue #14 are printed beside the figures. It measures; it asserts nothing.
"""

from __future__ import annotations

import argparse
import logging
import os
import random
import re
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import requests
from sqlalchemy import Engine, create_engine, insert, select, text
from sqlalchemy.engine import make_url

from bot.app import Carebridge
from bot.config import load_settings, normalise_database_url
from bot.domain.answers import StatsReport
from bot.domain.model import Author, Delivery, Direction, InboundMessage, Status, Visibility
from bot.logs import configure_logging
from bot.networks.x.emulator import XEmulator
from bot.sandbox.slack_api import SlackEmulator
from bot.sandbox.slack_events import SlackEventSender
from bot.sandbox.world import CHANNEL, SIGNING_SECRET, sandbox_env
from bot.services import outbox
from bot.services.polling import CHUNK as INGEST_CHUNK
from bot.services.worker import Job
from bot.slack.answers import render_answer
from bot.slack.cards import Cards
from bot.slack.home import ITEM_BUDGET, home_view
from storage import migrate
from storage import repositories as repo
from storage.db import Database
from storage.models import Base, ChannelAccount, Conversation, Customer, Message, OutboxJob

T = TypeVar("T")
AGENTS = ("UANNA", "UBRUNO", "UCARLA")
AGENT = AGENTS[0]  # whose App Home is built
PRIORITIES = ("urgent",) * 1 + ("high",) * 3 + ("normal",) * 12 + ("low",) * 4
TARGETS = {
    "urgent": timedelta(minutes=15),
    "high": timedelta(minutes=30),
    "normal": timedelta(hours=1),
    "low": timedelta(hours=4),
}
WARN_BEFORE = timedelta(minutes=10)
OUTBOX_KINDS = (
    outbox.POST_CARD,
    outbox.MIRROR_MESSAGE,
    outbox.THREAD_MESSAGE,
    outbox.UPDATE_CARD,
    outbox.DELIVER,
)
INBOUND_TEXTS = (
    "@acmecare my order #{n} has not arrived yet, can you check?",
    "Any news about order #{n}? The tracking page says nothing.",
    "@acmecare I was charged twice for order #{n}",
    "Still waiting for an answer about #{n}...",
)
OUTBOUND_TEXTS = (
    "Sorry about that! Could you send us the order number by DM?",
    "Thanks, we are checking with the courier and will be back to you today.",
    "The refund is on its way: 3 to 5 working days.",
)
ROWS_PER_INSERT = 10_000
MENTIONS = 100  # per ingest round, and mirrored by the running bot
SETTLE_SECONDS = 5.0  # after /healthz: the first poll and sweep of the running bot


# --- seeding --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Shape:
    """One seeded conversation, from which its row, its customer's and its messages' follow."""

    number: int  # the conversation's id and its customer's
    opened_at: datetime
    span: timedelta  # from its first message to its last
    priority: str
    answered: bool  # agents answered: customer and agents alternate, the customer wrote last
    on_hold: bool  # netiquette hold: no deadline
    assignee: str | None
    visibility: Visibility

    def sent_at(self, k: int, n: int) -> datetime:
        return self.opened_at + self.span * (k / max(1, n - 1))

    def inbound(self, k: int, n: int) -> bool:
        return not self.answered or k % 2 == 0 or k == n - 1

    @property
    def thread_ts(self) -> str:
        return f"{int(self.opened_at.timestamp())}.{self.number:06d}"


def shapes(count: int, n: int, now: datetime, rng: random.Random) -> list[Shape]:
    made = []
    for number in range(1, count + 1):
        opened = now - timedelta(seconds=rng.uniform(120, 30 * 86_400))
        span = min(now - opened, timedelta(seconds=rng.uniform(60, 3 * 86_400)))
        made.append(
            Shape(
                number=number,
                opened_at=opened,
                span=span,
                priority=rng.choice(PRIORITIES),
                answered=n >= 2 and number % 3 != 0,
                on_hold=number % 97 == 0,
                assignee=AGENTS[(number // 5) % len(AGENTS)] if number % 5 == 0 else None,
                visibility=Visibility.PRIVATE if number % 5 == 3 else Visibility.PUBLIC,
            )
        )
    return made


def customer_row(shape: Shape) -> dict[str, Any]:
    return {
        "id": shape.number,
        "network": "x",
        "external_id": str(2_000_000_000 + shape.number),
        "handle": f"cust{shape.number}",
        "name": f"Customer {shape.number:06d}",
        "followers": shape.number * 37 % 5000,
        "verified": False,
        "profile_url": f"https://x.com/cust{shape.number}",
        "first_seen_at": shape.opened_at,
        "updated_at": shape.opened_at,
    }


def conversation_row(shape: Shape, n: int, account_id: int, now: datetime) -> dict[str, Any]:
    target = TARGETS[shape.priority]
    first_due = shape.opened_at + target
    first_at = shape.sent_at(1, n) if shape.answered else None
    next_due = None
    if shape.answered:  # the customer wrote last: the clock runs from their first unanswered
        last_answer = max(k for k in range(n) if not shape.inbound(k, n))
        next_due = shape.sent_at(last_answer + 1, n) + target
    deadline = None if shape.on_hold else (next_due if shape.answered else first_due)
    # As the sweeper leaves them: past deadlines fully alerted, future ones with their warning.
    if deadline is None:
        sla_state, alert_at = "on_track", None
    elif deadline <= now:
        sla_state, alert_at = "escalation", None
    elif deadline - WARN_BEFORE > now:
        sla_state, alert_at = "on_track", deadline - WARN_BEFORE
    else:
        sla_state, alert_at = "warning", deadline
    inbound = sum(shape.inbound(k, n) for k in range(n))
    # What services.sla.Deadlines.answered keeps: the follow-ups' clocks answered, and in time;
    # the first wait in business time (the bench sets no BUSINESS_HOURS: always open).
    clocks = [(m["response_due_at"], m["responded_at"]) for m in message_rows(shape, n)][1:]
    answered = [(due, at) for due, at in clocks if due is not None and at is not None]
    return {
        "id": shape.number,
        "account_id": account_id,
        "customer_id": shape.number,
        "visibility": shape.visibility,
        "status": Status.OPEN,
        "assignee": shape.assignee,
        "priority": shape.priority,
        "slack_channel_id": CHANNEL,
        "slack_thread_ts": shape.thread_ts,
        "slack_permalink": f"https://sandbox.slack.com/archives/{CHANNEL}/p"
        + shape.thread_ts.replace(".", ""),
        "opened_at": shape.opened_at,
        "last_inbound_at": shape.sent_at(n - 1, n),
        "first_response_at": first_at,
        "first_response_due_at": first_due,
        "first_response_business_seconds": (
            None if first_at is None else (first_at - shape.opened_at).total_seconds()
        ),
        "follow_ups_answered": len(answered),
        "follow_ups_met": sum(at <= due for due, at in answered),
        "next_response_due_at": next_due,
        "next_alert_at": alert_at,
        "netiquette_hold": shape.on_hold,
        "sla_state": sla_state,
        "inbound_count": inbound,
        "outbound_count": n - inbound,
        "card_version": 1,
    }


def message_rows(shape: Shape, n: int) -> Iterator[dict[str, Any]]:
    target = TARGETS[shape.priority]
    for k in range(n):
        at = shape.sent_at(k, n)
        inbound = shape.inbound(k, n)
        answer = k + 1 if k + 1 < n and not shape.inbound(k + 1, n) else None
        due = responded = None
        if inbound and k == 0:
            due = shape.opened_at + target
            responded = shape.sent_at(1, n) if shape.answered else None
        elif inbound and shape.answered and not shape.inbound(k - 1, n):
            due = at + target  # a follow-up after an answer starts the next clock
            responded = shape.sent_at(answer, n) if answer is not None else None
        external_id = str(10**18 + shape.number * 1000 + k)
        author = f"cust{shape.number}" if inbound else shape.assignee or AGENTS[k % 3]
        words = INBOUND_TEXTS if inbound else OUTBOUND_TEXTS
        yield {
            "conversation_id": shape.number,
            "direction": Direction.INBOUND if inbound else Direction.OUTBOUND,
            "visibility": shape.visibility,
            "network": "x",
            "external_id": external_id,
            "permalink": f"https://x.com/{'cust' if inbound else 'acmecare'}/status/{external_id}",
            "author": author,
            "text": words[k % len(words)].format(n=shape.number),
            "created_at": at,
            "slack_ts": shape.thread_ts if k == 0 else f"{int(at.timestamp())}.9{k:05d}",
            "delivery": Delivery.RECEIVED if inbound else Delivery.SENT,
            "response_due_at": due,
            "responded_at": responded,
            "customer_id": shape.number if inbound else None,
        }


def outbox_rows(count: int, conversations: int, now: datetime) -> Iterator[dict[str, Any]]:
    """Done jobs of the last day, in id order as they were done."""
    for number in range(count):
        conversation = number % max(1, conversations) + 1
        kind = OUTBOX_KINDS[number % len(OUTBOX_KINDS)]
        done = now - timedelta(days=1) + timedelta(days=1) * ((number + 1) / (count + 1))
        created = done - timedelta(milliseconds=50 + number % 3000)
        to_customer = kind == outbox.DELIVER
        yield {
            "kind": kind,
            "payload": {"conversation_id": conversation},
            "idempotency_key": f"bench:{kind}:{number}",
            "status": "done",
            "priority": 20 if to_customer else 0,
            "ordering_key": f"{'deliver' if to_customer else 'slack'}:conversation:{conversation}",
            "lane": "x:x" if to_customer else f"slack:{CHANNEL}",
            "attempts": 1,
            "next_attempt_at": created,
            "created_at": created,
            "done_at": done,
            "result": {"ts": f"{int(done.timestamp())}.{number % 1_000_000:06d}"},
        }


def insert_all(engine: Engine, model: type[Base], rows: Iterable[dict[str, Any]]) -> int:
    """Core inserts of `ROWS_PER_INSERT` rows, a transaction each."""
    count, batch = 0, []
    for row in rows:
        batch.append(row)
        if len(batch) == ROWS_PER_INSERT:
            with engine.begin() as connection:
                connection.execute(insert(model), batch)
            count, batch = count + len(batch), []
    if batch:
        with engine.begin() as connection:
            connection.execute(insert(model), batch)
    return count + len(batch)


def seed(
    url: str, args: argparse.Namespace, account_name: str, brand: dict[str, Any]
) -> list[tuple[str, float, int]]:
    """The big database; returns each step's seconds and rows."""
    database = Database(url)
    engine, n = database.engine, args.messages_per_conversation
    now = datetime.now(UTC)
    steps: list[tuple[str, float, int]] = []
    try:
        started = time.perf_counter()
        migrate.upgrade(database)
        steps.append(("schema (Alembic migrations)", time.perf_counter() - started, 0))
        with engine.begin() as connection:
            connection.execute(
                insert(ChannelAccount).values(
                    network="x",
                    external_id=brand["id"],
                    name=account_name,
                    handle=brand["username"],
                    slack_channel_id=CHANNEL,
                    cursors={},
                    created_at=now - timedelta(days=60),
                    polled_at=now,
                )
            )
            account_id = int(connection.scalar(select(ChannelAccount.id)) or 0)
        made = shapes(args.conversations, n, now, random.Random(args.seed))
        tables: list[tuple[str, type[Base], Iterable[dict[str, Any]]]] = [
            ("customers", Customer, (customer_row(s) for s in made)),
            (
                "conversations",
                Conversation,
                (conversation_row(s, n, account_id, now) for s in made),
            ),
            ("messages", Message, (row for s in made for row in message_rows(s, n))),
            ("outbox jobs (done)", OutboxJob, outbox_rows(args.outbox_jobs, len(made), now)),
        ]
        for label, model, rows in tables:
            started = time.perf_counter()
            count = insert_all(engine, model, rows)
            steps.append((label, time.perf_counter() - started, count))
        if engine.dialect.name == "postgresql":
            started = time.perf_counter()
            with engine.begin() as connection:  # the ids given above: the sequences follow
                for table in ("customers", "conversations"):
                    connection.execute(
                        text(
                            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                            f"(SELECT max(id) FROM {table}))"
                        )
                    )
            with engine.connect() as connection:
                connection.execution_options(isolation_level="AUTOCOMMIT")
                names = "channel_accounts, customers, conversations, messages, outbox"
                connection.execute(text(f"VACUUM ANALYZE {names}"))
            steps.append(("VACUUM ANALYZE", time.perf_counter() - started, 0))
        return steps
    finally:
        database.dispose()


def database_size(url: str) -> str:
    database = Database(url)
    try:
        if database.is_sqlite:
            path = Path(make_url(url).database or "")
            files = [path, path.with_name(path.name + "-wal")]
            size = sum(f.stat().st_size for f in files if f.exists())
        else:
            with database.engine.connect() as connection:
                size = int(
                    connection.scalar(
                        text(
                            "SELECT sum(pg_total_relation_size(c.oid)) FROM pg_class c JOIN "
                            "pg_namespace s ON s.oid = c.relnamespace "
                            "WHERE s.nspname = current_schema() AND c.relkind = 'r'"
                        )
                    )
                    or 0
                )
        return f"{size / 2**20:,.0f} MB"
    finally:
        database.dispose()


# --- the bot as `carebridge run` starts it --------------------------------------------------------
@dataclass
class RunningBot:
    healthz: float  # seconds from Popen to the first /healthz answer
    settings_read: float | None  # ... to `carebridge.accounts` (interpreter, imports, settings)
    started: float | None  # ... to `carebridge.started` (then Carebridge.build, start_background)
    memory_up: tuple[int, int]  # (VmRSS, VmHWM) kB at /healthz
    memory_settled: tuple[int, int]  # SETTLE_SECONDS later
    stats_seconds: float
    stats_status: int
    figures_seconds: float | None
    home_seconds: float | None
    mentions_seconds: float | None
    cards: int
    memory_after: tuple[int, int]
    log: Path


def run_bot(env: dict[str, str], slack: SlackEmulator, x: XEmulator) -> RunningBot:
    folder = Path(tempfile.mkdtemp(prefix="carebridge-bench-big-"))
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", str(folder)),
        "LANG": "C.UTF-8",
        **env,
        "PORT": str(port),
        "LOG_FORMAT": "json",
        "X_POLL_SECONDS": "5",
        "SLACK_POST_INTERVAL": "0s",  # the 100 cards at once: the bot's cost, not Slack's pacing
    }
    log_path = folder / "bot.log"
    with log_path.open("wb") as log:
        wall, started = time.time(), time.perf_counter()
        process = subprocess.Popen(
            [sys.executable, "-m", "bot", "run"],
            cwd=folder,  # no .env of the repository
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            healthz = _wait_healthy(url, process, log_path) - started
            memory_up = memory(process.pid)
            time.sleep(SETTLE_SECONDS)
            memory_settled = memory(process.pid)
            sender = SlackEventSender(
                f"{url}/slack/events", SIGNING_SECRET, timeout=120, response_urls=slack.hooks_url
            )
            answered = len(slack.responses)
            asked = time.perf_counter()
            answer = sender.slash_command(AGENT, "/care", "stats 30d", CHANNEL)
            stats_seconds = time.perf_counter() - asked
            # The figures follow the acknowledgement through the command's response_url.
            figures_seconds = _wait_for(lambda: len(slack.responses) > answered, asked)
            published = len(slack.calls("views.publish"))
            asked = time.perf_counter()
            home = {"type": "app_home_opened", "user": AGENT, "channel": "DBENCH", "tab": "home"}
            sender.event(home)
            home_seconds = _wait_for(lambda: len(slack.calls("views.publish")) > published, asked)
            before = len(_cards(slack))
            asked = time.perf_counter()
            for number in range(MENTIONS):
                handle = f"bench{os.getpid()}n{number}"
                x.add_user(handle, f"Newcomer {number:03d}", followers=20)
                x.post_tweet(handle, f"@acmecare hello, a question about my order #{number}")
            mentions_seconds = _wait_for(lambda: len(_cards(slack)) >= before + MENTIONS, asked)
            cards = len(_cards(slack)) - before
            memory_after = memory(process.pid)
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
    return RunningBot(
        healthz=healthz,
        settings_read=_logged_after(log_path, "carebridge.accounts", wall),
        started=_logged_after(log_path, "carebridge.started", wall),
        memory_up=memory_up,
        memory_settled=memory_settled,
        stats_seconds=stats_seconds,
        stats_status=answer.status_code,
        figures_seconds=figures_seconds,
        home_seconds=home_seconds,
        mentions_seconds=mentions_seconds,
        cards=cards,
        memory_after=memory_after,
        log=log_path,
    )


def _wait_healthy(url: str, process: subprocess.Popen[bytes], log_path: Path) -> float:
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = log_path.read_text(errors="replace")[-3000:]
            raise RuntimeError(f"the bot exited with {process.returncode}:\n{tail}")
        with suppress(requests.RequestException):
            requests.get(f"{url}/healthz", timeout=2)
            return time.perf_counter()
        time.sleep(0.02)
    raise RuntimeError("the bot did not answer /healthz within 300 s")


def _wait_for(done: Callable[[], bool], since: float, limit: float = 300) -> float | None:
    """Seconds from `since` (perf_counter) until `done()`, polled every 20 ms; None if it was
    not done within `limit` seconds."""
    while time.perf_counter() - since < limit:
        if done():
            return time.perf_counter() - since
        time.sleep(0.02)
    return None


def _cards(slack: SlackEmulator) -> list[dict[str, Any]]:
    return [m for m in slack.messages(CHANNEL) if m.get("bot_id") and m.get("blocks")]


def _logged_after(log_path: Path, event: str, wall: float) -> float | None:
    """Seconds from `wall` to the first log line of `event` (JSON logs, ISO UTC timestamps)."""
    for line in log_path.read_text(errors="replace").splitlines():
        if f'"{event}"' in line:
            found = re.search(r'"timestamp": ?"([^"]+)"', line)
            if found:
                stamp = datetime.fromisoformat(found[1].replace("Z", "+00:00"))
                return stamp.timestamp() - wall
    return None


def memory(pid: int) -> tuple[int, int]:
    """(VmRSS, VmHWM) of a process, in kB."""
    fields = dict(
        line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
    )
    return int(fields["VmRSS"].split()[0]), int(fields["VmHWM"].split()[0])


# --- in this process ------------------------------------------------------------------------------
def first_and_best(call: Callable[[], T], runs: int = 3) -> tuple[float, float, T]:
    seconds: list[float] = []
    result: T | None = None
    for _ in range(runs):
        started = time.perf_counter()
        result = call()
        seconds.append(time.perf_counter() - started)
    assert result is not None
    return seconds[0], min(seconds), result


def time_stats(app: Carebridge) -> tuple[float, float, str]:
    """`/care stats 30d` typed in the support channel: what the command handler does."""

    def command() -> StatsReport:
        answer = app.services.stats.command("30d", CHANNEL)
        render_answer(answer)
        if not isinstance(answer, StatsReport):
            raise RuntimeError(f"/care stats 30d answered {answer!r}")
        return answer

    first, best, answer = first_and_best(command)
    team = answer.report.team
    return first, best, f"{team.opened:,} conversations opened, {team.answered:,} answered"


@dataclass
class HomeFigures:
    build_first: float
    build_best: float
    job_first: float
    job_best: float
    check: str
    lines: list[str]
    check_seconds: float


def time_home(app: Carebridge, slack: SlackEmulator) -> HomeFigures:
    """App Home of AGENT: its queries and view as the publish job builds them, without Slack;
    then the job itself, views.publish on the emulator included; then the check."""
    services = app.services
    cards = Cards(
        services.accounts, services.deadlines, services.oncall, services.customers, app.clock
    )

    def build() -> dict[str, Any]:  # bot/slack/jobs.py SlackJobHandlers._publish_home, less Slack
        with services.context.database.reading() as session:
            owned, owned_total = repo.open_conversations(session, assignee=AGENT, limit=ITEM_BUDGET)
            # The agent is in the one support channel: the job names no channel then.
            waiting, waiting_total = repo.open_conversations(session, limit=ITEM_BUDGET)
            mine = cards.home_items(session, owned)
            queue = cards.home_items(session, waiting)
        now = app.clock.now()
        return home_view(mine, queue, now, user=AGENT, totals=(owned_total, waiting_total))

    build_first, build_best, _ = first_and_best(build)
    handler = services.worker.handlers[outbox.PUBLISH_HOME]
    job = Job(0, outbox.PUBLISH_HOME, "home:bench", outbox.write(outbox.HomeJob(AGENT)), 1, None)
    job_first, job_best, _ = first_and_best(lambda: handler.perform(job) or {})
    started = time.perf_counter()
    check, lines = check_home(services.context.database, slack.views_published[AGENT])
    return HomeFigures(
        build_first, build_best, job_first, job_best, check, lines, time.perf_counter() - started
    )


# The order App Home promises, written out in SQL over every open conversation: priority, then
# the current deadline (none last), then the oldest.
ORDERED_SQL = """
SELECT id, priority, deadline FROM (
    SELECT id, priority, opened_at, assignee, slack_channel_id,
           CASE WHEN netiquette_hold THEN NULL
                WHEN first_response_at IS NULL AND first_response_due_at IS NOT NULL
                    THEN first_response_due_at
                ELSE next_response_due_at END AS deadline
    FROM conversations WHERE status <> 'resolved'
) AS open_conversations
WHERE {owner}
ORDER BY CASE priority WHEN 'urgent' THEN 0 WHEN 'high' THEN 1 WHEN 'low' THEN 3 ELSE 2 END,
         deadline IS NULL, deadline, opened_at, id
"""
OWNERS = {
    "Your conversations": ("assignee = :agent", {"agent": AGENT}),
    "Team queue": ("assignee IS NULL AND slack_channel_id = :channel", {"channel": CHANNEL}),
}


def check_home(database: Database, view: dict[str, Any]) -> tuple[str, list[str]]:
    """Each list of the published view against the SQL order: "right" or "WRONG (...)"."""
    shown: dict[str, list[str]] = {}
    totals: dict[str, int] = {}
    current = ""
    for block in view["blocks"]:
        words = (block.get("text") or {}).get("text", "")
        if block["type"] == "header":
            current = next(title for title in OWNERS if words.startswith(title))
            totals[current] = int(re.findall(r"\((\d+)\)", words)[-1])
            shown[current] = []
        elif block["type"] == "section" and (name := re.match(r"\S+ \*(.+?)\* \(", words)):
            shown[current].append(name[1])
    problems, lines = [], []
    with database.reading() as session:
        names = [name for names in shown.values() for name in names]
        ids = dict(
            session.execute(
                select(Customer.name, Conversation.id)
                .join(Conversation, Conversation.customer_id == Customer.id)
                .where(Customer.name.in_(names), Conversation.status != Status.RESOLVED)
            ).all()
        )
        for title, (owner, values) in OWNERS.items():
            listed = [ids.get(name, -1) for name in shown.get(title, [])]
            query = ORDERED_SQL.format(owner=owner)
            expected = session.execute(text(query + " LIMIT :n"), {**values, "n": len(listed)})
            rows = expected.all()
            total = session.scalar(text(f"SELECT count(*) FROM ({query}) AS listed"), values)
            if [row[0] for row in rows] != listed:
                wrong = next(
                    (i for i, (a, b) in enumerate(zip(listed, rows, strict=False)) if a != b[0]), 0
                )
                problems.append(f"{title}: line {wrong + 1} shows #{listed[wrong]}")
            if totals.get(title) != total:
                problems.append(f"{title}: says {totals.get(title)} in all, SQL counts {total}")
            lines.append(f"{title} ({totals.get(title)} in all, {len(listed)} shown), first:")
            for position, (number, priority, deadline) in enumerate(rows[:5], start=1):
                due = str(deadline)[:16] if deadline is not None else "no deadline"
                lines.append(f"  {position}. conversation #{number}  {priority:<6}  due {due}")
    return ("WRONG: " + "; ".join(problems)) if problems else "right", lines


def mentions(start: int, count: int, now: datetime) -> list[InboundMessage]:
    """New customers mentioning the brand, as the X adapter makes them."""
    made = []
    for number in range(start, start + count):
        tweet = str(3 * 10**18 + number)
        made.append(
            InboundMessage(
                network="x",
                external_id=tweet,
                author=Author(str(4_000_000_000 + number), f"new{number}", f"New {number}", 20),
                text=f"@acmecare hello, where is my order #{number}?",
                created_at=now,
                visibility=Visibility.PUBLIC,
                permalink=f"https://x.com/new{number}/status/{tweet}",
            )
        )
    return made


def ingest(app: Carebridge, events: list[InboundMessage]) -> float:
    """As the poller ingests a page: INGEST_CHUNK messages a transaction."""
    account = next(iter(app.services.accounts))
    app.services.accounts.identify(account)
    started = time.perf_counter()
    for start in range(0, len(events), INGEST_CHUNK):
        with app.services.context.transaction() as session:
            row = session.get(ChannelAccount, account.account_id)
            assert row is not None
            app.services.poller.ingest.ingest(session, row, events[start : start + INGEST_CHUNK])
    return time.perf_counter() - started


def time_ingest(apps: dict[str, Carebridge], rounds: int = 3) -> dict[str, list[float]]:
    """A warm-up of one chunk on each database, then rounds of MENTIONS, alternating."""
    now = datetime.now(UTC)
    number = 0
    for app in apps.values():
        ingest(app, mentions(number, INGEST_CHUNK, now))
        number += INGEST_CHUNK
    seconds: dict[str, list[float]] = {label: [] for label in apps}
    for _ in range(rounds):
        for label, app in apps.items():
            seconds[label].append(ingest(app, mentions(number, MENTIONS, now)))
            number += MENTIONS
    return seconds


# --- databases ------------------------------------------------------------------------------------
@contextmanager
def databases(given: str | None) -> Iterator[tuple[str, str, str]]:
    """A big database and an empty one, both fresh: SQLite files in a temporary folder, or two
    new schemas of the PostgreSQL database given; removed afterwards."""
    if given is None:
        folder = Path(tempfile.mkdtemp(prefix="carebridge-bench-big-db-"))
        try:
            yield (
                f"sqlite:///{folder / 'big.db'}",
                f"sqlite:///{folder / 'empty.db'}",
                f"SQLite (file, WAL) in {folder}",
            )
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        return
    base = make_url(normalise_database_url(given))
    schemas = [f"carebridge_bench_big_{os.getpid()}", f"carebridge_bench_empty_{os.getpid()}"]
    admin = create_engine(base)

    def execute(statement: str) -> None:
        with admin.begin() as connection:
            connection.execute(text(statement))

    for schema in schemas:
        execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        execute(f"CREATE SCHEMA {schema}")
    try:
        with admin.connect() as connection:
            version = str(connection.execute(text("SHOW server_version")).scalar())
        big, empty = (
            base.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(
                hide_password=False
            )
            for schema in schemas
        )
        yield big, empty, f"PostgreSQL {version} (schemas {', '.join(schemas)})"
    finally:
        for schema in schemas:
            execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        admin.dispose()


# --- main -----------------------------------------------------------------------------------------
def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "--conversations", type=int, default=100_000, help="open, one customer each"
    )
    parser.add_argument("--messages-per-conversation", type=int, default=10)
    parser.add_argument("--outbox-jobs", type=int, default=1_000_000, help="done, of the last day")
    parser.add_argument("--database-url", default=None, help="default: SQLite in a temp folder")
    parser.add_argument("--seed", type=int, default=14)
    args = parser.parse_args()
    if args.database_url and make_url(args.database_url).get_backend_name() != "postgresql":
        parser.error("--database-url: a PostgreSQL URL (SQLite is the default)")
    if not 1 <= args.messages_per_conversation <= 999:
        parser.error("--messages-per-conversation: from 1 to 999")
    configure_logging("console", level=logging.WARNING)  # the bot in this process: warnings only
    load_before = os.getloadavg()
    slack = SlackEmulator(members=AGENTS).start()
    x = XEmulator().start()
    try:
        with databases(args.database_url) as (big_url, empty_url, label):
            env = sandbox_env(slack, x, big_url)
            settings = load_settings(env)
            started = time.perf_counter()
            steps = seed(big_url, args, settings.accounts[0].name, x.brand)
            seeding = time.perf_counter() - started
            size = database_size(big_url)
            bot = run_bot(env, slack, x)
            started = time.perf_counter()
            app = Carebridge.build(settings)
            build = time.perf_counter() - started
            empty = Carebridge.build(load_settings(sandbox_env(slack, x, empty_url)))
            try:
                stats_first, stats_best, counted = time_stats(app)
                home = time_home(app, slack)
                ingested = time_ingest({"big": app, "empty": empty})
            finally:
                app.close()
                empty.close()
            own_memory = memory(os.getpid())
    finally:
        slack.stop()
        x.stop()
    report(
        args,
        label=label,
        size=size,
        steps=steps,
        seeding=seeding,
        bot=bot,
        build=build,
        stats=(stats_first, stats_best, counted),
        home=home,
        ingested=ingested,
        own_memory=own_memory,
        load=(load_before, os.getloadavg()),
    )


def report(
    args: argparse.Namespace,
    *,
    label: str,
    size: str,
    steps: list[tuple[str, float, int]],
    seeding: float,
    bot: RunningBot,
    build: float,
    stats: tuple[float, float, str],
    home: HomeFigures,
    ingested: dict[str, list[float]],
    own_memory: tuple[int, int],
    load: tuple[tuple[float, float, float], tuple[float, float, float]],
) -> None:
    messages = args.conversations * args.messages_per_conversation
    print()
    print(
        f"big database: {args.conversations:,} open conversations and customers, "
        f"{messages:,} messages, {args.outbox_jobs:,} done outbox jobs"
    )
    print(f"database: {label}; {size} after seeding")
    print(f"code: {_code_version()}")
    print(
        f"seeding: {seeding:.1f} s = "
        + ", ".join(
            f"{name} {seconds:.1f} s" + (f" ({rows / seconds:,.0f} rows/s)" if rows else "")
            for name, seconds, rows in steps
        )
    )
    big, empty = ingested["big"], ingested["empty"]
    ratio = statistics.median(big) / statistics.median(empty)
    rows: list[tuple[str, str, str, bool | None]] = [
        ("/care stats 30d, first run (this process)", _s(stats[0]), "<= 1 s", stats[0] <= 1),
        ("/care stats 30d, best of 3", _s(stats[1]), "<= 1 s", stats[1] <= 1),
        ("App Home queries + view, first run", _ms(home.build_first), "<= 200 ms", None),
        ("App Home queries + view, best of 3", _ms(home.build_best), "<= 200 ms", None),
        ("App Home job with views.publish, first", _ms(home.job_first), "", None),
        ("App Home job with views.publish, best of 3", _ms(home.job_best), "", None),
        ("App Home lists the right conversations", home.check, "right", home.check == "right"),
        (
            f"ingest {MENTIONS} mentions, big DB (median of 3)",
            _ms(statistics.median(big)),
            "",
            None,
        ),
        (
            f"ingest {MENTIONS} mentions, empty DB (median of 3)",
            _ms(statistics.median(empty)),
            "",
            None,
        ),
        ("ingest, big / empty", f"{ratio:.2f}x", "<= 1.2x", ratio <= 1.2),
        ("start-up: python -m bot run -> /healthz", _s(bot.healthz), "<= 5 s", bot.healthz <= 5),
        ("RSS after start-up (at /healthz)", _mb(bot.memory_up[0]), "<= 250 MB", None),
        (f"RSS {SETTLE_SECONDS:.0f} s later", _mb(bot.memory_settled[0]), "<= 250 MB", None),
        ("RSS after stats, Home, 100 mentions", _mb(bot.memory_after[0]), "<= 250 MB", None),
        ("peak RSS of the bot (VmHWM)", _mb(bot.memory_after[1]), "<= 250 MB", None),
    ]
    rows = [
        (name, value, target, _within(value, target) if within is None else within)
        for name, value, target, within in rows
    ]
    print()
    print(f"{'figure':<52} | {'value':>12} | {'target':<9} | within")
    print("-" * 88)
    for name, value, target, within in rows:
        verdict = "" if within is None else ("yes" if within else "NO")
        print(f"{name:<52} | {value:>12} | {target:<9} | {verdict}")
    print("-" * 88)
    print(f"stats counted: {stats[2]}")
    print(
        "start-up, from Popen: "
        f"interpreter, imports and settings {_s(bot.settings_read)}; "
        f"+ Carebridge.build and start_background -> carebridge.started at {_s(bot.started)}; "
        f"/healthz at {_s(bot.healthz)}"
    )
    print(f"Carebridge.build in this process (imports done): {_s(build)}")
    print(
        f"the running bot: /care stats 30d acknowledged in {_s(bot.stats_seconds)} "
        f"(HTTP {bot.stats_status}; Slack waits 3 s), its figures in Slack after "
        f"{_s(bot.figures_seconds)}; App Home opened -> view published "
        f"{_s(bot.home_seconds)}; {MENTIONS} mentions posted on X -> {bot.cards} cards in "
        f"{_s(bot.mentions_seconds)} (polls every 5 s, SLACK_POST_INTERVAL=0s); log {bot.log}"
    )
    print(f"App Home of {AGENT} checked in {_ms(home.check_seconds)} (the SQL order, over all):")
    for line in home.lines:
        print("  " + line)
    print(
        "ingest rounds (s): "
        + "; ".join(f"{k} " + ", ".join(f"{s:.3f}" for s in v) for k, v in ingested.items())
    )
    print(
        f"this process (seeding included): VmRSS {_mb(own_memory[0])}, VmHWM {_mb(own_memory[1])}"
    )
    before, after = load
    print(
        f"load average before {before[0]:.2f} {before[1]:.2f} {before[2]:.2f}, "
        f"after {after[0]:.2f} {after[1]:.2f} {after[2]:.2f}; {os.cpu_count()} CPUs"
    )
    print(f"date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    print(f"command: {shlex.join([os.path.relpath(sys.executable), *sys.argv])}")


def _within(value: str, target: str) -> bool | None:
    """Whether a figure in ms or MB meets its "<= N unit" target."""
    limit = re.fullmatch(r"<= ([\d.]+) (ms|MB)", target)
    figure = re.fullmatch(r"([\d.,]+) (ms|MB)", value)
    if not limit or not figure:
        return None
    return float(figure[1].replace(",", "")) <= float(limit[1])


def _s(seconds: float | None) -> str:
    return "never" if seconds is None else f"{seconds:.2f} s"


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


def _mb(kilobytes: int) -> str:
    return f"{kilobytes / 1024:.0f} MB"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _code_version() -> str:
    """The commit, and whether the bot's code had changes not committed."""
    root = Path(__file__).resolve().parents[1]
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True
        ).stdout.strip()
        changed = subprocess.run(
            ["git", "status", "--porcelain", "--", "bot", "handlers", "storage"],
            cwd=root,
            capture_output=True,
            text=True,
        ).stdout.strip()
    except OSError:
        return "unknown (no git)"
    return f"{commit or 'unknown'}{' with uncommitted changes' if changed else ''}"


if __name__ == "__main__":
    main()
