"""App Home: refreshed whenever an agent opens it."""

from __future__ import annotations

from typing import Any

from slack_bolt import App

from bot.services.registry import Services
from bot.slack.mrkdwn import is_user_id


def register(app: App, services: Services) -> None:
    @app.event("app_home_opened")
    def on_home_opened(event: dict[str, Any]) -> None:
        user = event.get("user")
        if event.get("tab", "home") == "home" and is_user_id(user):
            services.open_home(user)
