"""Who is in a Slack user group (SLACK_LEADS), cached briefly: membership rarely changes, and a
button click must not wait on a Web API call every time."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from contextlib import suppress
from datetime import datetime, timedelta

import structlog
from slack_sdk import WebClient

from bot.clock import Clock
from bot.services.context import AccessUnknown
from bot.slack.failures import CALL_FAILED

log = structlog.get_logger(__name__)


class UserGroups:
    def __init__(self, client: WebClient, clock: Clock, ttl: timedelta = timedelta(minutes=5)):
        self.client = client
        self.clock = clock
        self.ttl = ttl
        self._cache: dict[str, tuple[datetime, frozenset[str]]] = {}
        self._lock = threading.Lock()

    def members(self, group: str) -> frozenset[str]:
        now = self.clock.now()
        with self._lock:
            cached = self._cache.get(group)
        if cached is not None and now - cached[0] < self.ttl:
            return cached[1]
        try:
            users = frozenset(self.client.usergroups_users_list(usergroup=group)["users"])
        except CALL_FAILED as error:
            log.warning("slack.usergroup_failed", group=group, reason=str(error)[:200])
            if cached is None:
                raise AccessUnknown(f"could not list user group {group}") from error
            return cached[1]  # stale beats locking everyone out
        with self._lock:
            self._cache[group] = (now, users)
        return users


def lead_checker(leads: Iterable[str], groups: UserGroups) -> Callable[[str], bool]:
    """`is_lead(user)`: a user listed in SLACK_LEADS, or a member of a group listed there."""
    ids = tuple(leads)

    def is_lead(user: str) -> bool:
        return user in ids or any(user in groups.members(g) for g in ids if g.startswith("S"))

    return is_lead


class ChannelMembers:
    """Who is in each support channel (conversations.members, every page), cached briefly so
    that a click does not wait on Slack, yet someone removed loses access within a minute."""

    def __init__(self, client: WebClient, clock: Clock, ttl: timedelta = timedelta(minutes=1)):
        self.client = client
        self.clock = clock
        self.ttl = ttl
        self._cached: dict[str, tuple[datetime, frozenset[str]]] = {}
        self._lock = threading.Lock()

    def is_member(self, user: str, channel: str) -> bool:
        return user in self.members(channel)

    def members(self, channel: str) -> frozenset[str]:
        now = self.clock.now()
        with self._lock:
            cached = self._cached.get(channel)
        if cached is not None and now - cached[0] < self.ttl:
            return cached[1]
        return self._fetch(channel)

    def refresh(self, channels: Iterable[str]) -> None:
        """Ask Slack again before the lists expire (the scheduler does, every half TTL), so an
        agent's answer or click never waits for conversations.members; once a minute one did,
        up to a second while Slack was busy with a backlog's cards."""
        for channel in channels:
            with suppress(AccessUnknown):
                self._fetch(channel)

    def _fetch(self, channel: str) -> frozenset[str]:
        now = self.clock.now()
        with self._lock:
            cached = self._cached.get(channel)
        try:
            users: set[str] = set()
            for page in self.client.conversations_members(channel=channel, limit=200):
                users.update(page["members"])
        except CALL_FAILED as error:
            log.warning("slack.members_failed", channel=channel, reason=str(error)[:200])
            if cached is None:
                raise AccessUnknown(f"could not list the members of {channel}") from error
            return cached[1]  # stale beats locking everyone out
        fresh = frozenset(users)
        with self._lock:
            self._cached[channel] = (now, fresh)
        return fresh


class UserLocales:
    """Each person's Slack locale (`users.info` with include_locale), cached for a day: what
    language Carebridge speaks to them unless they chose one with `/care language`."""

    def __init__(self, client: WebClient, clock: Clock, ttl: timedelta = timedelta(days=1)):
        self.client = client
        self.clock = clock
        self.ttl = ttl
        self._cache: dict[str, tuple[datetime, str | None]] = {}
        self._lock = threading.Lock()

    def locale(self, user: str) -> str | None:
        now = self.clock.now()
        with self._lock:
            cached = self._cache.get(user)
        if cached is not None and now - cached[0] < self.ttl:
            return cached[1]
        try:
            found = self.client.users_info(user=user, include_locale=True)["user"].get("locale")
        except CALL_FAILED as error:
            log.warning("slack.user_locale_failed", user=user, reason=str(error)[:200])
            return cached[1] if cached is not None else None  # the team's language meanwhile
        locale = found if isinstance(found, str) else None
        with self._lock:
            self._cache[user] = (now, locale)
        return locale
