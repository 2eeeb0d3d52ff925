"""Parsers of setting values, shared by the environment settings and the accounts file.

Each takes the text as written and returns the value, or raises ValueError; the caller says
which setting was wrong and what it expects.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from urllib.parse import urlsplit

_DURATION = re.compile(r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")
DURATION_FORM = "a duration such as 30s, 15m, 1h or 1h30m"
POSITIVE_DURATION_FORM = "a duration above zero, such as 30s, 15m, 1h or 1h30m"
MAX_DURATION = timedelta(days=3650)  # ten years: beyond that a typo, and datetime overflows


def parse_duration(text: str) -> timedelta:
    """`30s`, `15m`, `1h`, `1h30m`, `2d` -> timedelta; anything else (or over ten years) raises
    ValueError."""
    match = _DURATION.match(text.strip().lower())
    if not text.strip() or not match:
        raise ValueError(text)
    days, hours, minutes, seconds = (int(g or 0) for g in match.groups())
    if days > MAX_DURATION.days:
        raise ValueError(text)
    value = timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)
    if value > MAX_DURATION:
        raise ValueError(text)
    return value


def positive_duration(text: str) -> timedelta:
    value = parse_duration(text)
    if value <= timedelta(0):
        raise ValueError(text)
    return value


def http_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(value)
    return value


def int_between(low: int, high: int) -> Callable[[str], int]:
    def parse(value: str) -> int:
        text = value.strip()
        if not text.lstrip("-").isdigit() or len(text) > 20:
            raise ValueError(value)
        number = int(text)
        if not low <= number <= high:
            raise ValueError(value)
        return number

    return parse


def boolean(value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in ("true", "yes", "1", "on"):
        return True
    if lowered in ("false", "no", "0", "off"):
        return False
    raise ValueError(value)
