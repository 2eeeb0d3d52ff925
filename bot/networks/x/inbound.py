"""Reading X: mentions of the brand, its DMs, and its own replies (written in X's app, not in
Carebridge: they count as answers).

A backlog is fetched whole, page by page, across polls if need be. X lists newest first, so a
poll that stops at its page limit keeps a cursor that says where it stopped (a timeline: the
oldest id fetched, used as `until_id`; DMs: the next page's token) and the next poll goes on from
there; only when the backlog is exhausted does the cursor move to the newest item. Each page is
handed over (and stored, with its cursor) before the next is fetched.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import structlog
import tweepy

from bot.clock import Clock
from bot.domain.model import AnsweredElsewhere, Author, InboundMessage, NetworkEvent, Visibility
from bot.networks.base import AccountIdentity, Batch
from bot.networks.x import payloads as read
from bot.networks.x.errors import translated
from bot.networks.x.text import profile_url

log = structlog.get_logger(__name__)

NETWORK = "x"
USER_FIELDS = ["name", "username", "public_metrics", "verified", "profile_image_url"]
TWEET_FIELDS = ["created_at", "author_id", "conversation_id", "in_reply_to_user_id"]
OWN_TWEET_FIELDS = ["created_at", "in_reply_to_user_id", "referenced_tweets"]
DM_FIELDS = ["id", "text", "event_type", "created_at", "sender_id", "dm_conversation_id"]


@dataclass(frozen=True)
class Walk:
    """Where a stream's fetching stands. `known`: everything up to this id is stored (a
    timeline's since_id, the last DM event). While a backlog is walked, `newest` is the newest id
    seen in it and `resume` where to go on: the oldest tweet fetched (as until_id) or a DM page
    token."""

    known: str | None = None
    newest: str | None = None
    resume: str | None = None
    start_time: str | None = None  # a backfill's window, kept while its walk lasts

    @classmethod
    def of(cls, cursor: str | None) -> Walk:
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
        return read.max_id(self.known, newest) if self.known else newest


class Inbound:
    def __init__(
        self,
        client: tweepy.Client,
        me: Callable[[], AccountIdentity],
        clock: Clock,
        pages_per_poll: int,
    ) -> None:
        self.client = client
        self.me = me  # the brand account, looked up once
        self.clock = clock
        self.pages_per_poll = pages_per_poll

    def fetch(self, stream: str, cursor: str | None, since: datetime) -> Iterator[Batch]:
        walk = Walk.of(cursor)
        if stream == "mentions":
            return self._timeline(
                walk, since, "mentions", self.client.get_users_mentions, self._mentions
            )
        if stream == "replies":
            return self._timeline(
                walk, since, "replies", self.client.get_users_tweets, self._own_replies
            )
        if stream == "dms":
            return self._dms(walk, since)
        raise ValueError(f"X has no stream {stream!r}")

    # --- timelines (newest first, since_id / until_id) -------------------------------------------
    def _timeline(
        self,
        walk: Walk,
        since: datetime,
        stream: str,
        call: Callable[..., Any],
        events_of: Callable[[dict[str, Any]], list[NetworkEvent]],
    ) -> Iterator[Batch]:
        if walk.known:
            window: dict[str, Any] = {"since_id": walk.known}
        else:  # a backfill: its window is fixed when it starts, however many polls it takes
            walk = replace(walk, start_time=walk.start_time or read.iso(since))
            window = {"start_time": walk.start_time}
        newest, until = walk.newest, walk.resume
        fields = OWN_TWEET_FIELDS if stream == "replies" else TWEET_FIELDS
        for number in range(1, self.pages_per_poll + 1):
            with translated(f"fetching {stream}"):
                body = read.page(
                    call(
                        self.me().external_id,
                        max_results=100,
                        until_id=until,
                        expansions=["author_id"],
                        tweet_fields=fields,
                        user_fields=USER_FIELDS,
                        user_auth=True,
                        **window,
                    )
                )
            meta = read.as_dict(body.get("meta"))
            # What X should not have sent (at or below since_id, at or above until_id) is left
            # out: a cursor must never move back, nor a walk loop on an id it already passed.
            tweets = [t for t in read.items(body) if read.within(t.get("id"), walk.known, until)]
            body = {**body, "data": tweets}
            if newest is None and read.within(meta.get("newest_id"), walk.known, until):
                newest = meta["newest_id"]
            for tweet in tweets:
                newest = read.max_id(newest, tweet["id"])
            events = events_of(body)
            log.info(
                "x.fetch.page",
                stream=stream,
                page=number,
                count=len(tweets),
                backfill=walk.known is None,
            )
            oldest = min((t["id"] for t in tweets), key=int, default=None)
            if oldest is None or not isinstance(meta.get("next_token"), str):
                yield Batch(read.oldest_first(events), walk.finished(newest))
                return
            # Older ones are still waiting: go on below the oldest seen, in this poll or the
            # next. until_id rather than the page token, so a restart resumes too.
            until = oldest
            yield Batch(read.oldest_first(events), walk.stopped_at(newest, until))

    def _mentions(self, body: dict[str, Any]) -> list[NetworkEvent]:
        users = read.users_by_id(body)
        events: list[NetworkEvent] = []
        for tweet in read.items(body):
            author_id = tweet.get("author_id")
            author = users.get(author_id) if read.is_id(author_id) else None
            if not read.is_id(tweet.get("id")) or author is None or not read.has_text(tweet):
                log.warning("x.item_skipped", stream="mentions", reason="malformed tweet")
                continue
            if author.external_id == self.me().external_id:
                continue  # the brand's own post: never mirrored back
            events.append(public_post(tweet, author, self.clock))
        return events

    def _own_replies(self, body: dict[str, Any]) -> list[NetworkEvent]:
        """The brand's replies to customers, wherever they were written: Carebridge's own are
        recognised when stored; the others count as answers given on X directly."""
        events: list[NetworkEvent] = []
        for tweet in read.items(body):
            replied = [
                r.get("id")
                for r in tweet.get("referenced_tweets") or []
                if isinstance(r, dict) and r.get("type") == "replied_to"
            ]
            customer = tweet.get("in_reply_to_user_id")
            valid = read.is_id(tweet.get("id")) and read.has_text(tweet)
            if not valid or not replied or not read.is_id(replied[0]):
                continue  # a post of the brand's own, not an answer
            events.append(
                AnsweredElsewhere(
                    network=NETWORK,
                    external_id=tweet["id"],
                    customer_external_id=customer if read.is_id(customer) else "",
                    text=tweet["text"],
                    at=read.parse_time(tweet.get("created_at")) or self.clock.now(),
                    visibility=Visibility.PUBLIC,
                    in_reply_to=replied[0],
                )
            )
        return events

    # --- DMs (newest first, page tokens, until a known event) -----------------------------------
    def _dms(self, walk: Walk, since: datetime) -> Iterator[Batch]:
        newest = walk.newest
        token = walk.resume
        for number in range(1, self.pages_per_poll + 1):
            with translated("fetching DMs"):
                body = read.page(
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
            users = read.users_by_id(body)
            reached_known = False
            events: list[NetworkEvent] = []
            for event in read.items(body):  # newest first
                if not read.is_id(event.get("id")):
                    log.warning("x.item_skipped", stream="dms", reason="event without an id")
                    continue
                created = read.parse_time(event.get("created_at"))
                known = walk.known is not None and int(event["id"]) <= int(walk.known)
                too_old = walk.known is None and created is not None and created < since
                if known or too_old:
                    reached_known = True
                    break
                newest = read.max_id(newest, event["id"])
                found = self._dm_event(event, users, created)
                if found is not None:
                    events.append(found)
            log.info(
                "x.fetch.page",
                stream="dms",
                page=number,
                count=len(read.items(body)),
                backfill=walk.known is None,
            )
            next_token = read.as_dict(body.get("meta")).get("next_token")
            token = next_token if isinstance(next_token, str) and next_token else None
            if reached_known or token is None:
                yield Batch(read.oldest_first(events), walk.finished(newest))
                return
            yield Batch(read.oldest_first(events), walk.stopped_at(newest, token))

    def _dm_event(
        self, event: dict[str, Any], users: dict[str, Author], created: datetime | None
    ) -> NetworkEvent | None:
        me = self.me().external_id
        sender = event.get("sender_id")
        if event.get("event_type") != "MessageCreate" or not read.has_text(event):
            log.warning("x.item_skipped", stream="dms", reason="not a text message")
            return None
        conversation = str(event.get("dm_conversation_id", ""))
        link = f"https://x.com/messages/{conversation}"
        if sender == me:  # the brand's own DM: Carebridge's, or one written in X's app
            other = [p for p in conversation.split("-") if p != me and read.is_id(p)]
            return AnsweredElsewhere(
                network=NETWORK,
                external_id=event["id"],
                customer_external_id=other[0] if other else "",
                text=event["text"],
                at=created or self.clock.now(),
                visibility=Visibility.PRIVATE,
            )
        author = users.get(sender) if read.is_id(sender) else None
        if author is None:
            log.warning("x.item_skipped", stream="dms", reason="unknown sender")
            return None
        return InboundMessage(
            network=NETWORK,
            external_id=event["id"],
            author=author,
            text=event["text"],
            created_at=created or self.clock.now(),
            visibility=Visibility.PRIVATE,
            permalink=link,
        )


def public_post(tweet: dict[str, Any], author: Author, clock: Clock) -> InboundMessage:
    """A post by a customer (a mention, or one found by listening), as the domain sees it."""
    return InboundMessage(
        network=NETWORK,
        external_id=tweet["id"],
        author=author,
        text=tweet.get("text", ""),
        created_at=read.parse_time(tweet.get("created_at")) or clock.now(),
        visibility=Visibility.PUBLIC,
        permalink=f"{profile_url(author.handle)}/status/{tweet['id']}",
    )
