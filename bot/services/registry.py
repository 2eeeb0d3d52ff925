"""All use cases behind one object, handed to the Slack listeners by the composition root."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import text

from bot.domain.facts import Fact
from bot.services.accounts import Accounts
from bot.services.context import Access, Context, Notifier
from bot.services.conversations import Conversations
from bot.services.customers import Customers
from bot.services.forwarding import Forwarding
from bot.services.housekeeping import Housekeeping
from bot.services.languages import Languages
from bot.services.listening import Listener
from bot.services.moderation import Moderation
from bot.services.notice_templates import NoticeTemplates
from bot.services.notices import Notices
from bot.services.oncall import OnCallService
from bot.services.polling import Poller
from bot.services.priority import Vips
from bot.services.push import Webhooks
from bot.services.reopening import Reopen
from bot.services.replies import Replies
from bot.services.saved_replies import SavedReplies
from bot.services.service_hours import ServiceHours
from bot.services.sla import Deadlines, SlaSweeper
from bot.services.spikes import SpikeWatch
from bot.services.stats import Stats
from bot.services.surveys import Surveys
from bot.services.teams import Teams
from bot.services.topics import Topics
from bot.services.worker import OutboxWorker


@dataclass(frozen=True)
class Services:
    context: Context
    conversations: Conversations
    surveys: Surveys
    forwarding: Forwarding
    teams: Teams
    languages: Languages
    replies: Replies
    saved_replies: SavedReplies
    topics: Topics
    listener: Listener
    spikes: SpikeWatch | None  # None: SPIKE_FLOOR=0
    reopen: Reopen
    poller: Poller
    webhooks: Webhooks
    worker: OutboxWorker
    deadlines: Deadlines
    sweeper: SlaSweeper
    oncall: OnCallService
    stats: Stats
    hours: ServiceHours
    templates: NoticeTemplates
    notices: Notices
    vips: Vips
    customers: Customers
    moderation: Moderation
    notifier: Notifier
    housekeeping: Housekeeping
    access: Access

    @property
    def accounts(self) -> Accounts:
        return self.context.accounts

    def open_home(self, user: str) -> None:
        with self.context.transaction() as session:
            self.context.outbox.publish_home(session, user)

    def tell(self, *, channel: str, user: str, fact: Fact, thread_ts: str | None = None) -> None:
        """A private message to one agent (an error, a refusal), through the outbox."""
        with self.context.transaction() as session:
            self.context.outbox.tell(
                session, channel=channel, user=user, fact=fact, thread_ts=thread_ts
            )

    def health(self) -> dict[str, Any]:
        try:
            with self.context.database.reading() as session:
                session.execute(text("SELECT 1"))
            database = "ok"
        except Exception as error:  # report, don't raise: this is the health endpoint
            database = f"error: {type(error).__name__}"
        # Only the database decides "ok": restarting the process would not bring X back, but
        # the age of the last successful poll tells an operator what is going on.
        report = self.poller.health.report()
        return {"ok": database == "ok", "database": database, "accounts": report}
