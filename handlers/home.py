"""App Home: refreshed whenever an agent opens it."""

from __future__ import annotations

from typing import Any

from slack_bolt import App

from bot.services.registry import Services


def register(app: App, services: Services) -> None:
    @app.event("app_home_opened")
    def on_home_opened(event: dict[str, Any]) -> None:
        if event.get("tab", "home") == "home":
            services.open_home(event["user"])
