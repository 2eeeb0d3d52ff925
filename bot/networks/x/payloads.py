"""What X sends, read defensively: a malformed page must not crash a poll or store junk."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, TypeGuard

from bot.domain.model import Author, NetworkEvent
from bot.networks.x.text import HANDLE, profile_url

_TWITTER_EPOCH_MS = 1288834974657


class MalformedPage(ValueError):
    pass


def page(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise MalformedPage("not a JSON object")
    if "data" in body and not isinstance(body["data"], list):
        raise MalformedPage("data is not a list")
    return body


def items(body: dict[str, Any]) -> list[dict[str, Any]]:
    return [item for item in body.get("data") or [] if isinstance(item, dict)]


def as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def is_id(value: object) -> TypeGuard[str]:
    """X's ids are strings of digits (snowflakes); anything else is not an id."""
    return isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 25


def has_text(item: dict[str, Any]) -> bool:
    return isinstance(item.get("text"), str) and bool(item["text"].strip())


def parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def within(tweet_id: Any, since_id: str | None, until_id: str | None) -> bool:
    """An id within the window asked for: above since_id, below until_id."""
    if not is_id(tweet_id):
        return False
    number = int(tweet_id)
    return (since_id is None or number > int(since_id)) and (
        until_id is None or number < int(until_id)
    )


def posted_at(tweet_id: str) -> datetime:
    """When an id was made: X's ids (snowflakes) start with milliseconds since X's epoch. An id
    too large to be a time is taken as made now or later."""
    try:
        return datetime.fromtimestamp(((int(tweet_id) >> 22) + _TWITTER_EPOCH_MS) / 1000, UTC)
    except (OverflowError, OSError, ValueError):
        return datetime.max.replace(tzinfo=UTC)


def max_id(current: str | None, candidate: str) -> str:
    return candidate if current is None or int(candidate) > int(current) else current


def users_by_id(body: dict[str, Any]) -> dict[str, Author]:
    users = as_dict(body.get("includes")).get("users")
    found: dict[str, Author] = {}
    for user in users if isinstance(users, list) else []:
        if not isinstance(user, dict) or not is_id(user.get("id")):
            continue
        handle = user.get("username")
        if not isinstance(handle, str) or HANDLE.fullmatch(handle) is None:
            continue  # not a username X issues: nothing built from it reaches Slack or X
        name = user.get("name")
        followers = as_dict(user.get("public_metrics")).get("followers_count", 0)
        found[user["id"]] = Author(
            external_id=user["id"],
            handle=handle,
            name=name if isinstance(name, str) else handle,
            followers=followers if isinstance(followers, int) and followers >= 0 else 0,
            verified=user.get("verified") is True,
            profile_url=profile_url(handle),
        )
    return found


def oldest_first(events: list[NetworkEvent]) -> list[NetworkEvent]:
    return sorted(events, key=lambda e: int(e.external_id))
