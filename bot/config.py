"""Settings: read once from the environment (and .env, loaded by the entry point).

`load_settings` checks every variable and reports all problems at once in a `ConfigError`, so an
operator fixes their `.env` in one go instead of one restart per mistake.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, time, timedelta
from pathlib import Path
from typing import TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.accounts_file import Problems, accounts_from_environment, accounts_from_file
from bot.domain.crm import TEMPLATE_FORM as CRM_TEMPLATE_FORM
from bot.domain.crm import check_template as check_crm_template
from bot.domain.hours import EXPECTED_FORM as HOURS_FORM
from bot.domain.hours import HOLIDAYS_FORM, BusinessHours, parse_business_hours, parse_holidays
from bot.domain.surveys import SurveyMode
from bot.networks.base import AccountConfig
from bot.networks.registry import Registry
from bot.parsing import (
    DURATION_FORM,
    POSITIVE_DURATION_FORM,
    boolean,
    http_url,
    int_between,
    parse_duration,
    positive_duration,
)

T = TypeVar("T")

PRIORITIES = ("urgent", "high", "normal", "low")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# The weekly digest: weekday (0 = Monday) and local time; None turns it off.
DEFAULT_DIGEST: tuple[int, time] | None = (0, time(9, 0))


class ConfigError(Exception):
    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__(str(self))

    def __str__(self) -> str:
        lines = "\n".join(f"  - {p}" for p in self.problems)
        return f"Carebridge cannot start: {len(self.problems)} setting(s) need fixing:\n{lines}"


@dataclass(frozen=True)
class Settings:
    slack_bot_token: str
    slack_channel_id: str
    slack_app_token: str | None = None
    slack_signing_secret: str | None = None
    slack_api_url: str = "https://slack.com/api/"
    # The brand accounts: from ACCOUNTS_FILE, or one per network from the environment.
    accounts: tuple[AccountConfig, ...] = ()
    accounts_file: str | None = None
    http_timeout: timedelta = timedelta(seconds=10)  # per Slack or network request
    # Posts to one Slack channel are this far apart: Slack allows about one a second.
    slack_post_interval: timedelta = timedelta(seconds=1)
    reopen_window: timedelta = timedelta(hours=24)
    # Finished outbox jobs and processed webhook deliveries are deleted after this long; their
    # keys keep effects once-only meanwhile (a retry or redelivery comes within minutes).
    outbox_retention: timedelta = timedelta(days=7)
    media_copy_max_mb: int = 100  # customers' media copied into threads up to this; 0: never
    listen_channel_id: str | None = None  # where listening's posts go; None: listening is off
    listen_poll_seconds: int = 300
    topic_required: bool = False  # TOPIC_ON_RESOLVE=require: no Resolve without a topic
    spike_ratio: float = 3.0  # an incident: this many times the usual negative posts...
    spike_floor: int = 10  # ... and at least this many, in 15 minutes; 0: no spike alerts
    team_language: str = "en"  # TEAM_LANGUAGE: what channel messages are written in
    csat: SurveyMode = SurveyMode.PRIVATE  # satisfaction surveys after Resolve
    csat_delay: timedelta = timedelta(minutes=10)
    csat_cooldown: timedelta = timedelta(days=7)  # never asked twice within this
    database_url: str = "sqlite:///carebridge.db"
    port: int = 3000
    timezone: ZoneInfo = field(default_factory=lambda: ZoneInfo("UTC"))
    business_hours: BusinessHours = field(default_factory=BusinessHours)
    sla_first_response: timedelta = timedelta(hours=1)
    sla_next_response: timedelta = timedelta(hours=1)
    sla_warn_before: timedelta = timedelta(minutes=10)
    holidays: frozenset[date] = frozenset()
    sla_clock: str = "business"  # or "always": wall time
    # Per-priority targets, e.g. {"first_response_urgent": 15 min}: SLA_FIRST_RESPONSE_URGENT...
    sla_overrides: dict[str, timedelta] = field(default_factory=dict)
    sla_escalate_to: tuple[str, ...] = ()  # Slack user group (S...) or user (U...) ids
    sla_escalate_after: timedelta | None = None
    digest: tuple[int, time] | None = DEFAULT_DIGEST
    out_of_hours_public: bool = False  # X's automation rules restrict automated public replies
    netiquette_url: str | None = None
    netiquette_window: timedelta = timedelta(days=30)
    slack_leads: tuple[str, ...] = ()  # user group (S...) or user (U...) ids
    priority_followers_high: int = 10_000
    priority_followers_urgent: int = 100_000
    priority_keywords: str = ""  # comma-separated stems; empty: the built-in Italian and English
    crm_url_template: str | None = None  # e.g. https://crm.example.com/search?q={handle}
    # The CRM's facts on the card: a GET per customer, in the background (bot/services/crm.py).
    crm_lookup_url: str | None = None  # with {network}, {handle}, {external_id}; None: no lookup
    crm_lookup_token: str | None = None  # sent as `Authorization: Bearer`
    crm_lookup_ttl: timedelta = timedelta(hours=1)  # facts are asked for again after this long
    crm_lookup_timeout: timedelta = timedelta(seconds=2)
    log_format: str | None = None  # None: console on a terminal, JSON otherwise
    # Conversation events POSTed, signed, to the company's other systems; None: none sent.
    events_webhook_url: str | None = None
    events_webhook_secret: str | None = None
    events_include_text: bool = False  # customers' words, names and network ids in events

    @property
    def socket_mode(self) -> bool:
        return self.slack_app_token is not None

    @property
    def support_channels(self) -> frozenset[str]:
        """Every Slack channel conversations are mirrored into."""
        channels = {account.slack_channel for account in self.accounts}
        return frozenset(channels | ({self.slack_channel_id} if self.slack_channel_id else set()))

    def secrets(self, registry: Registry | None = None) -> list[str]:
        """Values that must never appear in a log line."""
        registry = registry or Registry.default()
        values = [self.slack_bot_token, self.slack_app_token, self.slack_signing_secret]
        values.append(self.events_webhook_secret)
        values.append(self.crm_lookup_token)
        for account in self.accounts:
            spec = registry.find(account.network)
            for setting in spec.settings if spec else ():
                value = account.value(setting.key)
                if setting.secret and isinstance(value, str):
                    values.append(value)
        return [v for v in values if v and len(v) >= 6]


def normalise_database_url(url: str) -> str:
    """Accept the URLs hosting providers hand out; psycopg 3 is the PostgreSQL driver we ship."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def load_settings(
    env: Mapping[str, str], *, require_services: bool = True, registry: Registry | None = None
) -> Settings:
    """All settings from `env`. With `require_services=False` (reports, database commands), the
    Slack and network credentials may be missing; everything present is still checked."""
    registry = registry or Registry.default()
    problems: list[str] = []

    def raw(name: str) -> str | None:
        value = env.get(name, "").strip()
        return value or None

    def parsed(name: str, default: T, parse: Callable[[str], T], expects: str) -> T:
        value = raw(name)
        if value is None:
            return default
        try:
            return parse(value)
        except (ValueError, ZoneInfoNotFoundError):
            problems.append(f"{name}={value!r}: expected {expects}")
            return default

    def token(name: str, prefix: str, *, required: bool, why: str = "") -> str | None:
        value = raw(name)
        if value is None:
            if required:
                problems.append(f"{name} is required{why}: a token starting with '{prefix}'")
            return None
        if not value.startswith(prefix):
            problems.append(f"{name}: expected a token starting with '{prefix}'")
        return value

    bot_token = token("SLACK_BOT_TOKEN", "xoxb-", required=require_services)
    app_token = token("SLACK_APP_TOKEN", "xapp-", required=False)
    channel = raw("SLACK_CHANNEL_ID")
    if channel is not None and not re.fullmatch(r"[CG][A-Z0-9]{2,}", channel):
        problems.append(f"SLACK_CHANNEL_ID={channel!r}: expected a channel id such as C0123ABCD")
    signing_secret = raw("SLACK_SIGNING_SECRET")
    if require_services and app_token is None and signing_secret is None:
        problems.append(
            "SLACK_SIGNING_SECRET is required in HTTP mode (or set SLACK_APP_TOKEN for Socket "
            "Mode): the app's signing secret from 'Basic Information'"
        )

    account_problems = Problems()
    accounts_file = raw("ACCOUNTS_FILE")
    default_channel = channel if channel and re.fullmatch(r"[CG][A-Z0-9]{2,}", channel) else ""
    if accounts_file is not None:
        accounts = accounts_from_file(
            Path(accounts_file), env, registry, default_channel, account_problems
        )
    else:
        accounts = accounts_from_environment(
            env, registry, default_channel, account_problems, required=require_services
        )
    problems.extend(account_problems.found)
    # Every account's own channel, or SLACK_CHANNEL_ID for those that name none.
    if (
        channel is None
        and require_services
        and (accounts_file is None or any(not a.slack_channel for a in accounts))
    ):
        problems.insert(1, "SLACK_CHANNEL_ID is required: the support channel's id, e.g. C0123ABCD")

    def url(name: str, default: str) -> str:
        return parsed(name, default, http_url, "an http(s) URL")

    def duration(name: str, default: timedelta) -> timedelta:
        return parsed(name, default, positive_duration, POSITIVE_DURATION_FORM)

    def optional_duration(name: str) -> timedelta | None:
        return parsed(name, None, positive_duration, POSITIVE_DURATION_FORM)

    settings = Settings(
        slack_bot_token=bot_token or "",
        slack_channel_id=channel or "",
        slack_app_token=app_token,
        slack_signing_secret=signing_secret,
        slack_api_url=_with_trailing_slash(url("SLACK_API_URL", "https://slack.com/api/")),
        accounts=accounts,
        accounts_file=accounts_file,
        http_timeout=duration("HTTP_TIMEOUT", timedelta(seconds=10)),
        slack_post_interval=parsed(
            "SLACK_POST_INTERVAL",
            timedelta(seconds=1),
            parse_duration,
            DURATION_FORM + " (0s: no pacing, for emulators and benchmarks)",
        ),
        reopen_window=duration("REOPEN_WINDOW", timedelta(hours=24)),
        outbox_retention=parsed(
            "OUTBOX_RETENTION",
            timedelta(days=7),
            _at_least_a_day,
            "a duration of a day or more, e.g. 7d",
        ),
        listen_channel_id=parsed(
            "LISTEN_CHANNEL_ID",
            None,
            _channel_id,
            "a channel id such as C0123ABCD (not the support channel)",
        ),
        listen_poll_seconds=parsed(
            "LISTEN_POLL_SECONDS", 300, int_between(60, 86_400), "whole seconds from 60 to 86400"
        ),
        topic_required=parsed(
            "TOPIC_ON_RESOLVE",
            False,
            _topic_on_resolve,
            "'suggest' (a topic is suggested when there is none) or 'require'",
        ),
        spike_ratio=parsed("SPIKE_RATIO", 3.0, _ratio, "a number above 1, e.g. 3"),
        spike_floor=parsed(
            "SPIKE_FLOOR", 10, int_between(0, 100_000), "a whole number (0: no spike alerts)"
        ),
        team_language=parsed(
            "TEAM_LANGUAGE", "en", _team_language, "'it' or 'en' (what the team reads)"
        ),
        csat=parsed(
            "CSAT",
            SurveyMode.PRIVATE,
            lambda value: SurveyMode(value.strip().lower()),
            "'off', 'private' (conversations that had a private part) or 'all'",
        ),
        csat_delay=parsed("CSAT_DELAY", timedelta(minutes=10), parse_duration, DURATION_FORM),
        csat_cooldown=parsed(
            "CSAT_COOLDOWN", timedelta(days=7), parse_duration, DURATION_FORM + " (0s: none)"
        ),
        media_copy_max_mb=parsed(
            "MEDIA_COPY_MAX_MB",
            100,
            int_between(0, 1000),
            "megabytes from 0 (never copy customers' media into Slack) to 1000",
        ),
        database_url=parsed(
            "DATABASE_URL",
            "sqlite:///carebridge.db",
            _database_url,
            "a SQLAlchemy URL: sqlite:///path.db or postgresql+psycopg://user@host/db",
        ),
        port=parsed("PORT", 3000, int_between(1, 65_535), "a TCP port from 1 to 65535"),
        timezone=parsed("TIMEZONE", ZoneInfo("UTC"), _zone, "an IANA zone such as Europe/Rome"),
        business_hours=parsed("BUSINESS_HOURS", BusinessHours(), parse_business_hours, HOURS_FORM),
        sla_first_response=duration("SLA_FIRST_RESPONSE", timedelta(hours=1)),
        sla_next_response=duration("SLA_NEXT_RESPONSE", timedelta(hours=1)),
        sla_warn_before=parsed(
            "SLA_WARN_BEFORE", timedelta(minutes=10), parse_duration, DURATION_FORM + " (0s: none)"
        ),
        holidays=parsed("HOLIDAYS", frozenset(), parse_holidays, HOLIDAYS_FORM),
        sla_clock=parsed("SLA_CLOCK", "business", _sla_clock, "'business' or 'always'"),
        sla_overrides={
            f"{target}_{priority}": value
            for target in ("first_response", "next_response")
            for priority in PRIORITIES
            if (value := optional_duration(f"SLA_{target.upper()}_{priority.upper()}")) is not None
        },
        sla_escalate_to=parsed(
            "SLA_ESCALATE_TO",
            (),
            _slack_ids,
            "Slack user group ids (S0123ABCD) or user ids (U0123ABCD), separated by commas",
        ),
        sla_escalate_after=optional_duration("SLA_ESCALATE_AFTER"),
        digest=parsed(
            "DIGEST_SCHEDULE",
            DEFAULT_DIGEST,
            _weekly_time,
            "'off' or a day and time, e.g. mon 09:00",
        ),
        out_of_hours_public=parsed("OUT_OF_HOURS_PUBLIC", False, boolean, "true or false"),
        netiquette_url=parsed("NETIQUETTE_URL", None, http_url, "an http(s) URL of your rules"),
        netiquette_window=duration("NETIQUETTE_WINDOW", timedelta(days=30)),
        slack_leads=parsed(
            "SLACK_LEADS",
            (),
            _slack_ids,
            "Slack user group ids (S0123ABCD) or user ids (U0123ABCD), separated by commas",
        ),
        priority_followers_high=parsed(
            "PRIORITY_FOLLOWERS_HIGH",
            10_000,
            int_between(1, 10**10),
            "a whole number of followers",
        ),
        priority_followers_urgent=parsed(
            "PRIORITY_FOLLOWERS_URGENT",
            100_000,
            int_between(1, 10**10),
            "a whole number of followers",
        ),
        priority_keywords=raw("PRIORITY_KEYWORDS") or "",
        crm_url_template=parsed(
            "CRM_URL_TEMPLATE",
            None,
            _crm_template,
            "an http(s) URL with {handle}, e.g. https://crm.example.com/search?q={handle}",
        ),
        crm_lookup_url=parsed("CRM_LOOKUP_URL", None, check_crm_template, CRM_TEMPLATE_FORM),
        crm_lookup_token=raw("CRM_LOOKUP_TOKEN"),
        crm_lookup_ttl=duration("CRM_LOOKUP_TTL", timedelta(hours=1)),
        crm_lookup_timeout=parsed(
            "CRM_LOOKUP_TIMEOUT",
            timedelta(seconds=2),
            _short_timeout,
            "seconds from 0.1s to 10s, e.g. 2s or 0.5s",
        ),
        log_format=parsed("LOG_FORMAT", None, _log_format, "'json' or 'console'"),
        events_webhook_url=parsed(
            "EVENTS_WEBHOOK_URL", None, http_url, "an http(s) URL that receives the events"
        ),
        events_webhook_secret=raw("EVENTS_WEBHOOK_SECRET"),
        events_include_text=parsed("EVENTS_INCLUDE_TEXT", False, boolean, "true or false"),
    )
    problems.extend(_events_secret_problems(settings))
    if settings.priority_followers_urgent < settings.priority_followers_high:
        problems.append(
            "PRIORITY_FOLLOWERS_URGENT must be at least PRIORITY_FOLLOWERS_HIGH "
            f"({settings.priority_followers_urgent} < {settings.priority_followers_high})"
        )
    if problems:
        raise ConfigError(problems)
    return settings


