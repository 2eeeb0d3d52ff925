"""One person on several networks, as a card shows it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Suggested:
    """A link the card proposes: "This may be the same person as Giulia Rossi on X (order
    4411)"."""

    suggestion_id: int
    name: str
    handle: str
    network_label: str
    reason: str  # phone | email | order
    shown: str  # the order code; "" for a phone number or an e-mail


@dataclass(frozen=True)
class Elsewhere:
    """The person's open conversation on another network or account: "Open on X: thread"."""

    network_label: str
    permalink: str | None
    assignee: str | None
