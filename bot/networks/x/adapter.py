"""X (Twitter) through tweepy's API v2 client: mentions and DMs in, replies and DMs out.

A backlog is fetched whole, page by page, across polls if need be. X lists newest first, so a
poll that stops at its page limit keeps a cursor that says where it stopped (mentions: the
oldest id fetched, used as `until_id`; DMs: the next page's token) and the next poll goes on
from there; only when the backlog is exhausted does the cursor move to the newest message. Each
page is handed over (and stored, with its cursor) before the next is fetched.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, TypeGuard

import requests
import structlog
import tweepy

from bot.clock import Clock
from bot.domain.delivery import CredentialsRefused, PermanentError, RateLimited, TransientError
from bot.domain.model import Author, InboundMessage, SentMessage, Visibility
from bot.networks.base import AccountIdentity, Batch
from bot.networks.x.http import point_client_at
from bot.networks.x.text import HANDLE, profile_url

log = structlog.get_logger(__name__)

NETWORK = "x"
USER_FIELDS = ["name", "username", "public_metrics", "verified", "profile_image_url"]
TWEET_FIELDS = ["created_at", "author_id", "conversation_id", "in_reply_to_user_id"]
DM_FIELDS = ["id", "text", "event_type", "created_at", "sender_id", "dm_conversation_id"]
PAGES_PER_POLL = 50  # then the next poll goes on: one poll never holds the bot for long


@dataclass(frozen=True)
class _Walk:
    """Where a stream's fetching stands. `known`: everything up to this id is stored (mentions'
    since_id, the last DM event). While a backlog is walked, `newest` is the newest id seen in it
    and `resume` where to go on: the oldest mention fetched (as until_id) or a DM page token."""

    known: str | None = None
    newest: str | None = None
    resume: str | None = None
    start_time: str | None = None  # a backfill's window, kept while its walk lasts

    @classmethod
    def of(cls, cursor: str | None) -> _Walk:
        if not cursor:
            return cls()
        if not cursor.startswith("{"):
            return cls(known=cursor)  # the steady state: one id, as stored by every version
        try:
            state = json.loads(cursor)
        except ValueError:
            return cls()
        fields = ("known", "newest", "resume", "start_time")
        return cls(**{k: state[k] for k in fields if isinstance(state.get(k), str)})

    def stopped_at(self, newest: str | None, resume: str) -> str:
        state = {"known": self.known, "newest": newest, "resume": resume}
        if self.start_time:
            state["start_time"] = self.start_time
        return json.dumps({k: v for k, v in state.items() if v is not None}, sort_keys=True)

    def finished(self, newest: str | None) -> str | None:
        if newest is None:
            return self.known
        return _max_id(self.known, newest) if self.known else newest


class XChannel:
    streams: tuple[str, ...] = ("mentions", "dms")

    def __init__(
        self, client: tweepy.Client, clock: Clock, *, pages_per_poll: int = PAGES_PER_POLL
    ) -> None:
        self.client = client
        self.clock = clock
        self.pages_per_poll = pages_per_poll
        self._me: AccountIdentity | None = None

    @classmethod
    def default(
        cls,
        *,
        consumer_key: str,
        consumer_secret: str,
        access_token: str,
        access_token_secret: str,
        bearer_token: str | None,
        api_url: str,
        clock: Clock,
        timeout: float = 10.0,
        pages_per_poll: int = PAGES_PER_POLL,
    ) -> XChannel:
        client = tweepy.Client(
            bearer_token=bearer_token,
            consumer_key=consumer_key,
            consumer_secret=consumer_secret,
            access_token=access_token,
            access_token_secret=access_token_secret,
            return_type=dict,
            wait_on_rate_limit=False,  # the outbox and the poller wait; a thread must not block
        )
        point_client_at(client, api_url, timeout=timeout)
        return cls(client, clock, pages_per_poll=pages_per_poll)

    # --- identity ------------------------------------------------------------------------------
    def identify(self) -> AccountIdentity:
        with _translated("looking up the brand account"):
            data = _dict(self.client.get_me(user_auth=True)).get("data")
            if not isinstance(data, dict) or not _is_id(data.get("id")):
                raise MalformedPage("users/me without an id")
        self._me = AccountIdentity(data["id"], str(data.get("username", "")), data.get("name", ""))
        return self._me

    @property
    def me(self) -> AccountIdentity:
        return self._me or self.identify()

    # --- inbound -------------------------------------------------------------------------------
    def fetch(self, stream: str, cursor: str | None, since: datetime) -> Iterator[Batch]:
        if stream == "mentions":
            return self._fetch_mentions(_Walk.of(cursor), since)
        if stream == "dms":
            return self._fetch_dms(_Walk.of(cursor), since)
        raise ValueError(f"X has no stream {stream!r}")

    def _fetch_mentions(self, walk: _Walk, since: datetime) -> Iterator[Batch]:
        if walk.known:
            window: dict[str, Any] = {"since_id": walk.known}
        else:  # a backfill: its window is fixed when it starts, however many polls it takes
            walk = replace(walk, start_time=walk.start_time or _iso(since))
            window = {"start_time": walk.start_time}
        newest = walk.newest
        until = walk.resume
        for page in range(1, self.pages_per_poll + 1):
            with _translated("fetching mentions"):
                body = _page(
                    self.client.get_users_mentions(
                        self.me.external_id,
                        max_results=100,
                        until_id=until,
                        expansions=["author_id"],
                        tweet_fields=TWEET_FIELDS,
                        user_fields=USER_FIELDS,
                        user_auth=True,
                        **window,
                    )
                )
            meta = _dict(body.get("meta"))
            tweets = [t for t in _items(body) if _is_id(t.get("id"))]
            if newest is None and _is_id(meta.get("newest_id")):
                newest = meta["newest_id"]
            for tweet in tweets:
                newest = _max_id(newest, tweet["id"])
            users = _users_by_id(body)
            messages = []
            for tweet in _items(body):
                author_id = tweet.get("author_id")
                author = users.get(author_id) if _is_id(author_id) else None
                if not _is_id(tweet.get("id")) or author is None or not _text(tweet):
                    log.warning("x.item_skipped", stream="mentions", reason="malformed tweet")
                    continue
                if author.external_id == self.me.external_id:
                    continue  # the brand's own post: never mirrored back
                messages.append(self._mention(tweet, author))
            log.info(
                "x.fetch.page",
                stream="mentions",
                page=page,
                count=len(tweets),
                backfill=walk.known is None,
            )
            oldest = min((t["id"] for t in tweets), key=int, default=None)
            if oldest is None or not isinstance(meta.get("next_token"), str):
                yield Batch(_oldest_first(messages), walk.finished(newest))
                return
            # Older mentions are still waiting: go on below the oldest one seen, in this poll
            # or the next. until_id rather than the page token, so a restart resumes too.
            until = oldest
            yield Batch(_oldest_first(messages), walk.stopped_at(newest, until))

    def _fetch_dms(self, walk: _Walk, since: datetime) -> Iterator[Batch]:
        newest = walk.newest
        token = walk.resume
        for page in range(1, self.pages_per_poll + 1):
            with _translated("fetching DMs"):
                body = _page(
                    self.client.get_direct_message_events(
                        event_types="MessageCreate",
                        dm_event_fields=DM_FIELDS,
                        expansions=["sender_id"],
                        user_fields=USER_FIELDS,
                        max_results=100,
                        pagination_token=token,
                        user_auth=True,
                    )
                )
            users = _users_by_id(body)
            reached_known = False
            messages = []
            for event in _items(body):  # newest first
                if not _is_id(event.get("id")):
                    log.warning("x.item_skipped", stream="dms", reason="event without an id")
                    continue
                created = _parse_time(event.get("created_at"))
                known = walk.known is not None and int(event["id"]) <= int(walk.known)
                too_old = walk.known is None and created is not None and created < since
                if known or too_old:
                    reached_known = True
                    break
                newest = _max_id(newest, event["id"])
                sender = event.get("sender_id")
                if sender == self.me.external_id:
                    continue  # our own answer, listed with the customer's messages
                author = users.get(sender) if _is_id(sender) else None
                if event.get("event_type") != "MessageCreate" or author is None or not _text(event):
                    log.warning("x.item_skipped", stream="dms", reason="not a customer message")
                    continue
                messages.append(self._dm(event, author))
            log.info(
                "x.fetch.page",
                stream="dms",
                page=page,
                count=len(_items(body)),
                backfill=walk.known is None,
            )
            next_token = _dict(body.get("meta")).get("next_token")
            token = next_token if isinstance(next_token, str) and next_token else None
            if reached_known or token is None:
                yield Batch(_oldest_first(messages), walk.finished(newest))
                return
            yield Batch(_oldest_first(messages), walk.stopped_at(newest, token))

    def _mention(self, tweet: dict[str, Any], author: Author) -> InboundMessage:
        return InboundMessage(
            network=NETWORK,
            external_id=tweet["id"],
            author=author,
            text=tweet.get("text", ""),
            created_at=_parse_time(tweet.get("created_at")) or self.clock.now(),
            visibility=Visibility.PUBLIC,
            permalink=f"{profile_url(author.handle)}/status/{tweet['id']}",
        )

    def _dm(self, event: dict[str, Any], author: Author) -> InboundMessage:
        return InboundMessage(
            network=NETWORK,
            external_id=event["id"],
            author=author,
            text=event.get("text", ""),
            created_at=_parse_time(event.get("created_at")) or self.clock.now(),
            visibility=Visibility.PRIVATE,
            permalink=f"https://x.com/messages/{event.get('dm_conversation_id', '')}",
        )

    # --- outbound ------------------------------------------------------------------------------
    def reply_publicly(self, text: str, in_reply_to: str) -> SentMessage:
        me = self.me  # before posting: a failed lookup after it would hide a sent reply
        with _translated("posting the reply"):
            data = self.client.create_tweet(
                text=text, in_reply_to_tweet_id=in_reply_to, user_auth=True
            )["data"]
        return SentMessage(data["id"], f"https://x.com/{me.handle}/status/{data['id']}")

    def send_private(self, recipient_id: str, text: str) -> SentMessage:
        with _translated("sending the DM"):
            data = self.client.create_direct_message(
                participant_id=recipient_id, text=text, user_auth=True
            )["data"]
        return SentMessage(
            data["dm_event_id"], f"https://x.com/messages/{data['dm_conversation_id']}"
        )

    def find_sent(
        self, text: str, *, in_reply_to: str | None, recipient_id: str | None, since: datetime
    ) -> SentMessage | None:
        with _translated("looking for an earlier attempt"):
            if in_reply_to is not None:
                body = self.client.get_users_tweets(
                    self.me.external_id,
                    start_time=_iso(since),
                    max_results=100,
                    tweet_fields=["referenced_tweets", "created_at"],
                    user_auth=True,
                )
                for tweet in body.get("data", []):
                    replied = {
                        r.get("id")
                        for r in tweet.get("referenced_tweets", [])
                        if r.get("type") == "replied_to"
                    }
                    if tweet.get("text") == text and in_reply_to in replied:
                        return SentMessage(
                            tweet["id"], f"https://x.com/{self.me.handle}/status/{tweet['id']}"
                        )
                return None
            body = self.client.get_direct_message_events(
                participant_id=recipient_id,
                event_types="MessageCreate",
                max_results=100,
                dm_event_fields=DM_FIELDS,
                user_auth=True,
            )
        for event in body.get("data", []):
            created = _parse_time(event.get("created_at"))
            mine = event.get("sender_id") == self.me.external_id
            if mine and event.get("text") == text and (created is None or created >= since):
                link = f"https://x.com/messages/{event.get('dm_conversation_id', '')}"
                return SentMessage(event["id"], link)
        return None


@contextmanager
def _translated(doing: str) -> Iterator[None]:
    """tweepy and requests exceptions -> the domain's delivery errors, with a human reason."""
    try:
        yield
    except tweepy.TooManyRequests as error:
        reset = error.response.headers.get("x-rate-limit-reset")
        retry_at = datetime.fromtimestamp(int(reset), UTC) if reset and reset.isdigit() else None
        raise RateLimited(f"X rate limit while {doing}", retry_at) from error
    except tweepy.TwitterServerError as error:
        raise TransientError(f"X answered {error.response.status_code} while {doing}") from error
    except tweepy.Unauthorized as error:  # a revoked, expired or mistyped token: say so at once
        raise CredentialsRefused(
            f"X refused (401) while {doing}: the credentials were not accepted"
        ) from error
    except tweepy.HTTPException as error:
        detail = "; ".join(error.api_messages) or error.response.reason or "request refused"
        raise PermanentError(
            f"X refused ({error.response.status_code}) while {doing}: {detail}"
        ) from error
    except (requests.ConnectionError, requests.Timeout) as error:
        raise TransientError(f"X could not be reached while {doing}") from error
    except MalformedPage as error:
        raise TransientError(f"X sent a malformed answer while {doing}: {error}") from error
    except ValueError as error:  # tweepy could not decode the body (an HTML error page...)
        raise TransientError(f"X sent an unreadable answer while {doing}") from error


