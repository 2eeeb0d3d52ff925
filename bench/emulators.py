"""The Slack and X emulators in a process of their own, for benchmarks of the bot running as
`carebridge run` runs it: so the emulators never compete with the bot for its interpreter.

Run:  .venv/bin/python bench/emulators.py [--mentions 5000] [--vips 0] [--limit-posts]

Prints one JSON line (the emulators' URLs, the app token, the VIPs' handles), then serves until
its standard input closes. Besides the Slack Web API, the Slack emulator answers:

- `GET /bench/stats`: chat.postMessage calls, the 429s answered, the moments (wall clock) of
  the first mentions page served, of each card posted and of each reply tweet received (by its
  text), and the VIPs' cards' positions;
- `POST /bench/envelope` with a JSON body `{"type", "payload"}`: sends a Socket Mode envelope to
  the bot and answers when it is acknowledged, with how long that took.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

from bot.networks.x.emulator import XEmulator
from bot.sandbox.loopback import Reply, Request
from bot.sandbox.slack_api import SlackEmulator


class BenchSlack(SlackEmulator):
    def handle(self, request: Request) -> Reply:
        if request.path == "/bench/stats":
            return Reply(200, self.stats())
        if request.path == "/bench/envelope":
            wanted = request.json()
            envelope = self.socket_mode.send(
                wanted["type"], wanted["payload"], accepts_response_payload=True
            )
            envelope.done.wait(30)
            return Reply(
                200, {"acked": envelope.acked_at is not None, "seconds": envelope.ack_seconds}
            )
        return super().handle(request)

    def stats(self) -> dict[str, Any]:
        posts = [r for r in self.requests if r.path == "/api/chat.postMessage"]
        cards = [r.received_at for r in posts if b"blocks" in r.body]
        return {
            "posts": len(posts),
            "cards_posted_at": cards,
            "limited": self.posts_limited,
        }


class BenchX(XEmulator):
    def stats(self) -> dict[str, Any]:
        pages = [r.received_at for r in self.requests if r.path.endswith("/mentions")]
        tweets = [r for r in self.requests if r.method == "POST" and r.path == "/2/tweets"]
        # Agents' answers as they reached X, by their text: the benchmark tags each with a token.
        replies = {str(r.json().get("text", "")): r.received_at for r in tweets}
        return {"mention_pages_at": pages, "replies_at": replies}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mentions", type=int, default=5000)
    parser.add_argument("--vips", type=int, default=0, help="of them, written last, by VIPs")
    parser.add_argument("--limit-posts", action="store_true", help="Slack's ~1 post/s/channel")
    args = parser.parse_args()
    slack = BenchSlack(members=["UANNA"]).start()
    if args.limit_posts:
        slack.limit_posts(per_second=1.0, burst=3)
    x = BenchX().start()
    for n in range(args.mentions):
        handle = f"vip{n}" if n >= args.mentions - args.vips else f"cust{n}"
        x.add_user(handle, handle.title(), followers=10 + n % 50)
        x.post_tweet(handle, f"@acmecare question number {n}: where is my order?")
    vips = [f"vip{n}" for n in range(args.mentions - args.vips, args.mentions)]
    slack.socket_mode.ping_interval = 5.0
    print(
        json.dumps(
            {
                "slack": slack.url,
                "x": x.url,
                "app_token": slack.app_token,
                "vips": vips,
                "x_stats": f"{slack.base_url}/bench/stats",
            }
        ),
        flush=True,
    )
    # The X emulator's figures, through the Slack emulator's stats route: one URL to ask.
    original = slack.stats
    slack.stats = lambda: {**original(), **x.stats()}  # type: ignore[method-assign]
    sys.stdin.read()  # until the benchmark closes our input
    slack.stop()
    x.stop()
    time.sleep(0.1)


if __name__ == "__main__":
    main()