def _events_secret_problems(settings: Settings) -> list[str]:
    """The secret signs every event: required with the URL, and long enough not to guess (its
    value is never quoted)."""
    secret = settings.events_webhook_secret
    if settings.events_webhook_url and secret is None:
        return [
            "EVENTS_WEBHOOK_SECRET is required with EVENTS_WEBHOOK_URL: a random string of 16 "
            "characters or more, shared with the receiver, that signs every event"
        ]
    if secret is not None and len(secret) < 16:
        return ["EVENTS_WEBHOOK_SECRET: expected 16 characters or more"]
    return []


def _with_trailing_slash(value: str) -> str:
    return value if value.endswith("/") else value + "/"


def _team_language(value: str) -> str:
    language = value.strip().lower()
    if language not in ("it", "en"):
        raise ValueError(value)
    return language


def _topic_on_resolve(value: str) -> bool:
    choice = value.strip().lower()
    if choice not in ("suggest", "require"):
        raise ValueError(value)
    return choice == "require"


def _ratio(value: str) -> float:
    ratio = float(value)
    if not 1 < ratio <= 100:
        raise ValueError(value)
    return ratio


def _channel_id(value: str) -> str:
    if not re.fullmatch(r"[CG][A-Z0-9]{2,}", value.strip()):
        raise ValueError(value)
    return value.strip()


