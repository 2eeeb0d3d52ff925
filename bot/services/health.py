"""How each brand account is doing, said in its own Slack channel: a refused credential at once
(with the fix), passing failures after five minutes; and once again when it works.

Polls report every round; deliveries report refused credentials (a push network is known to be
broken only when it is answered) and their successes. Kept per process, for /healthz, and on the
account's row for `carebridge accounts`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import structlog

from bot.domain.delivery import CredentialsRefused, DeliveryError, backoff
from bot.domain.facts import AccountFailing, AccountRecovered, CredentialsWork, Fact
from bot.domain.facts import CredentialsRefused as CredentialsRefusedFact
from bot.services.accounts import Account
from bot.services.context import Context
from storage.models import ChannelAccount

log = structlog.get_logger(__name__)
FAILING_WARNING_AFTER = timedelta(minutes=5)
MAX_BACKOFF = timedelta(minutes=2)  # a failing account is tried again this often at least


@dataclass
class AccountState:
    last_success_at: datetime | None = None
    failing_since: datetime | None = None
    last_error: str | None = None
    failures: int = 0
    warned: bool = False  # the channel was told it fails
    refused: bool = False  # ... because the credentials were refused
    retry_at: datetime | None = None  # backoff after failures


class AccountsHealth:
    def __init__(self, context: Context) -> None:
        self.context = context
        self._states: dict[str, AccountState] = {}

    def retry_at(self, account: Account) -> datetime | None:
        state = self._states.get(account.name)
        return state.retry_at if state else None

    def refused(self, account: Account) -> bool:
        state = self._states.get(account.name)
        return bool(state and state.refused)

    def report(self) -> dict[str, dict[str, Any]]:
        """Per account: when it last worked, and since when it fails (for /healthz)."""
        now = self.context.clock.now()
        report: dict[str, dict[str, Any]] = {}
        for name, state in self._states.items():
            ok_at = state.last_success_at
            report[name] = {
                "last_poll_ok_at": ok_at.isoformat() if ok_at else None,
                "last_poll_age_seconds": int((now - ok_at).total_seconds()) if ok_at else None,
                "failing_since": state.failing_since.isoformat() if state.failing_since else None,
                "last_error": state.last_error,
                "credentials_refused": state.refused,
            }
        return report

    def observe(self, account: Account, errors: list[DeliveryError], *, polled: bool) -> None:
        """A round of work for `account` went well (no errors) or not. `polled`: a poll, whose
        every failure counts; otherwise a delivery, which only reports refused credentials and
        its successes (its passing failures are the outbox's to retry)."""
        now = self.context.clock.now()
        state = self._states.setdefault(account.name, AccountState())
        if polled:
            self._record(account, errors, now)
        handle = account.identity.handle if account.identity else ""
        if not errors:
            if state.warned and state.failing_since is not None:
                since = state.failing_since.isoformat()
                if state.refused:
                    fact: Fact = CredentialsWork(account.name, account.label, handle)
                else:
                    down = int((now - state.failing_since).total_seconds() // 60)
                    fact = AccountRecovered(account.name, account.label, handle, down)
                self._announce(account, f"health:{account.name}:{since}:recovered", fact)
            if polled or state.refused:
                self._states[account.name] = AccountState(last_success_at=now)
            return
        error = errors[-1]
        state.failing_since = state.failing_since or now
        state.last_error = error.reason
        state.failures += 1
        state.retry_at = now + min(backoff(state.failures), MAX_BACKOFF)
        refused = next((e for e in errors if isinstance(e, CredentialsRefused)), None)
        since = state.failing_since.isoformat()
        if refused is not None and not state.refused:
            # Nothing works until someone fixes the credentials: say it now, with the fix.
            state.refused = state.warned = True
            fact = CredentialsRefusedFact(
                account.name, account.label, refused.reason, account.spec.credentials_fix
            )
            self._announce(account, f"health:{account.name}:{since}:refused", fact)
            return
        if polled and not state.warned and now - state.failing_since >= FAILING_WARNING_AFTER:
            state.warned = True
            failing = AccountFailing(
                account.name, account.label, handle, state.failing_since, error.reason
            )
            self._announce(account, f"health:{account.name}:{since}:failing", failing)

    def _record(self, account: Account, errors: list[DeliveryError], now: datetime) -> None:
        """Keep how polling goes on the account's row, for `carebridge accounts`."""
        if account.account_id is None:
            return
        with self.context.database.transaction() as session:
            row = session.get(ChannelAccount, account.account_id)
            if row is None:
                return
            if errors:
                row.failing_since = row.failing_since or now
                row.last_error = errors[-1].reason[:1000]
            else:
                row.polled_at, row.failing_since, row.last_error = now, None, None

    def _announce(self, account: Account, key: str, fact: Fact) -> None:
        channel = account.slack_channel or self.context.accounts.default_channel
        with self.context.transaction() as session:
            self.context.outbox.channel(session, channel, key, fact)
        log.info("account.health_said", account=account.name, fact=type(fact).__name__)
