"""`carebridge doctor`: check the set-up end to end and say, line by line, what to fix.

Each check is a small function returning a `Check`. They run in order and independently: an
exception in one (a refused token, an unreachable host) becomes its failed line, never a
traceback, and the others still run. Doctor only reads: it upgrades and creates nothing.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, time
from functools import partial
from pathlib import Path
from typing import Any

import websocket
from rich.console import Console
from rich.text import Text
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.web import SlackResponse
from sqlalchemy import select
from sqlalchemy.engine import make_url

from bot.clock import Clock, SystemClock
from bot.config import ConfigError, Settings, load_settings
from bot.domain.delivery import DeliveryError
from bot.domain.hours import DAYS, BusinessHours, Interval
from bot.networks.base import AccountConfig
from bot.networks.registry import Registry
from bot.slack.scopes import REQUIRED_BOT_SCOPES
from storage import migrate
from storage.db import Database
from storage.models import ChannelAccount, PostReads, Team

SLACK_TIMEOUT_SECONDS = 10
EXIT_OK, EXIT_FAILED, EXIT_CONFIG = 0, 1, 2
TOKEN_FIX = (
    "copy the Bot User OAuth Token (xoxb-…) from OAuth & Permissions into SLACK_BOT_TOKEN; "
    "reinstall the app if it was revoked"
)
# Errors meaning the token itself is wrong (anything else: the URL, the network, Slack itself).
TOKEN_ERRORS = {"invalid_auth", "not_authed", "token_revoked", "token_expired", "account_inactive"}


@dataclass(frozen=True)
class Check:
    """One line of the report: `fix` says what to do when `ok` is False."""

    name: str
    ok: bool
    detail: str
    fix: str = ""


class SlackProbe:
    """The bot's WebClient and its one `auth.test` answer, shared by the Slack checks."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.client = WebClient(
            token=settings.slack_bot_token,
            base_url=settings.slack_api_url,
            timeout=SLACK_TIMEOUT_SECONDS,
        )
        self._auth: SlackResponse | Exception | None = None

    def auth(self) -> SlackResponse:
        # Remember a failure too: a dead token or host should cost one call, not one per check.
        if self._auth is None:
            try:
                self._auth = self.client.auth_test()
            except Exception as error:
                self._auth = error
        if isinstance(self._auth, Exception):
            raise self._auth
        return self._auth


def run_doctor(
    env: Mapping[str, str],
    *,
    console: Console | None = None,
    clock: Clock | None = None,
    registry: Registry | None = None,
) -> int:
    """Print one line per check; 0 if all pass, 1 if any fails, 2 if the settings are invalid."""
    console = console or Console()
    registry = registry or Registry.default()
    try:
        settings = load_settings(env, registry=registry)
    except ConfigError as error:
        fix = "set or correct it in the environment or in .env (.env.example lists every setting)"
        for problem in error.problems:
            show(console, Check("Configuration", False, problem, fix))
        return EXIT_CONFIG
    slack = SlackProbe(settings)
    clock = clock or SystemClock()
    channels = sorted(settings.support_channels)
    checks: list[tuple[str, Callable[[], Check]]] = [
        ("Slack token", lambda: check_slack_token(slack)),
        ("Slack scopes", lambda: check_scopes(slack)),
        *[
            (
                _channel_name(c, channels),
                lambda c=c: check_channel(slack, c, _channel_name(c, channels)),
            )
            for c in channels
        ],
        ("Slack connection", lambda: check_connection(settings)),
        *[
            (_account_name(a, registry), lambda a=a: check_account(a, settings, registry, clock))
            for a in settings.accounts
        ],
        ("Database", lambda: check_database(settings.database_url)),
        ("Business hours", lambda: check_hours(settings, clock)),
    ]
    if settings.listen_channel_id:
        listen = settings.listen_channel_id
        checks.append(
            ("Listening channel", lambda: check_channel(slack, listen, "Listening channel"))
        )
        checks.append(("Listening", lambda: check_listening(settings, clock)))
    for name, channel in team_channels(settings.database_url):
        checks.append((f"Team {name}", partial(check_channel, slack, channel, f"Team {name}")))
    results = []
    for name, check in checks:
        try:
            result = check()
        except Exception as error:  # a bug or a surprise: still one line, and the rest still run
            result = Check(name, False, f"could not be checked: {describe(error)}")
        results.append(result)
        show(console, result)
    return EXIT_OK if all(r.ok for r in results) else EXIT_FAILED


