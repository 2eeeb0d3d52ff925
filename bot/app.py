"""Composition root: builds storage, the accounts' adapters, the Slack client, services and the
scheduler.

Nothing connects at import time; `Carebridge.build(settings)` does it all, once, explicitly.
Tests and the sandbox pass their own clock and point the URLs at the loopback emulators.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TypeVar

import structlog
from slack_bolt import App
from slack_bolt.error import BoltError
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.clock import Clock, SystemClock
from bot.config import Settings
from bot.domain.facts import AppTokenRefused
from bot.domain.hours import BusinessCalendar
from bot.domain.priority import PriorityRules, parse_keywords
from bot.domain.sla import Priority, SlaClock, SlaPolicy, Targets, policy_targets
from bot.domain.spikes import SpikeThresholds
from bot.networks.registry import Registry
from bot.scheduling import Timers
from bot.services.accounts import Account, Accounts
from bot.services.context import Access, Context, Notifier
from bot.services.conversations import Conversations
from bot.services.crm import CrmLookup, CrmSettings
from bot.services.customers import Customers
from bot.services.delivery import DeliverToCustomer
from bot.services.event_delivery import PostEvent
from bot.services.events import Events
from bot.services.forwarding import Forwarding
from bot.services.health import AccountsHealth
from bot.services.housekeeping import Housekeeping
from bot.services.ingest import Ingest
from bot.services.languages import Languages
from bot.services.listening import Listener
from bot.services.moderation import HideMessage, Moderation
from bot.services.notice_templates import NoticeTemplates
from bot.services.notices import Notices
from bot.services.oncall import OnCallService
from bot.services.outbox import (
    COPY_MEDIA,
    CRM_LOOKUP,
    CUSTOMER_FACING,
    DELIVER,
    DIGEST,
    EVENTS,
    HIDE,
    LISTEN_CARD,
    LOOKUPS,
    POST_EVENT,
    PROCESS_INBOX,
    REOPEN,
    TEAM_CARD,
    Outbox,
)
from bot.services.polling import Poller
from bot.services.priority import Prioritizer, Vips
from bot.services.push import ProcessDelivery, Webhooks
from bot.services.registry import Services
from bot.services.reopening import Reopen, SendReopeningTemplate
from bot.services.replies import Replies
from bot.services.saved_replies import SavedReplies
from bot.services.service_hours import ServiceHours
from bot.services.sla import Deadlines, SlaSweeper
from bot.services.spikes import SpikeWatch
from bot.services.stats import Stats
from bot.services.surveys import Surveys, SurveySettings
from bot.services.teams import Teams
from bot.services.topics import Topics
from bot.services.updates import Updates
from bot.services.worker import OutboxWorker
from bot.slack.digest import DigestHandler
from bot.slack.directory import ChannelMembers, UserGroups, UserLocales, lead_checker
from bot.slack.failures import CALL_FAILED, NETWORK_FAILED
from bot.slack.jobs import SlackJobHandlers
from bot.slack.listening import ListenCards
from bot.slack.media import CopyMedia
from bot.slack.team_cards import TeamCards
from handlers import register_all
from handlers.commands import RunLater
from handlers.socket_mode import SocketModeReceiver, Timing
from handlers.web import wsgi_app
from storage import migrate
from storage.db import Database
from storage.leadership import Leadership
from storage.outbox_rows import Kinds

T = TypeVar("T")
_pause = time.sleep  # start-up only; tests replace it

log = structlog.get_logger(__name__)


@dataclass
class Carebridge:
    settings: Settings
    database: Database
    clock: Clock
    slack: WebClient
    bolt: App
    services: Services
    receiver: SocketModeReceiver | None = None

    @classmethod
    def build(
        cls,
        settings: Settings,
        *,
        clock: Clock | None = None,
        registry: Registry | None = None,
        later: RunLater | None = None,
    ) -> Carebridge:
        clock = clock or SystemClock()
        registry = registry or Registry.default()
        database = Database(settings.database_url)
        migrate.upgrade(database)
        slack = WebClient(
            token=settings.slack_bot_token,
            base_url=settings.slack_api_url,
            timeout=max(1, int(settings.http_timeout.total_seconds())),
            # The outbox retries, knowing which calls are safe to repeat; the SDK's own retry
            # of a dropped connection could post a message twice.
            retry_handlers=[],
        )
        accounts = build_accounts(settings, registry, database, clock)
        services = build_services(settings, database, clock, slack, accounts)
        bolt = _retrying_at_start(
            "slack.auth_test",
            lambda: App(
                client=slack,  # carries the bot token and SLACK_API_URL
                signing_secret=settings.slack_signing_secret or "",
                # Listeners only write to the database (Slack calls go through the outbox), so
                # they finish well within Slack's 3 seconds; answering after them makes a
                # retried delivery see the committed state. In Socket Mode too: the receiver
                # acknowledges after 2 seconds at the latest (handlers/socket_mode.py).
                process_before_response=True,
            ),
        )
        register_all(bolt, services, later or _in_background())
        return cls(settings, database, clock, slack, bolt, services)

    def wsgi(self) -> Callable[..., Iterable[bytes]]:
        return wsgi_app(
            self.bolt,
            self.health,
            self.settings.slack_signing_secret,
            self.services.webhooks,
        )

    def health(self) -> dict[str, Any]:
        """/healthz: the database, each account, and the Slack connection (Socket Mode)."""
        report = self.services.health()
        if self.receiver is None:
            return {**report, "slack": {"transport": "http"}}
        slack = self.receiver.status()
        return {**report, "ok": report["ok"] and slack["ok"], "slack": slack}

    def socket_mode(self, timing: Timing | None = None) -> SocketModeReceiver:
        """The Socket Mode receiver (made once): holds the link while `run` runs."""
        if self.receiver is None:
            token = self.settings.slack_app_token
            if not token:
                raise ValueError("Socket Mode needs SLACK_APP_TOKEN")
            self.receiver = SocketModeReceiver(
                self.bolt, self.slack, token, on_refused=self._app_token_refused, timing=timing
            )
        return self.receiver

    def _app_token_refused(self, reason: str) -> None:
        context = self.services.context
        now = context.clock.now()
        channel = self.settings.slack_channel_id
        with context.transaction() as session:
            key = f"slack:app_token_refused:{now.isoformat()}"
            context.outbox.channel(session, channel, key, AppTokenRefused(reason))

    def start_background(self) -> Background:
        """The outbox worker threads and the scheduler (pollers, deadlines, handoffs, digest).

        Four workers share the outbox: one for what a customer waits for (answers, hiding a
        comment), one for the events to the company's other systems (a slow receiver delays
        nothing else), one for CRM lookups (nor does a slow CRM), one for everything else, so
        an agent's answer goes out at once even while a backlog of cards and thread messages is
        being posted."""
        stop = threading.Event()
        workers = [
            self.services.worker.taking(Kinds(only=CUSTOMER_FACING), urgent=True),
            self.services.worker.taking(Kinds(only=EVENTS)),
            self.services.worker.taking(Kinds(only=LOOKUPS)),
            self.services.worker.taking(Kinds(but=CUSTOMER_FACING | EVENTS | LOOKUPS)),
        ]
        threads = []
        names = ("outbox-answers", "outbox-events", "outbox-lookups", "outbox")
        for name, worker in zip(names, workers, strict=True):
            self.services.notifier.subscribe(worker.notify)
            thread = threading.Thread(target=worker.run_forever, args=(stop,), name=name)
            thread.daemon = True
            thread.start()
            threads.append(thread)
        timers = Timers(self.settings, self.services, self.clock, Leadership(self.database))
        self.services.notifier.subscribe(timers.wake_sla)
        self.services.oncall.on_rotation_change = timers.arm_handoff
        timers.start()
        return Background(stop, threads, timers, [w.notify for w in workers])

    def serve(self, stop: threading.Event | None = None) -> None:
        """Block serving Slack: Socket Mode when an app token is set, otherwise HTTP. In Socket
        Mode the HTTP server runs too, for /healthz and the networks' webhooks."""
        import waitress

        port = self.settings.port
        if self.settings.socket_mode:
            receiver = self.socket_mode()
            threading.Thread(
                target=waitress.serve,
                args=(self.wsgi(),),
                kwargs={"host": "0.0.0.0", "port": port, "threads": 8},
                name="http",
                daemon=True,
            ).start()
            log.info("slack.socket_mode", port=port, paths=self.services.webhooks.paths())
            receiver.run(stop or threading.Event())
            return
        log.info("slack.http_mode", port=port, path="/slack/events")
        waitress.serve(self.wsgi(), host="0.0.0.0", port=port, threads=8)

    def close(self) -> None:
        self.database.dispose()


