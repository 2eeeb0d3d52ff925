"""How fast does the bot answer Meta's webhooks, and how soon is each one in Slack, under a burst?

Run:  .venv/bin/python bench/webhook_latency.py [--deliveries 1000] [--concurrency 16]
      [--pages 1] [--customers N] [--history 0] [--post-interval 0s] [--limit-posts]
      [--max-wait 3600] [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/test]

The Slack emulator and the Meta Graph emulator start in this process; the bot runs as in
production in a process of its own (`python -m bot run`: HTTP mode behind waitress, the outbox
worker and the scheduler, the wall clock), configured through its environment with one Facebook
Page (`--pages 1`) or several Pages from an ACCOUNTS_FILE, each mirrored into its own Slack
channel. Customers comment on a Page or write to it on Messenger, twice each by default (a card,
then a message in its thread); the Graph emulator writes the webhook payloads as Meta does, and
they are POSTed all at once to /webhooks/meta from `--concurrency` threads, signed with
X-Hub-Signature-256 as Meta signs them. Each customer text carries a reference (#B000123) by which
its Slack message is found when the emulator stores it. `--history N` first fills the database
with N earlier deliveries, processed, as a bot that has run for a while keeps them. The database
is fresh each run: SQLite in a temporary folder, or a new schema (dropped afterwards) of the
PostgreSQL database given.

Figures: the acknowledgement time of each POST (sent -> 200 received); the webhook-to-Slack
latency (sent -> the card or thread message stored by the Slack emulator), split at the moments
the bot stored and processed the delivery (the `inbox` table); the time to drain the burst; and
what did not arrive or arrived twice. The bot paces its posts to one Slack channel at one per
second (SLACK_POST_INTERVAL, Slack's limit): with one Page, the latency of a burst is that pacing.
`--post-interval 0s` lifts it to measure the bot's own cost; `--limit-posts` makes the Slack
emulator refuse posts beyond Slack's limit, as Slack does. See bench/README.md. It measures; it
asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import requests
from scratch import postgres_schema
from sqlalchemy import func, insert, select
from sqlalchemy.engine import make_url

from bot.config import normalise_database_url
from bot.networks.facebook import FACEBOOK, WEBHOOK_PATH
from bot.networks.facebook.emulator import SANDBOX_PAGE, GraphEmulator
from bot.networks.instagram import INSTAGRAM
from bot.networks.instagram.emulator import InstagramEmulator
from bot.networks.meta.webhook_sender import encode, signature
from bot.networks.whatsapp import WHATSAPP
from bot.networks.whatsapp.emulator import WhatsAppEmulator
from bot.sandbox.slack_api import SlackEmulator, _Message
from bot.sandbox.world import CHANNEL, SIGNING_SECRET, network_env
from bot.services.outbox import POST_CARD, PROCESS_INBOX
from storage import migrate
from storage.db import Database
from storage.models import InboxDelivery, OutboxJob

REFERENCE = re.compile(r"#(B[0-9]{6})")
TEXTS = (
    "Buongiorno, il mio ordine #{ref} non è ancora arrivato: potete controllare?",
    "Hello, I was charged twice for order #{ref}, can you look into it?",
    "Ciao! Vorrei cambiare l'indirizzo di consegna dell'ordine #{ref}.",
    "Hi, the tracking link of order #{ref} says nothing since Monday.",
)
FOLLOW_UPS = (
    "Aggiungo: il numero di tracking non funziona (#{ref}).",
    "Any news? (#{ref})",
    "Grazie, resto in attesa (#{ref}).",
)


@dataclass
class Sent:
    """One delivery: its reference, when it was POSTed, and what the bot answered."""

    ref: str
    body: bytes
    sent_wall: float = 0.0  # time.time(): compared with the bot's stored times
    sent: float = 0.0  # time.perf_counter()
    acked: float | None = None
    status: int | None = None
    error: str = ""


@dataclass
class Arrival:
    at: float  # time.perf_counter() when the Slack emulator stored it
    channel: str
    refs: tuple[str, ...]


class RecordingSlack(SlackEmulator):
    """The Slack emulator, noting when each message is stored (a card, a thread message)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.arrivals: list[Arrival] = []

    def _store(self, message: _Message) -> None:  # called under the emulator's lock
        at = time.perf_counter()
        super()._store(message)
        seen = message.text + json.dumps(message.blocks or [])
        refs = tuple(dict.fromkeys(REFERENCE.findall(seen)))
        self.arrivals.append(Arrival(at, message.channel, refs))

    def arrivals_since(self, index: int) -> list[Arrival]:
        with self._lock:
            return self.arrivals[index:]