def show(console: Console, check: Check) -> None:
    line = Text.assemble(
        ("✔ " if check.ok else "✘ ", "bold green" if check.ok else "bold red"),
        (f"{check.name}: ", "bold"),
        check.detail,
    )
    if check.fix:
        line.append(" — fix: ", "red")
        line.append(check.fix)
    # Text (not markup) so "[...]" in an error prints as is; soft_wrap so piped output keeps one
    # line per check.
    console.print(line, soft_wrap=True)


def describe(error: BaseException) -> str:
    """A one-line, human reason for an exception: never a traceback."""
    if isinstance(error, SlackApiError):
        return f"Slack answered {error.response.get('error', error.response.status_code)}"
    if isinstance(error, DeliveryError):
        return error.reason
    if isinstance(error, OSError):  # urllib's URLError, timeouts, refused connections
        reason = getattr(error, "reason", None) or error.strerror or error
        return f"could not reach the server ({reason})"
    text = str(getattr(error, "orig", None) or error).strip().splitlines()
    return f"{type(error).__name__}: {text[0] if text else ''}".rstrip(": ")


def _reach_fix(variable: str, settings: Settings) -> str:
    return f"check {variable} ({settings.slack_api_url}) and the network, then try again"


def _channel_name(channel: str, channels: list[str]) -> str:
    return "Support channel" if len(channels) == 1 else f"Support channel {channel}"


def _account_name(account: AccountConfig, registry: Registry) -> str:
    label = registry.label(account.network)
    if account.source == "the environment":
        return f"{label} account"
    return f"Account {account.name} ({label})"


def _not_checked(name: str, error: Exception) -> Check:
    return Check(name, False, f"not checked: {describe(error)}", "fix the Slack token first")


# --- Slack --------------------------------------------------------------------------------------
def check_slack_token(slack: SlackProbe) -> Check:
    name = "Slack token"
    try:
        auth = slack.auth()
    except SlackApiError as error:
        if error.response.get("error") in TOKEN_ERRORS:
            return Check(name, False, f"Slack refused the bot token ({describe(error)})", TOKEN_FIX)
        return Check(name, False, describe(error), _reach_fix("SLACK_API_URL", slack.settings))
    except OSError as error:
        return Check(name, False, describe(error), _reach_fix("SLACK_API_URL", slack.settings))
    return Check(name, True, f"bot @{auth['user']} in {auth['team']}")


def check_scopes(slack: SlackProbe) -> Check:
    name = "Slack scopes"
    try:
        headers = slack.auth().headers
    except Exception as error:
        return _not_checked(name, error)
    # Slack lists the token's scopes in a response header of every Web API call.
    granted = next((v for k, v in headers.items() if k.lower() == "x-oauth-scopes"), None)
    if granted is None:
        return Check(
            name,
            False,
            "Slack did not say which scopes were granted (no x-oauth-scopes header)",
            "compare OAuth & Permissions with the bot scopes of slack-manifest.yml",
        )
    have = {scope.strip() for scope in granted.split(",")}
    missing = [scope for scope in REQUIRED_BOT_SCOPES if scope not in have]
    if missing:
        scopes = ", ".join(missing)
        return Check(
            name,
            False,
            f"missing {scopes}",
            f"add {scopes} under OAuth & Permissions (or re-paste slack-manifest.yml) and "
            "reinstall the app",
        )
    return Check(name, True, f"all {len(REQUIRED_BOT_SCOPES)} required scopes granted")


def check_channel(slack: SlackProbe, channel_id: str, name: str = "Support channel") -> Check:
    accounts = [a.name for a in slack.settings.accounts if a.slack_channel == channel_id]
    named_by = (
        "SLACK_CHANNEL_ID"
        if channel_id == slack.settings.slack_channel_id
        else f"the slack_channel of {', '.join(accounts)}"
    )
    try:
        bot = slack.auth()["user"]
    except Exception as error:
        return _not_checked(name, error)
    try:
        channel = slack.client.conversations_info(channel=channel_id)["channel"]
    except SlackApiError as error:
        if error.response.get("error") == "channel_not_found":
            return Check(
                name,
                False,
                f"{named_by} {channel_id} was not found",
                "copy the channel id from the channel details (at the bottom, C0…); a private "
                f"channel stays hidden until you /invite @{bot} there",
            )
        raise
    label = f"#{channel['name']} ({channel_id})"
    if channel.get("is_archived"):
        return Check(name, False, f"{label} is archived", "unarchive it or choose another channel")
    if not channel.get("is_member"):
        return Check(
            name,
            False,
            f"@{bot} is not a member of {label}",
            f"/invite @{bot} in #{channel['name']}",
        )
    return Check(name, True, f"{label}, @{bot} is a member")