def _in_background() -> RunLater:
    """Two threads for what a listener answers after its acknowledgement; a failure is logged
    (the person sees no figures and can ask again)."""
    pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="after-ack")

    def run(job: Callable[[], None]) -> None:
        def guarded() -> None:
            try:
                job()
            except Exception:
                log.exception("after_ack.failed")

        pool.submit(guarded)

    return run


def _retrying_at_start(what: str, build: Callable[[], T], attempts: int = 6) -> T:
    """Bolt checks the token with auth.test as it starts: a Slack hiccup then (a 5xx, a reset, a
    timeout) is retried for about half a minute instead of crashing the process; a refused token
    is not retried."""
    for attempt in range(1, attempts + 1):
        try:
            return build()
        except (BoltError, *CALL_FAILED) as error:
            if attempt == attempts or not _transient(error):
                raise
            log.warning("startup.retry", what=what, attempt=attempt, reason=type(error).__name__)
            _pause(min(2**attempt, 10))
    raise AssertionError("unreachable")


def _transient(error: BaseException) -> bool:
    cause = error.__context__ if isinstance(error, BoltError) else error
    if isinstance(cause, SlackApiError):
        return cause.response.status_code >= 500 or cause.response.status_code == 429
    return isinstance(cause, NETWORK_FAILED)


