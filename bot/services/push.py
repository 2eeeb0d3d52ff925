"""Receiving by webhook: a push network's deliveries go through the same `ingest` as polls.

The HTTP server hands each request on a network's webhook path here: a GET is the network's
subscription check; a POST is verified by the network's receiver (a signature over the raw
body), parsed into messages per brand account, and ingested. Several networks may share a path
(Meta's): each receiver that verifies a delivery parses it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping

import structlog

from bot.networks.base import MalformedPayload, NetworkSpec, Pushed, WebhookReceiver
from bot.services.accounts import Account
from bot.services.context import Context
from bot.services.ingest import Ingest
from storage.models import ChannelAccount

log = structlog.get_logger(__name__)


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
        return 403, "forbidden"

    def receive(self, path: str, headers: Mapping[str, str], body: bytes) -> tuple[int, str]:
        """Answer a delivery: 401 unsigned, 400 malformed, 200 handled (or ignored)."""
        receivers = [(s, r) for s, r in self._routes.get(path, []) if r.verify(headers, body)]
        if not receivers:
            log.warning("webhook.unsigned", path=path, size=len(body))
            return 401, "invalid signature"
        pushed: list[tuple[NetworkSpec, Pushed]] = []
        try:
            for spec, receiver in receivers:
                pushed += [(spec, p) for p in receiver.parse(body)]
        except MalformedPayload as error:
            log.warning("webhook.malformed", path=path, reason=str(error)[:200])
            return 400, "malformed payload"
        by_account: dict[str, list[Pushed]] = defaultdict(list)
        found: dict[str, Account] = {}
        for spec, item in pushed:
            account = self._account(spec, item.account_external_id)
            if account is None:
                log.warning("webhook.unknown_account", network=spec.name)
                continue
            found[account.name] = account
            by_account[account.name].append(item)
        for name, items in by_account.items():
            account = found[name]
            assert account.account_id is not None
            with self.context.transaction() as session:
                row = session.get(ChannelAccount, account.account_id)
                assert row is not None
                stored = self.ingest.ingest(session, row, [p.message for p in items])
            log.info("webhook.ingested", account=name, new=stored, received=len(items))
        return 200, "ok"

    def _account(self, spec: NetworkSpec, external_id: str) -> Account | None:
        for account in self.context.accounts.of_network(spec.name):
            try:
                identity = self.context.accounts.identify(account)
            except Exception as error:
                log.warning("webhook.identify_failed", account=account.name, error=str(error))
                continue
            if identity.external_id == external_id:
                return account
        return None
