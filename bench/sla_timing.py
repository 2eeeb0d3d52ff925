"""How late do response-time alerts fire, with many open conversations and messages arriving?

Run:  .venv/bin/python bench/sla_timing.py [--sizes 1000,10000,100000] [--alerts 200]
      [--window 10] [--arrivals 0]
      [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/test]

For each size it creates that many open conversations (and their customers) in a fresh database, by
bulk inserts of 50,000 rows at a time: SQLite in a temporary folder by default, or a schema of its
own in the PostgreSQL database given (nothing else there is touched; the new tables are vacuumed
and analysed, as autovacuum would soon do). Either is removed afterwards. All but `--alerts` of the
conversations have deadlines a day away, the others have a warning due at a random moment in the
next `--window` seconds. Then the real scheduler (APScheduler, the one `sla` job re-armed for the
earliest deadline) and the real sweeper run on the wall clock, and each alert's lateness is its
fired_at minus its planned time, as stored in the `alerts` table. Prints p50, p99 and max lateness
per size, the set-up time, how many of the scheduler's runs were skipped because the job's previous
run was still going (APScheduler's warning, counted instead of printed), and at the end the
process's peak RSS. It measures; it asserts nothing.

With `--arrivals N` (messages a second), customers write meanwhile, as the X poller would deliver
them: pages of 10 messages (network "x"; 7 in 10 from new authors, who open conversations, the
others follow-ups of random existing customers; 1 in 5 direct messages), each page stored in a
transaction of its own through the real Ingest service, as the poller does (so each commit also
wakes the timer). The pages are due on the wall clock, one every 10/N seconds, from just before the
sample's alerts are planned until the window ends; a page that falls behind is sent at once, never
skipped. The table then also gives the messages ingested, the rate achieved (ingested over the time
the arrivals ran), and the p99 time of one page's transaction, so a reader sees the write load was
really there. Nothing is posted to Slack and no network is called.
"""

from __future__ import annotations

import argparse
import logging
import random
import resource
import shutil
import statistics
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from scratch import postgres_schema
from slack_sdk import WebClient
from sqlalchemy import insert, select, text, update

from bot.app import build_services
from bot.clock import SystemClock
from bot.config import load_settings
from bot.domain.model import Author, InboundMessage, Visibility
from bot.logs import configure_logging
from bot.networks.registry import Registry
from bot.scheduling import Timers
from bot.services.accounts import Accounts
from bot.services.context import Context
from bot.services.ingest import Ingest
from storage import migrate
from storage.db import Database
from storage.models import Alert, ChannelAccount, Conversation, Customer

WARN_BEFORE = timedelta(minutes=10)
SEED_CHUNK = 50_000  # rows per INSERT batch while seeding: memory stays flat whatever the size
PAGE = 10  # messages per ingest transaction, as the poller stores a page
NEW_AUTHOR_SHARE = 0.7
PRIVATE_SHARE = 0.2
LEAD_IN = 0.5  # seconds the arrivals run before the sample's alerts are planned
TEXTS = (
    "@brand my order still hasn't arrived, can someone check?",
    "@brand hi, how do I change the delivery address on my account?",
    "@brand the app keeps logging me out since yesterday",
    "@brand thanks for the quick help last week!",
    "@brand is the store in the city centre open on Sunday?",
    "@brand I was charged twice for the same order",
)


@dataclass(frozen=True)
class Row:
    alerts: int
    p50: float
    p99: float
    max: float
    setup: float
    skipped: int  # scheduler runs skipped: the job's previous run was still going
    ingested: int = 0
    rate: float = 0.0  # messages a second, achieved
    page_p99: float = float("nan")  # ms


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--alerts", type=int, default=200, help="alerts due during the window")
    parser.add_argument("--window", type=float, default=10.0, help="seconds")
    parser.add_argument(
        "--arrivals",
        type=float,
        default=0.0,
        metavar="PER_SECOND",
        help="customer messages ingested per second during the window (default 0: none)",
    )
    parser.add_argument(
        "--database-url", default=None, help="PostgreSQL (default: SQLite in a temp folder)"
    )
    args = parser.parse_args()
    configure_logging("console", level=logging.WARNING)  # one line per alert would drown the table
    skipped = SkippedRuns()
    logging.getLogger("apscheduler.scheduler").addFilter(skipped)
    arrivals = args.arrivals > 0
    header = (
        f"{'open conversations':>18} | {'alerts':>6} | {'p50 ms':>7} | {'p99 ms':>7} | "
        f"{'max ms':>7} | setup s | skipped"
    )
    if arrivals:
        header += f" | {'ingested':>8} | {'msg/s':>6} | page p99 ms"
    print(header)
    print("-" * len(header))
    for size in (int(s) for s in args.sizes.split(",")):
        with _database(args.database_url) as url:
            row = measure(size, args.alerts, args.window, args.arrivals, url, skipped)
        line = (
            f"{size:>18,} | {row.alerts:>6} | {row.p50:>7.1f} | {row.p99:>7.1f} | "
            f"{row.max:>7.1f} | {row.setup:>7.1f} | {row.skipped:>7}"
        )
        if arrivals:
            line += f" | {row.ingested:>8,} | {row.rate:>6.1f} | {row.page_p99:>11.1f}"
        print(line, flush=True)
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    print(f"peak RSS: {peak_mib:,.0f} MiB")


