"""How fast does a backlog of mentions reach Slack, and does the bot stay responsive meanwhile?

Run:  .venv/bin/python bench/backlog.py [--mentions 5000] [--transport http|socket]
      [--replicas 1] [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/test]
      [--limit-posts --vips 5] [--answer-every 0.5]

The emulators run in a process of their own (bench/emulators.py) with `--mentions` mentions
waiting; then the bot starts as `carebridge run` starts it (`python -m bot run`, Slack's pacing
lifted with SLACK_POST_INTERVAL=0s unless --limit-posts models Slack's real limit), `--replicas`
of it on PostgreSQL. While it mirrors the backlog, /healthz is asked every 50 ms, a Slack
event (agents chatting in a thread) is delivered every 100 ms, and an agent answers a posted
card's thread every `--answer-every` seconds. Printed: the time from the first mentions page to
the last card and the messages per second; the first card's delay after the first page; the
latencies of /healthz and of Slack's acknowledgements (p50, p99, max) and any 503; how long an
answer took from leaving Slack to reaching X; "database is locked" in the logs; the 429s Slack
answered; and, with Slack unlimited, the same X and Slack calls made by a minimal script with
the same SDKs, and the ratio. With --limit-posts, the time against Slack's floor (one post a
second after a burst of three). With --vips N, the newest N mentions are written by handles put
on the VIP list before the bot starts, and it prints where their cards came among all cards and
when the first came after the first mentions page. It measures; it asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests
import tweepy
from scratch import postgres_schema
from slack_sdk import WebClient

from bot.networks.x.emulator import SANDBOX_CREDENTIALS
from bot.networks.x.http import point_client_at
from bot.sandbox.slack_events import SlackEventSender
from storage import migrate
from storage import repositories as repo
from storage.db import Database

ROOT = Path(__file__).resolve().parents[1]
SIGNING_SECRET = "bench-signing-secret"
SLACK_POSTS_PER_SECOND, SLACK_BURST = 1.0, 3  # as bench/emulators.py limits posts
# X allows a user 200 posts in 15 minutes (and its emulator too): more answers would measure the
# wait for X's window, not Carebridge.
MAX_ANSWERS = 190


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mentions", type=int, default=5000)
    parser.add_argument("--transport", choices=("http", "socket"), default="http")
    parser.add_argument("--replicas", type=int, default=1)
    parser.add_argument("--database-url", default=None, help="default: SQLite in a temp folder")
    parser.add_argument("--limit-posts", action="store_true", help="Slack's ~1 post/s/channel")
    parser.add_argument("--vips", type=int, default=0, help="the last mentions are VIPs'")
    parser.add_argument("--no-minimal", action="store_true", help="skip the minimal script")
    parser.add_argument(
        "--answer-every", type=float, default=0.5, help="seconds between agents' answers (0: none)"
    )
    args = parser.parse_args()
    if args.replicas > 1 and not args.database_url:
        parser.error("replicas share a PostgreSQL database: give --database-url")

    with (
        emulators(args.mentions, args.vips, args.limit_posts) as urls,
        _database(args.database_url) as database_url,
    ):
        figures = run_bot(urls, args, database_url)
    rows: list[tuple[str, str]] = [
        ("mentions mirrored", f"{figures['cards']:,} of {args.mentions:,}"),
        ("first page to last card", f"{figures['seconds']:.1f} s"),
        ("throughput", f"{figures['rate']:.0f} messages/s"),
        ("first card after the first page", f"{figures['first_card']:.2f} s"),
        ("/healthz p50 / p99 / max", _ms(figures["health"])),
        ("/healthz answers other than 200", str(figures["health_failures"])),
        (f"Slack acks ({args.transport}) p50 / p99 / max", _ms(figures["acks"])),
        ("acks missed or over 3 s", str(figures["ack_failures"])),
        ("answers: agent's message to X p50 / p99 / max", _ms(figures["answers"])),
        ("answers that never reached X", f"{figures['unanswered']} of {figures['asked']}"),
        ('"database is locked" in the logs', str(figures["locked"])),
        ("429s from Slack", str(figures["limited"])),
    ]
    if args.limit_posts:
        floor = max(figures["cards"] - SLACK_BURST, 0) / SLACK_POSTS_PER_SECOND
        rows.append(
            (
                "Slack's floor (1 post/s after 3)",
                f"{floor:.1f} s: {figures['seconds'] / floor:.2f}x",
            )
        )
    if args.vips:
        positions, first_vip = figures["vip_positions"]
        rows += [
            ("VIP cards: positions among cards", positions),
            ("first VIP card after the first page", f"{first_vip:.2f} s"),
        ]
    if not args.limit_posts and not args.no_minimal:
        with emulators(args.mentions, 0, False) as urls:
            minimal = minimal_script(urls, args.mentions)
        rows += [
            ("minimal script, same calls", f"{minimal:.1f} s ({args.mentions / minimal:.0f}/s)"),
            ("Carebridge / minimal", f"{figures['seconds'] / minimal:.2f} times"),
        ]
    width = max(len(label) for label, _ in rows)
    print()
    for label, value in rows:
        print(f"{label:<{width}} | {value}")
    print("\ncommand:", " ".join([Path(sys.executable).name, *sys.argv]))


@contextmanager
def emulators(mentions: int, vips: int, limit_posts: bool) -> Iterator[dict[str, Any]]:
    command = [sys.executable, str(ROOT / "bench" / "emulators.py"), "--mentions", str(mentions)]
    command += ["--vips", str(vips)] + (["--limit-posts"] if limit_posts else [])
    process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None and process.stdin is not None
    urls = json.loads(process.stdout.readline())
    try:
        yield urls
    finally:
        process.stdin.close()
        process.wait(timeout=30)


def run_bot(urls: dict[str, Any], args: argparse.Namespace, database_url: str) -> dict[str, Any]:
    if urls["vips"]:
        _register_vips(database_url, urls["vips"])
    ports = [_free_port() for _ in range(args.replicas)]
    folder = Path(tempfile.mkdtemp(prefix="carebridge-bench-"))
    logs = [(folder / f"bot{n}.log").open("w") for n in range(len(ports))]
    env = {
        **os.environ,
        "SLACK_BOT_TOKEN": "xoxb-sandbox",
        "SLACK_CHANNEL_ID": "CSUPPORT",
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": urls["slack"],
        **{f"X_{k.upper()}": v for k, v in SANDBOX_CREDENTIALS.items()},
        "X_API_URL": urls["x"],
        "X_POLL_SECONDS": "5",
        "DATABASE_URL": database_url,
        "SLACK_POST_INTERVAL": "1s" if args.limit_posts else "0s",
        "LOG_FORMAT": "json",
    }
    if args.transport == "socket":
        env["SLACK_APP_TOKEN"] = urls["app_token"]
    bots = [
        subprocess.Popen(
            [sys.executable, "-m", "bot", "run"],
            env={**env, "PORT": str(port)},
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        for port, log in zip(ports, logs, strict=True)
    ]
    stats_url = urls["slack"].replace("/api/", "/bench/stats")
    stop = threading.Event()
    health: list[float] = []
    health_failures: list[int] = []
    acks: list[float] = []
    ack_failures: list[int] = []
    answers: dict[str, float] = {}  # token -> when the agent's message left Slack (wall clock)
    probes = [
        threading.Thread(target=_probe_health, args=(ports[0], stop, health, health_failures)),
        threading.Thread(
            target=_probe_acks, args=(urls, ports[0], args.transport, stop, acks, ack_failures)
        ),
    ]
    if args.answer_every > 0:
        probe = threading.Thread(
            target=_probe_answers,
            args=(urls, ports[0], args.transport, args.answer_every, stop, answers),
        )
        probes.append(probe)
    try:
        _wait_healthy(ports[0])
        for probe in probes:
            probe.start()
        deadline = time.monotonic() + 1800
        stats: dict[str, Any] = {}
        while time.monotonic() < deadline:
            stats = requests.get(stats_url, timeout=10).json()
            if len(stats["cards_posted_at"]) >= args.mentions:
                break
            time.sleep(0.5)
        stop.set()
        time.sleep(2.0)  # the last answers' way to X
        stats = requests.get(stats_url, timeout=10).json()
    finally:
        stop.set()
        for probe in probes:
            if probe.is_alive():
                probe.join()
        for bot in bots:
            bot.terminate()
            bot.wait(timeout=30)
        for log in logs:
            log.close()
    cards = stats["cards_posted_at"]
    first_page = min(stats["mention_pages_at"])
    seconds = (max(cards) - first_page) if cards else float("nan")
    locked = sum(Path(log.name).read_text().count("database is locked") for log in logs)
    reached = {
        token: at
        for text, at in stats["replies_at"].items()
        for token in [text[text.rfind("[") :]]
        if token in answers
    }
    return {
        "answers": [reached[token] - sent for token, sent in answers.items() if token in reached],
        "unanswered": len(answers) - len(reached),
        "asked": len(answers),
        "cards": len(cards),
        "seconds": seconds,
        "rate": len(cards) / seconds if cards else 0.0,
        "first_card": min(cards) - first_page if cards else float("nan"),
        "health": health,
        "health_failures": len(health_failures),
        "acks": acks,
        "ack_failures": len(ack_failures),
        "locked": locked,
        "limited": stats["limited"],
        "vip_positions": _vip_positions(urls, args.vips, first_page),
    }


def _probe_health(port: int, stop: threading.Event, took: list[float], bad: list[int]) -> None:
    session = requests.Session()
    while not stop.wait(0.05):
        started = time.perf_counter()
        try:
            status = session.get(f"http://127.0.0.1:{port}/healthz", timeout=10).status_code
        except requests.RequestException:
            status = 0
        took.append(time.perf_counter() - started)
        if status != 200:
            bad.append(status)


def _probe_acks(
    urls: dict[str, Any],
    port: int,
    transport: str,
    stop: threading.Event,
    took: list[float],
    bad: list[int],
) -> None:
    sender = SlackEventSender(f"http://127.0.0.1:{port}/slack/events", SIGNING_SECRET)
    envelope_url = urls["slack"].replace("/api/", "/bench/envelope")
    # Agents talking in a thread of their own: the bot looks it up, finds no conversation.
    event = sender.message_event("UANNA", "lunch?", "CSUPPORT", "1700000000.2", "1700000000.1")
    event["parent_user_id"] = "UBRUNO"
    while not stop.wait(0.1):
        if transport == "http":
            started = time.perf_counter()
            try:
                ok = sender.event(event).status_code == 200
            except requests.RequestException:
                ok = False
            seconds = time.perf_counter() - started
        else:
            payload = sender.envelope(event)
            answer = requests.post(
                envelope_url, json={"type": "events_api", "payload": payload}, timeout=60
            ).json()
            ok, seconds = answer["acked"], answer["seconds"] or 30.0
        took.append(seconds)
        if not ok or seconds > 3:
            bad.append(1)


def _probe_answers(
    urls: dict[str, Any],
    port: int,
    transport: str,
    every: float,
    stop: threading.Event,
    sent: dict[str, float],
) -> None:
    """An agent answers a posted card's thread every `every` seconds: the bot claims the
    conversation and replies on X. Each answer carries a token, so the X emulator's record of
    the reply says when it arrived; the time it left Slack is noted here (the same wall clock)."""
    sender = SlackEventSender(f"http://127.0.0.1:{port}/slack/events", SIGNING_SECRET)
    envelope_url = urls["slack"].replace("/api/", "/bench/envelope")
    slack = WebClient(token="xoxb-sandbox", base_url=urls["slack"])
    answered: set[str] = set()
    while not stop.wait(every) and len(sent) < MAX_ANSWERS:
        history = slack.conversations_history(channel="CSUPPORT", limit=200)
        # A card at least a second old, as a person would answer: a younger one may not be
        # recorded yet, and the bot asks Slack to deliver the answer again (a second later).
        settled = time.time() - 1.0
        cards = [m["ts"] for m in history["messages"] if m.get("blocks")]
        fresh = [ts for ts in cards if ts not in answered and float(ts) < settled]
        if not fresh:
            continue
        card = fresh[-1]
        answered.add(card)
        token = f"[a{len(sent)}]"
        text = f"Thanks for writing, we are checking your order now {token}"
        event = sender.message_event("UANNA", text, "CSUPPORT", f"{time.time():.6f}", card)
        sent[token] = time.time()
        if transport == "http":
            # As Slack does: an answer other than 200 (a card posted but not recorded yet) is
            # delivered again, up to three times; the wait counts in the answer's latency.
            event_id = f"Ev{uuid.uuid4().hex[:12].upper()}"
            for retry in range(4):
                if sender.event(event, event_id=event_id, retry_num=retry or None).ok:
                    break
                time.sleep(1.0)
        else:
            requests.post(
                envelope_url,
                json={"type": "events_api", "payload": sender.envelope(event)},
                timeout=60,
            )


def minimal_script(urls: dict[str, Any], mentions: int) -> float:
    """The calls the bot makes for a backlog, and no more: the mentions' pages, one post each."""
    x = tweepy.Client(**SANDBOX_CREDENTIALS)
    point_client_at(x, urls["x"], timeout=30)
    slack = WebClient(token="xoxb-sandbox", base_url=urls["slack"])
    started = time.perf_counter()
    me = x.get_me(user_auth=True).data.id
    tweets: list[Any] = []
    token = None
    while True:
        page = x.get_users_mentions(
            me,
            max_results=100,
            pagination_token=token,
            expansions=["author_id"],
            user_fields=["name", "username", "public_metrics", "verified"],
            user_auth=True,
        )
        tweets += page.data or []
        token = page.meta.get("next_token")
        if not token:
            break
    for tweet in tweets:
        slack.chat_postMessage(
            channel="CSUPPORT",
            text=tweet.text,
            blocks=[{"type": "section", "text": {"type": "mrkdwn", "text": tweet.text}}],
        )
    assert len(tweets) == mentions
    return time.perf_counter() - started