@dataclass
class Background:
    stop_event: threading.Event
    workers: list[threading.Thread]
    timers: Timers
    wake_workers: list[Callable[[], None]]

    def stop(self, timeout: float = 10.0) -> bool:
        """Take no more work, let the jobs in hand finish; True if all stopped within `timeout`."""
        self.stop_event.set()
        self.timers.shutdown()
        for wake in self.wake_workers:
            wake()  # it may be waiting for its next job: let it see the stop at once
        deadline = time.monotonic() + timeout
        for worker in self.workers:
            worker.join(max(0.0, deadline - time.monotonic()))
        return not any(worker.is_alive() for worker in self.workers)


def build_accounts(
    settings: Settings, registry: Registry, database: Database, clock: Clock
) -> Accounts:
    """Each configured account with its network's adapter; nothing is called yet."""
    accounts = [
        Account(config, spec, spec.build(config, clock, settings.http_timeout))
        for config in settings.accounts
        for spec in [registry.get(config.network)]
    ]
    return Accounts(database, clock, accounts, registry, default_channel=settings.slack_channel_id)


def build_services(
    settings: Settings,
    database: Database,
    clock: Clock,
    slack: WebClient,
    accounts: Accounts,
) -> Services:
    outbox = Outbox(clock)
    notifier = Notifier()
    members = ChannelMembers(slack, clock)
    access = Access(
        is_member=members.is_member,
        refresh=members.refresh,
        is_lead=lead_checker(settings.slack_leads, UserGroups(slack, clock)),
    )
    events = (
        Events(outbox, include_text=settings.events_include_text)
        if settings.events_webhook_url
        else Events()
    )
    context = Context(database, outbox, clock, accounts, notify=notifier, events=events)
    policy = sla_policy(settings)
    hours = ServiceHours(
        context,
        policy.calendar,
        {a.name: a.business_hours for a in settings.accounts if a.business_hours is not None},
    )
    deadlines = Deadlines(policy, hours, account_targets(settings))
    oncall = OnCallService(context, settings.timezone)
    stats = Stats(context, hours)
    networks = accounts.networks()
    templates = NoticeTemplates(context, networks)
    moderation = Moderation(context, access)
    notices = Notices(
        context,
        hours,
        templates,
        deadlines,
        moderation,
        public_out_of_hours=settings.out_of_hours_public,
        netiquette_url=settings.netiquette_url,
        netiquette_window=settings.netiquette_window,
        account_public_out_of_hours={
            a.name: a.out_of_hours_public
            for a in settings.accounts
            if a.out_of_hours_public is not None
        },
    )

    customers = Customers(context, networks, settings.crm_url_template, access)
    forwarding = Forwarding(context, hours, access, warn_before=settings.sla_warn_before)
    surveys = Surveys(
        context,
        templates,
        SurveySettings(
            mode=settings.csat,
            delay=settings.csat_delay,
            cooldown=settings.csat_cooldown,
            leads=settings.slack_leads,
        ),
    )
    prioritizer = Prioritizer(context, priority_rules(settings), oncall)
    topics = Topics(context)
    crm = crm_lookup(settings, context)
    locales = UserLocales(slack, clock)
    languages = Languages(context, settings.team_language, locales.locale)
    slack_jobs = SlackJobHandlers(
        slack,
        database,
        clock,
        accounts,
        deadlines,
        oncall,
        customers,
        members,
        topics.names,
        crm=crm,
        team_language=settings.team_language,
        language_of=languages.of,
    )
    ingest = Ingest(
        outbox,
        clock,
        deadlines,
        notices,
        prioritizer,
        Updates(context, deadlines),
        reopen_window=settings.reopen_window,
        suggest_topic=topics.suggest,
        surveys=surveys,
        people=customers.people,
        events=events,
    )
    webhooks = Webhooks(context, ingest)
    health = AccountsHealth(context)
    handlers: dict[str, Any] = slack_jobs.handlers()
    handlers[DELIVER] = DeliverToCustomer(context, deadlines, health, surveys)
    handlers[DIGEST] = DigestHandler(
        slack, stats, slack_jobs.post_once, slack_jobs.call, language=settings.team_language
    )
    handlers[PROCESS_INBOX] = ProcessDelivery(webhooks)
    handlers[HIDE] = HideMessage(context)
    handlers[REOPEN] = SendReopeningTemplate(context)
    if settings.listen_channel_id:
        handlers[LISTEN_CARD] = ListenCards(
            database,
            accounts,
            settings.listen_channel_id,
            slack_jobs.post_once,
            slack_jobs.call,
            slack.chat_update,
            language=settings.team_language,
        )
    handlers[TEAM_CARD] = TeamCards(
        database,
        accounts,
        settings.timezone.key,
        clock.now,
        slack_jobs.post_once,
        slack_jobs.call,
        slack.chat_update,
        language=settings.team_language,
    )
    handlers[COPY_MEDIA] = CopyMedia(
        slack,
        context,
        slack_jobs.call,
        limit_mb=settings.media_copy_max_mb,
        language=settings.team_language,
    )
    if crm is not None:
        handlers[CRM_LOOKUP] = crm
    if settings.events_webhook_url and settings.events_webhook_secret:
        handlers[POST_EVENT] = PostEvent(
            settings.events_webhook_url,
            settings.events_webhook_secret,
            clock,
            timeout=settings.http_timeout,
        )
    worker = OutboxWorker(
        database,
        handlers,
        clock,
        pacing={"slack": settings.slack_post_interval},
        # A job makes up to a few requests (a lookup of an earlier attempt, then the call): its
        # lease must outlast them, or a second worker could repeat it while it still runs.
        lease=max(timedelta(seconds=30), 4 * settings.http_timeout),
    )
    notifier.subscribe(worker.notify)
    replies = Replies(context, access)
    return Services(
        context=context,
        conversations=Conversations(
            context,
            deadlines,
            access,
            suggest_topic=topics.suggest,
            topic_required=settings.topic_required,
            surveys=surveys,
            forwarding=forwarding,
        ),
        surveys=surveys,
        forwarding=forwarding,
        teams=Teams(context),
        languages=languages,
        replies=replies,
        saved_replies=SavedReplies(context, replies, access),
        topics=topics,
        listener=Listener(context, ingest, settings.listen_channel_id),
        spikes=SpikeWatch(
            context,
            oncall,
            settings.slack_channel_id,
            SpikeThresholds(ratio=settings.spike_ratio, floor=max(settings.spike_floor, 1)),
            settings.timezone,
        )
        if settings.spike_floor and settings.slack_channel_id
        else None,
        reopen=Reopen(context, access),
        poller=Poller(context, ingest, health),
        webhooks=webhooks,
        worker=worker,
        deadlines=deadlines,
        sweeper=SlaSweeper(context, deadlines, oncall, escalate_to=settings.sla_escalate_to),
        oncall=oncall,
        stats=stats,
        hours=hours,
        templates=templates,
        notices=notices,
        vips=Vips(context, networks),
        customers=customers,
        moderation=moderation,
        notifier=notifier,
        housekeeping=Housekeeping(context, settings.outbox_retention),
        access=access,
    )