@dataclass
class Result:
    sent: list[Sent]
    first_seen: dict[str, float]
    copies: Counter[str]
    drained_at: float | None
    stored: dict[str, tuple[datetime, datetime | None]]  # ref -> inbox received_at, processed_at
    outbox: dict[tuple[str, str], int]
    failed_jobs: list[str]
    posts_per_channel: Counter[str]
    bot_log: Path
    load: tuple[float, float]  # 1-minute load average before and after
    posts_limited: int  # chat.postMessage calls the Slack emulator answered with 429
    code: str  # the commit the bot started from


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--deliveries", type=int, default=1000, help="webhook POSTs in the burst")
    parser.add_argument("--concurrency", type=int, default=16, help="client threads posting")
    parser.add_argument(
        "--pages",
        type=int,
        default=1,
        help="Facebook Pages, each mirrored into a Slack channel of its own (>1: ACCOUNTS_FILE)",
    )
    parser.add_argument(
        "--customers", type=int, default=None, help="distinct customers (default deliveries/2)"
    )
    parser.add_argument("--database-url", default=None, help="default: SQLite in a temp folder")
    parser.add_argument(
        "--max-wait", type=float, default=3600.0, help="seconds to wait for Slack to show all"
    )
    parser.add_argument(
        "--history",
        type=int,
        default=0,
        help="earlier deliveries already processed, as in a bot that has run for a while",
    )
    parser.add_argument(
        "--post-interval",
        default=None,
        help="SLACK_POST_INTERVAL for the bot, e.g. 0s (default: unset, the bot's 1s)",
    )
    parser.add_argument(
        "--limit-posts",
        action="store_true",
        help="the Slack emulator answers 429 beyond about 1 post/s per channel, as Slack does",
    )
    parser.add_argument(
        "--network",
        choices=("facebook", "instagram", "whatsapp"),
        default="facebook",
        help="whose webhooks: a Page's (comments, Messenger), an Instagram account's (comments, "
        "Direct) or a WhatsApp number's (chats); --pages is Facebook's only",
    )
    parser.add_argument("--seed", type=int, default=12)
    args = parser.parse_args(argv)
    if args.network != "facebook" and args.pages != 1:
        parser.error("--pages: Facebook Pages only")
    customers = args.customers or max(1, args.deliveries // 2)
    with _database(args.database_url) as (database_url, label):
        result = run(args, customers, database_url)
        report(result, args, customers, label)


def run(args: argparse.Namespace, customers: int, database_url: str) -> Result:
    folder = Path(tempfile.mkdtemp(prefix="carebridge-bench-"))
    code = _code_version()
    slack = RecordingSlack().start()
    if args.limit_posts:
        slack.limit_posts()
    meta = GraphEmulator().start()
    other = {"instagram": InstagramEmulator, "whatsapp": WhatsAppEmulator}.get(args.network)
    emulator = other().start() if other else None
    load_before = os.getloadavg()[0]
    try:
        page_ids, channels = _pages(meta, slack, args.pages)
        env = _bot_env(slack, meta, database_url, page_ids, channels, folder)
        if isinstance(emulator, InstagramEmulator | WhatsAppEmulator):
            spec = INSTAGRAM if isinstance(emulator, InstagramEmulator) else WHATSAPP
            env = {k: v for k, v in env.items() if not k.startswith("META_PAGE")}
            env |= network_env(spec, spec.sandbox_values(emulator.graph_url))
            burst = _other_workload(emulator, args.deliveries, customers, args.seed)
        else:
            burst = _workload(meta, args.deliveries, customers, page_ids, args.seed)
        if args.post_interval is not None:
            env["SLACK_POST_INTERVAL"] = args.post_interval
        if args.history:
            _add_history(database_url, args.history)
        with _bot(env, folder) as (url, log_path):
            _post_all(url + WEBHOOK_PATH, burst, args.concurrency)
            first_seen, copies, drained_at = _wait_for_slack(slack, burst, args.max_wait)
        stored, outbox, failed = _database_figures(database_url)
        return Result(
            sent=burst,
            first_seen=first_seen,
            copies=copies,
            drained_at=drained_at,
            stored=stored,
            outbox=outbox,
            failed_jobs=failed,
            posts_per_channel=Counter(a.channel for a in slack.arrivals_since(0)),
            bot_log=log_path,
            load=(load_before, os.getloadavg()[0]),
            posts_limited=slack.posts_limited,
            code=code,
        )
    finally:
        slack.stop()
        meta.stop()
        if emulator is not None:
            emulator.stop()


# --- set-up ---------------------------------------------------------------------------------------
def _pages(meta: GraphEmulator, slack: SlackEmulator, pages: int) -> tuple[list[str], list[str]]:
    """The emulator's default Page (into CSUPPORT), then more Pages with channels of their own."""
    page_ids, channels = [SANDBOX_PAGE["page_id"]], [CHANNEL]
    for number in range(1, pages):
        page_id = f"{2_000_000_000_000_000 + number}"
        meta.add_page(page_id, f"Acme {number}", f"bench-page-token-{number}")
        channel = f"CBENCH{number:04d}"
        slack.add_channel(channel, name=f"support-{number}")
        page_ids.append(page_id)
        channels.append(channel)
    return page_ids, channels


def _bot_env(
    slack: SlackEmulator,
    meta: GraphEmulator,
    database_url: str,
    page_ids: list[str],
    channels: list[str],
    folder: Path,
) -> dict[str, str]:
    """The bot's whole environment: nothing of this process's (no SLACK_APP_TOKEN, no .env)."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", str(folder)),
        "LANG": "C.UTF-8",
        "SLACK_BOT_TOKEN": slack.bot_token,
        "SLACK_CHANNEL_ID": CHANNEL,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": slack.url,
        "DATABASE_URL": database_url,
        "PORT": str(_free_port()),
        "LOG_FORMAT": "json",
    }
    sandbox = FACEBOOK.sandbox_values(meta.graph_url)
    if len(page_ids) == 1:
        return env | network_env(FACEBOOK, sandbox)
    lines = []
    for number, (page_id, channel) in enumerate(zip(page_ids, channels, strict=True)):
        token = SANDBOX_PAGE["page_access_token"] if number == 0 else f"bench-page-token-{number}"
        lines += [
            "[[accounts]]",
            f'name = "page-{number}"',
            'network = "facebook"',
            f'slack_channel = "{channel}"',
            f'page_id = "{page_id}"',
            f'page_access_token = "{token}"',
            f'graph_url = "{meta.graph_url}"',
            "",
        ]
    accounts = folder / "accounts.toml"
    accounts.write_text("\n".join(lines))
    return env | {
        "ACCOUNTS_FILE": str(accounts),
        "META_APP_SECRET": sandbox["app_secret"],
        "META_VERIFY_TOKEN": sandbox["verify_token"],
    }


def _workload(
    meta: GraphEmulator, deliveries: int, customers: int, page_ids: list[str], seed: int
) -> list[Sent]:
    """The burst, in order: every customer's first message, then their follow-ups. Even-numbered
    customers of a Page comment on its post, the others write on Messenger; Meta's payloads are
    written by the Graph emulator, one POST per event, as Meta sends them."""
    psids = [f"{7_000_000_000 + number}" for number in range(customers)]
    for number, psid in enumerate(psids):
        meta.add_user(psid, f"Cliente{number}", "Bench")
    burst = []
    for index in range(deliveries):
        customer = index % customers
        page = page_ids[customer % len(page_ids)]
        ref = f"B{index:06d}"
        texts = TEXTS if index < customers else FOLLOW_UPS
        words = texts[(index + seed) % len(texts)].format(ref=ref)
        if (customer // len(page_ids)) % 2 == 0:
            meta.comment(psids[customer], words, page=page)
        else:
            meta.message(psids[customer], words, page=page)
        pending = meta.pending()
        meta.clear_pending()
        if len(pending) != 1:
            raise RuntimeError(f"the emulator queued {len(pending)} deliveries for one action")
        burst.append(Sent(ref, encode(pending[0])))
    return burst


def _other_workload(
    emulator: InstagramEmulator | WhatsAppEmulator, deliveries: int, customers: int, seed: int
) -> list[Sent]:
    """Instagram: even-numbered customers comment, the others write in Direct; WhatsApp: every
    customer chats. One POST per event, as Meta sends them."""
    burst = []
    for index in range(deliveries):
        customer = index % customers
        ref = f"B{index:06d}"
        texts = TEXTS if index < customers else FOLLOW_UPS
        words = texts[(index + seed) % len(texts)].format(ref=ref)
        if isinstance(emulator, WhatsAppEmulator):
            emulator.message(f"39333{customer:07d}", f"Cliente{customer} Bench", words)
        elif customer % 2 == 0:
            emulator.comment(f"cliente{customer}", words)
        else:
            emulator.message(f"cliente{customer}", words)
        pending = emulator.pending()
        emulator.clear_pending()
        if len(pending) != 1:
            raise RuntimeError(f"the emulator queued {len(pending)} deliveries for one action")
        burst.append(Sent(ref, encode(pending[0])))
    return burst


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def _bot(env: dict[str, str], folder: Path) -> Iterator[tuple[str, Path]]:
    """`python -m bot run` in its own process; stopped with SIGTERM as a platform stops it."""
    log_path = folder / "bot.log"
    url = f"http://127.0.0.1:{env['PORT']}"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "bot", "run"],
            cwd=folder,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            _wait_until_up(url, process, log_path)
            yield url, log_path
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_until_up(url: str, process: subprocess.Popen[bytes], log_path: Path) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = log_path.read_text(errors="replace")[-3000:]
            raise RuntimeError(f"the bot exited with {process.returncode}:\n{tail}")
        with suppress(requests.RequestException):
            requests.get(url + "/healthz", timeout=2)
            return
        time.sleep(0.2)
    raise RuntimeError("the bot did not answer /healthz within 120 s")


# --- the burst ------------------------------------------------------------------------------------
def _post_all(url: str, burst: list[Sent], concurrency: int) -> None:
    """POST every delivery at once from `concurrency` threads, each with its own connection."""
    local = threading.local()
    secret = SANDBOX_PAGE["app_secret"]

    def post(delivery: Sent) -> None:
        session: requests.Session | None = getattr(local, "session", None)
        if session is None:
            session = local.session = requests.Session()
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "facebookexternalua",
            "X-Hub-Signature-256": signature(delivery.body, secret),
        }
        delivery.sent_wall, delivery.sent = time.time(), time.perf_counter()
        try:
            response = session.post(url, data=delivery.body, headers=headers, timeout=60)
        except requests.RequestException as error:
            delivery.error = type(error).__name__
            return
        delivery.acked, delivery.status = time.perf_counter(), response.status_code

    with ThreadPoolExecutor(concurrency, thread_name_prefix="meta") as pool:
        list(pool.map(post, burst))


def _wait_for_slack(
    slack: RecordingSlack, burst: list[Sent], max_wait: float
) -> tuple[dict[str, float], Counter[str], float | None]:
    """Until every acknowledged delivery is in Slack (or `max_wait`, or a minute without any new
    message): the first time each reference was stored, and how many messages carry it."""
    wanted = {d.ref for d in burst if d.status == 200}
    first_seen: dict[str, float] = {}
    copies: Counter[str] = Counter()
    index, last_progress = 0, time.perf_counter()
    deadline = time.perf_counter() + max_wait
    while time.perf_counter() < deadline:
        new = slack.arrivals_since(index)
        index += len(new)
        for arrival in new:
            for ref in arrival.refs:
                copies[ref] += 1
                first_seen.setdefault(ref, arrival.at)
        if new:
            last_progress = time.perf_counter()
        if wanted <= first_seen.keys():
            break
        if time.perf_counter() - last_progress > 60:
            break
        time.sleep(0.1)
    time.sleep(2.0)  # a duplicate would come right after: give it the chance to show
    for arrival in slack.arrivals_since(index):
        for ref in arrival.refs:
            copies[ref] += 1
    seen = [first_seen[r] for r in wanted if r in first_seen]
    return first_seen, copies, max(seen) if seen and wanted <= first_seen.keys() else None


# --- history ------------------------------------------------------------------------------------
def _add_history(url: str, deliveries: int) -> None:
    """What a bot that has run for a while keeps: earlier webhook deliveries, processed, with
    their done outbox jobs (the inbox job and one Slack post each), a day old: within
    OUTBOX_RETENTION, so the hourly clean-up keeps them."""
    database = Database(url)
    migrate.upgrade(database)
    long_ago = datetime.now(UTC) - timedelta(days=1)  # within OUTBOX_RETENTION (7d): kept
    try:
        for start in range(0, deliveries, 5000):
            numbers = range(start, min(deliveries, start + 5000))
            with database.transaction() as session:
                inbox = session.scalars(
                    insert(InboxDelivery).returning(InboxDelivery.id),
                    [
                        {
                            "path": WEBHOOK_PATH,
                            "body": b'{"object":"page","entry":[]}',
                            "received_at": long_ago,
                            "processed_at": long_ago,
                            "outcome": "1 events, 1 new messages",
                        }
                        for _ in numbers
                    ],
                ).all()
                done = {
                    "status": "done",
                    "attempts": 1,
                    "next_attempt_at": long_ago,
                    "created_at": long_ago,
                    "done_at": long_ago,
                }
                jobs = [
                    {
                        "kind": PROCESS_INBOX,
                        "payload": {"inbox_id": inbox_id},
                        "idempotency_key": f"inbox:{inbox_id}",
                        "priority": 20,
                        "ordering_key": f"inbox:{WEBHOOK_PATH}",
                        **done,
                    }
                    for inbox_id in inbox
                ] + [
                    {
                        "kind": POST_CARD,
                        "payload": {"conversation_id": -number},
                        "idempotency_key": f"card:history-{number}",
                        "priority": 0,
                        "ordering_key": f"slack:conversation:history-{number}",
                        "lane": f"slack:{CHANNEL}",
                        **done,
                    }
                    for number in numbers
                ]
                session.execute(insert(OutboxJob), jobs)
    finally:
        database.dispose()


# --- the database, afterwards ---------------------------------------------------------------------
def _database_figures(
    url: str,
) -> tuple[dict[str, tuple[datetime, datetime | None]], dict[tuple[str, str], int], list[str]]:
    database = Database(url)
    try:
        with database.transaction() as session:
            stored: dict[str, tuple[datetime, datetime | None]] = {}
            for body, received, processed in session.execute(
                select(InboxDelivery.body, InboxDelivery.received_at, InboxDelivery.processed_at)
            ):
                for ref in REFERENCE.findall(bytes(body).decode("ascii", "replace")):
                    stored[ref] = (_utc(received), _utc(processed) if processed else None)
            outbox = {
                (kind, status): count
                for kind, status, count in session.execute(
                    select(OutboxJob.kind, OutboxJob.status, func.count()).group_by(
                        OutboxJob.kind, OutboxJob.status
                    )
                )
            }
            failed = [
                f"{kind}: {error}"
                for kind, error in session.execute(
                    select(OutboxJob.kind, OutboxJob.last_error).where(
                        OutboxJob.last_error.is_not(None)
                    )
                )
            ]
        return stored, outbox, failed
    finally:
        database.dispose()


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@contextmanager
def _database(given: str | None) -> Iterator[tuple[str, str]]:
    """A fresh database: SQLite in a temp folder, or a new schema of the PostgreSQL database
    given (dropped afterwards), so nothing of anyone else's is touched."""
    if given is None:
        folder = Path(tempfile.mkdtemp(prefix="carebridge-bench-db-"))
        yield f"sqlite:///{folder / 'carebridge.db'}", "SQLite (file, WAL)"
        return
    backend = make_url(normalise_database_url(given)).get_backend_name()
    if backend != "postgresql":
        yield given, backend
        return
    with postgres_schema(given, "carebridge_bench") as database:
        yield database


# --- the report -----------------------------------------------------------------------------------
def percentile(values: Sequence[float], share: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def report(result: Result, args: argparse.Namespace, customers: int, database: str) -> None:
    burst = result.sent
    acked = [d for d in burst if d.status == 200 and d.acked is not None]
    seen = result.first_seen
    stages: dict[str, list[float]] = {"stored": [], "processed": [], "in Slack": []}
    for d in acked:
        received, processed = result.stored.get(d.ref, (None, None))
        if received is None or processed is None or d.ref not in seen:
            continue
        stages["stored"].append(received.timestamp() - d.sent_wall)
        stages["processed"].append((processed - received).total_seconds())
        stages["in Slack"].append(seen[d.ref] - d.sent - (processed.timestamp() - d.sent_wall))
    first_sent, first_wall = min(d.sent for d in burst), min(d.sent_wall for d in burst)
    done = [p.timestamp() for _, p in result.stored.values() if p is not None]
    statuses = Counter(str(d.status) if d.status else d.error or "no answer" for d in burst)
    missing = [d.ref for d in acked if d.ref not in seen]
    twice = sorted(ref for ref, n in result.copies.items() if n > 1)
    per_channel = sorted(result.posts_per_channel.values()) or [0]

    print()
    print(
        f"webhook burst ({args.network}): {len(burst)} deliveries from {customers} customers, "
        f"{args.pages if args.network == 'facebook' else 1} account(s) -> "
        f"{len(result.posts_per_channel)} Slack channel(s), "
        f"{args.concurrency} client threads"
    )
    if args.history:
        print(f"history: {args.history} earlier deliveries, processed, in the database")
    print(f"database: {database}; bot: python -m bot run (HTTP mode, waitress 8 threads)")
    interval = args.post_interval or "1s (the default)"
    print(
        f"pacing by the bot: SLACK_POST_INTERVAL={interval} between posts to one Slack channel; "
        + (
            f"Slack emulator limits posts (~1/s per channel, burst 3): {result.posts_limited} "
            "answered 429"
            if args.limit_posts
            else "Slack emulator unlimited"
        )
    )
    now = _code_version()
    print(
        f"code: {result.code}"
        + (f" (changed to {now} during the run)" if now != result.code else "")
    )
    print()
    print(f"{'figure':<40} | {'p50':>9} | {'p99':>9} | {'max':>9} | {'n':>5}")
    print("-" * 84)
    _row("acknowledgement (POST -> 200), ms", [((d.acked or 0) - d.sent) * 1000 for d in acked])
    _row("webhook -> Slack, s", [seen[d.ref] - d.sent for d in acked if d.ref in seen])
    _row("  POST sent -> stored in inbox, s", stages["stored"])
    _row("  stored -> processed (ingested), s", stages["processed"])
    _row("  processed -> in Slack, s", stages["in Slack"])
    print("-" * 84)
    _line("burst sent and acknowledged in", max((d.acked or 0.0) for d in burst) - first_sent)
    _line("burst ingested (all processed) in", max(done) - first_wall if done else None)
    _line("burst drained into Slack in", result.drained_at and result.drained_at - first_sent)
    slowest = sorted(acked, key=lambda d: d.sent - (d.acked or 0.0))[:5]
    order = {d.ref: n for n, d in enumerate(sorted(burst, key=lambda d: d.sent), start=1)}
    print(
        "slowest acknowledgements: "
        + ", ".join(
            f"{d.ref} (POST #{order[d.ref]}) {((d.acked or 0) - d.sent) * 1000:.0f} ms"
            for d in slowest
        )
    )
    print(f"answers: {dict(statuses)}")
    print(f"lost (acknowledged, never in Slack): {len(missing)} {missing[:10]}")
    print(f"in Slack more than once: {len(twice)} {twice[:10]}")
    print(
        f"Slack messages stored: {sum(per_channel)} "
        f"(per channel min {per_channel[0]}, max {per_channel[-1]})"
    )
    jobs = ", ".join(f"{k} {s} {n}" for (k, s), n in sorted(result.outbox.items()))
    print(f"outbox jobs: {jobs}")
    if result.failed_jobs:
        errors = Counter(result.failed_jobs).most_common(5)
        print(f"jobs with an error: {len(result.failed_jobs)}: {errors}")
    print(
        f"load average (1 min) before {result.load[0]:.2f}, after {result.load[1]:.2f}; "
        f"{os.cpu_count()} CPUs; bot log {result.bot_log}"
    )
    print(f"date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    print(f"command: {_command()}")


def _row(name: str, values: Sequence[float]) -> None:
    if not values:
        print(f"{name:<40} | {'-':>9} | {'-':>9} | {'-':>9} | {0:>5}")
        return
    p50, p99, top = percentile(values, 0.5), percentile(values, 0.99), max(values)
    print(f"{name:<40} | {p50:>9.1f} | {p99:>9.1f} | {top:>9.1f} | {len(values):>5}")


def _line(name: str, seconds: float | None) -> None:
    print(f"{name:<40} | {'never' if seconds is None else f'{seconds:.1f} s':>9}")


def _code_version() -> str:
    """The commit the bot ran from, and whether its code had changes not committed."""
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


def _command() -> str:
    python = os.path.relpath(sys.executable) if sys.executable else "python"
    return shlex.join([python, *sys.argv])


if __name__ == "__main__":
    main()