def measure(
    size: int, alerts: int, window: float, arrivals: float, url: str, skipped: SkippedRuns
) -> Row:
    database = Database(url)
    migrate.upgrade(database)
    started = time.perf_counter()
    soon = _populate(database, size, min(alerts, size), datetime.now(UTC))
    setup = time.perf_counter() - started

    settings = load_settings(
        {
            "SLACK_BOT_TOKEN": "xoxb-bench",
            "SLACK_CHANNEL_ID": "CBENCH",
            "SLACK_SIGNING_SECRET": "bench",
            "X_CONSUMER_KEY": "bench",
            "X_CONSUMER_SECRET": "bench",
            "X_ACCESS_TOKEN": "bench",
            "X_ACCESS_TOKEN_SECRET": "bench",
            "DATABASE_URL": url,
            "SLA_WARN_BEFORE": "10m",
            "SLA_CLOCK": "always",
        }
    )
    clock = SystemClock()
    # Nothing is posted: the outbox worker does not run, only the timer and the sweeper do.
    slack = WebClient(token="xoxb-bench", base_url="http://127.0.0.1:9/api/")
    accounts = Accounts(database, clock, [], Registry.default())  # nothing is polled either
    services = build_services(settings, database, clock, slack, accounts)
    timers = Timers(settings, services, clock)
    services.notifier.subscribe(timers.wake_sla)
    timers.scheduler.start()
    skipped.count = 0
    load = Arrivals(services.context, services.poller.ingest, size, arrivals)
    try:
        if arrivals > 0:
            load.start()
            time.sleep(LEAD_IN)
        # The sample's alerts are planned only now, after the set-up, so that set-up time is
        # never counted as lateness; then the timer is armed as at start-up.
        _plan_soon(database, soon, window)
        timers.start_deadlines()
        time.sleep(window + 2.0)  # a benchmark waits for real time; tests never do
    finally:
        load.stop()
        timers.shutdown()
    if load.error is not None:
        raise RuntimeError("the arrivals thread failed") from load.error

    with database.transaction() as session:
        rows = session.execute(select(Alert.fired_at, Alert.planned_at)).all()
    database.dispose()
    lateness = sorted((fired - planned).total_seconds() * 1000 for fired, planned in rows)
    pages = sorted(load.page_ms)
    return Row(
        alerts=len(lateness),
        p50=statistics.median(lateness) if lateness else float("nan"),
        p99=_p99(lateness),
        max=lateness[-1] if lateness else float("nan"),
        setup=setup,
        skipped=skipped.count,
        ingested=load.ingested,
        rate=load.ingested / load.elapsed if load.elapsed else 0.0,
        page_p99=_p99(pages),
    )


class SkippedRuns(logging.Filter):
    """Counts APScheduler's "skipped: maximum number of running instances reached" warnings,
    and keeps them off the table: the `sla` job re-armed while a sweep still runs is skipped, and
    the sweep re-arms it as it ends, so no alert is lost, only delayed."""

    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def filter(self, record: logging.LogRecord) -> bool:
        if "maximum number of running instances" in record.getMessage():
            self.count += 1
            return False
        return True