def account_targets(settings: Settings) -> dict[str, dict[Priority, Targets]]:
    """The response targets of the accounts that set their own (ACCOUNTS_FILE)."""
    return {
        account.name: policy_targets(
            account.sla_first_response or settings.sla_first_response,
            account.sla_next_response or settings.sla_next_response,
            settings.sla_overrides,
        )
        for account in settings.accounts
        if account.sla_first_response or account.sla_next_response
    }


def crm_lookup(settings: Settings, context: Context) -> CrmLookup | None:
    """The CRM's facts on the card, when CRM_LOOKUP_URL is set."""
    if not settings.crm_lookup_url:
        return None
    return CrmLookup(
        context,
        CrmSettings(
            settings.crm_lookup_url,
            settings.crm_lookup_token,
            ttl=settings.crm_lookup_ttl,
            timeout=settings.crm_lookup_timeout,
        ),
    )


def priority_rules(settings: Settings) -> PriorityRules:
    return PriorityRules(
        followers_high=settings.priority_followers_high,
        followers_urgent=settings.priority_followers_urgent,
        urgency_keywords=parse_keywords(settings.priority_keywords),
    )


def sla_policy(settings: Settings) -> SlaPolicy:
    return SlaPolicy(
        targets=policy_targets(
            settings.sla_first_response, settings.sla_next_response, settings.sla_overrides
        ),
        warn_before=settings.sla_warn_before,
        clock=SlaClock(settings.sla_clock),
        calendar=BusinessCalendar(settings.business_hours, settings.timezone, settings.holidays),
        escalate_after=settings.sla_escalate_after,
    )
