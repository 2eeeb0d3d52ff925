"""Settings: read once from the environment (and .env, loaded by the entry point).

`load_settings` checks every variable and reports all problems at once in a `ConfigError`, so an
operator fixes their `.env` in one go instead of one restart per mistake.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TypeVar
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.domain.hours import EXPECTED_FORM as HOURS_FORM
from bot.domain.hours import BusinessHours, parse_business_hours

T = TypeVar("T")

X_CREDENTIALS = ("X_CONSUMER_KEY", "X_CONSUMER_SECRET", "X_ACCESS_TOKEN", "X_ACCESS_TOKEN_SECRET")
_DURATION = re.compile(r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")


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
    x_consumer_key: str = ""
    x_consumer_secret: str = ""
    x_access_token: str = ""
    x_access_token_secret: str = ""
    x_bearer_token: str | None = None
    x_api_url: str = "https://api.twitter.com"
    x_poll_seconds: int = 60
    x_backfill: timedelta = timedelta(hours=24)
    reopen_window: timedelta = timedelta(hours=24)
    database_url: str = "sqlite:///carebridge.db"
    port: int = 3000
    timezone: ZoneInfo = field(default_factory=lambda: ZoneInfo("UTC"))
    business_hours: BusinessHours = field(default_factory=BusinessHours)
    sla_first_response: timedelta = timedelta(hours=1)
    sla_next_response: timedelta = timedelta(hours=1)
    sla_warn_before: timedelta = timedelta(minutes=10)
    log_format: str | None = None  # None: console on a terminal, JSON otherwise

    @property
    def socket_mode(self) -> bool:
        return self.slack_app_token is not None

    def secrets(self) -> list[str]:
        """Values that must never appear in a log line."""
        values = [
            self.slack_bot_token,
            self.slack_app_token,
            self.slack_signing_secret,
            self.x_consumer_key,
            self.x_consumer_secret,
            self.x_access_token,
            self.x_access_token_secret,
            self.x_bearer_token,
        ]
        return [v for v in values if v and len(v) >= 6]


def parse_duration(text: str) -> timedelta:
    """`30s`, `15m`, `1h`, `1h30m`, `2d` -> timedelta; anything else raises ValueError."""
    match = _DURATION.match(text.strip().lower())
    if not text.strip() or not match:
        raise ValueError(text)
    days, hours, minutes, seconds = (int(g or 0) for g in match.groups())
    return timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)


def normalise_database_url(url: str) -> str:
    """Accept the URLs hosting providers hand out; psycopg 3 is the PostgreSQL driver we ship."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def load_settings(env: Mapping[str, str]) -> Settings:
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

    bot_token = token("SLACK_BOT_TOKEN", "xoxb-", required=True)
    app_token = token("SLACK_APP_TOKEN", "xapp-", required=False)
    channel = raw("SLACK_CHANNEL_ID")
    if channel is None:
        problems.append("SLACK_CHANNEL_ID is required: the support channel's id, e.g. C0123ABCD")
    elif not re.fullmatch(r"[CG][A-Z0-9]{2,}", channel):
        problems.append(f"SLACK_CHANNEL_ID={channel!r}: expected a channel id such as C0123ABCD")
    signing_secret = raw("SLACK_SIGNING_SECRET")
    if app_token is None and signing_secret is None:
        problems.append(
            "SLACK_SIGNING_SECRET is required in HTTP mode (or set SLACK_APP_TOKEN for Socket "
            "Mode): the app's signing secret from 'Basic Information'"
        )

    missing_x = [name for name in X_CREDENTIALS if raw(name) is None]
    if missing_x:
        problems.append(
            f"{', '.join(missing_x)} required for X: the brand account's OAuth 1.0a user "
            "context (consumer key and secret, access token and secret)"
        )

    def url(name: str, default: str) -> str:
        return parsed(name, default, _http_url, "an http(s) URL")

    def duration(name: str, default: timedelta) -> timedelta:
        return parsed(name, default, parse_duration, "a duration such as 30s, 15m, 1h or 1h30m")

    settings = Settings(
        slack_bot_token=bot_token or "",
        slack_channel_id=channel or "",
        slack_app_token=app_token,
        slack_signing_secret=signing_secret,
        slack_api_url=_with_trailing_slash(url("SLACK_API_URL", "https://slack.com/api/")),
        x_consumer_key=raw("X_CONSUMER_KEY") or "",
        x_consumer_secret=raw("X_CONSUMER_SECRET") or "",
        x_access_token=raw("X_ACCESS_TOKEN") or "",
        x_access_token_secret=raw("X_ACCESS_TOKEN_SECRET") or "",
        x_bearer_token=raw("X_BEARER_TOKEN"),
        x_api_url=url("X_API_URL", "https://api.twitter.com").rstrip("/"),
        x_poll_seconds=parsed(
            "X_POLL_SECONDS", 60, _int_between(5, 86_400), "whole seconds from 5 to 86400"
        ),
        x_backfill=duration("X_BACKFILL", timedelta(hours=24)),
        reopen_window=duration("REOPEN_WINDOW", timedelta(hours=24)),
        database_url=parsed(
            "DATABASE_URL",
            "sqlite:///carebridge.db",
            _database_url,
            "a SQLAlchemy URL: sqlite:///path.db or postgresql+psycopg://user@host/db",
        ),
        port=parsed("PORT", 3000, _int_between(1, 65_535), "a TCP port from 1 to 65535"),
        timezone=parsed("TIMEZONE", ZoneInfo("UTC"), _zone, "an IANA zone such as Europe/Rome"),
        business_hours=parsed("BUSINESS_HOURS", BusinessHours(), parse_business_hours, HOURS_FORM),
        sla_first_response=duration("SLA_FIRST_RESPONSE", timedelta(hours=1)),
        sla_next_response=duration("SLA_NEXT_RESPONSE", timedelta(hours=1)),
        sla_warn_before=duration("SLA_WARN_BEFORE", timedelta(minutes=10)),
        log_format=parsed("LOG_FORMAT", None, _log_format, "'json' or 'console'"),
    )
    if problems:
        raise ConfigError(problems)
    return settings


def _http_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(value)
    return value


def _with_trailing_slash(value: str) -> str:
    return value if value.endswith("/") else value + "/"


def _int_between(low: int, high: int) -> Callable[[str], int]:
    def parse(value: str) -> int:
        number = int(value)
        if not low <= number <= high:
            raise ValueError(value)
        return number

    return parse


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
