"""Reading the values of Meta's webhook payloads defensively: a part of a shape the parser does
not know raises `Unexpected`, whose text names the field and never a value (so it can be
logged), and the caller leaves that part out rather than the whole delivery."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from bot.networks.base import MalformedPayload


class Unexpected(ValueError):
    """A part of a delivery of a shape this parser does not know."""


def delivery(body: bytes) -> dict[str, Any]:
    """The JSON object of a delivery; MalformedPayload when it is none."""
    try:
        parsed = json.loads(body)
    except (ValueError, RecursionError):  # RecursionError: absurdly nested arrays
        raise MalformedPayload("not JSON") from None
    if not isinstance(parsed, dict):
        raise MalformedPayload("not a JSON object")
    return parsed


def entries(parsed: dict[str, Any]) -> list[Any]:
    found = parsed.get("entry")
    if not isinstance(found, list):
        raise MalformedPayload("entry is not a list")
    return found


def an_object(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise Unexpected(f"{what} is not an object")
    return value


def a_list(value: Any, what: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise Unexpected(f"{what} is not a list")
    return value


def an_id(value: Any, what: str) -> str:
    """An id: a string, or a number in old payloads."""
    if isinstance(value, str) and value:
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise Unexpected(f"{what} is not an id")


def optional_id(value: Any, what: str) -> str | None:
    return None if value is None else an_id(value, what)


def entry_id(entry: Any) -> str | None:
    """The account an entry is for (a Page, an Instagram account, a WhatsApp business)."""
    try:
        return an_id(an_object(entry, "entry").get("id"), "entry id")
    except Unexpected:
        return None


def party(event: dict[str, Any], key: str) -> str:
    return an_id(an_object(event.get(key), key).get("id"), f"{key}.id")


def string(value: Any) -> str:
    """A text field; anything else counts as absent."""
    return value if isinstance(value, str) else ""


def seconds(*candidates: Any) -> datetime:
    return _first_time(candidates, per_second=1)


def milliseconds(*candidates: Any) -> datetime:
    return _first_time(candidates, per_second=1000)


def map_link(lat: Any, long: Any) -> str:
    """A map of a shared location, or "" when the coordinates are not numbers on the globe."""
    if not all(
        isinstance(c, int | float) and not isinstance(c, bool) and -180 <= c <= 180
        for c in (lat, long)
    ):
        return ""
    return f"https://www.google.com/maps/search/?api=1&query={lat},{long}"


def _first_time(candidates: Iterable[Any], per_second: int) -> datetime:
    for candidate in candidates:
        at = _time(candidate, per_second)
        if at is not None:
            return at
    raise Unexpected("no time")


def _time(value: Any, per_second: int) -> datetime | None:
    """A time since the epoch (in seconds or milliseconds, as a number or digits), or an ISO
    8601 string (some Graph versions); None when it is neither."""
    try:
        if isinstance(value, str) and value.isascii() and value.isdigit():
            value = int(value)
        if isinstance(value, str):
            at = datetime.fromisoformat(value)
            return at.astimezone(UTC) if at.tzinfo else at.replace(tzinfo=UTC)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return datetime.fromtimestamp(value / per_second, UTC)
    except (ValueError, OverflowError, OSError):  # not a date, or out of datetime's range
        return None
    return None
