"""The customers of a fault-injection run, a share on each network, and what they write: on X
mentions and DMs (polled), on the Page comments and Messenger messages, on Instagram comments
and Direct messages, on WhatsApp messages (the three of Meta pushed by webhook)."""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from pathlib import Path

from bot.networks.base import NetworkSpec
from bot.networks.facebook import FACEBOOK as PAGE_SPEC
from bot.networks.facebook.emulator import GraphEmulator
from bot.networks.instagram import INSTAGRAM as INSTAGRAM_SPEC
from bot.networks.whatsapp import WHATSAPP as WHATSAPP_SPEC
from bot.networks.x import X as X_SPEC
from bot.networks.x.emulator import XEmulator
from tests.reliability.meta_emulators import InstagramUnderChaos, WhatsAppUnderChaos
from tests.reliability.record import FACEBOOK, INSTAGRAM, NETWORKS, WHATSAPP, Record, X

PREFIXES = {X: "cust", FACEBOOK: "fb", INSTAGRAM: "ig", WHATSAPP: "wa"}
WAYS = {
    X: ("mention", "DM"),
    FACEBOOK: ("comment", "Messenger"),
    INSTAGRAM: ("comment", "Direct"),
    WHATSAPP: ("message",),
}


@dataclass(frozen=True)
class Networks:
    """The emulators of the four networks."""

    x: XEmulator
    page: GraphEmulator
    instagram: InstagramUnderChaos
    whatsapp: WhatsAppUnderChaos

    def start(self) -> Networks:
        for emulator in (self.x, self.page, self.instagram, self.whatsapp):
            emulator.start()
        return self

    def stop(self) -> None:
        for emulator in (self.x, self.page, self.instagram, self.whatsapp):
            emulator.stop()

    def accounts_file(self, folder: Path) -> Path:
        """An ACCOUNTS_FILE with the sandbox account of each network at its emulator (from the
        environment, the three of Meta would share META_GRAPH_URL: one emulator's)."""
        accounts: list[tuple[NetworkSpec, str]] = [
            (X_SPEC, self.x.url),
            (PAGE_SPEC, self.page.graph_url),
            (INSTAGRAM_SPEC, self.instagram.graph_url),
            (WHATSAPP_SPEC, self.whatsapp.graph_url),
        ]
        entries = []
        for spec, url in accounts:
            values = {"name": spec.name, "network": spec.name, **spec.sandbox_values(url)}
            lines = [f"{key} = {json.dumps(value)}" for key, value in values.items()]
            entries.append("[[accounts]]\n" + "\n".join(lines))
        path = folder / "accounts.toml"
        path.write_text("\n\n".join(entries) + "\n")
        return path


class Customers:
    def __init__(self, networks: Networks, record: Record, rng: random.Random) -> None:
        self.networks = networks
        self.record = record
        self.rng = rng
        self._first_comment: dict[str, str] = {}  # customer -> their first comment
        self._last_way: dict[str, str] = {}  # customer -> how they wrote last

    def enlist(self, count: int) -> dict[str, list[str]]:
        """`count` customers, as many on each network (one at least), by network. A name ends
        in four digits, unique over the run."""
        per_network = max(1, round(count / len(NETWORKS)))
        enlisted: dict[str, list[str]] = {}
        for n, network in enumerate(NETWORKS):
            numbers = range(n * per_network, (n + 1) * per_network)
            enlisted[network] = [f"{PREFIXES[network]}{i:04d}" for i in numbers]
            for customer in enlisted[network]:
                self._join(network, customer)
        return enlisted

    def _join(self, network: str, customer: str) -> None:
        self.record.networks[customer] = network
        number = int(customer[-4:])
        if network == X:
            self.networks.x.add_user(customer, f"Customer {number:04d}")
        elif network == FACEBOOK:
            psid = str(7_100_000_000_000_001 + number)  # a Page-scoped id: digits, as Meta's
            self.networks.page.add_user(psid, "Cliente", f"{number:04d}")
            self.record.ids[customer] = psid
        elif network == INSTAGRAM:
            self.networks.instagram.customer(customer, name=f"Cliente {number:04d}")
            self.record.ids[customer] = customer  # the username
        else:
            wa_id = f"39347{number:07d}"  # a phone number's digits
            self.networks.whatsapp.add_customer(wa_id, f"Cliente {number:04d}")
            self.record.ids[customer] = wa_id

    def write(
        self, token: str, customer: str, text: str, *, abusive: bool, again: bool = False
    ) -> None:
        """`customer` writes `text`, the way they wrote last time if `again`."""
        network = self.record.network(customer)
        how = self._last_way.get(customer) if again else None
        how = how or self.rng.choice(WAYS[network])
        self._last_way[customer] = how
        if how == "mention":
            self.networks.x.post_tweet(customer, f"@{self.networks.x.brand['username']} {text}")
        elif how == "DM":
            self.networks.x.send_dm(customer, text)
        elif how == "comment":
            self._comment(network, customer, text)
        elif how == "Messenger":
            self.networks.page.message(self.record.ids[customer], text)
        elif how == "Direct":
            self.networks.instagram.message(customer, text)
        else:
            wa_id = self.record.ids[customer]
            self.networks.whatsapp.message(wa_id, f"Cliente {customer[-4:]}", text)
        self.record.written[f"{network} {how}"] += 1
        self.record.wrote(token, customer, abusive=abusive)

    def _comment(self, network: str, customer: str, text: str) -> None:
        """A comment under the account's post, or a follow-up in the customer's own thread."""
        first = self._first_comment.get(customer)
        parent = first if first is not None and self.rng.random() < 0.5 else None
        if network == FACEBOOK:
            comment = self.networks.page.comment(self.record.ids[customer], text, parent=parent)
        else:
            comment = self.networks.instagram.comment(customer, text, parent=parent)
        self._first_comment.setdefault(customer, comment)
        self.record.comments[comment] = customer