def _zone(value: str) -> ZoneInfo:
    if not value or value.startswith("/") or ".." in value:
        raise ValueError(value)
    return ZoneInfo(value)


def _database_url(value: str) -> str:
    value = normalise_database_url(value)
    if not value.startswith(("sqlite:///", "postgresql+psycopg://")):
        raise ValueError(value)
    return value


def _log_format(value: str) -> str:
    if value.lower() not in ("json", "console"):
        raise ValueError(value)
    return value.lower()


def _crm_template(value: str) -> str:
    if "{handle}" not in value:
        raise ValueError(value)
    http_url(value.replace("{handle}", "someone").replace("{network}", "network"))
    return value


def _short_timeout(value: str) -> timedelta:
    """ "2s", "0.5s" or "2": a timeout of a tenth of a second to ten seconds."""
    match = re.fullmatch(r"(\d{1,2}(?:\.\d{1,3})?)s?", value.strip().lower())
    if not match or not 0.1 <= float(match[1]) <= 10:
        raise ValueError(value)
    return timedelta(seconds=float(match[1]))


def _sla_clock(value: str) -> str:
    if value.lower() not in ("business", "always"):
        raise ValueError(value)
    return value.lower()


def _slack_ids(value: str) -> tuple[str, ...]:
    ids = tuple(part.strip() for part in value.split(",") if part.strip())
    if not ids or not all(re.fullmatch(r"[SUW][A-Z0-9]{2,}", i) for i in ids):
        raise ValueError(value)
    return ids


def _weekly_time(value: str) -> tuple[int, time] | None:
    if value.strip().lower() == "off":
        return None
    match = re.fullmatch(r"([a-z]{3})\s+(\d{1,2}):(\d{2})", value.strip().lower())
    if not match or match[1] not in WEEKDAYS or int(match[2]) > 23 or int(match[3]) > 59:
        raise ValueError(value)
    return WEEKDAYS.index(match[1]), time(int(match[2]), int(match[3]))


def _at_least_a_day(text: str) -> timedelta:
    value = parse_duration(text)
    if value < timedelta(days=1):
        raise ValueError("less than a day")
    return value
