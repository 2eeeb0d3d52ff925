"""The Instagram and WhatsApp emulators as a fault-injection run needs them, like the Page's
`GraphEmulator` in what the run uses: Meta's rate-limit answers among the random faults (the
estimate to regain access is "now", so that a run is not held for minutes), and `deliver()`
with `batch` and `attempts`, so that `MetaWebhooks` drives the three products the same way.

The WhatsApp emulator also keeps every send whose outcome the bot could not know: the message
was taken, then the answer failed (a 500 or a reset after handling, or an answer held past the
bot's timeout). WhatsApp has no search of sent messages, so the bot sends such a message again
(see bot/networks/whatsapp/adapter.py): the verdict needs these to tell that documented double
from a real one.
"""

from __future__ import annotations

import json
import random
from dataclasses import replace
from typing import Any, Protocol

from bot.networks.facebook.emulator import graph_error_body
from bot.networks.instagram.emulator import SANDBOX_ACCOUNT, InstagramEmulator
from bot.networks.meta.webhook_sender import Delivery, WebhookSender, encode
from bot.networks.whatsapp.emulator import WhatsAppEmulator
from bot.sandbox.loopback import Fault, Request

RATE_LIMIT_SHARE = 0.25  # of the faults, as the X and Page emulators do
WHATSAPP_SEND = "POST /{phone-number-id}/messages"
_INSTAGRAM_LIMITS = {
    32: "(#32) Page request limit reached",  # Direct goes through the linked Page
    613: "(#613) Calls to this api have exceeded the rate limit.",
}


class MetaProduct(Protocol):
    """What `MetaWebhooks` needs of an emulator of one of Meta's products."""

    @property
    def webhooks(self) -> WebhookSender: ...

    def pending(self) -> list[dict[str, Any]]: ...

    def deliver(
        self, webhook_url: str, *, batch: bool = False, attempts: int | None = None, timeout: float
    ) -> list[Delivery]: ...


def _post(
    sender: WebhookSender,
    webhook_url: str,
    payloads: list[dict[str, Any]],
    *,
    batch: bool,
    attempts: int | None,
    timeout: float,
) -> list[Delivery]:
    """POST the payloads, all in one body with `batch` (several entries, as Meta batches),
    each body again while it gets no 200, `attempts` times in all."""
    if batch and len(payloads) > 1:
        entries = [entry for payload in payloads for entry in payload["entry"]]
        payloads = [{"object": payloads[0]["object"], "entry": entries}]
    return [
        sender.post(webhook_url, encode(p), attempts=attempts, timeout=timeout) for p in payloads
    ]


class InstagramUnderChaos(InstagramEmulator):
    def random_fault(
        self, request: Request, rng: random.Random, timeout_after: float
    ) -> tuple[str, Fault]:
        if rng.random() < RATE_LIMIT_SHARE:
            code = rng.choice(tuple(_INSTAGRAM_LIMITS))
            usage = {SANDBOX_ACCOUNT["account_id"]: [_usage("instagram")]}
            body = graph_error_body(_INSTAGRAM_LIMITS[code], code, is_transient=True)
            headers = {"X-Business-Use-Case-Usage": json.dumps(usage)}
            return f"rate limit {code}", Fault(403 if code == 32 else 400, body, headers)
        return _with_graph_body(*super().random_fault(request, rng, timeout_after))

    def deliver(  # the same, with the Page emulator's options
        self,
        webhook_url: str,
        *,
        batch: bool = False,
        attempts: int | None = None,
        timeout: float = 20.0,
    ) -> list[Delivery]:
        with self._lock:  # taken and cleared at once: nothing queued in between is dropped
            payloads = self.pending()
            self.clear_pending()
        return _post(
            self.webhooks, webhook_url, payloads, batch=batch, attempts=attempts, timeout=timeout
        )


class WhatsAppUnderChaos(WhatsAppEmulator):
    def __init__(self) -> None:
        super().__init__()
        # Sends the bot could not know took effect, with the fault that hid it.
        self.unknown_outcomes: list[tuple[Request, str]] = []

    def random_fault(
        self, request: Request, rng: random.Random, timeout_after: float
    ) -> tuple[str, Fault]:
        if rng.random() < RATE_LIMIT_SHARE:
            # The business account's limit (80007) comes with Meta's estimate; the number's
            # (130429) says nothing of when, and the bot would wait a minute.
            limited = self._rate_limited(80007, 0, None)
            return "rate limit 80007", Fault(limited.status, limited.body, limited.headers)
        kind, fault = _with_graph_body(*super().random_fault(request, rng, timeout_after))
        if fault.after and self.fault_key(request) == WHATSAPP_SEND:
            self.unknown_outcomes.append((request, kind))
        return kind, fault

    def deliver(
        self,
        webhook_url: str,
        *,
        batch: bool = False,
        attempts: int | None = None,
        timeout: float = 20.0,
    ) -> list[Delivery]:
        with self._lock:  # taken and cleared at once: nothing queued in between is dropped
            payloads = self.pending()
            self.clear_pending()
        return _post(
            self.webhooks, webhook_url, payloads, batch=batch, attempts=attempts, timeout=timeout
        )


def sent_to(request: Request) -> tuple[str, str]:
    """(recipient, text) of a WhatsApp send request; a template's text is its name."""
    body = request.json()
    text = (body.get("text") or {}).get("body") or (body.get("template") or {}).get("name")
    return str(body.get("to", "")), str(text or "")


def _with_graph_body(kind: str, fault: Fault) -> tuple[str, Fault]:
    """A server error as Meta answers one: a Graph error body that says to retry."""
    if fault.status is None or fault.status < 500:
        return kind, fault
    message = "An unexpected error has occurred. Please retry your request later."
    return kind, replace(fault, body=graph_error_body(message, 2, is_transient=True))


def _usage(kind: str) -> dict[str, Any]:
    return {
        "type": kind,
        "call_count": 100,
        "total_cputime": 12,
        "total_time": 19,
        "estimated_time_to_regain_access": 0,
    }