def check_connection(settings: Settings) -> Check:
    name = "Slack connection"
    if not settings.socket_mode:
        return Check(
            name,
            True,
            f"HTTP mode on port {settings.port}: point Event Subscriptions, Interactivity and "
            "/care at https://<your host>/slack/events",
        )
    # A real link, as the bot opens it: the URL, the WebSocket, Slack's hello; then closed.
    token = settings.slack_app_token or ""
    client = WebClient(token=token, base_url=settings.slack_api_url, timeout=SLACK_TIMEOUT_SECONDS)
    try:
        url = str(client.apps_connections_open(app_token=token)["url"])
    except OSError as error:
        return Check(
            name, False, f"Socket Mode: {describe(error)}", _reach_fix("SLACK_API_URL", settings)
        )
    except SlackApiError as error:
        return Check(
            name,
            False,
            f"Socket Mode: Slack refused the app-level token ({describe(error)})",
            "under Basic Information → App-Level Tokens, create a token with connections:write "
            "and put it (xapp-…) in SLACK_APP_TOKEN; turn Socket Mode on in the app settings "
            "(or leave SLACK_APP_TOKEN empty for HTTP mode)",
        )
    try:
        hello = say_hello(url, timeout=SLACK_TIMEOUT_SECONDS)
    except (OSError, websocket.WebSocketException, ValueError) as error:
        return Check(
            name,
            False,
            f"Socket Mode: Slack accepted the app-level token but the WebSocket failed "
            f"({type(error).__name__})",
            "check that outbound WebSocket connections (wss://, port 443) are allowed here",
        )
    if hello.get("type") != "hello":
        return Check(
            name,
            False,
            f"Socket Mode: Slack answered {hello.get('reason') or hello.get('type')!s} "
            "instead of hello",
            "an app may hold 10 connections: stop stray processes of this app",
        )
    return Check(
        name,
        True,
        f"Socket Mode: connected, Slack said hello ({hello.get('num_connections', '?')} "
        "connection(s) open for this app)",
    )


def say_hello(url: str, timeout: float) -> dict[str, Any]:
    """Open a Socket Mode link, read Slack's first message, close the link."""
    ws = websocket.create_connection(url, timeout=timeout)
    try:
        first = json.loads(ws.recv())
    finally:
        ws.close()
    return first if isinstance(first, dict) else {}


# --- accounts -----------------------------------------------------------------------------------
def check_account(
    account: AccountConfig, settings: Settings, registry: Registry, clock: Clock
) -> Check:
    """The network's own check of the account (its credentials work, and whose they are)."""
    spec = registry.get(account.network)
    name = _account_name(account, registry)
    channel = account.slack_channel or settings.slack_channel_id
    where = f" → {channel}" if account.source != "the environment" else ""
    if spec.doctor is None:
        return Check(name, True, f"no check for {spec.label}{where}")
    try:
        finding = spec.doctor(account, spec.build(account, clock, settings.http_timeout))
    except DeliveryError as error:
        return Check(name, False, error.reason, spec.credentials_fix)
    return Check(name, finding.ok, finding.detail + (where if finding.ok else ""), finding.fix)


# --- database -----------------------------------------------------------------------------------
def check_database(url: str) -> Check:
    name = "Database"
    parsed = make_url(url)
    shown = parsed.render_as_string(hide_password=True)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        path = Path(parsed.database or "")
        if not path.exists():
            # A pass: before the first start there is no file, and that is how it should be
            # (`carebridge run` creates and upgrades it). A red line here would teach operators
            # to ignore red lines. What can be wrong now is the folder, so check that instead.
            folder = path.parent.resolve()
            if not folder.is_dir():
                return Check(name, False, f"{shown}: folder {folder} does not exist", "create it")
            return Check(
                name,
                True,
                f"{shown}: no database yet: carebridge run or carebridge db upgrade creates it",
            )
    database = Database(url)
    try:
        current, head = migrate.current_revision(database), migrate.head_revision()
    except Exception as error:
        reason = describe(error)
        if parsed.password:  # drivers rarely echo it, but a password must never be printed
            reason = reason.replace(parsed.password, "***")
        return Check(
            name, False, f"cannot connect to {shown}: {reason}", "check DATABASE_URL and the server"
        )
    finally:
        database.dispose()
    if current == head:
        return Check(name, True, f"{shown} at revision {current} (head)")
    state = "has no Carebridge schema yet" if current is None else f"is at revision {current}"
    return Check(
        name,
        False,
        f"{shown} {state}; the code expects {head}",
        "run `carebridge db upgrade` (carebridge run also upgrades on start)",
    )


