"""How many follow a commenter, by Business Discovery: the Graph API's public view of another
Instagram business or creator account, asked on the brand's own account.

`GET /{account-id}?fields=business_discovery.username(<username>){followers_count,name,username}`
answers `{"business_discovery": {"followers_count", "name", "username", "id"}, "id"}`. Meta
answers only for professional accounts: a personal account, or a username that does not exist,
is refused alike (code 110, subcode 2207013, "Invalid user id"). It needs `instagram_basic` and
`pages_read_engagement` on the Page token (the endpoint's reference also lists
`instagram_manage_insights`), and every call counts against the app's rate limit, so:

- an answer is kept for a day per username, a refusal too (most commenters are personal);
- a rate limit pauses discovery until Meta says (a minute when it does not), a failure for a
  minute, a missing permission for an hour: comments keep arriving meanwhile, without a count;
- a count already known is used again, past its day, while Meta cannot be asked.

Nothing here raises: a count is no reason to lose or hold up a comment.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog

from bot.clock import Clock
from bot.domain.delivery import (
    CredentialsRefused,
    PermanentError,
    RateLimited,
    rate_limit_until,
)
from bot.networks.meta.graph import GraphClient, Refusals

log = structlog.get_logger(__name__)

KEPT_FOR = timedelta(days=1)  # followers change slowly; a personal account rarely turns business
KEPT = 10_000  # usernames kept in memory per account (the most recent ones)
PAUSE_AFTER_FAILURE = timedelta(minutes=1)
PAUSE_WITHOUT_PERMISSION = timedelta(hours=1)
FIELDS = "followers_count,name,username"
# Usernames are letters, digits, dots and underscores: anything else (from a tampered payload)
# must never reach the `fields` expression, where a parenthesis or brace would change the query.
_USERNAME = re.compile(r"[A-Za-z0-9._]{1,30}")
_ACCOUNT_ID = re.compile(r"[0-9]{1,32}")  # the brand's own account: the path asked
_NOT_PERMITTED = (
    "Instagram refused Business Discovery: the Page token lacks instagram_basic, "
    "pages_read_engagement or instagram_manage_insights"
)
_REFUSALS = Refusals(not_permitted=_NOT_PERMITTED, network="Instagram")


@dataclass(frozen=True)
class Discovered:
    """What Business Discovery says of a business or creator account."""

    followers: int
    name: str


@dataclass(frozen=True)
class _Kept:
    found: Discovered | None  # None: Meta would not say (a personal account)
    at: datetime


class BusinessDiscovery:
    def __init__(self, graph: GraphClient, account_id: str, clock: Clock) -> None:
        self._graph = graph
        self._account_id = account_id
        self._clock = clock
        self._kept: OrderedDict[str, _Kept] = OrderedDict()  # lower-case username -> answer
        self._paused_until: datetime | None = None
        self._lock = threading.Lock()

    def lookup(self, username: str, *, message_id: str) -> Discovered | None:
        """The account's followers and name; None when Meta will not or cannot say now.
        `message_id` only names the comment in the logs (never the username)."""
        if not _USERNAME.fullmatch(username) or not _ACCOUNT_ID.fullmatch(self._account_id):
            return None
        key, now = username.lower(), self._clock.now()
        with self._lock:
            kept = self._kept.get(key)
            if kept is not None:
                self._kept.move_to_end(key)
                if now - kept.at < KEPT_FOR:
                    return kept.found
            paused = self._paused_until is not None and now < self._paused_until
        stale = kept.found if kept is not None else None
        if paused:
            return stale
        # Asked outside the lock: two threads may both ask Meta once, which is harmless.
        try:
            answer = self._graph.call(
                "GET",
                self._account_id,
                "looking up a commenter's business account",
                params={"fields": f"business_discovery.username({username}){{{FIELDS}}}"},
                refusals=_REFUSALS,
            )
        except RateLimited as error:
            until = rate_limit_until(error.retry_at, now)
            self._pause(until, "instagram.discovery.rate_limited", message_id, error)
            return stale
        except CredentialsRefused as error:  # said by every other call too: not the username's
            self._pause(now + PAUSE_AFTER_FAILURE, "instagram.discovery.failed", message_id, error)
            return stale
        except PermanentError as error:
            if error.reason == _NOT_PERMITTED:
                until = now + PAUSE_WITHOUT_PERMISSION
                self._pause(until, "instagram.discovery.not_permitted", message_id, error)
                return stale
            # The usual answer for a personal account: expected, so not a warning.
            log.info("instagram.discovery.refused", message_id=message_id, reason=error.reason)
            self._keep(key, None, now)
            return None
        except Exception as error:  # unreachable, reset, timed out, 5xx, unreadable
            self._pause(now + PAUSE_AFTER_FAILURE, "instagram.discovery.failed", message_id, error)
            return stale
        found = _discovered(answer.get("business_discovery"))
        self._keep(key, found, now)
        return found

    def _keep(self, key: str, found: Discovered | None, now: datetime) -> None:
        with self._lock:
            self._kept[key] = _Kept(found, now)
            self._kept.move_to_end(key)
            while len(self._kept) > KEPT:
                self._kept.popitem(last=False)

    def _pause(self, until: datetime, event: str, message_id: str, error: Exception) -> None:
        with self._lock:
            self._paused_until = max(until, self._paused_until or until)
        log.warning(
            event,
            message_id=message_id,
            error=type(error).__name__,
            reason=getattr(error, "reason", None),
            paused_until=until.isoformat(),
        )


def _discovered(found: object) -> Discovered | None:
    if not isinstance(found, dict):
        return None
    followers, name = found.get("followers_count"), found.get("name")
    if not isinstance(followers, int) or isinstance(followers, bool) or followers < 0:
        return None
    return Discovered(followers, name.strip() if isinstance(name, str) else "")
