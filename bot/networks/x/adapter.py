"""X (Twitter) through tweepy's API v2 client: mentions and DMs in, replies and DMs out."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import requests
import structlog
import tweepy

from bot.clock import Clock
from bot.domain.delivery import PermanentError, RateLimited, TransientError
from bot.domain.model import Author, InboundMessage, SentMessage, Visibility
from bot.networks.base import AccountIdentity, Batch
from bot.networks.x.http import point_client_at
from bot.networks.x.text import X_MAX_WEIGHTED_LENGTH, x_weighted_length

log = structlog.get_logger(__name__)

USER_FIELDS = ["name", "username", "public_metrics", "verified", "profile_image_url"]
TWEET_FIELDS = ["created_at", "author_id", "conversation_id", "in_reply_to_user_id"]
DM_FIELDS = ["id", "text", "event_type", "created_at", "sender_id", "dm_conversation_id"]
MAX_PAGES = 50  # a backstop: 50 pages of 100 is far beyond any 24-hour backfill we expect


class XChannel:
    network = "x"
    label = "X"
    streams = ("mentions", "dms")
    public_reply_limit = X_MAX_WEIGHTED_LENGTH

    def __init__(self, client: tweepy.Client, clock: Clock) -> None:
        self.client = client
        self.clock = clock
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
        return cls(client, clock)

    # --- identity ------------------------------------------------------------------------------
    def identify(self) -> AccountIdentity:
        with _translated("looking up the brand account"):
            data = self.client.get_me(user_auth=True)["data"]
        self._me = AccountIdentity(data["id"], data["username"], data.get("name", ""))
        return self._me

    @property
    def me(self) -> AccountIdentity:
        return self._me or self.identify()

    # --- inbound -------------------------------------------------------------------------------
    def fetch(self, stream: str, cursor: str | None, since: datetime) -> Batch:
        if stream == "mentions":
            return self._fetch_mentions(cursor, since)
        if stream == "dms":
            return self._fetch_dms(cursor, since)
        raise ValueError(f"X has no stream {stream!r}")

    def _fetch_mentions(self, since_id: str | None, since: datetime) -> Batch:
        window: dict[str, Any] = {"since_id": since_id} if since_id else {"start_time": _iso(since)}
        messages: list[InboundMessage] = []
        newest = since_id
        token: str | None = None
        for page in range(1, MAX_PAGES + 1):
            with _translated("fetching mentions"):
                body = _page(
                    self.client.get_users_mentions(
                        self.me.external_id,
                        max_results=100,
                        pagination_token=token,
                        expansions=["author_id"],
                        tweet_fields=TWEET_FIELDS,
                        user_fields=USER_FIELDS,
                        user_auth=True,
                        **window,
                    )
                )
            meta = _dict(body.get("meta"))
            if page == 1 and _is_id(meta.get("newest_id")):
                newest = _max_id(newest, meta["newest_id"])
            users = _users_by_id(body)
            for tweet in _items(body):
                author = (
                    users.get(tweet.get("author_id")) if _is_id(tweet.get("author_id")) else None
                )
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
                count=len(_items(body)),
                backfill=since_id is None,
            )
            token = meta.get("next_token") if isinstance(meta.get("next_token"), str) else None
            if not token:
                break
        return Batch(sorted(messages, key=lambda m: int(m.external_id)), newest)

    def _fetch_dms(self, last_event_id: str | None, since: datetime) -> Batch:
        messages: list[InboundMessage] = []
        newest = last_event_id
        token: str | None = None
        for page in range(1, MAX_PAGES + 1):
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
            for event in _items(body):  # newest first
                if not _is_id(event.get("id")):
                    log.warning("x.item_skipped", stream="dms", reason="event without an id")
                    continue
                created = _parse_time(event.get("created_at"))
                known = last_event_id is not None and int(event["id"]) <= int(last_event_id)
                too_old = last_event_id is None and created is not None and created < since
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
                backfill=last_event_id is None,
            )
            next_token = _dict(body.get("meta")).get("next_token")
            token = next_token if isinstance(next_token, str) else None
            if reached_known or not token:
                break
        return Batch(sorted(messages, key=lambda m: int(m.external_id)), newest)

    def _mention(self, tweet: dict[str, Any], author: Author) -> InboundMessage:
        return InboundMessage(
            network=self.network,
            external_id=tweet["id"],
            author=author,
            text=tweet.get("text", ""),
            created_at=_parse_time(tweet.get("created_at")) or self.clock.now(),
            visibility=Visibility.PUBLIC,
            permalink=f"https://x.com/{author.handle}/status/{tweet['id']}",
        )

    def _dm(self, event: dict[str, Any], author: Author) -> InboundMessage:
        return InboundMessage(
            network=self.network,
            external_id=event["id"],
            author=author,
            text=event.get("text", ""),
            created_at=_parse_time(event.get("created_at")) or self.clock.now(),
            visibility=Visibility.PRIVATE,
            permalink=f"https://x.com/messages/{event.get('dm_conversation_id', '')}",
        )

    # --- outbound ------------------------------------------------------------------------------
    def public_length(self, text: str) -> int:
        return x_weighted_length(text)

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

    def private_message_link(self, account: AccountIdentity) -> str:
        return f"https://x.com/messages/compose?recipient_id={account.external_id}"


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
        handle = user.get("username") if isinstance(user.get("username"), str) else ""
        name = user.get("name") if isinstance(user.get("name"), str) else handle
        followers = _dict(user.get("public_metrics")).get("followers_count", 0)
        found[user["id"]] = Author(
            external_id=user["id"],
            handle=handle,
            name=name,
            followers=followers if isinstance(followers, int) and followers >= 0 else 0,
            verified=user.get("verified") is True,
            profile_url=f"https://x.com/{handle}",
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


def _is_id(value: Any) -> bool:
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
