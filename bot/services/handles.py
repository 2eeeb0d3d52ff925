"""Reading a customer's handle as agents type it: `@name`, or `network:@name` for a network
other than the first configured one with handles. Checked as the network defines handles."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from bot.domain.answers import CommandError
from bot.networks.base import NetworkSpec


@dataclass(frozen=True)
class Handle:
    network: str
    handle: str  # as typed, without the @ (compare in lower case)


def handle_networks(networks: Sequence[NetworkSpec]) -> list[NetworkSpec]:
    return [spec for spec in networks if spec.handles is not None]


def parse_handle(word: str, networks: Sequence[NetworkSpec]) -> Handle | CommandError:
    prefix, _, rest = word.strip().rpartition(":")
    handle = rest.strip().removeprefix("@")
    with_handles = handle_networks(networks)
    spec = next((s for s in with_handles if s.name == prefix.lower()), None)
    if prefix and spec is None:
        known = ", ".join(s.name for s in with_handles) or "none"
        return CommandError(f"no network {shown(prefix)} with handles (known: {known})")
    spec = spec or (with_handles[0] if with_handles else None)
    if spec is None or spec.handles is None:
        return CommandError("no configured network has @handles")
    if not spec.handles.valid(handle):
        return CommandError(f"{shown(handle)} is not a valid {spec.label} handle")
    return Handle(spec.name, handle)


def shown(text: str) -> str:
    """A user's word quoted back in an error: cut short, on one line, no control characters."""
    clean = "".join(c for c in text if unicodedata.category(c)[0] != "C")
    return repr(clean[:30] + ("…" if len(clean) > 30 else ""))
