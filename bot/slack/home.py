"""App Home: the agent's own open conversations and the unclaimed queue."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.slack.blocks import section
from bot.slack.mrkdwn import escape, truncate


@dataclass(frozen=True)
class HomeItem:
    network_label: str
    customer_name: str
    customer_handle: str
    text: str
    permalink: str | None


def home_view(mine: list[HomeItem], queue: list[HomeItem]) -> dict[str, Any]:
    body: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": "Your conversations"}},
        *_items(mine, empty="Nothing assigned to you. Claim one from the queue below."),
        {"type": "divider"},
        {"type": "header", "text": {"type": "plain_text", "text": "Unclaimed queue"}},
        *_items(queue, empty="The queue is empty. :tada:"),
    ]
    return {"type": "home", "blocks": body[:100]}


def _items(items: list[HomeItem], *, empty: str) -> list[dict[str, Any]]:
    if not items:
        return [section(empty)]
    return [section(_line(item)) for item in items[:40]]


def _line(item: HomeItem) -> str:
    who = (
        f"*{escape(item.customer_name)}* (@{escape(item.customer_handle)}) on {item.network_label}"
    )
    link = f" · <{item.permalink}|open thread>" if item.permalink else ""
    return f"{who}{link}\n> {escape(truncate(item.text.replace(chr(10), ' '), 150))}"
