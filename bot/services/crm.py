"""The CRM's facts on the card (CRM_LOOKUP_URL): asked in the background, kept on the customer.

A card never waits for the CRM. When a card is posted for a customer whose facts are missing or
older than CRM_LOOKUP_TTL, a `crm.lookup` job is enqueued (one per customer per TTL window,
however many cards are posted); a worker of its own GETs the URL with a short timeout, keeps
what the CRM said on the customer and re-renders their open cards. A CRM that is slow, down or
answers nonsense is tried a few times, then left alone until the next window: the old facts
stay, no card shows an error, and the log names the customer by id only (the handle is in the
URL, so neither the URL nor the client's error text is logged; nor is the token).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import requests
import structlog
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.domain import crm
from bot.domain.crm import CrmFacts
from bot.domain.delivery import PermanentError, TransientError
from bot.services.context import Context
from bot.services.outbox import CrmLookupJob, read
from bot.services.worker import Job
from storage.models import UNRESOLVED, Conversation, Customer

log = structlog.get_logger(__name__)
DEFAULT_TTL = timedelta(hours=1)
DEFAULT_TIMEOUT = timedelta(seconds=2)
MAX_BYTES = 64 * 1024  # an answer of five short facts is far smaller


@dataclass(frozen=True)
class CrmSettings:
    url_template: str  # checked by bot.domain.crm.check_template
    token: str | None = None  # sent as `Authorization: Bearer`
    ttl: timedelta = DEFAULT_TTL  # facts (and "not known") are asked again after this long
    timeout: timedelta = DEFAULT_TIMEOUT  # a lookup that takes longer, answer included, failed


class CrmLookup:
    """Enqueues lookups when cards are posted, and is the outbox handler that makes them."""

    max_attempts = 3

    def __init__(self, context: Context, settings: CrmSettings) -> None:
        self.context = context
        self.settings = settings

    def facts(self, customer: Customer) -> CrmFacts | None:
        """What the card shows: the facts last heard, however old (a failed lookup keeps them)."""
        return CrmFacts.of(customer.crm_facts)

    def card_posted(self, session: Session, conversation_id: int) -> None:
        """A conversation's card was posted: look its customer up unless their facts are fresh
        (the CRM itself is not called here)."""
        customer = session.scalar(
            select(Customer).join(Conversation).where(Conversation.id == conversation_id)
        )
        now = self.context.clock.now()
        if customer is None or not crm.is_stale(customer.crm_checked_at, now, self.settings.ttl):
            return
        if self._url(customer) is None:
            return  # nothing to look them up by (no handle, for a template that needs one)
        self.context.outbox.crm_lookup(session, customer.id, crm.window(now, self.settings.ttl))

    # --- the outbox job ------------------------------------------------------------------------
    def perform(self, job: Job) -> dict[str, Any]:
        with self.context.database.reading() as session:
            customer = session.get(Customer, _customer_id(job))
            url = self._url(customer) if customer is not None else None
        if url is None:
            raise PermanentError("the customer is gone, or has nothing to look them up by")
        found = self._get(url)
        return {"facts": found.stored() if found is not None else {}}

    def record(
        self, session: Session, job: Job, result: dict[str, Any] | None, now: datetime
    ) -> None:
        """Keep the answer and re-render the customer's open cards if it changed what they
        show, in the transaction that finishes the job."""
        customer = session.get(Customer, _customer_id(job))
        if customer is None or result is None:
            return
        before = CrmFacts.of(customer.crm_facts)
        customer.crm_facts, customer.crm_checked_at = result["facts"], now
        if CrmFacts.of(customer.crm_facts) == before:
            return
        open_cards = select(Conversation).where(
            Conversation.customer_id == customer.id,
            UNRESOLVED,
            Conversation.slack_thread_ts.is_not(None),
        )
        for conversation in session.scalars(open_cards):
            self.context.outbox.refresh_card(session, conversation)
        log.info("crm.facts_changed", customer_id=customer.id, known=bool(result["facts"]))

    def give_up(self, session: Session, job: Job, reason: str, now: datetime) -> None:
        """Quietly: the card shows the facts known before, or none; the next window asks again."""
        log.warning("crm.lookup_failed", customer_id=job.payload.get("customer_id"), reason=reason)

    # --- steps ---------------------------------------------------------------------------------
    def _url(self, customer: Customer) -> str | None:
        values = {
            "network": customer.network,
            "handle": customer.handle,
            "external_id": customer.external_id,
        }
        return crm.fill(self.settings.url_template, values)

    def _get(self, url: str) -> CrmFacts | None:
        """The CRM's facts; None when it does not know the customer (404). Reasons name no
        value of the request: the URL holds the customer's handle."""
        seconds = self.settings.timeout.total_seconds()
        headers = {"Accept": "application/json", "User-Agent": "Carebridge"}
        if self.settings.token:
            headers["Authorization"] = f"Bearer {self.settings.token}"
        deadline = time.monotonic() + seconds
        try:
            with requests.get(url, headers=headers, timeout=seconds, stream=True) as response:
                status = response.status_code
                if status == 404:
                    return None
                if status == 429 or status >= 500:
                    raise TransientError(f"the CRM answered {status}")
                if status != 200:
                    raise PermanentError(f"the CRM refused the lookup: {status}")
                body = _body(response, deadline)
        except requests.Timeout:
            raise TransientError(f"the CRM did not answer within {seconds:g} s") from None
        except requests.RequestException as error:
            name = type(error).__name__
            raise TransientError(f"the CRM could not be reached: {name}") from None
        try:
            data = json.loads(body)
        except ValueError:
            raise TransientError("the CRM's answer is not JSON") from None
        try:
            return crm.parse(data)
        except ValueError as error:
            raise TransientError(f"the CRM's answer is not {error}") from None


def _body(response: requests.Response, deadline: float) -> bytes:
    """The answer, read within the timeout as a whole (requests' own timeout is per step:
    connecting, then each read, so a CRM that trickles could hold the worker for long) and
    within MAX_BYTES."""
    body = b""
    for chunk in response.iter_content(8192):
        body += chunk
        if len(body) > MAX_BYTES:
            raise TransientError("the CRM's answer is too long")
        if time.monotonic() > deadline:
            break
    if time.monotonic() > deadline:
        raise TransientError("the CRM's answer came too slowly")
    return body


def _customer_id(job: Job) -> int:
    try:
        return read(CrmLookupJob, job.payload).customer_id
    except (ValueError, TypeError) as error:
        raise PermanentError(f"a {job.kind} job with an unreadable payload: {error}") from None
