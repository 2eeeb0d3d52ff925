"""Reporting periods as people type them: `today`, `24h`, `7d`, `30d`, any `<n>d` or `<n>h`."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, tzinfo

SINCE_FORMS = "'today', '24h', '7d', '30d', or any '<n>d' / '<n>h'"
MAX_DAYS = 3650  # ten years: older figures are not kept, and datetime ends at year 9999
_RELATIVE = re.compile(r"^(?P<n>\d{1,6})(?P<unit>[dh])$")


def parse_since(text: str, now: datetime, zone: tzinfo) -> datetime:
    """The start of a reporting period: `today` (local midnight), `<n>d` or `<n>h` before `now`.

    `<n>d` is n times 24 hours back from now (a rolling window), not calendar days. ValueError
    for anything else, and for periods longer than ten years.
    """
    cleaned = text.strip().lower()
    if cleaned == "today":
        local = now.astimezone(zone)
        return local.replace(hour=0, minute=0, second=0, microsecond=0)
    match = _RELATIVE.match(cleaned)
    if not match or int(match["n"]) == 0:
        raise ValueError(f"'{text[:40]}' is not a period; use {SINCE_FORMS}")
    amount = int(match["n"])
    span = timedelta(days=amount) if match["unit"] == "d" else timedelta(hours=amount)
    if span > timedelta(days=MAX_DAYS):
        raise ValueError(f"'{text[:40]}' is longer than ten years; use {SINCE_FORMS}")
    return now - span