class Arrivals:
    """Customer messages for network "x", ingested page by page at `per_second` on the wall
    clock in a thread of its own, through the real Ingest service."""

    def __init__(self, context: Context, ingest: Ingest, customers: int, per_second: float) -> None:
        self.context = context
        self.ingest = ingest
        self.customers = customers  # seeded customers: external ids "0" .. customers - 1
        self.per_second = per_second
        self.ingested = 0
        self.elapsed = 0.0
        self.page_ms: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="arrivals", daemon=True)
        self.error: BaseException | None = None  # what made the thread fail, if anything did
        self._sent = 0  # messages made so far: numbers their ids and the new authors

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    def _run(self) -> None:
        try:
            with self.context.database.reading() as session:
                account_id = session.scalars(select(ChannelAccount.id)).one()
            started = time.monotonic()
            interval = PAGE / self.per_second
            page = 0
            while not self._stop.wait(max(0.0, started + page * interval - time.monotonic())):
                self._ingest_page(account_id)
                page += 1
            self.elapsed = time.monotonic() - started
        except BaseException as error:  # raised again by measure(), in the main thread
            self.error = error

    def _ingest_page(self, account_id: int) -> None:
        messages = [self._message() for _ in range(PAGE)]
        began = time.perf_counter()
        with self.context.transaction() as session:  # as Poller._poll_stream stores a chunk
            account = session.get(ChannelAccount, account_id)
            assert account is not None
            self.ingested += self.ingest.ingest(session, account, messages)
        self.page_ms.append((time.perf_counter() - began) * 1000)

    def _message(self) -> InboundMessage:
        number = self._sent
        self._sent += 1
        if random.random() < NEW_AUTHOR_SHARE:
            person = f"{self.customers + number}"  # never seen before: opens a conversation
            author = Author(person, f"n{number}", f"N {number}", followers=random.randint(0, 900))
        else:
            seeded = random.randrange(self.customers)  # writes again in their open conversation
            author = Author(f"{seeded}", f"c{seeded}", f"C {seeded}")
        post = f"{1_900_000_000_000_000_000 + number}"
        private = random.random() < PRIVATE_SHARE
        return InboundMessage(
            network="x",
            external_id=post,
            author=author,
            text=random.choice(TEXTS),
            created_at=self.context.clock.now(),
            visibility=Visibility.PRIVATE if private else Visibility.PUBLIC,
            permalink="" if private else f"https://x.com/{author.handle}/status/{post}",
        )


def _p99(values: list[float]) -> float:
    """Nearest rank, of sorted values."""
    return values[max(0, round(0.99 * len(values)) - 1)] if values else float("nan")


def _populate(database: Database, size: int, due_soon: int, now: datetime) -> list[int]:
    """`size` open conversations with deadlines a day away; returns `due_soon` ids to plan.

    The database is fresh: customers and conversations get ids 1 .. size, in order."""
    far = now + timedelta(days=1)
    with database.transaction() as session:
        account = ChannelAccount(
            network="x",
            external_id="1",
            handle="brand",
            slack_channel_id="CBENCH",
            cursors={},
            created_at=now,
        )
        session.add(account)
        session.flush()
        account_id = account.id
        for first in range(0, size, SEED_CHUNK):
            chunk = range(first, min(first + SEED_CHUNK, size))
            customers = [
                {
                    "network": "x",
                    "external_id": str(i),
                    "handle": f"c{i}",
                    "name": f"C {i}",
                    "followers": 0,
                    "verified": False,
                    "profile_url": "",
                    "first_seen_at": now,
                    "updated_at": now,
                }
                for i in chunk
            ]
            session.execute(insert(Customer), customers)
            conversations = [
                {
                    "account_id": account_id,
                    "customer_id": i + 1,
                    "visibility": "public",
                    "status": "open",
                    "priority": "normal",
                    "slack_channel_id": "CBENCH",
                    "slack_thread_ts": f"{i}.0",
                    "opened_at": now,
                    "last_inbound_at": now,
                    "first_response_due_at": far + WARN_BEFORE,
                    "next_alert_at": far,
                    "sla_state": "on_track",
                    "inbound_count": 1,
                    "outbound_count": 0,
                    "reopened_count": 0,
                    "card_version": 0,
                }
                for i in chunk
            ]
            session.execute(insert(Conversation), conversations)
    if not database.is_sqlite:
        with database.engine.connect() as connection:
            autocommit = connection.execution_options(isolation_level="AUTOCOMMIT")
            autocommit.execute(text("VACUUM ANALYZE customers, conversations"))
    return [i + 1 for i in random.sample(range(size), due_soon)]


def _plan_soon(database: Database, ids: list[int], window: float) -> None:
    """Give the sample warnings at random moments in the next `window` seconds."""
    now = datetime.now(UTC)
    with database.transaction() as session:
        for conversation_id in ids:
            warn_at = now + timedelta(seconds=random.uniform(1.0, window))
            session.execute(
                update(Conversation)
                .where(Conversation.id == conversation_id)
                .values(next_alert_at=warn_at, first_response_due_at=warn_at + WARN_BEFORE)
            )


@contextmanager
def _database(given: str | None) -> Iterator[str]:
    """A fresh database: SQLite in a temporary folder, or a new schema of the PostgreSQL
    database given; removed afterwards."""
    if given is None:
        folder = Path(tempfile.mkdtemp(prefix="carebridge-sla-"))
        try:
            yield f"sqlite:///{folder / 'bench.db'}"
        finally:
            shutil.rmtree(folder)  # at a million conversations the file is large
        return
    with postgres_schema(given, "carebridge_bench_sla") as (url, _):
        yield url


if __name__ == "__main__":
    main()