def team_channels(url: str) -> list[tuple[str, str]]:
    """The specialist teams' channels (`/care teams`): the bot must be in each to post their
    cards and read the specialists' notes."""
    if not _sqlite_file_exists(url):
        return []  # opening it would create it: doctor creates nothing
    database = Database(url)
    try:
        with database.reading() as session:
            rows = session.execute(
                select(Team.name, Team.slack_channel_id)
                .where(Team.removed_at.is_(None))
                .order_by(Team.name)
            ).all()
        return [(str(name), str(channel)) for name, channel in rows]
    except Exception:  # no schema yet: no teams yet either
        return []
    finally:
        database.dispose()


def _sqlite_file_exists(url: str) -> bool:
    """False for a SQLite file not there yet; True for one that is, and for any other database."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return True
    return Path(parsed.database).exists()


def check_listening(settings: Settings, clock: Clock) -> Check:
    """Which accounts listen, and the posts read this month against their budget (X bills
    each post read)."""
    listening = [a for a in settings.accounts if a.value("listen_query")]
    if not listening:
        problem = "LISTEN_CHANNEL_ID is set but no account has LISTEN_QUERY"
        fix = "set LISTEN_QUERY (or listen_query in ACCOUNTS_FILE), or unset LISTEN_CHANNEL_ID"
        return Check("Listening", False, problem, fix)
    month = clock.now().astimezone(UTC).strftime("%Y-%m")
    database = Database(settings.database_url)
    try:
        with database.reading() as session:
            rows = session.execute(
                select(ChannelAccount.name, PostReads.posts)
                .join(PostReads, PostReads.account_id == ChannelAccount.id)
                .where(PostReads.month == month)
            ).all()
        read = {str(name): int(posts) for name, posts in rows}
    except Exception:  # no schema yet: nothing read yet either
        read = {}
    finally:
        database.dispose()
    parts = []
    for account in listening:
        budget = account.value("read_budget")
        spent = read.get(account.name, 0)
        parts.append(
            f"{account.name}: {spent:,} posts read in {month}"
            + (f" of {int(budget):,} (X_READ_BUDGET)" if budget else " (no X_READ_BUDGET)")
        )
    return Check("Listening", True, "; ".join(parts))


# --- business hours -----------------------------------------------------------------------------
def check_hours(settings: Settings, clock: Clock) -> Check:
    zone, hours = settings.timezone, settings.business_hours
    if hours.always_open:
        return Check("Business hours", True, f"{zone.key}, always open")
    local = clock.now().astimezone(zone)
    state = "open" if hours.is_open(local) else "closed"
    # Printed from the parsed rules, so the operator sees how Carebridge understood them.
    return Check(
        "Business hours",
        True,
        f"{zone.key}, {format_hours(hours)} — {state} now ({local:%a %H:%M})",
    )


def format_hours(hours: BusinessHours) -> str:
    """`mon-fri 09:00-18:00; sat 09:00-13:00`: consecutive days with the same hours grouped."""
    rules: list[tuple[int, int, tuple[Interval, ...]]] = []  # first day, last day, intervals
    for day, intervals in enumerate(hours.by_weekday):
        if rules and rules[-1][2] == intervals and rules[-1][1] == day - 1:
            rules[-1] = (rules[-1][0], day, intervals)
        elif intervals:
            rules.append((day, day, intervals))
    return "; ".join(
        f"{_days(first, last)} {_clock(i.start)}-{_clock(i.end)}"
        for first, last, intervals in rules
        for i in intervals
    )


def _days(first: int, last: int) -> str:
    return DAYS[first] if first == last else f"{DAYS[first]}-{DAYS[last]}"


def _clock(moment: time) -> str:
    return "24:00" if moment == time.max else f"{moment:%H:%M}"