def _register_vips(database_url: str, handles: list[str]) -> None:
    """The VIP list as `/care vip add` keeps it, before the bot starts: their mentions, the
    newest of the backlog, must be posted before every waiting card."""
    database = Database(database_url)
    try:
        migrate.upgrade(database)
        with database.transaction() as session:
            for handle in handles:
                repo.upsert_vip(session, "x", handle, "bench VIP", "UBENCH", datetime.now(UTC))
    finally:
        database.dispose()


def _vip_positions(urls: dict[str, Any], vips: int, first_page: float) -> tuple[str, float]:
    """Where the VIPs' cards came among all cards, and when the first came after the first
    mentions page was served (the emulator's ts is its wall clock, as its request times)."""
    if not vips:
        return "", float("nan")
    slack = WebClient(token="xoxb-sandbox", base_url=urls["slack"])
    history: list[dict[str, Any]] = []
    cursor = None
    while True:
        page = slack.conversations_history(channel="CSUPPORT", limit=1000, cursor=cursor)
        history += page["messages"]
        cursor = (page.get("response_metadata") or {}).get("next_cursor")
        if not cursor:
            break
    cards = [m for m in reversed(history) if m.get("blocks")]
    chosen = [(n + 1, float(m["ts"])) for n, m in enumerate(cards) if "@vip" in str(m["blocks"])]
    positions = ", ".join(str(n) for n, _ in chosen) + f" (of {len(cards)})"
    return positions, (min(ts for _, ts in chosen) - first_page) if chosen else float("nan")


def _wait_healthy(port: int) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
            return
        except requests.RequestException:
            time.sleep(0.1)
    raise TimeoutError("the bot did not start")


@contextmanager
def _database(given: str | None) -> Iterator[str]:
    """SQLite in a temporary folder, or a scratch schema of the PostgreSQL database given (the
    replicas share it): never the database's own tables."""
    if given is None:
        yield f"sqlite:///{Path(tempfile.mkdtemp()) / 'bench.db'}"
        return
    with postgres_schema(given, "carebridge_bench_backlog") as (url, _):
        yield url


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _ms(values: list[float]) -> str:
    if not values:
        return "-"
    ms = sorted(v * 1000 for v in values)
    p99 = ms[min(len(ms) - 1, int(len(ms) * 0.99))]
    return f"{statistics.median(ms):.0f} / {p99:.0f} / {ms[-1]:.0f} ms ({len(ms)} asked)"


if __name__ == "__main__":
    main()
