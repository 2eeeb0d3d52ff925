"""What a fault-injection run promised: every customer message and agent answer, each carrying
a token such as `[m0042]` or `[a007]`, and who the customers are on their networks."""

from __future__ import annotations

import itertools
import re
from collections import Counter
from dataclasses import dataclass, field

X, FACEBOOK, INSTAGRAM, WHATSAPP = "X", "Facebook", "Instagram", "WhatsApp"
NETWORKS = (X, FACEBOOK, INSTAGRAM, WHATSAPP)
MESSAGE = re.compile(r"\[m[0-9]+\]")  # the token of a customer's message
ANSWER = re.compile(r"\[a[0-9]+\]")  # the token of an agent's answer


@dataclass
class Record:
    inbound: dict[str, str] = field(default_factory=dict)  # token -> customer
    answers: dict[str, str] = field(default_factory=dict)
    abusive: set[str] = field(default_factory=set)
    polite: set[str] = field(default_factory=set)  # wrote at least once without insults
    claimed: set[str] = field(default_factory=set)
    networks: dict[str, str] = field(default_factory=dict)  # customer -> their network
    # customer -> who they are on a network of Meta's: a Page-scoped id, an Instagram username,
    # a WhatsApp number (an X customer's name is their handle)
    ids: dict[str, str] = field(default_factory=dict)
    comments: dict[str, str] = field(default_factory=dict)  # Facebook/Instagram comment -> customer
    written: Counter[str] = field(default_factory=Counter)  # messages by kind ("Direct"...)
    undelivered_events: int = 0  # answers the bot never took, however often redelivered
    trail: dict[str, str] = field(default_factory=dict)  # token -> how its answer went in
    _last_wrote: dict[str, int] = field(default_factory=dict)
    _last_answered: dict[str, int] = field(default_factory=dict)
    _clock: itertools.count[int] = field(default_factory=itertools.count)

    def network(self, customer: str) -> str:
        return self.networks[customer]

    def of(self, network: str) -> dict[str, str]:
        """The network's customers: their id there -> their name in the run."""
        return {self.ids.get(c, c): c for c, n in self.networks.items() if n == network}

    def wrote(self, token: str, customer: str, *, abusive: bool) -> None:
        self.inbound[token] = customer
        self._last_wrote[customer] = next(self._clock)
        (self.abusive if abusive else self.polite).add(customer)

    def answered(self, token: str, customer: str) -> None:
        self.answers[token] = customer
        self._last_answered[customer] = next(self._clock)

    def waiting(self) -> list[str]:
        """Customers whose latest message came after their latest answer."""
        return [c for c, n in self._last_wrote.items() if n > self._last_answered.get(c, -1)]
