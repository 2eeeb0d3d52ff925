"""What the CRM says about a customer (CRM_LOOKUP_URL), as the card shows it: checked, capped,
never trusted.

The CRM answers `{"name": "...", "customer_id": "..." or 123, "facts": ["...", ...]}` with up
to five facts ("Customer since 2019", "fiber plan", "2 open tickets"). Anything else is no answer
at all (the facts known before stay); a 404 means the CRM does not know the customer, which is an
answer too (stored as `{}`) and kept as long as facts are.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote, urlsplit

MAX_FACTS = 5
MAX_FACT = 80  # characters of one fact; longer ones are cut
MAX_NAME = 100
MAX_CUSTOMER_ID = 64
PLACEHOLDERS = ("network", "handle", "external_id")
TEMPLATE_FORM = (
    "an http(s) URL with {handle} or {external_id} (and optionally {network}) in its path or "
    "query, e.g. https://crm.example.com/api/lookup?network={network}&handle={handle}"
)
_PLACEHOLDER = re.compile(r"\{(" + "|".join(PLACEHOLDERS) + r")\}")


@dataclass(frozen=True)
class CrmFacts:
    name: str
    customer_id: str
    facts: tuple[str, ...] = ()

    def stored(self) -> dict[str, Any]:
        """As `customers.crm_facts` keeps it."""
        return {"name": self.name, "customer_id": self.customer_id, "facts": list(self.facts)}

    @classmethod
    def of(cls, stored: Mapping[str, Any] | None) -> CrmFacts | None:
        """The facts kept on a customer; None when the CRM was never asked, does not know them,
        or the row holds something else (it is shown, so it is checked again)."""
        if not stored:
            return None
        try:
            return parse(stored)
        except ValueError:
            return None


def parse(data: object) -> CrmFacts:
    """The CRM's answer, checked and capped; ValueError (saying what is wrong, quoting no
    value) when it is not the agreed shape."""
    if not isinstance(data, Mapping):
        raise ValueError("a JSON object")
    name, customer_id, facts = data.get("name"), data.get("customer_id"), data.get("facts")
    if not isinstance(name, str):
        raise ValueError("an object with a name")
    if isinstance(customer_id, bool) or not isinstance(customer_id, str | int):
        raise ValueError("an object with a customer_id")
    if not isinstance(facts, list) or len(facts) > MAX_FACTS:
        raise ValueError(f"an object with a list of up to {MAX_FACTS} facts")
    if not all(isinstance(fact, str) for fact in facts):
        raise ValueError("an object whose facts are strings")
    kept = tuple(line for fact in facts if (line := _one_line(fact, MAX_FACT)))
    return CrmFacts(_one_line(name, MAX_NAME), _one_line(str(customer_id), MAX_CUSTOMER_ID), kept)


def _one_line(text: str, limit: int) -> str:
    """On one line (the card shows the facts side by side), at most `limit` characters."""
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def is_stale(checked_at: datetime | None, now: datetime, ttl: timedelta) -> bool:
    """Whether the CRM should be asked (again)."""
    return checked_at is None or now - checked_at >= ttl


def window(now: datetime, ttl: timedelta) -> int:
    """The number of the `ttl`-long window `now` falls in: one lookup per customer per window,
    however many cards ask for one."""
    return int(now.timestamp() // max(ttl.total_seconds(), 1))


def check_template(template: str) -> str:
    """A CRM_LOOKUP_URL as written, or ValueError: only the known placeholders, at least one
    that names the customer, none in the host (a customer's handle never picks the server)."""
    rest = _PLACEHOLDER.sub("value", template)
    if "{" in rest or "}" in rest:
        raise ValueError("unknown placeholder")
    if not {"handle", "external_id"} & set(_PLACEHOLDER.findall(template)):
        raise ValueError("no placeholder names the customer")
    parts = urlsplit(template)
    if parts.scheme not in ("http", "https") or not parts.netloc or "{" in parts.netloc:
        raise ValueError("not an http(s) URL with a fixed host")
    return template


def fill(template: str, values: Mapping[str, str]) -> str | None:
    """The template with each placeholder's value URL-quoted; None when one it uses is empty
    (a customer without a handle, for a template that needs one)."""
    if any(not values.get(name) for name in _PLACEHOLDER.findall(template)):
        return None
    return _PLACEHOLDER.sub(lambda match: quote(values[match[1]], safe=""), template)
