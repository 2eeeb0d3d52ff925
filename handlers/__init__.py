"""Slack listeners. Each module has `register(app, services)`; they ack, parse, call a service."""

from __future__ import annotations

from slack_bolt import App

from bot.services.registry import Services
from handlers import (
    actions,
    commands,
    errors,
    forwarding,
    home,
    messages,
    people,
    saved_replies,
    views,
)
from handlers.commands import RunLater


def register_all(app: App, services: Services, later: RunLater) -> None:
    """`later` runs what may be slow after Slack has its acknowledgement (a whole month's
    figures): threads in production, at once in tests."""
    for module in (actions, messages, home, views, saved_replies, people, forwarding, errors):
        module.register(app, services)
    commands.register(app, services, later)
