"""The `/care` slash command."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App

from bot.services.registry import Services

HELP = (
    "*Carebridge* brings your social customer care into this channel.\n"
    "• Every customer conversation is one thread; press *Claim* to own it.\n"
    "• Write in the thread to answer the customer; start with `note:` to keep it internal.\n"
    "• *Move to DM* invites a public customer to continue privately.\n"
    "• `/care help` shows this message."
)


def register(app: App, services: Services) -> None:
    @app.command("/care")
    def care(ack: Ack, command: dict[str, Any]) -> None:
        words = (command.get("text") or "").split()
        if words and words[0] not in ("help",):
            ack(f"Unknown command `{words[0]}`.\n\n{HELP}")
            return
        ack(HELP)
