"""Receiving by webhook: a push network's deliveries go through the same `ingest` as polls.

The HTTP server hands each request on a network's webhook path here. A GET is the network's
subscription check. A POST is verified by the network's receiver (a signature over the raw
body) and stored, with the outbox job that processes it, before it is answered: the network
hears 200 within milliseconds whatever the load, and a crash between the two loses nothing.
The job then parses the delivery, completes what the webhook left out (a Messenger sender's
name) and ingests it; a repeated delivery changes nothing, since messages are stored once by
their network id. Several networks may share a path (Meta's): each one's receiver parses what
is its own.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy.orm import Session

from bot.domain.delivery import (
    CredentialsRefused,
    DeliveryError,
    PermanentError,
    RateLimited,
    TransientError,
)
from bot.domain.model import InboundMessage, NetworkEvent
from bot.networks.base import MalformedPayload, NetworkSpec, Pushed, WebhookReceiver
from bot.services.accounts import Account
from bot.services.context import Context
from bot.services.ingest import Ingest
from bot.services.outbox import InboxJob, read
from bot.services.worker import Job
from storage.models import ChannelAccount, InboxDelivery

log = structlog.get_logger(__name__)
MAX_DELIVERY_BYTES = 1_000_000
CREDENTIALS_RETRY = timedelta(minutes=1)


class Webhooks:
    def __init__(self, context: Context, ingest: Ingest) -> None:
        self.context = context
        self.ingest = ingest
        self._routes: dict[str, list[tuple[NetworkSpec, WebhookReceiver]]] = defaultdict(list)
        accounts = context.accounts
        for spec in accounts.networks():
            if spec.webhook is not None:
                configs = [a.config for a in accounts.of_network(spec.name)]
                self._routes[spec.webhook.path].append((spec, spec.webhook.build(configs)))

    def paths(self) -> list[str]:
        return list(self._routes)

    def handshake(self, path: str, query: Mapping[str, str]) -> tuple[int, str]:
        for _, receiver in self._routes.get(path, []):
            status, body = receiver.handshake(query)
            if status == 200:
                return status, body
        log.warning("webhook.handshake_refused", path=path)
        return 403, "forbidden"

    def receive(self, path: str, headers: Mapping[str, str], body: bytes) -> tuple[int, str]:
        """Answer a delivery: 401 unsigned (nothing stored), 400 not JSON, 200 stored."""
        if not any(r.verify(headers, body) for _, r in self._routes.get(path, [])):
            log.warning("webhook.unsigned", path=path, size=len(body))
            return 401, "invalid signature"
        try:
            parsed = json.loads(body)
        except ValueError:
            parsed = None
        if not isinstance(parsed, dict):
            log.warning("webhook.malformed", path=path, size=len(body))
            return 400, "malformed payload"
        now = self.context.clock.now()
        with self.context.transaction() as session:
            delivery = InboxDelivery(path=path, body=body, received_at=now)
            session.add(delivery)
            session.flush()
            self.context.outbox.process_inbox(session, delivery.id, path)
        log.info("webhook.received", path=path, inbox_id=delivery.id, size=len(body))
        return 200, "ok"

    def process(self, inbox_id: int) -> str:
        """Parse and ingest a stored delivery (outside any transaction: completing a message
        may ask the network); returns what became of it."""
        with self.context.database.reading() as session:
            delivery = session.get(InboxDelivery, inbox_id)
            if delivery is None:
                raise PermanentError(f"no webhook delivery {inbox_id}")
            if delivery.processed_at is not None:
                return str(delivery.outcome)
            path, body = delivery.path, delivery.body
        pushed: list[tuple[NetworkSpec, Pushed]] = []
        for spec, receiver in self._routes.get(path, []):
            try:
                pushed += [(spec, p) for p in receiver.parse(body)]
            except MalformedPayload as error:
                log.warning("webhook.unparsable", network=spec.name, reason=str(error)[:200])
        by_account: dict[str, list[NetworkEvent]] = defaultdict(list)
        found: dict[str, Account] = {}
        for spec, item in pushed:
            account = self._account(spec, item.account_external_id)
            if account is None:
                log.warning("webhook.unknown_account", network=spec.name)
                continue
            found[account.name] = account
            event = item.event
            if isinstance(event, InboundMessage):
                event = account.channel.complete(event)  # a Messenger sender's name, say
            by_account[account.name].append(event)
        stored = 0
        for name, events in by_account.items():
            account_id = found[name].account_id
            assert account_id is not None  # identified by _account
            readings = self.ingest.read(events)  # outside the writer lock
            with self.context.transaction() as session:
                row = session.get(ChannelAccount, account_id)
                assert row is not None
                stored += self.ingest.ingest(session, row, events, readings)
        outcome = f"{len(pushed)} events, {stored} new messages"
        log.info("webhook.processed", inbox_id=inbox_id, events=len(pushed), new=stored)
        return outcome

    def _account(self, spec: NetworkSpec, external_id: str) -> Account | None:
        """The configured account the network names; None if no account is it. An account
        that cannot be identified just now may be it: then the delivery is tried again (the
        network already heard 200 and will not send it again)."""
        unknown: DeliveryError | None = None
        for account in self.context.accounts.of_network(spec.name):
            try:
                identity = self.context.accounts.identify(account)
            except DeliveryError as error:
                log.warning("webhook.identify_failed", account=account.name, error=error.reason)
                unknown = unknown or error
                continue
            if identity.external_id == external_id:
                return account
        if isinstance(unknown, CredentialsRefused):
            # Until someone fixes the token (said in the channel by the deliveries' health):
            # wait, without spending the attempts that would give the delivery up.
            retry_at = self.context.clock.now() + CREDENTIALS_RETRY
            raise RateLimited(f"could not tell which account this is: {unknown.reason}", retry_at)
        if unknown is not None:
            raise TransientError(f"could not tell which account this is: {unknown.reason}")
        return None


class ProcessDelivery:
    """The outbox job that processes a stored webhook delivery; retried like any job."""

    max_attempts = 8

    def __init__(self, webhooks: Webhooks) -> None:
        self.webhooks = webhooks

    def perform(self, job: Job) -> dict[str, Any]:
        return {"outcome": self.webhooks.process(_inbox_id(job))}

    def record(
        self, session: Session, job: Job, result: dict[str, Any] | None, now: datetime
    ) -> None:
        delivery = session.get(InboxDelivery, _inbox_id(job))
        if delivery is not None and delivery.processed_at is None:
            delivery.processed_at = now
            delivery.outcome = str((result or {}).get("outcome", ""))[:1000]

    def give_up(self, session: Session, job: Job, reason: str, now: datetime) -> None:
        delivery = session.get(InboxDelivery, _inbox_id(job))
        if delivery is not None:
            delivery.outcome = f"failed: {reason}"[:1000]
        log.error("webhook.abandoned", job_id=job.id, reason=reason)


def _inbox_id(job: Job) -> int:
    try:
        return read(InboxJob, job.payload).inbox_id
    except ValueError as error:
        raise PermanentError(f"not a webhook delivery: {error}") from None
