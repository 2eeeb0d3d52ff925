"""Meta delivering the webhooks of its products (a Page, an Instagram account, a WhatsApp
number) to the bot's one URL, /webhooks/meta, as Meta does, through a load balancer that picks
a live replica."""

from __future__ import annotations

import json
import random
import threading
import time
from dataclasses import dataclass

import requests

from tests.reliability.fleet import Fleet
from tests.reliability.meta_emulators import MetaProduct
from tests.reliability.verdict import MetaTraffic


@dataclass
class _Again:
    due: float  # time.monotonic()
    product: MetaProduct
    body: bytes
    failures: int  # POSTs of it that got no 200
    repeat: bool  # made again after a 200


class MetaWebhooks:
    """Now and then several events in one POST; a POST that gets no 200 (the bot killed, the
    connection refused, a 5xx, no answer within Meta's timeout) made again later, after newer
    ones (Meta retries with growing pauses for hours; seconds here); and now and then a
    delivery that got its 200 made once more (Meta says to expect duplicates)."""

    def __init__(
        self,
        products: list[MetaProduct],
        fleet: Fleet,
        rng: random.Random,
        *,
        batch_rate: float = 0.5,
        repeat_rate: float = 0.1,
        timeout: float = 5.0,
    ) -> None:
        self.products = products
        self.fleet = fleet
        self.rng = rng
        self.batch_rate = batch_rate
        self.repeat_rate = repeat_rate
        self.timeout = timeout
        self.traffic = MetaTraffic()
        self._again: list[_Again] = []
        self._busy = False
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="meta-webhooks", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop delivering; what never got a 200 by now counts as lost."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        with self._lock:
            self.traffic.undelivered = sum(not again.repeat for again in self._again)

    def idle(self) -> bool:
        """Nothing to deliver, nothing waiting to be made again, nothing on its way."""
        with self._lock:
            busy = self._busy or bool(self._again)
        return not busy and not any(product.pending() for product in self.products)

    def _run(self) -> None:
        # Meta delivers within a second or two, events that come close together in one POST.
        while not self._stop.wait(self.rng.uniform(0.1, 1.5)):
            with self._lock:
                self._busy = True
            try:
                self._round()
            finally:
                with self._lock:
                    self._busy = False

    def _round(self) -> None:
        url = self.rng.choice(self.fleet.live() or self.fleet.replicas).webhook_url
        for product in self.rng.sample(self.products, len(self.products)):
            batch = self.rng.random() < self.batch_rate
            for delivery in product.deliver(url, batch=batch, attempts=1, timeout=self.timeout):
                self.traffic.posts += 1
                self.traffic.by_product[json.loads(delivery.body)["object"]] += 1
                self.traffic.batched += _events(delivery.body) > 1
                self._then(product, delivery.body, delivery.delivered, failures=0, repeat=False)
        now = time.monotonic()
        with self._lock:
            due = [again for again in self._again if again.due <= now]
            self._again = [again for again in self._again if again.due > now]
        for again in due:
            try:
                sender = again.product.webhooks
                response = sender.post_raw(url, again.body, timeout=self.timeout)
                delivered = response.status_code == 200
            except requests.RequestException:
                delivered = False
            self.traffic.posts += 1
            if again.repeat:
                self.traffic.repeated += 1
            else:
                self.traffic.retried += 1
            self._then(
                again.product, again.body, delivered, failures=again.failures, repeat=again.repeat
            )

    def _then(
        self, product: MetaProduct, body: bytes, delivered: bool, *, failures: int, repeat: bool
    ) -> None:
        now = time.monotonic()
        if delivered and not repeat and self.rng.random() < self.repeat_rate:
            again = _Again(now + self.rng.uniform(1.0, 5.0), product, body, 0, repeat=True)
        elif not delivered:
            pause = min(8.0, 0.5 * 2**failures) * self.rng.uniform(0.5, 1.5)
            again = _Again(now + pause, product, body, failures + 1, repeat)
        else:
            return
        with self._lock:
            self._again.append(again)


def _events(body: bytes) -> int:
    """How many events a webhook body carries."""
    entries = json.loads(body)["entry"]
    return sum(len(e.get("changes", [])) + len(e.get("messaging", [])) for e in entries)
