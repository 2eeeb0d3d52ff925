"""The `/care` slash command: help, on-call, stats. Answers are private to whoever typed."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App

from bot.services.registry import Services

HELP = (
    "*Carebridge* brings your social customer care into this channel.\n"
    "• Every customer conversation is one thread; press *Claim* to own it.\n"
    "• Write in the thread to answer the customer; start with `note:` to keep it internal.\n"
    "• *Move to DM* invites a public customer to continue privately.\n"
    "• `/care oncall` shows who is on call; `/care oncall set @a @b weekly mon 09:00` sets the "
    "rotation; `/care oncall override @x 4h` puts someone on call for a while.\n"
    "• `/care stats [today|7d|30d]` shows response times and more, for you only.\n"
    "• `/care help` shows this message."
)


def register(app: App, services: Services) -> None:
    @app.command("/care")
    def care(ack: Ack, command: dict[str, Any]) -> None:
        text = (command.get("text") or "").strip()
        word, _, rest = text.partition(" ")
        word = word.lower()
        if word in ("", "help"):
            ack(HELP)
        elif word == "oncall":
            ack(services.oncall.command(rest, command["user_id"]))
        elif word == "stats":
            fallback, blocks = services.stats.command(rest)
            ack(text=fallback, blocks=blocks)
        else:
            ack(f"Unknown command `{word}`.\n\n{HELP}")
