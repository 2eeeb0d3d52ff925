"""How late do response-time alerts fire, with many open conversations?

Run:  .venv/bin/python bench/sla_timing.py [--sizes 1000,10000,100000] [--alerts 200]
      [--window 10] [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/test]

For each size it creates that many open conversations in a fresh database (SQLite in a
temporary folder by default): all but `--alerts` of them have deadlines far in the future, the
others have a warning due at a random moment in the next `--window` seconds. Then the real
scheduler (APScheduler, the one `sla` job re-armed for the earliest deadline) and the real sweeper
run on the wall clock, and each alert's lateness is its fired_at minus its planned time, as stored
in the `alerts` table. Prints p50, p99 and max lateness per size. It measures; it asserts nothing.
"""

from __future__ import annotations

import argparse
import logging
import random
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from slack_sdk import WebClient
from sqlalchemy import insert, select, text, update

from bot.app import build_services
from bot.clock import SystemClock
from bot.config import load_settings
from bot.logs import configure_logging
from bot.networks.registry import Registry
from bot.scheduling import Timers
from bot.services.accounts import Accounts
from storage import migrate
from storage.db import Database
from storage.models import Alert, ChannelAccount, Conversation, Customer

WARN_BEFORE = timedelta(minutes=10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--alerts", type=int, default=200, help="alerts due during the window")
    parser.add_argument("--window", type=float, default=10.0, help="seconds")
    parser.add_argument("--database-url", default=None, help="default: SQLite in a temp folder")
    args = parser.parse_args()
    configure_logging("console", level=logging.WARNING)  # one line per alert would drown the table
    print(
        f"{'open conversations':>18} | {'alerts':>6} | {'p50 ms':>7} | {'p99 ms':>7} | "
        f"{'max ms':>7} | setup s"
    )
    print("-" * 66)
    for size in (int(s) for s in args.sizes.split(",")):
        row = measure(size, args.alerts, args.window, args.database_url)
        print(
            f"{size:>18,} | {row['alerts']:>6} | {row['p50']:>7.1f} | {row['p99']:>7.1f} | "
            f"{row['max']:>7.1f} | {row['setup']:>7.1f}"
        )


def measure(size: int, alerts: int, window: float, database_url: str | None) -> dict[str, float]:
    url = database_url or f"sqlite:///{Path(tempfile.mkdtemp()) / 'bench.db'}"
    database = Database(url)
    if database_url:
        _reset(database)
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
    # The sample's alerts are planned only now, after the set-up, so that set-up time is never
    # counted as lateness; then the timer is armed as at start-up.
    _plan_soon(database, soon, window)
    timers.start_deadlines()
    time.sleep(window + 2.0)  # a benchmark waits for real time; tests never do
    timers.shutdown()

    with database.transaction() as session:
        rows = session.execute(select(Alert.fired_at, Alert.planned_at)).all()
    database.dispose()
    lateness = sorted((fired - planned).total_seconds() * 1000 for fired, planned in rows)
    return {
        "alerts": len(lateness),
        "p50": statistics.median(lateness) if lateness else float("nan"),
        "p99": lateness[max(0, round(0.99 * len(lateness)) - 1)] if lateness else float("nan"),
        "max": lateness[-1] if lateness else float("nan"),
        "setup": setup,
    }


def _populate(database: Database, size: int, due_soon: int, now: datetime) -> list[int]:
    """`size` open conversations with deadlines a day away; returns `due_soon` ids to plan."""
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
        session.execute(
            insert(Customer),
            [
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
                for i in range(size)
            ],
        )
        conversations = []
        for i in range(size):
            warn_at = far
            conversations.append(
                {
                    "account_id": account.id,
                    "customer_id": i + 1,
                    "visibility": "public",
                    "status": "open",
                    "priority": "normal",
                    "slack_channel_id": "CBENCH",
                    "slack_thread_ts": f"{i}.0",
                    "opened_at": now,
                    "last_inbound_at": now,
                    "first_response_due_at": warn_at + WARN_BEFORE,
                    "next_alert_at": warn_at,
                    "sla_state": "on_track",
                    "inbound_count": 1,
                    "outbound_count": 0,
                    "reopened_count": 0,
                    "card_version": 0,
                }
            )
        session.execute(insert(Conversation), conversations)
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


def _reset(database: Database) -> None:
    with database.engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))


if __name__ == "__main__":
    main()
