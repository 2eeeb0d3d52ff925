"""Slack listeners. Each module has `register(app, services)`; they ack, parse, call a service."""

from __future__ import annotations

from slack_bolt import App

from bot.services.registry import Services
from handlers import actions, commands, errors, home, messages, views


def register_all(app: App, services: Services) -> None:
    for module in (actions, messages, commands, home, views, errors):
        module.register(app, services)