def _users_by_id(body: dict[str, Any]) -> dict[str, Author]:
    users = _dict(body.get("includes")).get("users")
    found: dict[str, Author] = {}
    for user in users if isinstance(users, list) else []:
        if not isinstance(user, dict) or not _is_id(user.get("id")):
            continue
        handle = user.get("username")
        if not isinstance(handle, str) or HANDLE.fullmatch(handle) is None:
            continue  # not a username X issues: nothing built from it reaches Slack or X
        name = user.get("name")
        followers = _dict(user.get("public_metrics")).get("followers_count", 0)
        found[user["id"]] = Author(
            external_id=user["id"],
            handle=handle,
            name=name if isinstance(name, str) else handle,
            followers=followers if isinstance(followers, int) and followers >= 0 else 0,
            verified=user.get("verified") is True,
            profile_url=profile_url(handle),
        )
    return found


# --- what X sends, read defensively: a malformed page must not crash a poll or store junk ----
class MalformedPage(ValueError):
    pass


def _page(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise MalformedPage("not a JSON object")
    if "data" in body and not isinstance(body["data"], list):
        raise MalformedPage("data is not a list")
    return body


def _items(body: dict[str, Any]) -> list[dict[str, Any]]:
    return [item for item in body.get("data") or [] if isinstance(item, dict)]


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _is_id(value: object) -> TypeGuard[str]:
    """X's ids are strings of digits (snowflakes); anything else is not an id."""
    return isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 25


def _text(item: dict[str, Any]) -> bool:
    return isinstance(item.get("text"), str) and bool(item["text"].strip())


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _max_id(current: str | None, candidate: str) -> str:
    return candidate if current is None or int(candidate) > int(current) else current


def _oldest_first(messages: list[InboundMessage]) -> list[InboundMessage]:
    return sorted(messages, key=lambda m: int(m.external_id))


def private_message_link(account: AccountIdentity) -> str:
    return f"https://x.com/messages/compose?recipient_id={account.external_id}"
